"""Fixtures for the usage reports: a ledger written by a real client against the emulator
(answers, cache hits, routing and downgrade savings, a refusal, a failure) over several days of
a fake clock, and rows made by hand where a test needs exact figures."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import pytest

from cosmara import BadRequestError, BudgetExceededError, Cosmara
from cosmara.ledger import LedgerRow
from cosmara.testing import Emulator, FakeClock, Fault

HOSTILE = "<script>alert(1)</script>"
START = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)
DAY = 86_400.0


def make_row(**fields: Any) -> LedgerRow:
    """A ledger row as the ledger stage writes one; ``fields`` override the defaults."""
    values: dict[str, Any] = {
        "id": uuid.uuid4().hex,
        "time": START.timestamp(),
        "team": "support",
        "requested_model": "openai/gpt-4o-mini",
        "provider": "openai",
        "model": "gpt-4o-mini",
        "input_tokens": 100,
        "output_tokens": 20,
        "cost_usd": 0.001,
        "attempts": 1,
    }
    values.update(fields)
    return LedgerRow(**values)


def usage_config(emulator: Emulator, **state: Any) -> dict[str, Any]:
    """A configuration with the ledger, the cache, a cost-ordered group, budgets (one that
    downgrades the support team, one that blocks the frugal team, one per team, one for the
    org) and a baseline model that routing savings are counted against."""
    provider = {"base_url": emulator.base_url, "api_key": "sk-test-emulator-key-0000"}
    return {
        "providers": {"openai": provider, "groq": provider},
        "state": state or {"backend": "memory"},
        "ledger": {"enabled": True, "baseline_model": "openai/gpt-4o"},
        "cache": {"enabled": True},
        "groups": {
            "cheapest": {
                "models": ["openai/gpt-4o-mini", "groq/llama-3.1-8b-instant"],
                "strategy": "cost",
            }
        },
        "budgets": {
            "support": {
                "level": "team",
                "match": "support",
                "amount_usd": 0.0009,
                "period": "daily",
                "thresholds": [
                    {"at": 50, "action": "downgrade", "to": "openai/gpt-4o-mini"},
                    {"at": 1000, "action": "block"},
                ],
            },
            "frugal": {"level": "team", "match": "frugal", "amount_usd": 1e-7},
            "teams": {"level": "team", "amount_usd": 0.01, "period": "daily"},
            "acme": {
                "level": "org",
                "match": "acme",
                "amount_usd": 1.0,
                "thresholds": [{"at": 75, "action": "alert"}, {"at": 100, "action": "block"}],
            },
        },
    }


def make_traffic(client: Cosmara, emulator: Emulator, advance: Any = None, days: int = 1) -> None:
    """Each day: support asks gpt-4o twice (the second is downgraded by its budget) and
    repeats a question (a cache hit); the hostile-named team asks the cheapest group (a
    routing saving against gpt-4o); search sends a request the provider rejects; frugal is
    refused by its budget."""

    def ask(text: str, **options: Any) -> None:
        messages = [{"role": "user", "content": text + " please" * 40}]
        with contextlib.suppress(BadRequestError, BudgetExceededError):
            client.chat(messages=messages, max_tokens=30, org="acme", **options)

    for day in range(days):
        for question in ("first", "second", "first"):
            ask(f"day {day}: {question}", model="openai/gpt-4o", team="support", user="ana")
        ask(f"day {day}: faq", model="cheapest", team=HOSTILE, user="bob", tags={"feature": "faq"})
        emulator.add_fault(Fault(status=400, times=1))
        ask(f"day {day}: broken", model="openai/gpt-4o-mini", team="search", user="cy")
        ask(f"day {day}: more", model="openai/gpt-4o-mini", team="frugal")
        if advance is not None and day < days - 1:
            advance(DAY)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def recorded(emulator: Emulator, clock: FakeClock) -> Iterator[Cosmara]:
    """A client (memory state, fake clock) whose ledger holds three days of traffic; its clock
    is left on the third day, so its budgets read that day's spend."""
    with Cosmara(usage_config(emulator), load_entry_points=False, clock=clock) as client:
        make_traffic(client, emulator, advance=clock.advance, days=3)
        yield client
