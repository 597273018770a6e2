"""A fault matrix through the engine: every failure mode, on every path (chat, achat, stream,
astream), with the first target failing and a fallback answering.

Both providers point at the emulator; faults are scoped to the first target's model with
``match_model``, so the fallback (``groq/llama-3.1-8b-instant``) stays healthy. Retry waits run
on a ``FakeClock``: nothing here sleeps for real except the short timeouts that are the fault.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest

import cosmara
from cosmara import ChatChunk, Cosmara, CosmaraMeta
from cosmara.testing import Emulator, FakeClock, Fault
from tests.support.paths import HOWS, STREAMS, Answer, Loop, ask, sent
from tests.support.paths import text_of as _text

ANSWER = "Echo: Hello there"
FIRST, FIRST_MODEL = "openai/gpt-4o-mini", "gpt-4o-mini"
FALLBACK, FALLBACK_MODEL = "groq/llama-3.1-8b-instant", "llama-3.1-8b-instant"

every_path = pytest.mark.parametrize("how", HOWS)
stream_paths = pytest.mark.parametrize("how", STREAMS)


@pytest.fixture
def aio() -> Iterator[Loop]:
    loop = Loop()
    yield loop
    loop.close()


def _providers(emulator: Emulator) -> dict[str, dict[str, str]]:
    return {
        "openai": {"base_url": emulator.base_url, "api_key": "sk-test-emulator-key-0000"},
        "groq": {"base_url": emulator.base_url, "api_key": "gsk-test-emulator-key-0000"},
    }


def _client(
    emulator: Emulator,
    clock: FakeClock | None = None,
    providers: dict[str, dict[str, str]] | None = None,
    **config: Any,
) -> Cosmara:
    # No retries unless a test asks for them: a fault is one failed attempt.
    return Cosmara(
        {"providers": providers or _providers(emulator), "retry": {"max_retries": 0}, **config},
        clock=clock or FakeClock(),
        load_entry_points=False,
    )


def _trail(meta: CosmaraMeta) -> list[tuple[str, str | None]]:
    return [(f"{a.provider}/{a.model}", a.error) for a in meta.attempts]


def _single_answer(answer: Answer) -> None:
    """The caller saw one answer: the fallback's, once, with no opening from the failed try."""
    assert answer.text == ANSWER
    if answer.chunks:
        assert sum(1 for c in answer.chunks if c.choices and c.choices[0].delta.role) == 1
        assert sum(1 for c in answer.chunks if c.choices and c.choices[0].finish_reason) == 1
        assert len({c.id for c in answer.chunks}) == 1  # every chunk from one response


# --- 429 with Retry-After --------------------------------------------------------------------
@every_path
def test_retry_after_is_waited_on_the_clock_up_to_the_cap(
    emulator: Emulator, how: str, aio: Loop
) -> None:
    emulator.add_fault(Fault(status=429, retry_after=7, match_model=FIRST_MODEL))
    clock = FakeClock()
    retry = {"max_retries": 1, "initial_delay": 0.01, "retry_after_cap": 10}
    started = time.perf_counter()
    with _client(emulator, clock, retry=retry) as client:
        answer = ask(client, how, aio, model=FIRST, fallbacks=[FALLBACK])
        assert time.perf_counter() - started < 2  # seven seconds passed on the fake clock only
        assert clock.slept == [7.0]  # at least Retry-After (the backoff alone would be 0.01)
        assert _trail(answer.meta) == [
            (FIRST, "RateLimitError"),
            (FIRST, "RateLimitError"),
            (FALLBACK, None),
        ]
        assert [a.status_code for a in answer.meta.attempts] == [429, 429, None]
        _single_answer(answer)
        assert (sent(emulator, FIRST_MODEL), sent(emulator, FALLBACK_MODEL)) == (2, 1)

        # A Retry-After above retry_after_cap waits exactly the cap.
        emulator.reset()
        emulator.add_fault(Fault(status=429, retry_after=120, match_model=FIRST_MODEL))
        answer = ask(client, how, aio, model=FIRST, fallbacks=[FALLBACK], max_retries=2)
    assert clock.slept == [7.0, 10.0, 10.0]
    assert [a.error for a in answer.meta.attempts] == ["RateLimitError"] * 3 + [None]
    assert answer.meta.provider == "groq"


