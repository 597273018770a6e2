"""The HTML report in a real browser: headless Chromium renders it (a screenshot that is not
blank and shows the charts), reports no console error, fetches nothing but the page itself, and
shows hostile names as text."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cosmara import Cosmara
from cosmara.ledger import UsageReport
from tests.core.ledger.chromium import DevTools, chromium_binary, screenshot
from tests.core.ledger.conftest import HOSTILE, make_row

BAR_BLUE = (0x4E, 0x79, 0xA7)  # the first series' colour in the charts


@pytest.fixture
def report_file(recorded: Cosmara, tmp_path: Path) -> Path:
    assert recorded.ledger is not None
    report = UsageReport.from_ledger(
        recorded.ledger, budgets=recorded.budgets, by=("team", "model"), tz="Europe/Paris"
    )
    path = tmp_path / "report.html"
    path.write_text(report.html(), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevTools]:
    devtools = DevTools(chromium_binary(), tmp_path_factory.mktemp("chromium-profile"))
    yield devtools
    devtools.close()


def test_the_report_renders_with_its_charts(report_file: Path, tmp_path: Path) -> None:
    from PIL import Image

    png = tmp_path / "report.png"
    result = screenshot(chromium_binary(), report_file, png, tmp_path / "profile")

    assert result.returncode == 0, result.stderr[-2000:]
    assert png.stat().st_size > 10_000
    with Image.open(png) as image:
        assert image.size == (1280, 2000)
        colours = image.convert("RGB").getcolors(maxcolors=1 << 20)
    assert colours is not None
    assert len(colours) > 50  # text, bars, lines: not a blank page
    background = max(count for count, _ in colours)
    assert background < 0.9 * 1280 * 2000  # no single colour fills the page
    painted = {colour: count for count, colour in colours}
    assert painted.get(BAR_BLUE, 0) > 500  # the bars were drawn


def test_the_report_loads_without_errors_or_requests(browser: DevTools, report_file: Path) -> None:
    session, loaded = browser.load(report_file.as_uri())

    assert loaded.errors == []
    assert loaded.requests == [report_file.as_uri()]  # nothing else fetched
    assert browser.evaluate(session, "document.scripts.length") == 0
    assert browser.evaluate(session, "document.querySelectorAll('svg rect').length") > 20
    shown = browser.evaluate(session, "document.body.innerText")
    assert HOSTILE in shown  # the hostile team name is text on the page
    assert "Spend per day by team" in shown
    assert browser.evaluate(session, "document.title") == "Cosmara usage report"
    # Laid out, not collapsed: the charts have a real size.
    width = browser.evaluate(session, "document.querySelector('svg').getBoundingClientRect().width")
    assert width > 500


def test_hostile_names_cannot_run_even_in_the_browser(browser: DevTools, tmp_path: Path) -> None:
    names = ['"><img src=x onerror=alert(1)>', "</title></svg><script>alert(2)</script>"]
    rows = [make_row(team=name, model=name, cost_usd=0.01) for name in names]
    path = tmp_path / "hostile.html"
    path.write_text(UsageReport.build(rows, by=("team", "model")).html(), encoding="utf-8")

    session, loaded = browser.load(path.as_uri())

    assert loaded.errors == []
    assert loaded.requests == [path.as_uri()]
    assert browser.evaluate(session, "document.querySelectorAll('script, img').length") == 0
    shown = browser.evaluate(session, "document.body.innerText")
    assert all(name in shown for name in names)


def test_the_error_check_catches_errors(browser: DevTools, tmp_path: Path) -> None:
    """The checks above could not pass by missing errors: a broken page is caught."""
    broken = tmp_path / "broken.html"
    broken.write_text(
        "<!DOCTYPE html><title>broken</title><body><img src='missing.png'>"
        "<script>console.error('logged'); undefinedFunction();</script></body>",
        encoding="utf-8",
    )
    _, loaded = browser.load(broken.as_uri())
    assert "logged" in loaded.errors
    assert any("undefinedFunction" in error for error in loaded.errors)
    assert any(url.endswith("/missing.png") for url in loaded.requests)
