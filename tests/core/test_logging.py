"""The engine's logs: one line per attempt outcome, retry, fallback, skip, plan and breaker
move under the ``cosmara`` logger, and never a key or a prompt, even at DEBUG."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

import pytest

import cosmara
from cosmara import Cosmara
from cosmara.testing import Emulator, FakeClock, Fault
from tests.support.paths import HOWS, Loop, ask

KEY = "sk-distinctive-key-7Q2xv9"
PROMPT = "distinctive prompt about the zebra-quartz-plinth"
FIRST, FALLBACK = "openai/gpt-4o-mini", "groq/llama-3.1-8b-instant"


@pytest.fixture
def aio() -> Iterator[Loop]:
    loop = Loop()
    yield loop
    loop.close()


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)  # everything, the HTTP libraries' own debug lines too
    return caplog


def _client(emulator: Emulator, **config: object) -> Cosmara:
    providers = {
        "openai": {"base_url": emulator.base_url, "api_key": KEY},
        "groq": {"base_url": emulator.base_url, "api_key": KEY},
    }
    return Cosmara(
        {"providers": providers, "breaker": {"consecutive_failures": 2}, **config},
        clock=FakeClock(),
        load_entry_points=False,
    )


def _cosmara_lines(caplog: pytest.LogCaptureFixture) -> list[tuple[str, int, str]]:
    return [
        (r.name, r.levelno, r.getMessage()) for r in caplog.records if r.name.startswith("cosmara")
    ]


@pytest.mark.parametrize("how", HOWS)
def test_retries_a_fallback_and_a_breaker_are_told(
    emulator: Emulator, aio: Loop, how: str, logs: pytest.LogCaptureFixture
) -> None:
    emulator.add_fault(Fault(status=503, match_model="gpt-4o-mini"))
    with _client(emulator, retry={"max_retries": 1, "jitter": 0}) as client:
        ask(client, how, aio, model=FIRST, fallbacks=[FALLBACK])
    lines = _cosmara_lines(logs)
    info, unavailable = logging.INFO, "ProviderUnavailableError"
    assert lines == [
        ("cosmara.route", logging.DEBUG, f"route (explicit): '{FIRST}' as requested; "
         f"targets: {FIRST}, {FALLBACK}"),
        ("cosmara.attempts", info, lines[1][2]),
        ("cosmara.attempts", info, f"{FIRST} retry 1 of 1 in 0.50 s after {unavailable}"),
        ("cosmara.attempts", info, lines[3][2]),
        ("cosmara.health", info, f"breaker of {FIRST}: closed -> open "
         f"(2 failure(s) in a row, last {unavailable})"),
        ("cosmara.attempts", info, f"fallback: {FIRST} -> {FALLBACK} after {unavailable}"),
        ("cosmara.attempts", logging.DEBUG, lines[6][2]),
    ]  # fmt: skip
    for failed in (lines[1][2], lines[3][2]):
        assert failed.startswith(f"{FIRST} failed in ")
        assert failed.endswith(": ProviderUnavailableError (status 503, code service_unavailable)")
    assert lines[6][2].startswith(f"{FALLBACK} answered in ")


def test_a_skipped_target_and_the_final_failure_are_told(
    emulator: Emulator, logs: pytest.LogCaptureFixture
) -> None:
    emulator.add_fault(Fault(status=503))
    with _client(emulator, retry={"max_retries": 0}) as client:
        for _ in range(2):
            with pytest.raises(cosmara.ProviderUnavailableError):
                client.chat(model=FIRST, messages=[{"role": "user", "content": PROMPT}])
        logs.clear()
        with pytest.raises(cosmara.ProviderUnavailableError):
            client.chat(model=FIRST, messages=[{"role": "user", "content": PROMPT}])
    messages = [message for _, _, message in _cosmara_lines(logs)]
    assert f"{FIRST} passed over, not sent: CircuitOpen" in messages
    assert messages[-1] == "no target answered after 1 attempt(s): ProviderUnavailableError"


@pytest.mark.parametrize("how", HOWS)
def test_no_key_and_no_prompt_in_any_log_line(
    emulator: Emulator, aio: Loop, how: str, logs: pytest.LogCaptureFixture
) -> None:
    # Providers do quote what they were sent: a key in a 401, the prompt in a 400.
    emulator.add_fault(Fault(status=401, message=f"Incorrect API key provided: {KEY}", times=1))
    emulator.add_fault(Fault(status=400, message=f"Cannot process: {PROMPT}", times=1))
    emulator.add_fault(Fault(status=429, retry_after=1, times=1))
    with _client(emulator) as client:
        for _ in range(3):
            with contextlib.suppress(cosmara.ProviderError):
                ask(client, how, aio, model=FIRST, messages=[{"role": "user", "content": PROMPT}])
        answer = ask(client, how, aio, model=FIRST, messages=[{"role": "user", "content": PROMPT}])
    assert PROMPT in answer.text  # the emulator echoed it back: it was there to leak
    assert _cosmara_lines(logs)
    for record in logs.records:  # every logger, at DEBUG: ours and the libraries' below us
        text = record.getMessage() + str(record.args) + str(record.__dict__)
        assert KEY not in text, record.name
        assert "zebra-quartz" not in text, record.name
