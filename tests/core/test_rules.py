"""Rule-based routing inside a group: who, labels, time, size, and a cost cap."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest

import cosmara
from cosmara import Cosmara, RequestContext
from cosmara._rules import RuleCondition
from cosmara.testing import Emulator

HI = [{"role": "user", "content": "hi"}]
LONG = [{"role": "user", "content": "word " * 2000}]
MONDAY_NOON = datetime(2026, 11, 23, 12, tzinfo=timezone.utc)  # a Monday


def _matches(condition: dict[str, Any], tokens: int = 10, **context: Any) -> bool:
    return RuleCondition(**condition).matches(
        RequestContext.build(**context), MONDAY_NOON, lambda: tokens
    )


def test_conditions() -> None:
    assert _matches({})
    assert _matches({"team": ["support", "sales"]}, team="support")
    assert not _matches({"team": ["support"]}, team="research")
    assert _matches({"tags": {"feature": "faq"}}, tags={"feature": "faq", "x": "y"})
    assert _matches({"tags": {"beta": ""}}, tags=["beta"])
    assert not _matches({"tags": {"feature": "faq"}}, tags={"feature": "chat"})
    assert _matches({"metadata": {"tier": "gold"}}, metadata={"tier": "gold"})
    assert _matches({"days": ["mon"], "hours": (9, 17)})
    assert not _matches({"days": ["sat", "sun"]})
    assert _matches({"hours": (22, 13)})  # wraps past midnight: 22:00-13:00 includes noon
    assert not _matches({"hours": (13, 22)})
    assert _matches({"max_prompt_tokens": 100}, tokens=50)
    assert not _matches({"min_prompt_tokens": 100}, tokens=50)


def test_hours_and_days_in_a_time_zone() -> None:
    # Monday 12:00 UTC is 21:00 in Tokyo and 07:00 in New York.
    assert _matches({"hours": (18, 23), "timezone": "Asia/Tokyo"})
    assert not _matches({"hours": (9, 17), "timezone": "Asia/Tokyo"})
    assert not _matches({"hours": (9, 17), "timezone": "America/New_York"})
    assert _matches({"days": ["mon"], "hours": (6, 8), "timezone": "America/New_York"})
    # Monday 12:00 UTC is already Tuesday 01:00 in Auckland (summer time).
    assert _matches({"days": ["tue"], "timezone": "Pacific/Auckland"})


def test_an_unknown_time_zone_is_a_configuration_error(emulator: Emulator) -> None:
    with pytest.raises(cosmara.ConfigurationError, match="Mars/Olympus"):
        _client(emulator, [{"when": {"timezone": "Mars/Olympus"}, "use": "openai/gpt-4o-mini"}])


def _client(emulator: Emulator, rules: list[dict[str, Any]]) -> Cosmara:
    providers = {
        "openai": {"base_url": emulator.base_url, "api_key": "sk-x"},
        "groq": {"base_url": emulator.base_url, "api_key": "gsk-x"},
    }
    group = {"models": ["groq/llama-3.1-8b-instant"], "strategy": "cost", "rules": rules}
    return Cosmara({"providers": providers, "groups": {"smart": group}}, load_entry_points=False)


def test_first_matching_rule_decides_else_the_group(emulator: Emulator) -> None:
    rules = [
        {"when": {"team": ["research"]}, "use": "openai/gpt-4o"},
        {"when": {"min_prompt_tokens": 1000}, "use": "openai/gpt-4o-mini"},
    ]
    with _client(emulator, rules) as client:
        research = client.chat(model="smart", messages=HI, team="research").cosmara
        long = client.chat(model="smart", messages=LONG).cosmara
        other = client.chat(model="smart", messages=HI).cosmara
    assert (research.model, research.route.strategy) == ("gpt-4o", "rules")  # type: ignore[union-attr]
    assert "rule 1 matched" in research.route.reason  # type: ignore[union-attr]
    assert long.model == "gpt-4o-mini"  # type: ignore[union-attr]
    assert (other.model, other.route.strategy) == ("llama-3.1-8b-instant", "cost")  # type: ignore[union-attr]


def test_cost_cap_drops_targets_before_sending(emulator: Emulator) -> None:
    rules = [{"when": {}, "use": "openai/gpt-4o", "max_cost_usd": 0.0001}]
    with (
        _client(emulator, rules) as client,
        pytest.raises(cosmara.RequestValidationError, match="within"),
    ):
        # gpt-4o's ceiling for 1,000 output tokens alone is $0.01: over the cap.
        client.chat(model="smart", messages=HI, max_tokens=1000)
    assert emulator.request_count == 0


def test_the_prompt_is_counted_once_per_request(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A size rule, a cost cap and the context-window check all need the prompt's tokens.
    counted = []
    original = cosmara._tokens.TokenCounter.count_messages

    def counting(self: Any, *args: Any, **kwargs: Any) -> int:
        counted.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(cosmara._tokens.TokenCounter, "count_messages", counting)
    rules = [
        {"when": {"min_prompt_tokens": 100_000}, "use": "openai/gpt-4o"},
        {"when": {}, "use": "groq/llama-3.1-8b-instant", "max_cost_usd": 1.0},
    ]
    with _client(emulator, rules) as client:
        client.catalog.override("groq/llama-3.1-8b-instant", {"context_window": 3000})
        response = client.chat(model="smart", messages=LONG, max_tokens=100)
    assert response.cosmara is not None
    assert response.cosmara.route.strategy == "rules"
    assert counted == [1]
