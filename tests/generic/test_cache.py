"""``cosmara_generic.OpenAI`` gets the engine's cache with no code of its own: an identical
second call, plain or streamed, is answered from the cache."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import cosmara
import cosmara_generic
from cosmara.testing import Emulator

MESSAGES = [{"role": "user", "content": "What is the capital of France?"}]


class Hits:
    @cosmara.hookimpl
    def cosmara_cache_hit(self, response: Any) -> None:
        self.saved.append(response.cosmara.cost_saved_usd)

    def __init__(self) -> None:
        self.saved: list[float | None] = []


@pytest.fixture
def hits() -> Hits:
    return Hits()


@pytest.fixture
def oa(emulator: Emulator, hits: Hits) -> Iterator[cosmara_generic.OpenAI]:
    providers = {"openai": {"base_url": emulator.base_url, "api_key": "sk-test-0000"}}
    engine = cosmara.Cosmara(
        {"cache": {"enabled": True}}, providers=providers, plugins=[hits], load_entry_points=False
    )
    with engine, cosmara_generic.OpenAI(client=engine) as client:
        yield client


def test_an_identical_second_call_is_answered_from_the_cache(
    oa: cosmara_generic.OpenAI, emulator: Emulator, hits: Hits
) -> None:
    first = oa.chat.completions.create(model="openai/gpt-4o-mini", messages=MESSAGES)
    raw = oa.chat.completions.with_raw_response.create(
        model="openai/gpt-4o-mini", messages=MESSAGES
    )
    second = raw.parse()
    assert emulator.request_count == 1
    assert second.choices[0].message.content == first.choices[0].message.content
    assert second.usage == first.usage
    assert raw.headers["x-cosmara-cost-usd"] == "0.0"
    assert raw.headers["x-cosmara-cache"] == "hit"
    assert len(hits.saved) == 1
    assert hits.saved[0]
    assert float(raw.headers["x-cosmara-cost-saved-usd"]) == hits.saved[0]


def test_a_stream_is_answered_from_the_cache(
    oa: cosmara_generic.OpenAI, emulator: Emulator, hits: Hits
) -> None:
    answer = oa.chat.completions.create(model="openai/gpt-4o-mini", messages=MESSAGES)
    stream = oa.chat.completions.create(
        model="openai/gpt-4o-mini",
        messages=MESSAGES,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == answer.choices[0].message.content
    assert chunks[-1].usage == answer.usage
    assert emulator.request_count == 1
    assert len(hits.saved) == 1


async def test_the_async_client_too(emulator: Emulator, hits: Hits) -> None:
    providers = {"openai": {"base_url": emulator.base_url, "api_key": "sk-test-0000"}}
    engine = cosmara.Cosmara(
        {"cache": {"enabled": True}}, providers=providers, plugins=[hits], load_entry_points=False
    )
    async with engine, cosmara_generic.AsyncOpenAI(client=engine) as client:
        for _ in range(2):
            await client.chat.completions.create(model="openai/gpt-4o-mini", messages=MESSAGES)
    assert emulator.request_count == 1
    assert len(hits.saved) == 1
