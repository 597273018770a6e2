"""Circuit breakers through the engine, on a ``FakeClock``: what reaches a failing target while
its breaker is open, half-open and closed again, on every path.

``tests/core/test_health.py`` covers the state machine on its own; here the counts that matter
are the requests the emulator received for the failing model.
"""

from __future__ import annotations

import asyncio
from collections.abc import Generator, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, cast

import pytest

import cosmara
from cosmara import ChatChunk, ChatResponse, Cosmara, CosmaraMeta
from cosmara.testing import Emulator, FakeClock, Fault
from tests.support.paths import HOWS, Loop, ask, sent

HI = [{"role": "user", "content": "Hello there"}]
FIRST, FIRST_MODEL = "openai/gpt-4o-mini", "gpt-4o-mini"
FALLBACK, FALLBACK_MODEL = "groq/llama-3.1-8b-instant", "llama-3.1-8b-instant"
OPEN_TRAIL = [(FIRST, "CircuitOpen"), (FALLBACK, None)]

every_path = pytest.mark.parametrize("how", HOWS)


@pytest.fixture
def aio() -> Iterator[Loop]:
    loop = Loop()
    yield loop
    loop.close()


class Moves:
    """The ``cosmara_breaker`` events, as (target, old, new)."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, str]] = []

    @cosmara.hookimpl
    def cosmara_breaker(self, target: str, old_state: str, new_state: str) -> None:
        self.seen.append((target, old_state, new_state))

    def of(self, target: str) -> list[tuple[str, str]]:
        return [(old, new) for t, old, new in self.seen if t == target]


def _client(emulator: Emulator, clock: FakeClock, moves: Moves, **breaker: Any) -> Cosmara:
    providers = {
        "openai": {"base_url": emulator.base_url, "api_key": "sk-test-emulator-key-0000"},
        "groq": {"base_url": emulator.base_url, "api_key": "gsk-test-emulator-key-0000"},
    }
    return Cosmara(
        # No retries: each request is one attempt, so failures count one by one.
        {"providers": providers, "breaker": breaker, "retry": {"max_retries": 0}},
        clock=clock,
        plugins=[moves],
        load_entry_points=False,
    )


def _trail(meta: CosmaraMeta | None) -> list[tuple[str, str | None]]:
    assert meta is not None
    return [(f"{a.provider}/{a.model}", a.error) for a in meta.attempts]


def _state(client: Cosmara) -> str:
    return client.health()[FIRST].state


# --- open: nothing is sent until the cooldown ends --------------------------------------------
@every_path
def test_open_breaker_sends_nothing_until_the_cooldown_ends(
    emulator: Emulator, how: str, aio: Loop
) -> None:
    emulator.add_fault(Fault(status=503, match_model=FIRST_MODEL))  # failing for good
    clock, moves = FakeClock(), Moves()
    with _client(emulator, clock, moves, consecutive_failures=3, cooldown_seconds=30) as client:
        for _ in range(3):
            answer = ask(client, how, aio, model=FIRST, fallbacks=[FALLBACK])
            assert _trail(answer.meta) == [(FIRST, "ProviderUnavailableError"), (FALLBACK, None)]
        assert _state(client) == "open"
        assert moves.of(FIRST) == [("closed", "open")]
        assert sent(emulator, FIRST_MODEL) == 3

        for _ in range(5):
            assert _trail(ask(client, how, aio, model=FIRST, fallbacks=[FALLBACK]).meta) == (
                OPEN_TRAIL
            )
        clock.advance(29.5)  # not quite the cooldown
        for _ in range(5):
            assert _trail(ask(client, how, aio, model=FIRST, fallbacks=[FALLBACK]).meta) == (
                OPEN_TRAIL
            )
        assert sent(emulator, FIRST_MODEL) == 3  # zero while open
        assert sent(emulator, FALLBACK_MODEL) == 13

        clock.advance(1)  # past the cooldown: one probe, which fails and reopens the breaker
        answer = ask(client, how, aio, model=FIRST, fallbacks=[FALLBACK])
        assert _trail(answer.meta) == [(FIRST, "ProviderUnavailableError"), (FALLBACK, None)]
        assert sent(emulator, FIRST_MODEL) == 4
        assert moves.of(FIRST) == [("closed", "open"), ("open", "half_open"), ("half_open", "open")]
        for _ in range(3):
            assert _trail(ask(client, how, aio, model=FIRST, fallbacks=[FALLBACK]).meta) == (
                OPEN_TRAIL
            )
        assert sent(emulator, FIRST_MODEL) == 4  # the cooldown starts again from the failed probe

        clock.advance(30)
        ask(client, how, aio, model=FIRST, fallbacks=[FALLBACK])
        assert sent(emulator, FIRST_MODEL) == 5
    assert clock.slept == []  # the breaker never makes the caller wait


def test_open_breaker_without_a_fallback_raises_unsent(emulator: Emulator) -> None:
    emulator.add_fault(Fault(status=503, match_model=FIRST_MODEL))
    clock, moves = FakeClock(), Moves()
    with _client(emulator, clock, moves, consecutive_failures=1, cooldown_seconds=30) as client:
        with pytest.raises(cosmara.ProviderUnavailableError):
            client.chat(model=FIRST, messages=HI)
        with pytest.raises(cosmara.ProviderUnavailableError) as caught:
            client.chat(model=FIRST, messages=HI)
    assert caught.value.code == "CircuitOpen"
    assert [a.error for a in caught.value.attempts] == ["CircuitOpen"]
    assert sent(emulator, FIRST_MODEL) == 1


@every_path
def test_retries_stop_when_the_breaker_opens(emulator: Emulator, how: str, aio: Loop) -> None:
    emulator.add_fault(Fault(status=503, match_model=FIRST_MODEL))
    clock, moves = FakeClock(), Moves()
    with _client(emulator, clock, moves, consecutive_failures=3, cooldown_seconds=30) as client:
        answer = ask(client, how, aio, model=FIRST, fallbacks=[FALLBACK], max_retries=5)
    # The third failure opens the breaker: the fourth try is not sent, nor waited for.
    assert _trail(answer.meta) == [(FIRST, "ProviderUnavailableError")] * 3 + OPEN_TRAIL
    assert sent(emulator, FIRST_MODEL) == 3
    assert len(clock.slept) == 2


# --- half-open: exactly the probes get through -------------------------------------------------
PROBES = {"consecutive_failures": 1, "cooldown_seconds": 30, "half_open_probes": 2}


def _fail_once_then_slowly(emulator: Emulator) -> None:
    """One quick failure (it opens the breaker), then slow ones: every concurrent caller has
    asked the breaker before the first probe comes back."""
    emulator.add_fault(Fault(status=503, times=1, match_model=FIRST_MODEL))
    emulator.add_fault(Fault(status=503, delay=0.3, match_model=FIRST_MODEL))


def _check_probe_round(answers: list[ChatResponse]) -> None:
    trails = sorted(_trail(a.cosmara) for a in answers)
    assert trails == sorted(
        [[(FIRST, "ProviderUnavailableError"), (FALLBACK, None)]] * 2 + [OPEN_TRAIL] * 8
    )
    assert all(a.text == "Echo: Hello there" for a in answers)


async def test_half_open_lets_exactly_the_probes_through_concurrently(
    emulator: Emulator,
) -> None:
    clock, moves = FakeClock(), Moves()

    async def ten() -> list[ChatResponse]:
        calls = [client.achat(model=FIRST, messages=HI, fallbacks=[FALLBACK]) for _ in range(10)]
        return list(await asyncio.gather(*calls))

    async with _client(emulator, clock, moves, **PROBES) as client:
        _fail_once_then_slowly(emulator)
        await client.achat(model=FIRST, messages=HI, fallbacks=[FALLBACK])
        assert _state(client) == "open"
        clock.advance(30)
        _check_probe_round(await ten())
        assert sent(emulator, FIRST_MODEL) == 1 + 2
        assert _state(client) == "open"  # the failed probes reopened it
        assert moves.of(FIRST) == [("closed", "open"), ("open", "half_open"), ("half_open", "open")]

        assert [_trail(a.cosmara) for a in await ten()] == [OPEN_TRAIL] * 10
        assert sent(emulator, FIRST_MODEL) == 3  # zero until the next cooldown

        clock.advance(30)
        _check_probe_round(await ten())
        assert sent(emulator, FIRST_MODEL) == 3 + 2


def test_half_open_lets_exactly_the_probes_through_from_threads(emulator: Emulator) -> None:
    clock, moves = FakeClock(), Moves()
    with _client(emulator, clock, moves, **PROBES) as client, ThreadPoolExecutor(10) as pool:

        def ten() -> list[ChatResponse]:
            calls = [
                pool.submit(client.chat, model=FIRST, messages=HI, fallbacks=[FALLBACK])
                for _ in range(10)
            ]
            return [call.result() for call in calls]

        _fail_once_then_slowly(emulator)
        client.chat(model=FIRST, messages=HI, fallbacks=[FALLBACK])  # also opens both pools
        assert _state(client) == "open"
        clock.advance(30)
        _check_probe_round(ten())
        assert sent(emulator, FIRST_MODEL) == 1 + 2
        assert _state(client) == "open"
        assert [_trail(a.cosmara) for a in ten()] == [OPEN_TRAIL] * 10
        assert sent(emulator, FIRST_MODEL) == 3
    assert moves.of(FIRST) == [("closed", "open"), ("open", "half_open"), ("half_open", "open")]


# --- recovery --------------------------------------------------------------------------------
@every_path
def test_recovery_closes_the_breaker(emulator: Emulator, how: str, aio: Loop) -> None:
    emulator.add_fault(Fault(status=503, times=2, match_model=FIRST_MODEL))  # then healthy
    clock, moves = FakeClock(), Moves()
    policy = {
        "consecutive_failures": 2,
        "cooldown_seconds": 30,
        "half_open_probes": 1,
        "close_after_successes": 2,
    }
    with _client(emulator, clock, moves, **policy) as client:
        for _ in range(2):
            ask(client, how, aio, model=FIRST, fallbacks=[FALLBACK])
        assert _state(client) == "open"
        # Healthy again, but nothing may tell yet: the breaker is still cooling down.
        assert _trail(ask(client, how, aio, model=FIRST, fallbacks=[FALLBACK]).meta) == OPEN_TRAIL
        assert sent(emulator, FIRST_MODEL) == 2

        clock.advance(30)
        first = ask(client, how, aio, model=FIRST, fallbacks=[FALLBACK])
        assert _trail(first.meta) == [(FIRST, None)]  # the probe is answered
        assert _state(client) == "half_open"  # one success of the two needed
        second = ask(client, how, aio, model=FIRST, fallbacks=[FALLBACK])
        assert _trail(second.meta) == [(FIRST, None)]
        assert _state(client) == "closed"
        for _ in range(3):
            assert ask(client, how, aio, model=FIRST, fallbacks=[FALLBACK]).meta.provider == (
                "openai"
            )
        health = client.health()
    assert moves.of(FIRST) == [("closed", "open"), ("open", "half_open"), ("half_open", "closed")]
    assert moves.of(FALLBACK) == []
    assert sent(emulator, FIRST_MODEL) == 2 + 2 + 3
    assert health[FIRST].last_error == "ProviderUnavailableError"
    assert health[FALLBACK].state == "closed"


# --- a probe that never reports back ---------------------------------------------------------
ONE_PROBE = {"consecutive_failures": 1, "cooldown_seconds": 30, "half_open_probes": 1}


async def test_a_cancelled_probe_does_not_block_the_target_for_good(emulator: Emulator) -> None:
    clock, moves = FakeClock(), Moves()
    async with _client(emulator, clock, moves, **ONE_PROBE) as client:
        emulator.add_fault(Fault(status=503, times=1, match_model=FIRST_MODEL))
        await client.achat(model=FIRST, messages=HI, fallbacks=[FALLBACK])
        clock.advance(30)
        emulator.add_fault(Fault(delay=0.3, times=1, match_model=FIRST_MODEL))
        with pytest.raises(asyncio.TimeoutError):  # the caller gives up on the probe
            await asyncio.wait_for(client.achat(model=FIRST, messages=HI), 0.05)
        # The target is healthy again; whatever the cancelled probe counts as, once another
        # cooldown has passed a request must be let through to find out.
        clock.advance(300)
        answer = await client.achat(model=FIRST, messages=HI, fallbacks=[FALLBACK])
    assert _trail(answer.cosmara) == [(FIRST, None)]


def test_an_abandoned_stream_probe_does_not_block_the_target_for_good(emulator: Emulator) -> None:
    clock, moves = FakeClock(), Moves()
    with _client(emulator, clock, moves, **ONE_PROBE) as client:
        emulator.add_fault(Fault(status=503, times=1, match_model=FIRST_MODEL))
        client.chat(model=FIRST, messages=HI, fallbacks=[FALLBACK])
        clock.advance(30)
        chunks = cast(Generator[ChatChunk, None, None], client.stream(model=FIRST, messages=HI))
        assert next(chunks).choices[0].delta.content is not None  # the probe got through
        chunks.close()  # the caller has what it needs and stops reading
        clock.advance(300)
        answer = client.chat(model=FIRST, messages=HI, fallbacks=[FALLBACK])
    assert _trail(answer.cosmara) == [(FIRST, None)]
