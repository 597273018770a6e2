"""Streams fail over invisibly before the first token, and fail loudly after it."""

from __future__ import annotations

import pytest

import cosmara
from cosmara import Cosmara, StreamAccumulator
from cosmara.testing import Emulator, Fault

HI = [{"role": "user", "content": "Hello there"}]


def _text(chunks: list[cosmara.ChatChunk]) -> str:
    return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


def test_cut_before_first_token_is_taken_over_unseen(client: Cosmara, emulator: Emulator) -> None:
    # The first event carries only the role: nothing the caller can see was lost.
    emulator.add_fault(Fault(cut_after_chunks=1, match_model="gpt-4o-mini"))
    chunks = list(
        client.stream(
            model="openai/gpt-4o-mini", messages=HI, fallbacks=["groq/llama-3.1-8b-instant"]
        )
    )
    assert _text(chunks) == "Echo: Hello there"
    assert sum(1 for c in chunks if c.choices and c.choices[0].delta.role) == 1
    meta = chunks[-1].cosmara
    assert meta is not None
    assert meta.provider == "groq"
    assert [a.error for a in meta.attempts] == ["ProviderConnectionError", None]


async def test_async_cut_before_first_token_is_taken_over(
    client: Cosmara, emulator: Emulator
) -> None:
    emulator.add_fault(Fault(cut_after_chunks=1, match_model="gpt-4o-mini"))
    chunks = [
        c
        async for c in client.astream(
            model="openai/gpt-4o-mini", messages=HI, fallbacks=["groq/llama-3.1-8b-instant"]
        )
    ]
    assert _text(chunks) == "Echo: Hello there"
    assert chunks[-1].cosmara is not None
    assert chunks[-1].cosmara.provider == "groq"


def test_cut_after_content_raises_with_the_partial_text(
    client: Cosmara, emulator: Emulator
) -> None:
    emulator.add_fault(Fault(cut_after_chunks=3, match_model="gpt-4o-mini"))
    received: list[cosmara.ChatChunk] = []
    with pytest.raises(cosmara.ProviderConnectionError) as caught:
        received.extend(
            client.stream(
                model="openai/gpt-4o-mini", messages=HI, fallbacks=["groq/llama-3.1-8b-instant"]
            )
        )
    error = caught.value
    assert error.partial_text
    assert error.partial_text == _text(received)
    assert "Echo: Hello there".startswith(error.partial_text)
    assert [a.provider for a in error.attempts] == ["openai"]  # no silent restart mid-answer
    assert emulator.request_count == 1


def test_held_back_chunks_reach_the_caller_in_order(client: Cosmara) -> None:
    accumulator = StreamAccumulator()
    chunks = list(client.stream(model="openai/gpt-4o-mini", messages=HI))
    for chunk in chunks:
        accumulator.add(chunk)
    assert chunks[0].choices[0].delta.role == "assistant"
    assert accumulator.response().choices[0].message.content == "Echo: Hello there"


async def test_an_interrupted_stream_still_accounts_for_what_was_streamed(
    client: Cosmara, emulator: Emulator
) -> None:
    emulator.add_fault(Fault(cut_after_chunks=3, match_model="gpt-4o-mini"))
    errors: list[cosmara.ProviderError] = []

    class Ledger:
        @cosmara.hookimpl
        def cosmara_error(self, error: cosmara.ProviderError) -> None:
            errors.append(error)

    client.plugins.register(Ledger())
    with pytest.raises(cosmara.ProviderConnectionError) as caught:
        async for _ in client.astream(model="openai/gpt-4o-mini", messages=HI):
            pass
    error = caught.value
    assert errors == [error]  # one record for the request, with what it cost
    assert error.partial_text
    assert error.usage is not None
    assert error.usage.prompt_tokens == client.count_tokens(
        cosmara.ChatRequest(model="openai/gpt-4o-mini", messages=HI)
    )
    assert error.usage.completion_tokens == client.count_text(error.partial_text)
    assert error.cost_usd is not None
    assert error.cost_usd > 0


def test_streams_report_time_to_first_token(client: Cosmara, emulator: Emulator) -> None:
    emulator.add_fault(Fault(delay=0.05, match_model="gpt-4o-mini"))
    chunks = list(client.stream(model="openai/gpt-4o-mini", messages=HI))
    meta = chunks[-1].cosmara
    assert meta is not None
    (attempt,) = meta.attempts
    assert attempt.first_token_ms is not None
    assert 50 <= attempt.first_token_ms <= attempt.latency_ms
    health = client.health()["openai/gpt-4o-mini"]
    assert health.first_token_ms == attempt.first_token_ms  # the first sample seeds the EWMA
    client.chat(model="openai/gpt-4o-mini", messages=HI)
    assert client.health()["openai/gpt-4o-mini"].first_token_ms == attempt.first_token_ms
