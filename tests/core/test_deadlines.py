"""Timeouts are deadlines: a whole answer, a stream's first token, each gap, a whole stream and
a whole call (retries and fallbacks included) end when they say, on every path, however the
provider drips its bytes."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

import cosmara
from cosmara import Cosmara
from cosmara.testing import Emulator, Fault
from tests.support.paths import HOWS, STREAMS, Loop, ask

FIRST, FIRST_MODEL = "openai/gpt-4o-mini", "gpt-4o-mini"
FALLBACK = "groq/llama-3.1-8b-instant"
SLACK = 0.6  # seconds of scheduling noise a shared machine may add


def _event(delta: dict[str, Any], finish: str | None = None) -> bytes:
    chunk = {
        "id": "chatcmpl-drip",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": FIRST_MODEL,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return b"data: " + json.dumps(chunk).encode() + b"\n\n"


ROLE = _event({"role": "assistant", "content": ""})
PING = b": ping\n\n"
WORD = _event({"content": "word "})


@pytest.fixture
def aio() -> Iterator[Loop]:
    loop = Loop()
    yield loop
    loop.close()


def _client(emulator: Emulator, **config: Any) -> Cosmara:
    providers = {
        "openai": {"base_url": emulator.base_url, "api_key": "sk-test-emulator-key-0000"},
        "groq": {"base_url": emulator.base_url, "api_key": "gsk-test-emulator-key-0000"},
    }
    return Cosmara(
        # No retries unless a test asks: a timeout is one failed attempt.
        {
            "providers": providers,
            "breaker": {"enabled": False},
            "retry": {"max_retries": 0},
            **config,
        },
        load_entry_points=False,
    )


def _timed_out(
    emulator: Emulator, how: str, aio: Loop, timeout: Any, **kwargs: Any
) -> tuple[cosmara.RequestTimeoutError, float]:
    with _client(emulator) as client:
        started = time.monotonic()
        with pytest.raises(cosmara.RequestTimeoutError) as caught:
            ask(client, how, aio, model=FIRST, timeout=timeout, **kwargs)
        return caught.value, time.monotonic() - started


# --- 8. request: a deadline for the whole answer ----------------------------------------------
@pytest.mark.parametrize("how", ["chat", "achat"])
def test_request_timeout_bounds_a_dripped_answer(emulator: Emulator, how: str, aio: Loop) -> None:
    # About 30 pieces, one every 0.2 s: six seconds of a server that never stops sending.
    emulator.add_fault(Fault(drip=0.2, drip_size=16))
    error, took = _timed_out(emulator, how, aio, {"request": 0.8})
    assert took < 0.8 + SLACK
    assert error.provider == "openai"


@pytest.mark.parametrize("how", ["chat", "achat"])
def test_request_timeout_bounds_a_slow_head(emulator: Emulator, how: str, aio: Loop) -> None:
    emulator.add_fault(Fault(delay=3))
    _, took = _timed_out(emulator, how, aio, {"request": 0.5})
    assert took < 0.5 + SLACK


# --- 9. first token and gaps, exactly ---------------------------------------------------------
@pytest.mark.parametrize("filler", [ROLE, PING], ids=["role-chunks", "ping-comments"])
@pytest.mark.parametrize("how", STREAMS)
def test_first_token_is_content_not_keepalives(
    emulator: Emulator, how: str, aio: Loop, filler: bytes
) -> None:
    emulator.add_fault(Fault(events=(ROLE, *[filler] * 60), drip=0.1))  # 6 s of nothing
    error, took = _timed_out(emulator, how, aio, {"request": 30, "first_token": 0.7})
    assert error.code == "first_token_timeout"
    assert took < 0.7 + SLACK


@pytest.mark.parametrize("how", STREAMS)
def test_first_token_alone_bounds_a_sync_and_async_stream(
    emulator: Emulator, how: str, aio: Loop
) -> None:
    # Only first_token given: the 60-second request default must not stretch it.
    emulator.add_fault(Fault(stall_after_chunks=1, stall_seconds=5))
    error, took = _timed_out(emulator, how, aio, {"first_token": 0.5})
    assert error.code == "first_token_timeout"
    assert took < 0.5 + SLACK


@pytest.mark.parametrize("how", STREAMS)
def test_gap_between_chunks_ignores_pings(emulator: Emulator, how: str, aio: Loop) -> None:
    # Content, then pings every 0.1 s: a stall the keep-alives must not hide.
    emulator.add_fault(Fault(events=(ROLE, WORD, *[PING] * 60), drip=0.1))
    received: list[Any] = []
    with _client(emulator) as client:
        started = time.monotonic()
        with pytest.raises(cosmara.RequestTimeoutError) as caught:
            ask(
                client,
                how,
                aio,
                received,
                model=FIRST,
                timeout={"request": 30, "first_token": 5, "between_chunks": 0.6},
            )
        took = time.monotonic() - started
    assert caught.value.code == "stream_stalled"
    assert caught.value.partial_text == "word "
    assert took < 0.2 + 0.6 + SLACK


@pytest.mark.parametrize("how", STREAMS)
def test_steady_chunks_within_their_gap_finish(emulator: Emulator, how: str, aio: Loop) -> None:
    events = (ROLE, *[WORD] * 8, _event({}, "stop"), b"data: [DONE]\n\n")
    emulator.add_fault(Fault(events=events, drip=0.1))
    with _client(emulator) as client:
        answer = ask(
            client, how, aio, model=FIRST, timeout={"first_token": 0.5, "between_chunks": 0.5}
        )
    assert answer.text == "word " * 8  # a second in all, no gap over half a second


# --- 10. a whole stream -----------------------------------------------------------------------
@pytest.mark.parametrize("how", STREAMS)
def test_total_bounds_an_endless_stream(emulator: Emulator, how: str, aio: Loop) -> None:
    emulator.add_fault(Fault(events=(ROLE, *[WORD] * 100), drip=0.1))  # ten seconds of words
    received: list[Any] = []
    with _client(emulator) as client:
        started = time.monotonic()
        with pytest.raises(cosmara.RequestTimeoutError) as caught:
            ask(client, how, aio, received, model=FIRST, timeout={"request": 30, "total": 1})
        took = time.monotonic() - started
    assert caught.value.code == "deadline_exceeded"
    assert caught.value.partial_text
    assert took < 1 + SLACK


# --- 11. retries and fallbacks within the call's deadline ------------------------------------
@pytest.mark.parametrize("how", HOWS)
def test_a_long_retry_after_does_not_outlast_the_call(
    emulator: Emulator, how: str, aio: Loop
) -> None:
    emulator.add_fault(Fault(status=429, retry_after=86_400, match_model=FIRST_MODEL))
    with _client(emulator, retry={"max_retries": 3}) as client:
        started = time.monotonic()
        with pytest.raises(cosmara.RateLimitError) as caught:
            ask(client, how, aio, model=FIRST, timeout=2)
        assert time.monotonic() - started < 1  # no 30-second wait (the cap) inside 2 s
        assert [a.error for a in caught.value.attempts] == ["RateLimitError"]
        # The wait is skipped, not the fallback: it can still answer in time.
        answer = ask(client, how, aio, model=FIRST, fallbacks=[FALLBACK], timeout=2)
    assert [a.error for a in answer.meta.attempts] == ["RateLimitError", None]


@pytest.mark.parametrize("how", HOWS)
def test_the_call_deadline_bounds_attempts_and_fallbacks(
    emulator: Emulator, how: str, aio: Loop
) -> None:
    emulator.add_fault(Fault(delay=5, match_model=FIRST_MODEL))
    with _client(emulator, retry={"max_retries": 2, "initial_delay": 0.01}) as client:
        started = time.monotonic()
        with pytest.raises(cosmara.RequestTimeoutError) as caught:
            ask(
                client,
                how,
                aio,
                model=FIRST,
                fallbacks=[FIRST],
                timeout={"request": 10, "first_token": 10, "total": 1},
            )
        took = time.monotonic() - started
    assert took < 1 + SLACK
    assert len(caught.value.attempts) >= 1
