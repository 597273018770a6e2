"""The shared-state stores: time per operation on each backend, against a raw reference.

For every backend (memory, SQLite in a temporary folder, Redis on a redis-server this script
starts on a free loopback port) it times the operations the engine puts on its hot path:

    kv.get (hit)         an exact-cache hit: a 1 KB entry in a namespace of 1,000
    kv.put               storing an answer, with a TTL and an LRU bound
    reserve+commit       a budget's reservation on two counters, then its settlement
    buckets.take         a rate-limit check
    log.append           a ledger row
    kv.aget (hit)        the async twin of the cache hit

Reference, measured in the same rounds: a dict lookup (memory), a raw sqlite3 primary-key
SELECT on the same file (SQLite), a raw redis-py PING round trip (Redis). Rounds interleave
the reference and the operations so noise hits all alike; medians and per-round ratios.

Then, for SQLite, the two choices docs/state.md explains: a pool of connections against one
shared connection behind a lock (4 threads), and async inline against a worker thread.

    uv run python benchmarks/state_stores.py [--calls 2000] [--rounds 7] [--redis-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import machine_info, median, paired_ratio, table, verdict, write_json

from cosmara.state import Hold, Reservation, StateStore, open_store

VALUE = bytes(range(256)) * 4  # 1 KB
ENTRIES = 1000


@contextlib.contextmanager
def redis_server(url: str | None) -> Iterator[str | None]:
    """The given URL, or a redis-server of our own on a free loopback port (None if absent)."""
    if url:
        yield url
        return
    binary = shutil.which("redis-server")
    if binary is None:
        yield None
        return
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with tempfile.TemporaryDirectory() as folder:
        command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", folder]
        command += ["--save", "", "--appendonly", "no"]
        server = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        try:
            import redis

            client = redis.Redis(port=port, socket_connect_timeout=1)
            for _ in range(500):
                with contextlib.suppress(redis.ConnectionError):
                    client.ping()
                    break
                time.sleep(0.01)  # waiting for the server to start, not timing it
            client.close()
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            server.terminate()
            server.wait()


def per_call(action: Callable[[], Any], calls: int) -> float:
    """Microseconds per call of ``action`` over ``calls`` calls."""
    start = time.perf_counter()
    for _ in range(calls):
        action()
    return (time.perf_counter() - start) / calls * 1e6


def cpu_per_call(action: Callable[[], Any], calls: int) -> float:
    """This process's CPU microseconds per call: what the operation costs here, whatever else
    the (shared) machine is running. Waiting for Redis or the disk is not in it."""
    start = time.process_time()
    for _ in range(calls):
        action()
    return (time.process_time() - start) / calls * 1e6


def async_per_call(action: Callable[[], Any], calls: int) -> float:
    async def run() -> float:
        start = time.perf_counter()
        for _ in range(calls):
            await action()
        return (time.perf_counter() - start) / calls * 1e6

    return asyncio.run(run())


def operations(store: StateStore) -> dict[str, Callable[[], Any]]:
    for index in range(ENTRIES):
        store.kv.put("bench", f"key-{index}", VALUE, ttl=3600)
    hit = f"key-{ENTRIES // 2}"
    holds = [Hold("budget:org", limit=1e12), Hold("budget:team", limit=1e12)]
    counter = iter(range(10**9))

    def reserve_commit() -> None:
        reservation = store.counters.reserve(0.001, holds, lease=300)
        assert isinstance(reservation, Reservation)
        store.counters.commit(reservation, 0.001)

    return {
        "kv.get (hit)": lambda: store.kv.get("bench", hit),
        "kv.put": lambda: store.kv.put(
            "bench-put", f"k{next(counter) % 500}", VALUE, ttl=3600, max_entries=400
        ),
        "reserve+commit": reserve_commit,
        "buckets.take": lambda: store.buckets.take("rl", rate=1e9, burst=1e9),
        "log.append": lambda: store.log.append("ledger", VALUE[:200], max_len=10_000),
    }


def reference(backend: str, store: StateStore, settings: dict[str, Any]) -> Callable[[], Any]:
    if backend == "memory":
        table_ = {f"key-{index}": VALUE for index in range(ENTRIES)}
        return lambda: table_.get("key-500")
    if backend == "sqlite":
        conn = sqlite3.connect(settings["path"], isolation_level=None, check_same_thread=False)
        conn.execute("CREATE TABLE IF NOT EXISTS raw (k TEXT PRIMARY KEY, v BLOB)")
        conn.execute("INSERT OR REPLACE INTO raw VALUES ('key-500', ?)", (VALUE,))
        return lambda: conn.execute("SELECT v FROM raw WHERE k = ?", ("key-500",)).fetchone()
    import redis

    client = redis.Redis.from_url(settings["url"])
    return client.ping


def measure_backend(
    backend: str, settings: dict[str, Any], calls: int, rounds: int
) -> dict[str, dict[str, float]]:
    with open_store(settings) as store:
        ops = operations(store)
        ref = reference(backend, store, settings)
        hit = f"key-{ENTRIES // 2}"
        times: dict[str, list[float]] = {"reference": [], **{name: [] for name in ops}}
        times["kv.aget (hit)"] = []
        cpu: dict[str, list[float]] = {name: [] for name in times}
        for _ in range(rounds):
            times["reference"].append(per_call(ref, calls))
            cpu["reference"].append(cpu_per_call(ref, calls))
            for name, action in ops.items():
                times[name].append(per_call(action, calls))
                cpu[name].append(cpu_per_call(action, calls))
            times["kv.aget (hit)"].append(
                async_per_call(lambda: store.kv.aget("bench", hit), calls)
            )
            cpu["kv.aget (hit)"].append(float("nan"))
        return {
            name: {
                "median_us": median(values),
                "cpu_us": median(cpu[name]),
                "ratio": paired_ratio(values, times["reference"]),
            }
            for name, values in times.items()
        }


def sqlite_choices(path: str, calls: int, rounds: int) -> dict[str, float]:
    """Pool vs a locked shared connection (4 threads doing cache hits), and async inline vs a
    worker thread; microseconds per operation."""
    figures: dict[str, list[float]] = {"pool": [], "shared": [], "inline": [], "thread": []}
    with open_store({"backend": "sqlite", "path": path}) as store:
        store.kv.put("choice", "k", VALUE)
        shared = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        lock = threading.Lock()

        def shared_get() -> None:  # the same two statements the store runs, one connection
            with lock:
                shared.execute(
                    "SELECT value FROM kv WHERE ns = ?1 AND key = ?2 AND expires_at IS NULL",
                    ("choice", "k"),
                ).fetchone()
                shared.execute(
                    "UPDATE kv SET used = (SELECT max(used) FROM kv WHERE ns = ?1) + 1 "
                    "WHERE ns = ?1 AND key = ?2",
                    ("choice", "k"),
                )

        def threaded(action: Callable[[], Any]) -> float:
            workers = [
                threading.Thread(target=per_call, args=(action, calls // 4)) for _ in range(4)
            ]
            start = time.perf_counter()
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join()
            return (time.perf_counter() - start) / calls * 1e6

        for _ in range(rounds):
            figures["pool"].append(threaded(lambda: store.kv.get("choice", "k")))
            figures["shared"].append(threaded(shared_get))
            figures["inline"].append(async_per_call(lambda: store.kv.aget("choice", "k"), calls))
            figures["thread"].append(
                async_per_call(lambda: asyncio.to_thread(store.kv.get, "choice", "k"), calls)
            )
        shared.close()
    return {name: median(values) for name, values in figures.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=2000, help="calls per operation per round")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--redis-url", help="an existing Redis to use (default: start one)")
    parser.add_argument("--json", help="write the figures to this file")
    args = parser.parse_args()

    results: dict[str, Any] = {"machine": machine_info()}
    with tempfile.TemporaryDirectory() as folder, redis_server(args.redis_url) as url:
        backends: dict[str, dict[str, Any]] = {
            "memory": {"backend": "memory"},
            "sqlite": {"backend": "sqlite", "path": str(Path(folder) / "bench.db")},
        }
        if url:
            backends["redis"] = {"backend": "redis", "url": url, "prefix": "bench:"}
        else:
            print("redis-server not found: Redis skipped (apt-get install redis-server)")
        for backend, settings in backends.items():
            figures = measure_backend(backend, settings, args.calls, args.rounds)
            results[backend] = figures
            name = {"memory": "dict lookup", "sqlite": "raw SELECT", "redis": "PING"}[backend]
            print(f"\n{backend} (reference: {name}), µs per operation, median of rounds")
            rows = [
                [op, figure["median_us"], f"{figure['ratio']:.1f}x", figure["cpu_us"]]
                for op, figure in figures.items()
            ]
            print(table(["operation", "µs", "vs reference", "CPU µs (this process)"], rows))
        choices = sqlite_choices(str(Path(folder) / "choices.db"), args.calls, args.rounds)
        results["sqlite_choices"] = choices
    print("\nSQLite choices, µs per cache hit (median of rounds)")
    print(
        table(
            ["choice", "µs"],
            [
                ["4 threads, pool of connections (chosen)", choices["pool"]],
                ["4 threads, one shared connection + lock", choices["shared"]],
                ["async inline (chosen)", choices["inline"]],
                ["async via asyncio.to_thread", choices["thread"]],
            ],
        )
    )
    print("\nTargets")
    targets = [
        ["SQLite exact-cache hit < 150 µs", results["sqlite"]["kv.get (hit)"]["median_us"], 150],
        ["SQLite reserve+commit <= 200 µs", results["sqlite"]["reserve+commit"]["median_us"], 200],
    ]
    if "redis" in results:
        ping = results["redis"]["reference"]["median_us"]
        targets += [
            [
                "Redis cache hit <= PING + 100 µs",
                results["redis"]["kv.get (hit)"]["median_us"],
                ping + 100,
            ],
            [
                "Redis reserve+commit ~ 2 round trips (+200 µs)",
                results["redis"]["reserve+commit"]["median_us"],
                2 * ping + 200,
            ],
        ]
    print(
        table(
            ["target", "µs", "bound µs", "verdict"],
            [[name, got, bound, verdict(got <= bound)] for name, got, bound in targets],
        )
    )
    write_json(args.json, results)


if __name__ == "__main__":
    main()
