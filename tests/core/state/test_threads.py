"""One store used from many threads and from many asyncio tasks at once: atomic operations
stay atomic and bounds stay bounds, on every backend."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

from cosmara.state import Counter, Hold, Reservation, StateStore

THREADS = 8


def _together(count: int, action) -> list:  # type: ignore[no-untyped-def,type-arg]
    gate = threading.Barrier(count)

    def run(_: int):  # type: ignore[no-untyped-def]
        gate.wait(timeout=30)
        return action()

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(run, range(count)))


def test_threads_never_overspend(store: StateStore) -> None:
    holds = [Hold("org", limit=100.0), Hold("team", limit=60.0)]

    def reserve_many() -> int:
        granted = 0
        for _ in range(25):
            reservation = store.counters.reserve(1.0, holds, lease=60)
            if isinstance(reservation, Reservation):
                granted += store.counters.commit(reservation, 1.0)
        return granted

    assert sum(_together(THREADS, reserve_many)) == 60
    assert store.counters.read("team") == Counter(60.0, 0.0)
    assert store.counters.read("org") == Counter(60.0, 0.0)


async def test_tasks_never_overspend(store: StateStore) -> None:
    holds = [Hold("k", limit=50.0)]
    results = await asyncio.gather(
        *(store.counters.areserve(1.0, holds, lease=60) for _ in range(120))
    )
    granted = [result for result in results if isinstance(result, Reservation)]
    assert len(granted) == 50
    assert len({reservation.id for reservation in granted}) == 50
    await asyncio.gather(*(store.counters.arelease(reservation) for reservation in granted))
    assert await store.counters.aread("k") == Counter(0.0, 0.0)


def test_threads_take_exactly_the_burst(store: StateStore) -> None:
    taken = _together(
        THREADS, lambda: [store.buckets.take("rl", rate=1e-6, burst=50).allowed for _ in range(20)]
    )
    assert sum(sum(batch) for batch in taken) == 50


def test_threads_keep_the_lru_bound(store: StateStore) -> None:
    def fill() -> None:
        name = threading.current_thread().name
        for index in range(30):
            store.kv.put("bounded", f"{name}-{index}", b"v", max_entries=20)
            store.kv.get("bounded", f"{name}-{index // 2}")

    _together(THREADS, fill)
    assert store.kv.count("bounded") == 20


def test_threads_append_without_losing_records(store: StateStore) -> None:
    def append() -> list[str]:
        return [store.log.append("s", b"r") for _ in range(25)]

    cursors = [cursor for batch in _together(THREADS, append) for cursor in batch]
    entries = store.log.read("s", limit=1000)
    assert len(entries) == len(set(cursors)) == THREADS * 25
    assert {entry.cursor for entry in entries} == set(cursors)
