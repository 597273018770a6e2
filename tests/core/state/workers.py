"""What the child processes of test_processes.py run: ``python -m tests.core.state.workers
SCENARIO SETTINGS_JSON [MODE]``.

A child opens the store, prints ``ready``, waits for a line on stdin (so every child starts
together), runs its scenario and prints its result as one JSON line.
"""

from __future__ import annotations

import asyncio
import json
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from cosmara.state import Hold, Reservation, StateStore, open_store

BUDGET = "budget:team:shared"
LIMIT = 120.0  # 4 processes x 50 reservations of 1.0: exactly 120 may pass
RESERVATIONS = 50
RECORDS = 25
HELD = 10  # reservations the process that gets killed holds


def crowd(store: StateStore, mode: str, name: str) -> dict[str, Any]:
    """50 reservations of 1.0 at once (threads or asyncio tasks), each granted one committed;
    then 25 log records. How many were granted, and the records' cursors."""
    holds = [Hold(BUDGET, limit=LIMIT)]
    if mode == "threads":
        gate = threading.Barrier(RESERVATIONS)

        def one(_: int) -> int:
            gate.wait(timeout=30)
            reservation = store.counters.reserve(1.0, holds, lease=60)
            if not isinstance(reservation, Reservation):
                return 0
            store.counters.commit(reservation, 1.0)
            return 1

        with ThreadPoolExecutor(RESERVATIONS) as pool:
            granted = sum(pool.map(one, range(RESERVATIONS)))
    else:

        async def one_async() -> int:
            reservation = await store.counters.areserve(1.0, holds, lease=60)
            if not isinstance(reservation, Reservation):
                return 0
            await store.counters.acommit(reservation, 1.0)
            return 1

        async def together() -> int:
            return sum(await asyncio.gather(*(one_async() for _ in range(RESERVATIONS))))

        granted = asyncio.run(together())  # the loop's Redis client closes with the loop
    cursors = [store.log.append("ledger", f"{name}:{i}".encode()) for i in range(RECORDS)]
    store.close()
    return {"granted": granted, "cursors": cursors}


def hold(store: StateStore) -> None:
    """Reserve HELD x 1.0 with a 30 s lease from as many threads, say so, then hang with the
    reservations in flight until killed."""
    holds = [Hold(BUDGET, limit=float(HELD))]
    with ThreadPoolExecutor(HELD) as pool:
        held = list(pool.map(lambda _: store.counters.reserve(1.0, holds, lease=30), range(HELD)))
    assert all(isinstance(reservation, Reservation) for reservation in held)
    print(json.dumps({"held": len(held)}), flush=True)
    sys.stdin.readline()  # never answered: the test kills this process


def main() -> None:
    scenario, settings = sys.argv[1], json.loads(sys.argv[2])
    store = open_store(settings)
    print("ready", flush=True)
    sys.stdin.readline()
    if scenario == "crowd":
        print(json.dumps(crowd(store, sys.argv[3], sys.argv[4])), flush=True)
    else:
        hold(store)


if __name__ == "__main__":
    main()
