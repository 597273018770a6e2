"""Async pools belong to their event loop and are closed inside it when the loop shuts down;
a finished loop leaves nothing behind in the client."""

from __future__ import annotations

import asyncio
import gc
import warnings
import weakref
from typing import Any

import pytest

from cosmara import Cosmara
from cosmara.testing import Emulator

HI = [{"role": "user", "content": "hi"}]
BACKENDS = pytest.mark.parametrize("backend", ["aiohttp", "httpx"])


def _client(emulator: Emulator, backend: str) -> Cosmara:
    providers = {"openai": {"base_url": emulator.base_url, "api_key": "sk-x"}}
    return Cosmara({"providers": providers, "async_transport": backend}, load_entry_points=False)


def _is_closed(pools: Any) -> bool:
    """Whether every session (aiohttp) or client (httpx) of a loop's pools is closed."""
    sessions = [session for session, _ in getattr(pools, "_sessions", {}).values()]
    clients = list(getattr(pools, "_clients", {}).values())
    return all(s.closed for s in sessions) and all(c.is_closed for c in clients)


@BACKENDS
def test_each_asyncio_run_closes_its_connections(emulator: Emulator, backend: str) -> None:
    client = _client(emulator, backend)
    seen: list[Any] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(3):  # a new loop each time, as scripts and notebooks do

            async def ask() -> str:
                response = await client.achat(model="openai/gpt-4o-mini", messages=HI)
                seen.append(client._transport._loops[asyncio.get_running_loop()].pools)
                return response.text

            assert asyncio.run(ask()) == "Echo: hi"
        gc.collect()
    leaks = [w for w in caught if issubclass(w.category, ResourceWarning)]
    assert leaks == []
    # Each loop closed its own pools at shutdown, inside the loop, and was forgotten.
    assert all(_is_closed(pools) for pools in seen)
    assert client._transport._loops == {}
    client.close()


@BACKENDS
def test_finished_loops_are_released(emulator: Emulator, backend: str) -> None:
    client = _client(emulator, backend)
    loops: list[weakref.ref[asyncio.AbstractEventLoop]] = []

    async def ask() -> None:
        loops.append(weakref.ref(asyncio.get_running_loop()))
        await client.achat(model="openai/gpt-4o-mini", messages=HI)

    for _ in range(20):
        asyncio.run(ask())
    gc.collect()
    assert client._transport._loops == {}
    assert [ref for ref in loops if ref() is not None] == []  # nothing keeps a closed loop alive
    client.close()


@BACKENDS
def test_a_loop_closed_without_shutdown_is_dropped(emulator: Emulator, backend: str) -> None:
    client = _client(emulator, backend)
    loop = asyncio.new_event_loop()
    loop.run_until_complete(client.achat(model="openai/gpt-4o-mini", messages=HI))
    loop.close()  # no shutdown_asyncgens: its pools could not be closed inside it
    asyncio.run(client.achat(model="openai/gpt-4o-mini", messages=HI))
    assert loop not in client._transport._loops
    client.close()


@BACKENDS
async def test_aclose_closes_this_loops_pools(emulator: Emulator, backend: str) -> None:
    client = _client(emulator, backend)
    await client.achat(model="openai/gpt-4o-mini", messages=HI)
    pools = client._transport._loops[asyncio.get_running_loop()].pools
    await client.aclose()
    assert _is_closed(pools)
    assert asyncio.get_running_loop() not in client._transport._loops
