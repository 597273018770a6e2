"""What only the SQLite store has: WAL mode, waiting for another process's write lock without
blocking the event loop, a schema version, and sweeping what expired."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from cosmara.state import Hold, Reservation, SQLiteStore, StateStoreError
from cosmara.state._logic import SWEEP_INTERVAL
from tests.core.state.conftest import FakeTime


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "state.db"


@pytest.fixture
def locker(path: Path) -> Iterator[sqlite3.Connection]:
    """Another connection (as another process would have) to the same file."""
    SQLiteStore(path).close()
    conn = sqlite3.connect(path, isolation_level=None)
    yield conn
    conn.close()


def test_the_file_is_in_wal_mode_and_shared(path: Path) -> None:
    with SQLiteStore(path) as first, SQLiteStore(path) as second:
        first.kv.put("c", "k", b"v")
        assert second.kv.get("c", "k") == b"v"
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def test_a_lock_held_too_long_is_a_store_error(path: Path, locker: sqlite3.Connection) -> None:
    store = SQLiteStore(path, timeout=0.05)
    locker.execute("BEGIN IMMEDIATE")
    with pytest.raises(StateStoreError, match="write lock"):
        store.counters.add("k", 1.0)
    assert store.counters.read("k").spent == 0.0  # readers are never blocked in WAL mode
    locker.execute("ROLLBACK")
    assert store.counters.add("k", 1.0) == 1.0
    store.close()


async def test_async_waits_for_the_lock_off_the_event_loop(
    path: Path, locker: sqlite3.Connection
) -> None:
    store = SQLiteStore(path)
    locker.execute("BEGIN IMMEDIATE")
    waiting = asyncio.ensure_future(store.counters.areserve(1.0, [Hold("k")], lease=60))
    for _ in range(20):  # the loop keeps running other work while the store waits
        await asyncio.sleep(0)
    assert not waiting.done()
    locker.execute("COMMIT")
    reservation = await asyncio.wait_for(waiting, timeout=10)
    assert isinstance(reservation, Reservation)
    assert (await store.counters.aread("k")).reserved == 1.0
    store.close()


def test_a_newer_schema_is_refused(path: Path) -> None:
    SQLiteStore(path).close()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(StateStoreError, match="newer Cosmara"):
        SQLiteStore(path)


def test_a_folder_is_not_a_database(tmp_path: Path) -> None:
    with pytest.raises(StateStoreError, match="SQLite state store"):
        SQLiteStore(tmp_path)
    with pytest.raises(ValueError, match="file path"):
        SQLiteStore(":memory:")


def test_closed_store_refuses(path: Path) -> None:
    store = SQLiteStore(path)
    store.close()
    with pytest.raises(StateStoreError, match="closed"):
        store.kv.get("c", "k")


def test_expired_rows_are_swept(path: Path, clock: FakeTime) -> None:
    store = SQLiteStore(path, clock=clock)
    for index in range(10):
        store.kv.put(f"ns{index}", "k", b"v", ttl=5)
    reservation = store.counters.reserve(1.0, [Hold("k", expires_at=clock.now + 5)], lease=5)
    assert isinstance(reservation, Reservation)
    store.counters.reserve(1.0, [Hold("held")], lease=5)  # never settled: a crash
    store.counters.release(reservation)
    store.buckets.take("rl", rate=1.0, burst=1)
    clock.advance(SWEEP_INTERVAL + 3600)
    store.log.read("s")  # any operation sweeps once the interval has passed
    conn = sqlite3.connect(path)
    tables = ["kv", "kv_sizes", "holds", "settled", "buckets"]
    assert {
        table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in tables
    } == dict.fromkeys(tables, 0)
    assert conn.execute("SELECT key FROM counters").fetchall() == [("held",)]  # no period end
    conn.close()
    store.close()
