"""What budgets + rate limits + the ledger add to each call, on each state store.

Two clients answer from the same in-process provider (no network, so nothing but the engine is
timed): one plain, one with a team budget, a per-team rate limit on requests and tokens and
the ledger on. The difference per call is the controls' overhead. Targets (issue 15):

    memory  <= 20 us        SQLite  <= 200 us        Redis  <= one round trip

For Redis the reference is a raw redis-py PING measured in the same rounds, and the overhead is
reported in round trips as well as microseconds. Rounds interleave the plain and the controlled
client so noise hits both alike; medians of per-round differences.

    uv run --group bench python benchmarks/spend_controls.py [--calls 2000] [--rounds 7]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import machine_info, median, paired_diff, table, verdict, write_json
from state_stores import redis_server

import cosmara
from cosmara import ChatChunk, ChatRequest, ChatResponse, Cosmara
from cosmara.providers import LocalProvider

MODEL = "instant/bench-model"
MESSAGES = [{"role": "user", "content": "How much does this cost?"}]
TARGETS_US = {"memory": 20.0, "sqlite": 200.0}


class Instant(LocalProvider):
    """Answers at once, with usage, so the engine prices it like any provider."""

    kind = "instant"

    def chat(self, request: ChatRequest, model: str) -> ChatResponse:
        return ChatResponse.model_validate(
            {
                "id": "bench",
                "created": 0,
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": "It costs little."},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 12, "completion_tokens": 4, "total_tokens": 16},
            }
        )

    async def achat(self, request: ChatRequest, model: str) -> ChatResponse:
        return self.chat(request, model)

    def stream(self, request: ChatRequest, model: str) -> Iterator[ChatChunk]:
        raise NotImplementedError

    async def astream(self, request: ChatRequest, model: str) -> AsyncIterator[ChatChunk]:
        raise NotImplementedError
        yield  # pragma: no cover


class InstantPlugin:
    @cosmara.hookimpl
    def cosmara_register_providers(self, register: Callable[..., None]) -> None:
        register("instant", Instant)


def client(state: dict[str, Any] | None) -> Cosmara:
    """The plain client (``state`` None) or the one with every spend control."""
    config: dict[str, Any] = {
        "providers": {"instant": {}},
        "models": {MODEL: {"input": 0.15, "output": 0.6, "max_output_tokens": 16_384}},
    }
    if state is not None:
        config["state"] = state
        config["budgets"] = {"team": {"level": "team", "amount_usd": 1e9}}
        config["rate_limits"] = {
            "per-team": {"scope": "team", "requests_per_minute": 1e9, "tokens_per_minute": 1e12}
        }
        config["ledger"] = {"enabled": True}
    return Cosmara(config, plugins=[InstantPlugin()], team="bench", load_entry_points=False)


def sync_per_call(engine: Cosmara, calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        engine.chat(model=MODEL, messages=MESSAGES, max_tokens=64)
    return (time.perf_counter() - start) / calls * 1e6


def async_per_call(engine: Cosmara, calls: int) -> float:
    async def run() -> float:
        start = time.perf_counter()
        for _ in range(calls):
            await engine.achat(model=MODEL, messages=MESSAGES, max_tokens=64)
        return (time.perf_counter() - start) / calls * 1e6

    return asyncio.run(run())


def ping_per_call(url: str, calls: int) -> float:
    import redis

    raw = redis.Redis.from_url(url)
    raw.ping()
    start = time.perf_counter()
    for _ in range(calls):
        raw.ping()
    elapsed = (time.perf_counter() - start) / calls * 1e6
    raw.close()
    return elapsed


def measure(backend: str, state: dict[str, Any], calls: int, rounds: int) -> dict[str, Any]:
    plain, controlled = client(None), client(state)
    for engine in (plain, controlled):  # warm: imports, connections, prepared statements
        sync_per_call(engine, 200)
        async_per_call(engine, 200)
    times: dict[str, list[float]] = {"plain": [], "controlled": [], "aplain": [], "acontrolled": []}
    pings: list[float] = []
    for _ in range(rounds):
        times["plain"].append(sync_per_call(plain, calls))
        times["controlled"].append(sync_per_call(controlled, calls))
        times["aplain"].append(async_per_call(plain, calls))
        times["acontrolled"].append(async_per_call(controlled, calls))
        if backend == "redis":
            pings.append(ping_per_call(state["url"], calls))
    assert controlled.ledger is not None
    rows = len(controlled.ledger.rows()) if backend != "redis" else None
    plain.close()
    controlled.close()
    result: dict[str, Any] = {
        "plain_us": median(times["plain"]),
        "controlled_us": median(times["controlled"]),
        "overhead_us": paired_diff(times["controlled"], times["plain"]),
        "async_overhead_us": paired_diff(times["acontrolled"], times["aplain"]),
        "ledger_rows": rows,
    }
    if pings:
        result["ping_us"] = median(pings)
        result["round_trips"] = result["overhead_us"] / result["ping_us"]
        result["async_round_trips"] = result["async_overhead_us"] / result["ping_us"]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--redis-url", default=None)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()

    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as folder:
        backends: list[tuple[str, dict[str, Any]]] = [
            ("memory", {"backend": "memory"}),
            ("sqlite", {"backend": "sqlite", "path": str(Path(folder) / "state.db")}),
        ]
        with redis_server(args.redis_url) as url:
            if url is not None:
                backends.append(("redis", {"backend": "redis", "url": url, "prefix": "bench:"}))
            for backend, state in backends:
                results[backend] = measure(backend, state, args.calls, args.rounds)

    rows = []
    for backend, found in results.items():
        if backend == "redis":
            target = f"<= 1 round trip ({found['ping_us']:.0f} us)"
            ok = found["round_trips"] <= 1.0
            figure = f"{found['overhead_us']:.0f} us = {found['round_trips']:.2f} RTT"
            async_figure = (
                f"{found['async_overhead_us']:.0f} us = {found['async_round_trips']:.2f} RTT"
            )
        else:
            target = f"<= {TARGETS_US[backend]:.0f} us"
            ok = found["overhead_us"] <= TARGETS_US[backend]
            figure = f"{found['overhead_us']:.1f} us"
            async_figure = f"{found['async_overhead_us']:.1f} us"
        rows.append(
            [backend, f"{found['plain_us']:.0f} us", figure, async_figure, target, verdict(ok)]
        )
    print(
        table(
            ["store", "plain call", "controls add (sync)", "controls add (async)", "target", ""],
            rows,
        )
    )
    write_json(args.json, {"machine": machine_info(), "results": results})


if __name__ == "__main__":
    main()
