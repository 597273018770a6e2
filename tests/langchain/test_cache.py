"""ChatCosmara gets the engine's cache with no code of its own: an identical second call (a
chain, a stream) is answered from the cache, and says so in its metadata."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate

from cosmara import Cosmara
from cosmara.testing import Emulator
from langchain_cosmara import ChatCosmara


@pytest.fixture
def cached(emulator: Emulator) -> Iterator[Cosmara]:
    providers = {"openai": {"base_url": emulator.base_url, "api_key": "sk-test-0000"}}
    with Cosmara({"cache": {"enabled": True}}, providers=providers, load_entry_points=False) as c:
        yield c


def test_an_identical_second_call_is_answered_from_the_cache(
    cached: Cosmara, emulator: Emulator
) -> None:
    llm = ChatCosmara(model="openai/gpt-4o-mini", client=cached)
    first = llm.invoke("What is the capital of France?")
    second = llm.invoke("What is the capital of France?")
    assert emulator.request_count == 1
    assert second.content == first.content == "Echo: What is the capital of France?"
    assert first.response_metadata["cosmara"]["cache"] == "miss"
    meta = second.response_metadata["cosmara"]
    assert meta["cache"] == "hit"
    assert meta["cost_usd"] == 0
    assert meta["cost_saved_usd"] == first.response_metadata["cosmara"]["cost_usd"]
    assert second.usage_metadata == first.usage_metadata


async def test_chains_and_streams_share_the_cache(cached: Cosmara, emulator: Emulator) -> None:
    llm = ChatCosmara(model="openai/gpt-4o-mini", client=cached)
    chain = ChatPromptTemplate.from_messages([("user", "Say {word}")]) | llm | StrOutputParser()
    assert await chain.ainvoke({"word": "hi"}) == "Echo: Say hi"
    streamed = [chunk async for chunk in chain.astream({"word": "hi"})]
    assert "".join(streamed) == "Echo: Say hi"
    assert chain.invoke({"word": "hi"}) == "Echo: Say hi"
    assert emulator.request_count == 1
