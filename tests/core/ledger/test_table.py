"""The report as text: plain aligned columns on a bare install, a rich table when rich is there,
names shown exactly as they are (never read as markup or terminal codes)."""

from __future__ import annotations

import re
import sys

import pytest

from cosmara import Cosmara
from cosmara.budgets import BudgetOptions, BudgetRule, Budgets
from cosmara.ledger import UsageReport
from cosmara.ledger._report import money
from cosmara.state import MemoryStore
from tests.core.ledger.conftest import HOSTILE, START, make_row


def test_plain_table_has_groups_totals_savings_and_budgets(recorded: Cosmara) -> None:
    assert recorded.ledger is not None
    report = UsageReport.from_ledger(recorded.ledger, budgets=recorded.budgets)

    text = report.table(plain=True)
    lines = text.splitlines()

    assert lines[0] == f"Usage: {report.describe()}"
    heading = lines[lines.index("By team") + 1].split()
    assert heading[:4] == ["team", "requests", "tokens", "in"]
    assert "saved: downgrade" in lines[lines.index("By team") + 1]
    groups = lines[lines.index("By team") : lines.index("Budgets (this period, now)")]
    team_lines = [line for line in groups if line.startswith(("support ", HOSTILE, "search "))]
    assert [line.split()[0] for line in team_lines] == ["support", HOSTILE, "search"]
    total = next(line for line in lines if line.startswith("total "))
    assert total.split()[1:4] == ["18", "921", "360"]
    saved = report.saved_by
    assert lines[-1] == (
        f"Saved {money(report.total.saved_usd)}: cache {money(saved['cache'])}, "
        f"downgrade {money(saved['downgrade'])}, routing {money(saved['routing'])}"
    )
    assert "Budgets (this period, now)" in lines
    assert any(line.split()[:3] == ["support", "team", "support"] for line in lines)


def test_plain_columns_line_up(recorded: Cosmara) -> None:
    assert recorded.ledger is not None
    text = UsageReport.from_ledger(recorded.ledger, by=("team", "user")).table(plain=True)
    lines = text.splitlines()
    table = lines[lines.index("By team, user") + 1 :]
    table = table[: table.index("")]
    columns = [match.span() for match in re.finditer("-+", table[1])]
    assert len(columns) == 2 + 11  # team, user; 5 figures, 3 saving kinds, 3 counts
    for line in table[2:]:
        if line.startswith("-"):
            continue
        for number, (start, end) in enumerate(columns):
            if number < 2:  # names: left-aligned (the total's second one is blank)
                assert line[start] != " " or line.startswith("total "), (line, start)
            else:  # figures: right-aligned
                assert line[end - 1] != " ", (line, end)
                assert line[start - 1] == " ", (line, start)
                assert re.fullmatch(r"\$?[\d,.]+", line[start:end].strip()), line[start:end]


def test_rich_table_shows_names_literally(recorded: Cosmara) -> None:
    pytest.importorskip("rich")
    rows = [
        make_row(team="[bold red]loud[/bold red]", cost_usd=0.003),
        make_row(team="bell\x07\x1b[31mred", cost_usd=0.002),
        make_row(team=HOSTILE, cost_usd=0.001),
    ]
    text = UsageReport.build(rows).table()

    assert "┏" in text  # drawn by rich
    assert "[bold red]loud[/bold red]" in text  # not styled: shown
    assert "bell\\x07\\x1b[31mred" in text  # control characters made visible
    assert "\x1b" not in text
    assert "\x07" not in text
    assert HOSTILE in text
    assert "total" in text


def test_without_rich_the_table_is_plain(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "rich.console", None)  # as on a bare install
    report = UsageReport.build([make_row(), make_row(team="search")])
    text = report.table()
    assert "┏" not in text
    assert text == report.table(plain=True)


def test_budget_instances_past_twenty_five_are_counted_not_listed() -> None:
    store = MemoryStore()
    rules = {"users": BudgetRule(level="user", amount_usd=1.0)}
    budgets = Budgets(rules, BudgetOptions(), lambda: store, now=lambda: START)
    rows = [make_row(user=f"user-{n:02d}") for n in range(30)]

    text = UsageReport.build(rows, budgets=budgets).table(plain=True)

    assert "Budgets (this period, now); 5 more not shown" in text
    assert sum(line.startswith("users ") for line in text.splitlines()) == 25


def test_grouping_by_nothing_gives_one_total() -> None:
    text = UsageReport.build([make_row(), make_row()], by=()).table(plain=True)
    assert "By nothing" in text
    assert text.count("$0.002") == 2  # the one group and the total