# --- 5xx storms ------------------------------------------------------------------------------
@pytest.mark.parametrize("status", [500, 502, 503, 504])
@every_path
def test_server_error_storm_is_answered_by_the_fallback(
    emulator: Emulator, how: str, aio: Loop, status: int
) -> None:
    emulator.add_fault(Fault(status=status, match_model=FIRST_MODEL))  # no `times`: forever
    clock = FakeClock()
    retry = {"max_retries": 0, "initial_delay": 1, "multiplier": 2, "jitter": 0}
    # The breaker is tested on its own (test_breaker_engine): here every request must try.
    with _client(emulator, clock, retry=retry, breaker={"enabled": False}) as client:
        for _ in range(3):
            answer = ask(client, how, aio, model=FIRST, fallbacks=[FALLBACK])
            assert _trail(answer.meta) == [(FIRST, "ProviderUnavailableError"), (FALLBACK, None)]
            assert answer.meta.attempts[0].status_code == status
            assert (answer.meta.provider, answer.meta.model) == ("groq", FALLBACK_MODEL)
            _single_answer(answer)
        assert (sent(emulator, FIRST_MODEL), sent(emulator, FALLBACK_MODEL)) == (3, 3)
        assert clock.slept == []

        # With two retries, the failing target is tried three times before the fallback.
        answer = ask(client, how, aio, model=FIRST, fallbacks=[FALLBACK], max_retries=2)
    assert _trail(answer.meta) == [(FIRST, "ProviderUnavailableError")] * 3 + [(FALLBACK, None)]
    assert (sent(emulator, FIRST_MODEL), sent(emulator, FALLBACK_MODEL)) == (3 + 3, 3 + 1)
    assert clock.slept == [1.0, 2.0]  # exponential backoff, on the fake clock
    _single_answer(answer)


# --- connection refused ----------------------------------------------------------------------
def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port  # nothing listens there any more: connecting is refused


@every_path
def test_connection_refused_falls_back(emulator: Emulator, how: str, aio: Loop) -> None:
    providers = _providers(emulator)
    providers["openai"] = {"base_url": f"http://127.0.0.1:{_closed_port()}/v1", "api_key": "sk-x"}
    with _client(emulator, providers=providers) as client:
        answer = ask(client, how, aio, model=FIRST, fallbacks=[FALLBACK])
        assert _trail(answer.meta) == [(FIRST, "ProviderConnectionError"), (FALLBACK, None)]
        assert answer.meta.attempts[0].status_code is None
        _single_answer(answer)
        with pytest.raises(cosmara.ProviderConnectionError) as caught:
            ask(client, how, aio, model=FIRST)
    assert [a.error for a in caught.value.attempts] == ["ProviderConnectionError"]
    assert sent(emulator, FIRST_MODEL) == 0
    assert sent(emulator, FALLBACK_MODEL) == 1


# --- read timeout ----------------------------------------------------------------------------
@every_path
def test_read_timeout_falls_back(emulator: Emulator, how: str, aio: Loop) -> None:
    emulator.add_fault(Fault(delay=0.45, match_model=FIRST_MODEL))
    with _client(emulator) as client:
        started = time.perf_counter()
        answer = ask(client, how, aio, model=FIRST, fallbacks=[FALLBACK], timeout=0.15)
        assert time.perf_counter() - started < 0.45  # gave up at 0.15 s, did not wait it out
    assert _trail(answer.meta) == [(FIRST, "RequestTimeoutError"), (FALLBACK, None)]
    _single_answer(answer)


# --- streams: stalled before the first token, cut after it -----------------------------------
@stream_paths
def test_stream_stalled_before_the_first_token_is_taken_over(
    emulator: Emulator, how: str, aio: Loop
) -> None:
    # The role chunk arrives, then nothing: the caller must not see that opening twice.
    emulator.add_fault(Fault(stall_after_chunks=1, stall_seconds=0.45, match_model=FIRST_MODEL))
    # Sync streams hold every read to max(first_token, between_chunks): both are short here.
    timeout = {"request": 5, "first_token": 0.15, "between_chunks": 0.15}
    with _client(emulator) as client:
        answer = ask(client, how, aio, model=FIRST, fallbacks=[FALLBACK], timeout=timeout)
    assert _trail(answer.meta) == [(FIRST, "RequestTimeoutError"), (FALLBACK, None)]
    assert answer.meta.provider == "groq"
    assert answer.chunks[-1].usage is not None
    assert all(c.usage is None for c in answer.chunks[:-1])  # usage reported once, at the end
    _single_answer(answer)


@stream_paths
def test_stream_cut_after_tokens_raises_with_the_partial_text(
    emulator: Emulator, how: str, aio: Loop
) -> None:
    emulator.add_fault(Fault(cut_after_chunks=3, match_model=FIRST_MODEL))
    received: list[ChatChunk] = []
    recorder = Recorder()
    with _client(emulator) as client:
        client.plugins.register(recorder)
        with pytest.raises(cosmara.ProviderConnectionError) as caught:
            ask(client, how, aio, received, model=FIRST, fallbacks=[FALLBACK])
    error = caught.value
    assert recorder.errors == [error]  # reported once, as the caller's failure
    assert recorder.responses == []
    assert error.partial_text  # content had reached the caller
    assert error.partial_text == _text(received)
    assert ANSWER.startswith(error.partial_text)
    assert [(a.provider, a.error) for a in error.attempts] == [
        ("openai", "ProviderConnectionError")
    ]
    assert sent(emulator, FALLBACK_MODEL) == 0  # no silent restart mid-answer


