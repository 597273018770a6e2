"""``UsageReport``: rows filtered, grouped and added up; spend per period; savings by kind;
budgets as they stand."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from cosmara import Cosmara, RequestValidationError
from cosmara.budgets import BudgetOptions, BudgetRule, Budgets
from cosmara.ledger import SAVED_KINDS, Ledger, UsageReport
from cosmara.ledger._report import money
from cosmara.state import MemoryStore
from tests.core.ledger.conftest import DAY, HOSTILE, START, make_row


def _by_team(report: UsageReport) -> dict[str | None, Any]:
    return {summary.group["team"]: summary for summary in report.groups}


def test_groups_and_totals_add_up_every_row(recorded: Cosmara) -> None:
    assert recorded.ledger is not None
    rows = recorded.ledger.rows()
    report = UsageReport.from_ledger(recorded.ledger)

    teams = _by_team(report)
    assert set(teams) == {"support", HOSTILE, "search", "frugal"}
    assert [s.requests for s in teams.values()] == [9, 3, 3, 3]  # largest cost first
    assert teams["support"].cached == 3
    assert teams["search"].errors == 3
    assert teams["frugal"].blocked == 3
    total = report.total
    assert total.requests == len(rows) == 18
    assert total.input_tokens == sum(row.input_tokens for row in rows)
    assert total.output_tokens == sum(row.output_tokens for row in rows)
    assert total.cost_usd == pytest.approx(sum(row.cost_usd for row in rows))
    assert total.cost_usd == pytest.approx(sum(s.cost_usd for s in report.groups))


def test_savings_by_kind_are_the_rows_savings_for_that_reason(recorded: Cosmara) -> None:
    assert recorded.ledger is not None
    rows = recorded.ledger.rows()
    report = UsageReport.from_ledger(recorded.ledger)

    assert list(report.saved_by) == list(SAVED_KINDS) == ["cache", "downgrade", "routing"]
    for kind in SAVED_KINDS:
        expected = sum(row.saved_usd for row in rows if row.saved_reason == kind)
        assert expected > 0, f"the traffic should produce a {kind} saving"
        assert report.saved_by[kind] == pytest.approx(expected)
    assert report.total.saved_usd == pytest.approx(sum(report.saved_by.values()))
    # Each saving belongs to the team that made it.
    assert set(_by_team(report)[HOSTILE].saved_by) == {"routing"}
    assert set(_by_team(report)["support"].saved_by) == {"cache", "downgrade"}


def test_groupings_combine_fields_and_days(recorded: Cosmara) -> None:
    assert recorded.ledger is not None
    report = UsageReport.from_ledger(recorded.ledger, by=("team", "model", "day"))

    support = [s.group for s in report.groups if s.group["team"] == "support"]
    days = sorted({group["day"] for group in support if group["day"]})
    assert days == ["2026-12-01", "2026-12-02", "2026-12-03"]
    # Each day: gpt-4o answered once and from the cache once, then the budget downgraded.
    assert {(g["model"], g["day"]) for g in support} == {
        (model, day) for model in ("gpt-4o", "gpt-4o-mini") for day in days
    }
    assert report.by == ("team", "model", "day")
    assert report.total.requests == 18


def test_filters_select_rows_by_field_tag_model_and_period(recorded: Cosmara) -> None:
    ledger = recorded.ledger
    assert ledger is not None

    support = UsageReport.from_ledger(ledger, team="support")
    assert [s.group["team"] for s in support.groups] == ["support"]
    assert support.filters == {"team": "support"}

    tagged = UsageReport.from_ledger(ledger, **{"tag:feature": "faq"})
    assert [s.group["team"] for s in tagged.groups] == [HOSTILE]

    # A model by its name or as provider/model: the downgraded answers.
    for name in ("gpt-4o-mini", "openai/gpt-4o-mini"):
        mini = UsageReport.from_ledger(ledger, model=name, by=("model",))
        assert [(s.group["model"], s.requests) for s in mini.groups] == [("gpt-4o-mini", 3)]
    assert UsageReport.from_ledger(ledger, model="groq/gpt-4o-mini").total.requests == 0

    second_day = START + timedelta(days=1)
    window = UsageReport.from_ledger(
        ledger, since=second_day, until=second_day + timedelta(days=1), by=("day",)
    )
    assert [s.group["day"] for s in window.groups] == ["2026-12-02"]
    assert window.total.requests == 6


def test_a_bad_grouping_or_filter_fails_before_reading() -> None:
    class Unreadable:
        def rows(self, **_: Any) -> Any:
            raise AssertionError("the ledger was read")

    ledger: Any = Unreadable()
    with pytest.raises(RequestValidationError, match="'colour'"):
        UsageReport.from_ledger(ledger, by=("team", "colour"))
    with pytest.raises(RequestValidationError, match="'day'"):
        UsageReport.from_ledger(ledger, day="2026-12-01")
    with pytest.raises(RequestValidationError, match="sequence"):
        UsageReport.from_ledger(ledger, by="team")  # type: ignore[arg-type]


def test_days_begin_in_the_report_time_zone() -> None:
    late = datetime(2026, 12, 1, 23, 30, tzinfo=timezone.utc).timestamp()  # 00:30 in Paris
    rows = [make_row(time=late), make_row(time=late - 3 * 3600)]

    utc = UsageReport.build(rows, by=("day",))
    paris = UsageReport.build(rows, by=("day",), tz="Europe/Paris")

    assert [s.group["day"] for s in utc.groups] == ["2026-12-01"]
    assert sorted(s.group["day"] or "" for s in paris.groups) == ["2026-12-01", "2026-12-02"]
    assert paris.spend_by_team.periods == ["2026-12-01", "2026-12-02"]
    assert paris.timezone == "Europe/Paris"


def test_spend_series_fill_empty_days_and_gather_the_smallest_as_other() -> None:
    rows = [
        make_row(team=f"team-{n}", cost_usd=0.01 * (n + 1), time=START.timestamp() + day * DAY)
        for n in range(10)
        for day in (0, 3)
    ]
    rows.append(make_row(team="free", cost_usd=0.0))  # spent nothing: not charted

    series = UsageReport.build(rows).spend_by_team

    assert series.unit == "day"
    assert series.periods == ["2026-12-01", "2026-12-02", "2026-12-03", "2026-12-04"]
    assert series.names == [f"team-{n}" for n in range(9, 2, -1)] + ["other"]
    assert series.spend["team-9"] == pytest.approx([0.1, 0.0, 0.0, 0.1])
    assert series.spend["other"] == pytest.approx([0.06, 0.0, 0.0, 0.06])  # teams 0, 1, 2
    assert sum(series.totals()) == pytest.approx(sum(row.cost_usd for row in rows))


def test_spend_by_model_names_provider_and_model() -> None:
    rows = [
        make_row(provider="openai", model="gpt-4o", cost_usd=0.02),
        make_row(provider="azure", model="gpt-4o", cost_usd=0.01),
        make_row(provider=None, model=None, outcome="blocked", cost_usd=0.0),
    ]
    series = UsageReport.build(rows).spend_by_model
    assert series.names == ["openai/gpt-4o", "azure/gpt-4o"]


@pytest.mark.parametrize(
    ("days", "unit", "count"), [(92, "day", 92), (93, "week", 14), (800, "month", 27)]
)
def test_long_periods_are_charted_by_week_then_month(days: int, unit: str, count: int) -> None:
    first = START.timestamp()
    rows = [make_row(time=first), make_row(time=first + (days - 1) * DAY)]
    series = UsageReport.build(rows).spend_by_team
    assert series.unit == unit
    assert len(series.periods) == count
    assert series.totals()[0] == series.totals()[-1] == pytest.approx(0.001)


def test_budgets_stand_per_budget_and_per_value_seen(recorded: Cosmara) -> None:
    assert recorded.ledger is not None
    report = UsageReport.from_ledger(recorded.ledger, budgets=recorded.budgets)

    found = {(use.status.name, use.status.value): use for use in report.budgets}
    assert set(found) == {
        ("acme", "acme"),
        ("frugal", "frugal"),
        ("support", "support"),
        *(("teams", team) for team in ("support", HOSTILE, "search", "frugal")),
    }
    for (name, value), use in found.items():
        assert use.status == recorded.budgets.status(name, value)  # read, not recomputed
    support = found["support", "support"]
    assert support.status.spent_usd > 0.5 * support.status.amount_usd
    assert support.state == "warn"  # past its downgrade threshold, not its block
    assert support.thresholds == ((50.0, "downgrade"), (1000.0, "block"))
    assert found["acme", "acme"].state == "ok"
    teams = [use.status.value for use in report.budgets if use.status.name == "teams"]
    assert teams[0] == "support"  # the most used first


def test_budgets_per_tag_and_per_model_take_values_from_the_rows() -> None:
    store = MemoryStore()
    rules = {
        "features": BudgetRule(level="tag", match="feature=*", amount_usd=1.0),
        "models": BudgetRule(level="model", amount_usd=2.0),
        "providers": BudgetRule(level="provider", amount_usd=3.0),
    }
    budgets = Budgets(rules, BudgetOptions(), lambda: store, now=lambda: START)
    rows = [
        make_row(tags={"feature": "faq"}),
        make_row(tags={"feature": "chat", "tier": "gold"}, provider="groq", model="llama"),
        make_row(tags={}, provider=None, model=None, outcome="blocked"),
    ]

    uses = UsageReport.build(rows, budgets=budgets).budgets

    values = {(use.status.name, use.status.value) for use in uses}
    assert values == {
        ("features", "chat"),
        ("features", "faq"),
        ("models", "groq/llama"),
        ("models", "openai/gpt-4o-mini"),
        ("providers", "groq"),
        ("providers", "openai"),
    }


def test_describe_says_period_zone_grouping_and_filters() -> None:
    paris = "Europe/Paris"
    report = UsageReport.build(
        [make_row()],
        by=("team", "day"),
        tz=paris,
        since=datetime(2026, 12, 1, tzinfo=timezone.utc),
        until=datetime(2026, 12, 8, tzinfo=timezone.utc),
        filters={"team": "support", "user": None},
    )
    # A period ending at midnight is shown as its last whole day, in the report's zone.
    assert report.describe() == (
        "2026-12-01 01:00 to 2026-12-08 01:00 (exclusive); time zone Europe/Paris; "
        "by team, day; where team=support, user=(none)"
    )
    assert UsageReport.build([], tz=paris).describe().startswith("no requests;")
    midnight = datetime(2026, 12, 8, tzinfo=timezone.utc)
    assert "to 2026-12-07;" in UsageReport.build([], until=midnight, since=midnight).describe()


def test_an_empty_ledger_reports_zeroes() -> None:
    report = UsageReport.from_ledger(Ledger(MemoryStore()))
    assert report.groups == []
    assert report.total.requests == 0
    assert report.spend_by_team.periods == report.spend_by_model.names == []
    assert report.saved_by == {"cache": 0.0, "downgrade": 0.0, "routing": 0.0}
    assert report.first is None


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (0.0, "$0"),
        (1e-7, "$0.0000001"),
        (0.0004925, "$0.0004925"),
        (0.01, "$0.01"),
        (0.123456, "$0.1235"),
        (3.14159, "$3.14"),
        (1234.5, "$1,234.50"),
    ],
)
def test_money_keeps_the_digits_a_request_needs(value: float, shown: str) -> None:
    assert money(value) == shown
