"""Budgets through the engine: levels, periods, thresholds and their actions, reservations
that settle with the real cost or come back, on every path."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest

import cosmara
from cosmara import Cosmara, hookimpl
from cosmara.testing import Emulator, FakeClock, Fault
from tests.support.paths import HOWS, Loop, ask

MODEL = "openai/gpt-4o-mini"
PROMPT = [{"role": "user", "content": "Hello there " * 20}]


@pytest.fixture
def aio() -> Iterator[Loop]:
    loop = Loop()
    yield loop
    loop.close()


class Alerts:
    def __init__(self) -> None:
        self.seen: list[Any] = []

    @hookimpl
    def cosmara_budget_alert(self, alert: Any) -> None:
        self.seen.append(alert)


def _client(
    emulator: Emulator,
    budgets: dict[str, Any],
    *plugins: object,
    clock: FakeClock | None = None,
    **config: Any,
) -> Cosmara:
    providers = {
        "openai": {"base_url": emulator.base_url, "api_key": "sk-x"},
        "groq": {"base_url": emulator.base_url, "api_key": "gsk-x"},
    }
    return Cosmara(
        {"providers": providers, "budgets": budgets, "ledger": {"enabled": True}, **config},
        plugins=plugins,
        clock=clock or FakeClock(),
        load_entry_points=False,
    )


def _spend_until_blocked(client: Cosmara, how: str, aio: Loop, **kwargs: Any) -> tuple[int, Any]:
    for answered in range(200):
        try:
            ask(client, how, aio, model=MODEL, messages=PROMPT, max_tokens=16, **kwargs)
        except cosmara.BudgetExceededError as error:
            return answered, error
    raise AssertionError("the budget never blocked")


# --- the hard limit ----------------------------------------------------------------------------
@pytest.mark.parametrize("how", HOWS)
def test_a_hard_limit_blocks_before_anything_is_sent(
    emulator: Emulator, aio: Loop, how: str
) -> None:
    client = _client(emulator, {"support": {"level": "team", "amount_usd": 0.0002}})
    answered, error = _spend_until_blocked(client, how, aio, team="support")
    assert answered > 0
    assert emulator.request_count == answered  # the refused request never left
    assert (error.budget, error.level, error.value) == ("support", "team", "support")
    assert error.limit_usd == pytest.approx(0.0002)
    assert error.spent_usd <= error.limit_usd
    assert error.reserved_usd == 0
    assert error.resets_at is not None
    status = client.budgets.status("support", "support")
    rows = client.ledger.rows()  # type: ignore[union-attr]
    assert status.spent_usd == pytest.approx(sum(r.cost_usd for r in rows))
    assert status.reserved_usd == 0
    assert [r.outcome for r in rows].count("blocked") == 1
    assert status.spent_usd <= 0.0002  # max_tokens set: never past the limit


def test_budgets_apply_by_level_and_value(emulator: Emulator) -> None:
    budgets = {
        "each-team": {"level": "team", "amount_usd": 1.0},
        "ana": {"level": "user", "match": "ana", "amount_usd": 1.0},
        "acme": {"level": "org", "match": "acme", "amount_usd": 1.0},
        "faq": {"level": "tag", "match": "feature=faq", "amount_usd": 1.0},
        "minis": {"level": "model", "match": "openai/gpt-4o-mini*", "amount_usd": 1.0},
        "groq": {"level": "provider", "match": "groq", "amount_usd": 1.0},
        "keys": {"level": "key", "amount_usd": 1.0},
    }
    client = _client(emulator, budgets)
    client.chat(
        model=MODEL,
        messages=PROMPT,
        team="search",
        user="ana",
        org="acme",
        tags={"feature": "faq"},
        metadata={"key": "vk-1"},
    )
    spent = {
        (name, value): client.budgets.status(name, value).spent_usd
        for name, value in [
            ("each-team", "search"),
            ("ana", None),
            ("acme", None),
            ("faq", None),
            ("minis", None),  # a pattern: one budget for every model it matches
            ("groq", "groq"),
            ("keys", "vk-1"),
        ]
    }
    cost = client.ledger.rows()[-1].cost_usd  # type: ignore[union-attr]
    assert cost > 0
    assert spent.pop(("groq", "groq")) == 0  # served by openai: not this provider's money
    assert spent == {key: pytest.approx(cost) for key in spent}
    assert client.budgets.status("each-team", "other").spent_usd == 0  # each team its own
    with pytest.raises(cosmara.ConfigurationError, match="which value"):
        client.budgets.status("each-team")


def test_a_model_pattern_is_one_budget_and_star_one_per_model(emulator: Emulator) -> None:
    budgets = {
        "gpt-4o family": {"level": "model", "match": "openai/gpt-4o*", "amount_usd": 1.0},
        "each model": {"level": "model", "amount_usd": 1.0},
    }
    client = _client(emulator, budgets)
    mini = client.chat(model=MODEL, messages=PROMPT).cosmara.cost_usd
    big = client.chat(model="openai/gpt-4o", messages=PROMPT).cosmara.cost_usd
    assert client.budgets.status("gpt-4o family").spent_usd == pytest.approx(mini + big)
    assert client.budgets.status("each model", MODEL).spent_usd == pytest.approx(mini)
    assert client.budgets.status("each model", "openai/gpt-4o").spent_usd == pytest.approx(big)


def test_any_budget_that_applies_can_refuse(emulator: Emulator) -> None:
    budgets = {
        "big-team": {"level": "team", "amount_usd": 10.0},
        "tiny-user": {"level": "user", "match": "ana", "amount_usd": 0.000001},
    }
    client = _client(emulator, budgets)
    with pytest.raises(cosmara.BudgetExceededError) as caught:
        client.chat(model=MODEL, messages=PROMPT, team="t", user="ana")
    assert caught.value.budget == "tiny-user"
    assert client.budgets.status("big-team", "t").reserved_usd == 0  # nothing held anywhere
    assert emulator.request_count == 0


# --- periods -------------------------------------------------------------------------------
def test_a_daily_budget_resets_at_midnight_in_its_zone(emulator: Emulator) -> None:
    clock = FakeClock()
    budgets = {"day": {"level": "team", "amount_usd": 0.0001, "period": "daily"}}
    client = _client(emulator, budgets, clock=clock, budget={"timezone": "Asia/Tokyo"})
    _spend_until_blocked(client, "chat", Loop(), team="t")
    status = client.budgets.status("day", "t")
    assert status.resets_at is not None
    assert status.resets_at.utcoffset() == timedelta(hours=9)
    assert (status.resets_at.hour, status.resets_at.minute) == (0, 0)
    clock.advance((status.resets_at - clock.now()).total_seconds() + 1)
    client.chat(model=MODEL, messages=PROMPT, team="t", max_tokens=16)  # a new day: money again
    assert client.budgets.status("day", "t").spent_usd > 0


def test_rollover_adds_last_periods_leftover(emulator: Emulator) -> None:
    clock = FakeClock()
    budgets = {"day": {"level": "team", "amount_usd": 0.001, "period": "daily", "rollover": True}}
    client = _client(emulator, budgets, clock=clock)
    client.chat(model=MODEL, messages=PROMPT, team="t", max_tokens=16)
    spent = client.budgets.status("day", "t").spent_usd
    clock.advance(86_400)
    assert client.budgets.status("day", "t").amount_usd == pytest.approx(0.002 - spent)


def test_a_rolled_over_leftover_can_be_spent(emulator: Emulator) -> None:
    clock = FakeClock()
    budgets = {"day": {"level": "team", "amount_usd": 0.0001, "period": "daily", "rollover": True}}
    client = _client(emulator, budgets, clock=clock)
    clock.advance(86_400)  # a day with nothing spent: tomorrow has twice the money
    _spend_until_blocked(client, "chat", Loop(), team="t")
    status = client.budgets.status("day", "t")
    assert status.amount_usd == pytest.approx(0.0002)
    assert status.spent_usd > 0.0001  # past the plain amount: the leftover was spendable
    assert status.spent_usd <= status.amount_usd


def test_a_total_budget_never_resets(emulator: Emulator) -> None:
    clock = FakeClock()
    client = _client(emulator, {"all": {"level": "org", "amount_usd": 1, "period": "total"}})
    client.chat(model=MODEL, messages=PROMPT, org="o")
    clock.advance(400 * 86_400)
    status = client.budgets.status("all", "o")
    assert status.spent_usd > 0
    assert status.resets_at is None


# --- thresholds ----------------------------------------------------------------------------
class _Hook(BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        type(self).received.append(
            {"body": json.loads(body), "auth": self.headers["authorization"]}
        )
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_alerts_fire_once_per_threshold_per_period_with_a_webhook(emulator: Emulator) -> None:
    _Hook.received = []
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    alerts = Alerts()
    budgets = {
        "support": {
            "level": "team",
            "amount_usd": 0.0002,
            "thresholds": [
                {"at": 25, "action": "alert"},
                {"at": 50, "action": "alert"},
                {"at": 100, "action": "block"},
            ],
        }
    }
    hook = f"http://127.0.0.1:{server.server_address[1]}/alerts"
    options = {"webhook": hook, "webhook_headers": {"Authorization": "Bearer hook-secret"}}
    client = _client(emulator, budgets, alerts, budget=options)
    _spend_until_blocked(client, "chat", Loop(), team="support")
    client.close()  # sends what is queued
    server.shutdown()
    assert [a.threshold for a in alerts.seen] == [25, 50]
    assert all(a.budget == "support" and a.value == "support" for a in alerts.seen)
    assert [r["body"]["threshold"] for r in _Hook.received] == [25, 50]
    assert {r["auth"] for r in _Hook.received} == {"Bearer hook-secret"}
    assert "hook-secret" not in repr(client.config)


def test_a_webhook_that_is_down_never_fails_a_request(emulator: Emulator) -> None:
    budgets = {
        "t": {"level": "team", "amount_usd": 1, "thresholds": [{"at": 0.0001, "action": "alert"}]}
    }
    client = _client(emulator, budgets, budget={"webhook": "http://127.0.0.1:9/down"})
    with client:
        response = client.chat(model=MODEL, messages=PROMPT, team="t")
        response = client.chat(model=MODEL, messages=PROMPT, team="t")
    assert response.text.startswith("Echo")


def test_throttle_past_a_threshold(emulator: Emulator) -> None:
    budgets = {
        "t": {
            "level": "team",
            "amount_usd": 1.0,
            "thresholds": [{"at": 0.0001, "action": "throttle", "requests_per_minute": 2}],
        }
    }
    client = _client(emulator, budgets)
    client.chat(model=MODEL, messages=PROMPT, team="t")  # spends: past the threshold now
    client.chat(model=MODEL, messages=PROMPT, team="t")
    client.chat(model=MODEL, messages=PROMPT, team="t")
    with pytest.raises(cosmara.RateLimitExceededError) as caught:
        client.chat(model=MODEL, messages=PROMPT, team="t")
    assert caught.value.retry_after > 0
    assert caught.value.limit == "budget:t"


@pytest.mark.parametrize("how", HOWS)
def test_downgrade_past_a_threshold_is_recorded(emulator: Emulator, aio: Loop, how: str) -> None:
    budgets = {
        "t": {
            "level": "team",
            "amount_usd": 1.0,
            "thresholds": [{"at": 0.0001, "action": "downgrade", "to": "openai/gpt-4o-mini"}],
        }
    }
    client = _client(emulator, budgets)
    first = ask(client, how, aio, model="openai/gpt-4o", team="t")
    assert first.meta.model == "gpt-4o"
    second = ask(client, how, aio, model="openai/gpt-4o", team="t")
    assert second.meta.model == "gpt-4o-mini"
    assert second.meta.downgraded_from == "openai/gpt-4o"
    assert second.meta.cost_saved_usd is not None
    assert second.meta.cost_saved_usd > 0
    row = client.ledger.rows()[-1]  # type: ignore[union-attr]
    assert (row.requested_model, row.model, row.saved_reason) == (
        "openai/gpt-4o",
        "gpt-4o-mini",
        "downgrade",
    )
    assert row.saved_usd == pytest.approx(second.meta.cost_saved_usd)


def test_thresholds_must_be_complete() -> None:
    with pytest.raises(cosmara.ConfigurationError, match="'to'"):
        Cosmara(
            {
                "budgets": {
                    "x": {
                        "level": "team",
                        "amount_usd": 1,
                        "thresholds": [{"at": 50, "action": "downgrade"}],
                    }
                }
            },
            load_entry_points=False,
        )
    with pytest.raises(cosmara.ConfigurationError, match="time zone"):
        Cosmara({"budget": {"timezone": "Mars/Olympus"}}, load_entry_points=False)


# --- reservations settle ---------------------------------------------------------------------
@pytest.mark.parametrize("how", HOWS)
def test_failures_release_and_answers_commit(emulator: Emulator, aio: Loop, how: str) -> None:
    client = _client(emulator, {"t": {"level": "team", "amount_usd": 1.0}})
    emulator.add_fault(Fault(status=503, times=1))
    with pytest.raises(cosmara.ProviderUnavailableError):
        ask(client, how, aio, model=MODEL, team="t", max_retries=0)
    status = client.budgets.status("t", "t")
    assert (status.spent_usd, status.reserved_usd) == (0, 0)
    answer = ask(client, how, aio, model=MODEL, team="t")
    status = client.budgets.status("t", "t")
    assert status.spent_usd == pytest.approx(answer.meta.cost_usd)
    assert status.reserved_usd == 0


@pytest.mark.parametrize("how", ["stream", "astream"])
def test_a_stream_cut_after_content_commits_what_it_cost(
    emulator: Emulator, aio: Loop, how: str
) -> None:
    client = _client(emulator, {"t": {"level": "team", "amount_usd": 1.0}})
    emulator.add_fault(Fault(cut_after_chunks=4, times=1))
    with pytest.raises(cosmara.ProviderConnectionError) as caught:
        ask(client, how, aio, model=MODEL, team="t")
    assert caught.value.cost_usd
    status = client.budgets.status("t", "t")
    assert status.spent_usd == pytest.approx(caught.value.cost_usd)
    assert status.reserved_usd == 0


@pytest.mark.parametrize("how", ["stream", "astream"])
def test_a_stream_closed_early_settles_what_it_streamed(
    emulator: Emulator, aio: Loop, how: str
) -> None:
    client = _client(emulator, {"t": {"level": "team", "amount_usd": 1.0}})
    if how == "stream":
        stream = client.stream(model=MODEL, messages=PROMPT, team="t")
        next(stream)
        next(stream)
        assert client.budgets.status("t", "t").reserved_usd > 0
        stream.close()
    else:

        async def two_chunks() -> None:
            stream = client.astream(model=MODEL, messages=PROMPT, team="t")
            await anext(stream)
            await anext(stream)
            await stream.aclose()

        aio.run(two_chunks())
    status = client.budgets.status("t", "t")
    assert status.reserved_usd == 0
    # The provider was answering: the prompt and the text streamed so far are paid for.
    assert status.spent_usd > 0
    row = client.ledger.rows()[-1]  # type: ignore[union-attr]
    assert (row.outcome, row.input_tokens > 0, row.output_tokens > 0) == ("cancelled", True, True)
    assert row.cost_usd == pytest.approx(status.spent_usd)


def test_a_cache_hit_costs_no_budget(emulator: Emulator) -> None:
    client = _client(emulator, {"t": {"level": "team", "amount_usd": 1.0}}, cache={"enabled": True})
    first = client.chat(model=MODEL, messages=PROMPT, team="t")
    client.chat(model=MODEL, messages=PROMPT, team="t")
    assert client.budgets.status("t", "t").spent_usd == pytest.approx(first.cosmara.cost_usd)
    rows = client.ledger.rows()  # type: ignore[union-attr]
    assert [r.outcome for r in rows] == ["ok", "cached"]
    assert rows[1].saved_reason == "cache"
    assert rows[1].saved_usd == pytest.approx(first.cosmara.cost_usd)


# --- the run-time API ----------------------------------------------------------------------
def test_budgets_change_at_run_time(emulator: Emulator) -> None:
    client = _client(emulator, {})
    client.chat(model=MODEL, messages=PROMPT, team="t")  # no budget yet: nothing counted
    client.budgets.set("t", {"level": "team", "match": "t", "amount_usd": 0.00001})
    with pytest.raises(cosmara.BudgetExceededError):
        client.chat(model=MODEL, messages=PROMPT, team="t")
    client.budgets.set("t", {"level": "team", "match": "t", "amount_usd": 5})
    client.chat(model=MODEL, messages=PROMPT, team="t")
    assert client.budgets.status("t").spent_usd > 0
    client.budgets.reset("t")
    assert client.budgets.status("t").spent_usd == 0
    client.budgets.remove("t")
    assert client.budgets.names() == []
    with pytest.raises(cosmara.ConfigurationError, match="no budget"):
        client.budgets.status("t")


def test_budget_errors_pickle_whole(emulator: Emulator) -> None:
    import pickle

    client = _client(emulator, {"t": {"level": "team", "amount_usd": 0.000001}})
    with pytest.raises(cosmara.BudgetExceededError) as caught:
        client.chat(model=MODEL, messages=PROMPT, team="t")
    again = pickle.loads(pickle.dumps(caught.value))
    assert (again.budget, again.limit_usd, again.resets_at) == (
        "t",
        caught.value.limit_usd,
        caught.value.resets_at,
    )


def test_period_spans_in_a_zone() -> None:
    from zoneinfo import ZoneInfo

    from cosmara.budgets import span_of

    paris = ZoneInfo("Europe/Paris")
    moment = datetime(2026, 3, 29, 12, tzinfo=timezone.utc)  # the day clocks go forward
    day = span_of("daily", moment, paris)
    assert day.start is not None
    assert day.end is not None
    hours = (day.end.timestamp() - day.start.timestamp()) / 3600
    assert hours == 23  # a calendar day, not 24 hours
    week = span_of("weekly", moment, paris)
    assert week.start is not None
    assert week.start.weekday() == 0
    month = span_of("monthly", datetime(2026, 12, 31, 23, tzinfo=timezone.utc), paris)
    assert month.start is not None
    assert month.end is not None
    # 23:00 UTC on 31 December is already January in Paris.
    assert (month.start.year, month.start.month, month.start.day) == (2027, 1, 1)
    assert (month.end.year, month.end.month) == (2027, 2)


def test_a_store_that_is_down_refuses_before_sending(emulator: Emulator) -> None:
    state = {"backend": "redis", "url": "redis://127.0.0.1:9/0", "timeout": 0.5}
    client = _client(emulator, {"t": {"level": "team", "amount_usd": 1.0}}, state=state)
    with pytest.raises(cosmara.StateStoreError, match=r"127\.0\.0\.1:9"):
        client.chat(model=MODEL, messages=PROMPT, team="t")
    assert emulator.request_count == 0  # a budget that cannot be checked is not spent from


def test_a_downgraded_request_counts_against_the_model_it_goes_to(emulator: Emulator) -> None:
    budgets = {
        "t": {
            "level": "team",
            "amount_usd": 1.0,
            "thresholds": [{"at": 0.0001, "action": "downgrade", "to": MODEL}],
        }
    }
    limits = {"big": {"scope": "model", "match": "openai/gpt-4o", "requests_per_minute": 1}}
    client = _client(emulator, budgets, rate_limits=limits)
    client.chat(model="openai/gpt-4o", messages=PROMPT, team="t")  # the budget is past 0.0001 %
    for _ in range(3):  # downgraded to the mini: gpt-4o's limit is not drawn from
        assert client.chat(model="openai/gpt-4o", messages=PROMPT, team="t").cosmara.model == (
            "gpt-4o-mini"
        )