# --- malformed body --------------------------------------------------------------------------
@every_path
def test_malformed_body_falls_back_or_raises(emulator: Emulator, how: str, aio: Loop) -> None:
    emulator.add_fault(Fault(malformed=True, match_model=FIRST_MODEL))
    with _client(emulator) as client:
        answer = ask(client, how, aio, model=FIRST, fallbacks=[FALLBACK])
        assert _trail(answer.meta) == [(FIRST, "InvalidResponseError"), (FALLBACK, None)]
        _single_answer(answer)
        with pytest.raises(cosmara.InvalidResponseError) as caught:
            ask(client, how, aio, model=FIRST)
    assert [a.error for a in caught.value.attempts] == ["InvalidResponseError"]
    assert caught.value.partial_text is None  # nothing had reached the caller


# --- 401 -------------------------------------------------------------------------------------
@every_path
def test_authentication_error_is_never_retried(emulator: Emulator, how: str, aio: Loop) -> None:
    emulator.add_fault(Fault(status=401, match_model=FIRST_MODEL))
    clock = FakeClock()
    with _client(emulator, clock, retry={"max_retries": 3}) as client:
        # A rejected key is not retried on the same target, but another target may hold other
        # credentials (here another provider), so the engine falls back rather than raising.
        answer = ask(client, how, aio, model=FIRST, fallbacks=[FALLBACK])
        assert _trail(answer.meta) == [(FIRST, "AuthenticationError"), (FALLBACK, None)]
        assert answer.meta.attempts[0].status_code == 401
        _single_answer(answer)
        assert sent(emulator, FIRST_MODEL) == 1
        # With nothing to fall back on, the AuthenticationError itself is raised.
        with pytest.raises(cosmara.AuthenticationError) as caught:
            ask(client, how, aio, model=FIRST)
        assert [a.error for a in caught.value.attempts] == ["AuthenticationError"]
        assert sent(emulator, FIRST_MODEL) == 2
        # A bad key says nothing about the target's health.
        assert client.health()[FIRST].state == "closed"
    assert clock.slept == []


# --- one record per request ------------------------------------------------------------------
class Recorder:
    """Counts the events of each kind and keeps what they carried."""

    def __init__(self) -> None:
        self.responses: list[Any] = []
        self.errors: list[cosmara.ProviderError] = []
        self.fallbacks: list[str] = []
        self.starts = 0

    @cosmara.hookimpl
    def cosmara_request_start(self) -> None:
        self.starts += 1

    @cosmara.hookimpl
    def cosmara_response(self, response: Any) -> None:
        self.responses.append(response)

    @cosmara.hookimpl
    def cosmara_error(self, error: cosmara.ProviderError) -> None:
        self.errors.append(error)

    @cosmara.hookimpl
    def cosmara_fallback(self, next_target: str) -> None:
        self.fallbacks.append(next_target)


@every_path
def test_one_response_event_per_request_with_retries_and_a_fallback(
    emulator: Emulator, how: str, aio: Loop
) -> None:
    emulator.add_fault(Fault(status=503, match_model=FIRST_MODEL))
    recorder = Recorder()
    with _client(emulator, retry={"max_retries": 2}) as client:
        client.plugins.register(recorder)
        answer = ask(client, how, aio, model=FIRST, fallbacks=[FALLBACK])
    assert recorder.starts == 1
    assert len(recorder.responses) == 1
    assert recorder.errors == []
    assert recorder.fallbacks == [FALLBACK]
    meta = recorder.responses[0].cosmara
    assert _trail(meta) == [(FIRST, "ProviderUnavailableError")] * 3 + [(FALLBACK, None)]
    assert meta.attempts == answer.meta.attempts
    assert recorder.responses[0].choices[0].message.content == ANSWER


@every_path
def test_one_error_event_when_every_target_fails(emulator: Emulator, how: str, aio: Loop) -> None:
    emulator.add_fault(Fault(status=503))  # every model
    recorder = Recorder()
    with _client(emulator, retry={"max_retries": 2}) as client:
        client.plugins.register(recorder)
        with pytest.raises(cosmara.ProviderUnavailableError) as caught:
            ask(client, how, aio, model=FIRST, fallbacks=[FALLBACK])
    assert recorder.responses == []
    assert recorder.errors == [caught.value]
    assert [(f"{a.provider}/{a.model}", a.error) for a in recorder.errors[0].attempts] == [
        (FIRST, "ProviderUnavailableError")
    ] * 3 + [(FALLBACK, "ProviderUnavailableError")] * 3
    assert emulator.request_count == 6
