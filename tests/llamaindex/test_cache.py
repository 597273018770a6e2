"""The LlamaIndex ``Cosmara`` LLM gets the engine's cache with no code of its own."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cosmara import Cosmara as CosmaraClient
from cosmara.testing import Emulator
from llama_index.core.base.llms.types import ChatMessage
from llama_index.llms.cosmara import Cosmara

MODEL = "openai/gpt-4o-mini"


@pytest.fixture
def cached(emulator: Emulator) -> Iterator[CosmaraClient]:
    providers = {"openai": {"base_url": emulator.base_url, "api_key": "sk-test-0000"}}
    config = {"cache": {"enabled": True}}
    with CosmaraClient(config, providers=providers, load_entry_points=False) as client:
        yield client


def test_an_identical_second_call_is_answered_from_the_cache(
    cached: CosmaraClient, emulator: Emulator
) -> None:
    llm = Cosmara(MODEL, client=cached)
    messages = [ChatMessage(role="user", content="What is the capital of France?")]
    first = llm.chat(messages)
    second = llm.chat(messages)
    assert emulator.request_count == 1
    assert second.message.content == first.message.content
    assert second.raw.cosmara.cache == "hit"
    assert second.raw.cosmara.cost_saved_usd == first.raw.cosmara.cost_usd
    assert llm.complete("What is the capital of France?").text == first.message.content
    assert emulator.request_count == 1  # complete() sends the same chat request


async def test_streams_and_async_calls_share_the_cache(
    cached: CosmaraClient, emulator: Emulator
) -> None:
    llm = Cosmara(MODEL, client=cached)
    messages = [ChatMessage(role="user", content="Name a colour")]
    first = await llm.achat(messages)
    streamed = list(llm.stream_chat(messages))
    assert streamed[-1].message.content == first.message.content
    chunks = [chunk async for chunk in await llm.astream_chat(messages)]
    assert chunks[-1].message.content == first.message.content
    assert emulator.request_count == 1
