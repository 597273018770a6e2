"""Budgets and rate limits under the LlamaIndex LLM and embedding: configured on the engine,
nothing of their own; a refusal raises Cosmara's typed error through chat, completion, streams
and embeddings."""

from __future__ import annotations

from typing import Any

import pytest

import cosmara
from cosmara import Cosmara as CosmaraClient
from cosmara.testing import Emulator, FakeClock
from llama_index.core.base.llms.types import ChatMessage, MessageRole
from llama_index.embeddings.cosmara import CosmaraEmbedding
from llama_index.llms.cosmara import Cosmara

from .conftest import EMBED_MODEL, MODEL

HI = [ChatMessage(role=MessageRole.USER, content="Hello there, what does this cost?")]


def _engine(emulator: Emulator, **config: Any) -> CosmaraClient:
    providers = {"openai": {"base_url": emulator.base_url, "api_key": "sk-x"}}
    return CosmaraClient(
        {"providers": providers, "ledger": {"enabled": True}, **config},
        clock=FakeClock(),
        load_entry_points=False,
    )


def test_a_budget_blocks_chat_completion_and_streams(emulator: Emulator) -> None:
    engine = _engine(emulator, budgets={"t": {"level": "team", "amount_usd": 0.0001}})
    llm = Cosmara(MODEL, client=engine, team="rag", max_tokens=16)
    with pytest.raises(cosmara.BudgetExceededError) as caught:  # noqa: PT012
        for _ in range(200):
            llm.chat(HI)
    assert (caught.value.level, caught.value.value) == ("team", "rag")
    with pytest.raises(cosmara.BudgetExceededError):
        llm.complete(HI[0].content)  # what did not fit once does not fit now
    with pytest.raises(cosmara.BudgetExceededError):
        list(llm.stream_chat(HI))
    rows = engine.ledger.rows()  # type: ignore[union-attr]
    assert [row.outcome for row in rows[-3:]] == ["blocked"] * 3
    assert engine.budgets.status("t", "rag").reserved_usd == 0


async def test_async_chat_is_refused_too(emulator: Emulator) -> None:
    engine = _engine(emulator, budgets={"t": {"level": "org", "amount_usd": 1e-9}})
    llm = Cosmara(MODEL, client=engine, org="acme")
    with pytest.raises(cosmara.BudgetExceededError):
        await llm.achat(HI)
    assert emulator.request_count == 0


def test_embeddings_count_against_rate_limits(emulator: Emulator) -> None:
    engine = _engine(emulator, rate_limits={"tpm": {"tokens_per_minute": 20}})
    embed = CosmaraEmbedding(EMBED_MODEL, client=engine)
    embed.get_text_embedding("a short text")
    with pytest.raises(cosmara.RateLimitExceededError):
        embed.get_text_embedding("a much longer text " * 10)
