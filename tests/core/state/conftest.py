"""Fixtures for the state stores: a fake wall clock and each backend (the real redis-server
behind ``redis_url`` is started by tests/core/conftest.py, shared with the cache's tests)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from cosmara.state import MemoryStore, RedisStore, SQLiteStore, StateStore

BACKENDS = ["memory", "sqlite", "redis"]
SHARED_BACKENDS = ["sqlite", "redis"]  # those several processes can share


class FakeTime:
    """Wall-clock seconds that move only when a test says so."""

    def __init__(self, start: float = 1_767_225_600.0) -> None:  # 2026-01-01T00:00Z
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeTime:
    return FakeTime()


def open_backend(
    backend: str,
    request: pytest.FixtureRequest,
    folder: Path,
    clock: FakeTime | None = None,
    prefix: str | None = None,
) -> StateStore:
    """A fresh store of ``backend``: an empty SQLite file, or a Redis prefix of its own."""
    options = {} if clock is None else {"clock": clock}
    if backend == "memory":
        return MemoryStore(**options)
    if backend == "sqlite":
        return SQLiteStore(folder / "state.db", **options)
    url = request.getfixturevalue("redis_url")
    return RedisStore(url, prefix=prefix or f"test:{uuid.uuid4().hex[:12]}:", **options)


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path, clock: FakeTime) -> Iterator[StateStore]:
    """Each backend in turn, on the fake clock."""
    opened = open_backend(request.param, request, tmp_path, clock)
    yield opened
    opened.close()


@pytest.fixture(params=SHARED_BACKENDS)
def shared_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    """How a child process opens the same store as the test: open_store() settings."""
    if request.param == "sqlite":
        yield {"backend": "sqlite", "path": str(tmp_path / "shared.db")}
    else:
        url = request.getfixturevalue("redis_url")
        yield {"backend": "redis", "url": url, "prefix": f"test:{uuid.uuid4().hex[:12]}:"}
