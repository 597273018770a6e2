"""Budgets and rate limits through the openai-SDK-shaped client: no code of its own, and a
refusal in the SDK's idiom (402 ``budget_exceeded``, 429 with ``retry-after``), sync, async and
streaming; the engine's ledger records what the SDK's calls cost."""

from __future__ import annotations

import asyncio
from typing import Any

import openai
import pytest

import cosmara
import cosmara_generic
from cosmara import Cosmara
from cosmara.testing import Emulator, FakeClock

MESSAGES = [{"role": "user", "content": "Hello there, what does this cost?"}]


def _engine(emulator: Emulator, **config: Any) -> Cosmara:
    providers = {"openai": {"base_url": emulator.base_url, "api_key": "sk-x"}}
    return Cosmara(
        {"providers": providers, "ledger": {"enabled": True}, **config},
        clock=FakeClock(),
        load_entry_points=False,
    )


def _spend_until_refused(client: openai.OpenAI) -> tuple[int, openai.APIStatusError]:
    for answered in range(200):
        try:
            client.chat.completions.create(
                model="openai/gpt-4o-mini", messages=MESSAGES, max_tokens=16
            )
        except openai.APIStatusError as error:
            return answered, error
    raise AssertionError("never refused")


def test_a_budget_refusal_is_a_402_with_the_budgets_details(emulator: Emulator) -> None:
    engine = _engine(emulator, budgets={"t": {"level": "team", "amount_usd": 0.0001}})
    client = cosmara_generic.OpenAI(client=engine, team="support")
    answered, error = _spend_until_refused(client)
    assert answered > 0
    assert emulator.request_count == answered
    assert error.status_code == 402
    assert error.code == "budget_exceeded"
    assert error.type == "insufficient_quota"
    details = error.body["cosmara"]  # type: ignore[index]
    assert details["error"] == "BudgetExceededError"
    assert (details["budget"], details["level"], details["value"]) == ("t", "team", "support")
    assert details["limit_usd"] == pytest.approx(0.0001)
    assert details["resets_at"].startswith("2026-02-01")  # a monthly budget by default
    assert error.response.headers["x-should-retry"] == "false"
    rows = engine.ledger.rows()  # type: ignore[union-attr]
    assert [row.outcome for row in rows] == ["ok"] * answered + ["blocked"]


def test_a_rate_limit_is_a_429_with_retry_after(emulator: Emulator) -> None:
    engine = _engine(emulator, rate_limits={"rpm": {"requests_per_minute": 2}})
    client = cosmara_generic.OpenAI(client=engine, max_retries=0)
    answered, error = _spend_until_refused(client)
    assert answered == 2
    assert isinstance(error, openai.RateLimitError)
    assert error.code == "rate_limit_exceeded"
    assert error.response.headers["retry-after"] == "30"
    assert error.body["cosmara"]["limit"] == "rpm"  # type: ignore[index]


def test_async_and_streams_are_refused_alike(emulator: Emulator) -> None:
    engine = _engine(emulator, budgets={"t": {"level": "org", "amount_usd": 1e-9}})

    async def refused() -> openai.APIStatusError:
        client = cosmara_generic.AsyncOpenAI(client=engine, org="acme")
        with pytest.raises(openai.APIStatusError) as caught:
            await client.chat.completions.create(model="openai/gpt-4o-mini", messages=MESSAGES)
        return caught.value

    assert asyncio.run(refused()).status_code == 402
    client = cosmara_generic.OpenAI(client=engine, org="acme")
    with pytest.raises(openai.APIStatusError) as caught:
        client.chat.completions.create(model="openai/gpt-4o-mini", messages=MESSAGES, stream=True)
    assert caught.value.status_code == 402
    assert emulator.request_count == 0


def test_a_plugin_stages_refusal_is_a_403(emulator: Emulator) -> None:
    from cosmara.pipeline import Call, Stage

    class Guard(Stage):
        name = "guard"

        def before(self, call: Call) -> None:
            raise cosmara.RequestRefusedError("not this", stage=self.name)

    class Plugin:
        @cosmara.hookimpl
        def cosmara_register_stages(self, register: Any) -> None:
            register(Guard())

    providers = {"openai": {"base_url": emulator.base_url, "api_key": "sk-x"}}
    engine = Cosmara({"providers": providers}, plugins=[Plugin()], load_entry_points=False)
    client = cosmara_generic.OpenAI(client=engine)
    with pytest.raises(openai.PermissionDeniedError) as caught:
        client.chat.completions.create(model="openai/gpt-4o-mini", messages=MESSAGES)
    assert caught.value.code == "request_refused"
    assert caught.value.body["cosmara"]["stage"] == "guard"  # type: ignore[index]


def test_the_ask_callable_raises_the_engines_error(emulator: Emulator) -> None:
    engine = _engine(emulator, budgets={"t": {"level": "user", "amount_usd": 1e-9}})
    ask = cosmara_generic.Ask("openai/gpt-4o-mini", client=engine)
    with pytest.raises(cosmara.BudgetExceededError):
        ask("Hello", user="ana")
