"""Several processes share one store (SQLite file, Redis server): limits hold, crashed
reservations come back after their lease, and one process reads what others appended.

The children are ``python -m tests.core.state.workers`` processes (see workers.py).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cosmara.state import Counter, Hold, Reservation, open_store
from tests.core.state import workers

ROOT = Path(__file__).resolve().parents[3]
PROCESSES = 4


def _start(scenario: str, settings: dict[str, str], *extra: str) -> subprocess.Popen[str]:
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.core.state.workers", scenario, json.dumps(settings), *extra],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "ready", "the worker did not open the store"
    return child


def _go(child: subprocess.Popen[str]) -> None:
    assert child.stdin is not None
    child.stdin.write("go\n")
    child.stdin.flush()


def _answer(child: subprocess.Popen[str]) -> Any:
    assert child.stdout is not None
    line = child.stdout.readline()
    assert line, f"the worker died (exit code {child.wait()})"
    return json.loads(line)


@pytest.fixture(scope="module", params=["sqlite", "redis"])
def settings(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    if request.param == "sqlite":
        return {"backend": "sqlite", "path": str(tmp_path_factory.mktemp("shared") / "s.db")}
    url = request.getfixturevalue("redis_url")
    return {"backend": "redis", "url": url, "prefix": f"test:{uuid.uuid4().hex[:12]}:"}


@pytest.fixture(scope="module")
def crowd(settings: dict[str, str]) -> Iterator[list[dict[str, Any]]]:
    """4 processes (2 with threads, 2 with asyncio) that each race 50 reservations against one
    limit, started together, then append 25 log records each."""
    modes = ["threads", "asyncio"] * (PROCESSES // 2)
    children = [_start("crowd", settings, mode, f"p{index}") for index, mode in enumerate(modes)]
    try:
        for child in children:
            _go(child)
        results = [_answer(child) for child in children]
        for child in children:
            assert child.wait(timeout=60) == 0
        yield results
    finally:
        for child in children:
            child.kill()
            child.wait()


def test_concurrent_reservations_never_exceed_the_limit(
    settings: dict[str, str], crowd: list[dict[str, Any]]
) -> None:
    granted = sum(result["granted"] for result in crowd)
    assert granted == workers.LIMIT  # 200 tried: not one more, not one fewer
    with open_store(settings) as store:
        assert store.counters.read(workers.BUDGET) == Counter(spent=workers.LIMIT, reserved=0.0)


def test_records_appended_by_other_processes_are_read_in_order(
    settings: dict[str, str], crowd: list[dict[str, Any]]
) -> None:
    with open_store(settings) as store:
        entries = store.log.read("ledger", limit=1000)
        assert len(entries) == PROCESSES * workers.RECORDS
        assert len({entry.cursor for entry in entries}) == len(entries)
        for index, result in enumerate(crowd):
            name = f"p{index}".encode()
            mine = [entry for entry in entries if entry.record.split(b":")[0] == name]
            expected = [b"%s:%d" % (name, i) for i in range(workers.RECORDS)]
            assert [entry.record for entry in mine] == expected
            assert [entry.cursor for entry in mine] == result["cursors"]
        # Following on from any cursor gives exactly the rest.
        assert store.log.read("ledger", after=entries[40].cursor, limit=1000) == entries[41:]


def test_reservations_of_a_killed_process_come_back_after_the_lease(
    settings: dict[str, str],
) -> None:
    settings = {**settings, "prefix": f"test:{uuid.uuid4().hex[:12]}:"}
    if settings["backend"] == "sqlite":
        settings["path"] = settings["path"].replace("s.db", "killed.db")
    child = _start("hold", settings)
    try:
        _go(child)
        assert _answer(child) == {"held": workers.HELD}
        skew = 0.0
        with open_store(settings, clock=lambda: time.time() + skew) as store:
            assert store.counters.read(workers.BUDGET).reserved == workers.HELD
            child.kill()  # SIGKILL: no commit, no release, no clean-up
            child.wait()
            holds = [Hold(workers.BUDGET, limit=float(workers.HELD))]
            assert not isinstance(store.counters.reserve(1.0, holds, lease=30), Reservation)
            skew = 31.0  # this process's clock, just past the dead process's leases
            assert store.counters.read(workers.BUDGET) == Counter(0.0, 0.0)
            assert isinstance(store.counters.reserve(10.0, holds, lease=30), Reservation)
    finally:
        child.kill()
        child.wait()
