"""Budgets and rate limits under ChatCosmara and CosmaraEmbeddings: configured on the engine,
nothing of their own; a refusal raises Cosmara's typed error, which LangChain's own tools
(``with_fallbacks``, ``with_retry``) can act on."""

from __future__ import annotations

from typing import Any

import pytest

import cosmara
from cosmara import Cosmara
from cosmara.testing import Emulator, FakeClock
from langchain_cosmara import ChatCosmara, CosmaraEmbeddings

MODEL = "openai/gpt-4o-mini"
PROMPT = "Hello there, what does this cost?"


def _engine(emulator: Emulator, **config: Any) -> Cosmara:
    providers = {
        "openai": {"base_url": emulator.base_url, "api_key": "sk-x"},
        "groq": {"base_url": emulator.base_url, "api_key": "gsk-x"},
    }
    return Cosmara(
        {"providers": providers, "ledger": {"enabled": True}, **config},
        clock=FakeClock(),
        load_entry_points=False,
    )


def test_a_team_budget_blocks_invoke_stream_and_batch(emulator: Emulator) -> None:
    engine = _engine(emulator, budgets={"t": {"level": "team", "amount_usd": 0.0001}})
    llm = ChatCosmara(model=MODEL, client=engine, team="support", max_tokens=16)
    with pytest.raises(cosmara.BudgetExceededError) as caught:  # noqa: PT012
        for _ in range(200):
            llm.invoke(PROMPT)
    assert (caught.value.budget, caught.value.value) == ("t", "support")
    with pytest.raises(cosmara.BudgetExceededError):
        list(llm.stream(PROMPT))  # what did not fit once does not fit now
    results = llm.batch([PROMPT, PROMPT], return_exceptions=True)
    assert all(isinstance(result, cosmara.BudgetExceededError) for result in results)
    status = engine.budgets.status("t", "support")
    assert status.spent_usd <= status.amount_usd
    assert status.reserved_usd == 0


async def test_async_calls_settle_their_reservations(emulator: Emulator) -> None:
    engine = _engine(emulator, budgets={"t": {"level": "user", "amount_usd": 1.0}})
    llm = ChatCosmara(model=MODEL, client=engine, user="ana", max_tokens=16)
    message = await llm.ainvoke("Hello")
    chunks = [chunk async for chunk in llm.astream("Hello")]
    assert chunks
    spent = engine.budgets.status("t", "ana").spent_usd
    assert spent == pytest.approx(sum(r.cost_usd for r in engine.ledger.rows()))  # type: ignore[union-attr]
    assert message.response_metadata["cosmara"]["cost_usd"] > 0


def test_a_refusal_can_fall_back_the_langchain_way(emulator: Emulator) -> None:
    budgets = {"dear": {"level": "model", "match": MODEL, "amount_usd": 1e-9}}
    engine = _engine(emulator, budgets=budgets)
    dear = ChatCosmara(model=MODEL, client=engine)
    cheap = ChatCosmara(model="groq/llama-3.1-8b-instant", client=engine)
    chain = dear.with_fallbacks([cheap], exceptions_to_handle=(cosmara.BudgetExceededError,))
    answer = chain.invoke("Hello")
    assert answer.response_metadata["cosmara"]["provider"] == "groq"


def test_rate_limits_apply_to_embeddings(emulator: Emulator) -> None:
    engine = _engine(emulator, rate_limits={"rpm": {"requests_per_minute": 1}})
    embeddings = CosmaraEmbeddings(model="openai/text-embedding-3-small", client=engine)
    embeddings.embed_query("one")
    with pytest.raises(cosmara.RateLimitExceededError) as caught:
        embeddings.embed_query("two")
    assert caught.value.retry_after > 0
