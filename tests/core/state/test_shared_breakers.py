"""Circuit breakers shared through the store (``[breaker] shared = true``): a provider one
client's breaker opened is skipped by every other client sharing the SQLite file or the Redis
server, until its cooldown is over; without sharing each learns it by its own failures."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from cosmara import Cosmara
from cosmara.testing import Emulator, FakeClock, Fault
from tests.support.paths import Loop, sent

FAILING = "openai/gpt-4o-mini"
SPARE = "groq/llama-3.1-8b-instant"
HI = [{"role": "user", "content": "Hi"}]


def _client(
    emulator: Emulator, state: dict[str, Any], clock: FakeClock, shared: bool = True
) -> Cosmara:
    providers = {
        "openai": {"base_url": emulator.base_url, "api_key": "sk-x"},
        "groq": {"base_url": emulator.base_url, "api_key": "gsk-x"},
    }
    breaker = {"consecutive_failures": 2, "cooldown_seconds": 30, "shared": shared}
    config = {
        "providers": providers,
        "breaker": breaker,
        "state": state,
        "retry": {"max_retries": 0},
    }
    return Cosmara(config, clock=clock, load_entry_points=False)


def _ask(client: Cosmara, how: str = "chat") -> Any:
    if how == "chat":
        return client.chat(model=FAILING, messages=HI, fallbacks=[SPARE])
    loop = Loop()
    try:
        return loop.run(client.achat(model=FAILING, messages=HI, fallbacks=[SPARE]))
    finally:
        loop.close()


def _open_the_breaker(emulator: Emulator, client: Cosmara) -> None:
    emulator.add_fault(Fault(status=503, match_model="gpt-4o-mini"))
    for _ in range(2):
        assert _ask(client).cosmara.provider == "groq"
    assert client.health()[FAILING].state == "open"


@pytest.mark.parametrize("how", ["chat", "achat"])
def test_a_breaker_one_client_opened_is_open_for_the_others(
    emulator: Emulator, shared_backend: dict[str, str], how: str
) -> None:
    first, second = FakeClock(), FakeClock()
    one = _client(emulator, shared_backend, first)
    other = _client(emulator, shared_backend, second)
    _open_the_breaker(emulator, one)
    failed_sends = sent(emulator, "gpt-4o-mini")

    answer = _ask(other, how)
    assert answer.cosmara.provider == "groq"
    assert answer.cosmara.attempts[0].error == "CircuitOpen"
    assert sent(emulator, "gpt-4o-mini") == failed_sends  # the other never paid to learn it
    assert other.health()[FAILING].state == "open"

    second.advance(31)  # the cooldown the first client announced is over: probe again
    emulator.reset()
    assert _ask(other, how).cosmara.provider == "openai"
    for client in (one, other):
        client.close()


def test_without_sharing_each_client_learns_by_itself(
    emulator: Emulator, shared_backend: dict[str, str]
) -> None:
    one = _client(emulator, shared_backend, FakeClock(), shared=False)
    other = _client(emulator, shared_backend, FakeClock(), shared=False)
    _open_the_breaker(emulator, one)
    before = sent(emulator, "gpt-4o-mini")
    assert _ask(other).cosmara.provider == "groq"
    assert sent(emulator, "gpt-4o-mini") == before + 1  # it sent, and failed, itself
    for client in (one, other):
        client.close()


def test_sharing_is_read_at_most_every_so_often(
    emulator: Emulator, shared_backend: dict[str, str]
) -> None:
    second = FakeClock()
    one = _client(emulator, shared_backend, FakeClock())
    other = _client(emulator, shared_backend, second)
    assert _ask(other).cosmara.provider == "openai"  # reads the (empty) log now
    _open_the_breaker(emulator, one)
    assert _ask(other).cosmara.attempts[0].error == "ProviderUnavailableError"  # not read yet
    second.advance(1.0)
    assert _ask(other).cosmara.attempts[0].error == "CircuitOpen"
    for client in (one, other):
        client.close()


def test_a_store_that_is_down_never_fails_a_request(
    emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    state = {"backend": "redis", "url": "redis://127.0.0.1:9/0", "timeout": 0.2}
    client = _client(emulator, state, FakeClock())
    with caplog.at_level(logging.WARNING, logger="cosmara.health"):
        _open_the_breaker(emulator, client)
    assert "could not read the shared breakers" in caplog.text
    assert "could not share the breaker" in caplog.text
    client.close()


def test_the_async_path_awaits_its_share_instead_of_blocking_the_loop(
    emulator: Emulator, shared_backend: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    one = _client(emulator, shared_backend, FakeClock())

    def blocking(*args: Any, **kwargs: Any) -> str:
        raise AssertionError("a blocking store write on the event loop")

    monkeypatch.setattr(type(one.state.log), "append", blocking)
    emulator.add_fault(Fault(status=503, match_model="gpt-4o-mini"))
    for _ in range(2):
        assert _ask(one, "achat").cosmara.provider == "groq"
    assert one.health()[FAILING].state == "open"
    other = _client(emulator, shared_backend, FakeClock())
    assert _ask(other, "achat").cosmara.attempts[0].error == "CircuitOpen"
    for client in (one, other):
        client.close()
