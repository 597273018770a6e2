"""Fixtures of the cache's tests: clients with a cache on each state backend, against the
emulator, on a fake clock (the stores read ``clock.now().timestamp()``)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from cosmara import Cosmara
from cosmara.testing import Emulator, FakeClock

BACKENDS = ["memory", "sqlite", "redis"]
SHARED_BACKENDS = ["sqlite", "redis"]
MODEL = "openai/gpt-4o-mini"
KEY = "sk-test-emulator-key-0000"

Make = Callable[..., Cosmara]


def state_settings(backend: str, request: pytest.FixtureRequest, folder: Path) -> dict[str, str]:
    """The ``[state]`` table of a fresh store: an empty SQLite file, a Redis prefix of its own."""
    if backend == "memory":
        return {"backend": "memory"}
    if backend == "sqlite":
        return {"backend": "sqlite", "path": str(folder / "state.db")}
    url = request.getfixturevalue("redis_url")  # tests/core/conftest.py
    return {"backend": "redis", "url": url, "prefix": f"test:{uuid.uuid4().hex[:12]}:"}


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=BACKENDS)
def state(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    """Each backend in turn."""
    return state_settings(request.param, request, tmp_path)


@pytest.fixture
def memory_state() -> dict[str, str]:
    return {"backend": "memory"}


def _factory(emulator: Emulator, state: Mapping[str, str], clock: FakeClock) -> Iterator[Make]:
    opened: list[Cosmara] = []

    def make(
        namespaces: Mapping[str, Mapping[str, Any]] | None = None,
        *,
        default: str | None = None,
        plugins: tuple[object, ...] = (),
        config: Mapping[str, Any] | None = None,
        **client: Any,
    ) -> Cosmara:
        """A client of the emulator whose cache has ``namespaces`` (one exact ``default``
        namespace when None), in the test's store, org ``acme`` unless told otherwise."""
        cache: dict[str, Any] = {"enabled": True}
        if namespaces is not None:
            cache["namespaces"] = {name: dict(ns) for name, ns in namespaces.items()}
            cache["namespace"] = default or next(iter(namespaces))
        providers = {"openai": {"base_url": emulator.base_url, "api_key": KEY}}
        settings = {"providers": providers, "cache": cache, "state": dict(state), **(config or {})}
        client.setdefault("org", "acme")
        engine = Cosmara(settings, plugins=plugins, load_entry_points=False, clock=clock, **client)
        opened.append(engine)
        return engine

    yield make
    for engine in opened:
        engine.close()


@pytest.fixture
def make(emulator: Emulator, state: dict[str, str], fake_clock: FakeClock) -> Iterator[Make]:
    """Clients with a cache, on each backend in turn."""
    yield from _factory(emulator, state, fake_clock)


@pytest.fixture
def make_memory(
    emulator: Emulator, memory_state: dict[str, str], fake_clock: FakeClock
) -> Iterator[Make]:
    """Clients with a cache in memory (for what storage does not change)."""
    yield from _factory(emulator, memory_state, fake_clock)


def ask(client: Cosmara, text: str = "What is 2+2?", **kwargs: Any) -> Any:
    kwargs.setdefault("model", MODEL)
    return client.chat(messages=[{"role": "user", "content": text}], **kwargs)
