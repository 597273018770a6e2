"""Timeouts: presets, per-model and per-call settings, first-token and between-chunk limits."""

from __future__ import annotations

import time

import pytest

import cosmara
from cosmara import Cosmara, Timeouts
from cosmara.testing import Emulator, Fault

HI = [{"role": "user", "content": "Hello there"}]


def _client(emulator: Emulator, **config: object) -> Cosmara:
    providers = {"openai": {"base_url": emulator.base_url, "api_key": "sk-x"}}
    # No retries: a timeout is one failed attempt.
    config = {"retry": {"max_retries": 0}, **config}
    return Cosmara({"providers": providers, **config}, load_entry_points=False)


def test_forms_and_presets() -> None:
    assert Timeouts.coerce("quick") == Timeouts(connect=2, request=5, total=10)
    assert Timeouts.coerce("extended").request == 30
    # Plain seconds bound each answer and the whole call (retries and fallbacks included).
    assert Timeouts.coerce(3) == Timeouts(connect=3, request=3, total=3)
    parts = Timeouts.coerce({"request": 20, "first_token": 4, "between_chunks": 2})
    assert (parts.first, parts.gap, parts.connect) == (4, 2, 10)
    with pytest.raises(ValueError, match="presets"):
        Timeouts.coerce("glacial")


def test_bad_timeouts_fail_before_sending(emulator: Emulator) -> None:
    with pytest.raises(cosmara.ConfigurationError):
        _client(emulator, timeout="glacial")
    with _client(emulator) as client, pytest.raises(cosmara.RequestValidationError):
        client.chat(model="openai/gpt-4o-mini", messages=HI, timeout=-1)
    assert emulator.request_count == 0


def test_per_model_timeout_applies_and_per_call_wins(emulator: Emulator) -> None:
    emulator.add_fault(Fault(delay=0.6))
    with _client(emulator, model_timeouts={"openai/gpt-4o-mini": 0.2}) as client:
        started = time.perf_counter()
        with pytest.raises(cosmara.RequestTimeoutError):
            client.chat(model="openai/gpt-4o-mini", messages=HI)
        assert time.perf_counter() - started < 0.55
        response = client.chat(model="openai/gpt-4o-mini", messages=HI, timeout="quick")
    assert response.text == "Echo: Hello there"


async def test_async_stream_first_token_limit(emulator: Emulator) -> None:
    # The role chunk arrives, then the stream stalls before any content.
    emulator.add_fault(Fault(stall_after_chunks=1, stall_seconds=0.5, times=1))
    timeout = {"request": 5, "first_token": 0.15, "between_chunks": 5}
    with _client(emulator) as client, pytest.raises(cosmara.RequestTimeoutError) as caught:
        async for _ in client.astream(model="openai/gpt-4o-mini", messages=HI, timeout=timeout):
            pass
    assert caught.value.code == "first_token_timeout"


async def test_async_stream_gap_limit_keeps_the_partial_text(emulator: Emulator) -> None:
    emulator.add_fault(Fault(stall_after_chunks=3, stall_seconds=0.5, times=1))
    timeout = {"request": 5, "first_token": 5, "between_chunks": 0.15}
    with _client(emulator) as client, pytest.raises(cosmara.RequestTimeoutError) as caught:
        async for _ in client.astream(model="openai/gpt-4o-mini", messages=HI, timeout=timeout):
            pass
    assert caught.value.code == "stream_stalled"
    assert caught.value.partial_text


async def test_first_token_timeout_falls_back(emulator: Emulator) -> None:
    providers = {
        "openai": {"base_url": emulator.base_url, "api_key": "sk-x"},
        "groq": {"base_url": emulator.base_url, "api_key": "gsk-x"},
    }
    emulator.add_fault(Fault(stall_after_chunks=1, stall_seconds=0.5, match_model="gpt-4o-mini"))
    timeout = {"request": 5, "first_token": 0.15}
    config = {"retry": {"max_retries": 0}}  # the stalled target is not retried: one attempt
    async with Cosmara(config, providers=providers, load_entry_points=False) as client:
        chunks = [
            chunk
            async for chunk in client.astream(
                model="openai/gpt-4o-mini",
                messages=HI,
                timeout=timeout,
                fallbacks=["groq/llama-3.1-8b-instant"],
            )
        ]
    meta = chunks[-1].cosmara
    assert meta is not None
    assert [(a.provider, a.error) for a in meta.attempts] == [
        ("openai", "RequestTimeoutError"),
        ("groq", None),
    ]
