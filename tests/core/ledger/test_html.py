"""The HTML report: one self-contained page (nothing fetched, nothing run), every name escaped,
charts of spend, savings and budgets, the grouped table. Chromium renders it in
test_chromium.py."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from cosmara import Cosmara
from cosmara.ledger import UsageReport
from cosmara.ledger._report import money
from tests.core.ledger.conftest import HOSTILE, make_row

_VOID = {"meta", "br", "img", "input", "link", "hr"}


class _Structure(HTMLParser):
    """Every element, and whether each one is closed where it was opened."""

    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.problems: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag not in _VOID:
            self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open[-1] != tag:
            self.problems.append(f"</{tag}> closes {self.open[-1:]}")
        else:
            self.open.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _parse(page: str) -> _Structure:
    parsed = _Structure()
    parsed.feed(page)
    parsed.close()
    assert parsed.problems == []
    assert parsed.open == []
    return parsed


@pytest.fixture
def page(recorded: Cosmara) -> str:
    assert recorded.ledger is not None
    report = UsageReport.from_ledger(recorded.ledger, budgets=recorded.budgets, by=("team", "user"))
    return report.html()


def test_the_page_is_well_formed_and_self_contained(page: str) -> None:
    parsed = _parse(page)
    names = {tag for tag, _ in parsed.tags}
    assert page.startswith("<!DOCTYPE html>")
    assert "script" not in names
    assert not names & {"link", "img", "iframe", "object", "embed", "image", "use"}
    assert not any(
        name.startswith("on") or name in ("src", "href", "xlink:href")
        for _, attrs in parsed.tags
        for name in attrs
    )
    assert "url(" not in page
    assert "@import" not in page
    assert "http://" not in page
    assert "https://" not in page
    policy = next(
        attrs["content"]
        for tag, attrs in parsed.tags
        if attrs.get("http-equiv") == "Content-Security-Policy"
    )
    assert policy == "default-src 'none'; style-src 'unsafe-inline'"


def test_the_page_shows_totals_charts_and_the_grouped_table(recorded: Cosmara, page: str) -> None:
    assert recorded.ledger is not None
    report = UsageReport.from_ledger(recorded.ledger, by=("team", "user"))
    text = " ".join(_parse(page).text)
    for heading in (
        "Spend per day by team",
        "Spend per day by model",
        "Savings by kind",
        "Budgets",
        "By team, user",
    ):
        assert f"<h2>{heading}</h2>" in page
    assert "18 requests" in re.sub(r"<[^>]+>", " ", page).replace("  ", " ")
    assert report.describe() in text
    # A stacked bar for each team that spent, on each of the three days.
    assert page.count("<rect") >= 3 * 2
    assert "2026-12-01: $0.0004925" in text
    assert "openai/gpt-4o" in text
    assert "groq/llama-3.1-8b-instant" in text
    for kind, saved in report.saved_by.items():
        assert saved > 0
        assert f"<title>{kind}: {money(saved)}</title>" in page
    assert "<td>support</td><td>ana</td>" in page
    assert "<tfoot><tr><td>total</td><td></td><td class=n>18</td>" in page


def test_every_name_is_escaped(page: str) -> None:
    assert "<script" not in page.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert HOSTILE in " ".join(_parse(page).text)  # shown as the text it is


@pytest.mark.parametrize(
    "name",
    [
        '"><img src=x onerror=alert(1)>',
        "' onmouseover='alert(1)",
        "</title></svg><script>alert(1)</script>",
        "&amp; already escaped",
        "\x00\x1b[31m",
    ],
)
def test_hostile_names_stay_text_everywhere(name: str) -> None:
    rows = [
        make_row(team=name, user=name, model=name, tags={"feature": name}, cost_usd=0.01),
        make_row(team="other", cost_usd=0.02),
    ]
    report = UsageReport.build(rows, by=("team", "user", "model"), filters={"team": name})

    parsed = _parse(report.html())

    assert {tag for tag, _ in parsed.tags}.isdisjoint({"script", "img"})
    assert all(not attr.startswith("on") for _, attrs in parsed.tags for attr in attrs)
    shown = " ".join(parsed.text)
    if name.isprintable():
        assert name in shown
    else:
        assert "\\x00\\x1b[31m" in shown


def test_budgets_show_spend_held_and_thresholds(recorded: Cosmara, page: str) -> None:
    section = page[page.index("<h2>Budgets</h2>") : page.index("<h2>By team")]
    text = " ".join(_parse(page).text)
    status = recorded.budgets.status("support")
    assert f"{status.percent:.1f}%" in text
    # support: a downgrade mark at 50 %; its block at 1000 % is off the track, so named.
    assert "<title>50%: downgrade</title>" in section
    assert "downgrade at 50%, block at 1000%</p>" in section
    assert "<title>1000%: block</title>" not in section
    assert section.count("<title>100%: block</title>") == 6  # every other budget's own block
    assert section.count('aria-label="budget"') == 7
    assert "<b>teams</b> team &lt;script&gt;alert(1)&lt;/script&gt;, daily" in section
    assert "resets 2026-12-04 00:00 UTC" in section


def test_a_report_without_budgets_or_requests_still_renders() -> None:
    page = UsageReport.build([]).html()
    _parse(page)
    assert "<h2>Budgets</h2>" not in page
    assert page.count("Nothing was spent in this report.") == 2
    assert "<em>No requests.</em>" in page
