"""``cosmara usage`` end to end: a client makes real calls to the emulator with a SQLite ledger
and budgets, then the command (in this process and in another one) reads what it recorded."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest

from cosmara import Cosmara
from cosmara._cli import main
from cosmara.ledger import LedgerRow, UsageReport
from cosmara.testing import Emulator, FakeClock
from tests.core.ledger.conftest import HOSTILE, make_traffic

CONFIG = """\
[providers.openai]
base_url = "{base_url}"
api_key = "sk-test-emulator-key-0000"

[providers.groq]
base_url = "{base_url}"
api_key = "gsk-test-emulator-key-0000"

[state]
backend = "sqlite"
path = "{database}"

[ledger]
enabled = true
baseline_model = "openai/gpt-4o"

[cache]
enabled = true

[groups.cheapest]
models = ["openai/gpt-4o-mini", "groq/llama-3.1-8b-instant"]
strategy = "cost"

[budgets.support]
level = "team"
match = "support"
amount_usd = 0.0009
period = "daily"
thresholds = [
  {{ at = 50, action = "downgrade", to = "openai/gpt-4o-mini" }},
  {{ at = 1000, action = "block" }},
]

[budgets.frugal]
level = "team"
match = "frugal"
amount_usd = 1e-7

[budgets.teams]
level = "team"
amount_usd = 0.01
period = "daily"
"""


@pytest.fixture
def config(emulator: Emulator, tmp_path: Path) -> Path:
    path = tmp_path / "cosmara.toml"
    path.write_text(CONFIG.format(base_url=emulator.base_url, database=tmp_path / "state.db"))
    return path


@pytest.fixture
def client(config: Path, emulator: Emulator) -> Iterator[Cosmara]:
    """A client on the real clock (budgets read "now") that has made one day of traffic."""
    with Cosmara(config, load_entry_points=False) as client:
        make_traffic(client, emulator)
        yield client


def usage(*args: str) -> str:
    out = io.StringIO()
    assert main(["usage", *args], out=out) == 0
    return out.getvalue()


def test_the_table_is_the_report_on_what_the_client_recorded(client: Cosmara, config: Path) -> None:
    assert client.ledger is not None
    expected = UsageReport.from_ledger(client.ledger, budgets=client.budgets).table(plain=True)

    shown = usage("--config", str(config), "--plain")

    assert shown == expected
    lines = shown.splitlines()
    assert next(line for line in lines if line.startswith("total ")).split()[1] == "6"
    for team in ("support", HOSTILE, "search", "frugal"):
        assert any(line.startswith(team + " ") for line in lines)
    assert any(line.split()[:3] == ["support", "team", "support"] for line in lines)


def test_another_process_reads_the_same_ledger(client: Cosmara, config: Path) -> None:
    command = [sys.executable, "-m", "cosmara._cli", "usage", "--config", str(config)]
    result = subprocess.run(
        [*command, "--plain", "--by", "team,model", "--team", "support"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    lines = result.stdout.splitlines()
    assert lines[0].endswith("; time zone UTC; by team, model; where team=support")
    table = lines[lines.index("By team, model") : lines.index("Budgets (this period, now)")]
    models = [line.split()[1] for line in table if line.startswith("support  ")]
    assert models == ["gpt-4o", "gpt-4o-mini"]
    assert result.stderr == ""


def test_a_redis_ledger_is_read_the_same_way(
    redis_url: str, config: Path, emulator: Emulator, tmp_path: Path
) -> None:
    shared = tmp_path / "redis.toml"
    state = f'[state]\nbackend = "redis"\nurl = "{redis_url}"\nprefix = "{uuid.uuid4().hex}:"\n'
    text = config.read_text()
    start, end = text.index("[state]"), text.index("[ledger]")
    shared.write_text(text[:start] + state + "\n" + text[end:])
    with Cosmara(shared, load_entry_points=False) as client:
        make_traffic(client, emulator)
        assert client.ledger is not None
        expected = UsageReport.from_ledger(client.ledger, budgets=client.budgets)

    shown = usage("--config", str(shared), "--plain")

    assert shown == expected.table(plain=True)
    assert expected.total.requests == 6
    assert {s.group["team"] for s in expected.groups} == {"support", HOSTILE, "search", "frugal"}


def test_filters_and_groupings(client: Cosmara, config: Path) -> None:
    tagged = usage("--config", str(config), "--tag", "feature=faq", "--by", "user", "--plain")
    assert [line.split()[:2] for line in tagged.splitlines() if line.startswith("bob")] == [
        ["bob", "1"]
    ]
    downgraded = usage("--config", str(config), "--model", "openai/gpt-4o-mini", "--plain")
    assert "where model=openai/gpt-4o-mini" in downgraded
    total = next(line for line in downgraded.splitlines() if line.startswith("total"))
    assert total.split()[1] == "1"  # support's downgraded request
    tomorrow = usage("--config", str(config), "--since", "2999-01-01", "--plain")
    assert tomorrow.startswith("Usage: 2999-01-01 to ")
    total = next(line for line in tomorrow.splitlines() if line.startswith("total"))
    assert total.split()[1] == "0"


def test_exports_write_the_filtered_rows(
    client: Cosmara, config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert client.ledger is not None
    target = tmp_path / "support.csv"
    shown = usage("--config", str(config), "--team", "support", "--csv", str(target), "--plain")

    with target.open(newline="", encoding="utf-8") as file:
        lines = list(csv.DictReader(file))
    assert [line["id"] for line in lines] == [row.id for row in client.ledger.rows(team="support")]
    assert len(lines) == 3
    assert "wrote 3 rows to" in capsys.readouterr().err
    assert shown.startswith("Usage: ")  # the table too

    streamed = usage("--config", str(config), "--jsonl", "-", "--user", "bob")
    rows = [LedgerRow.model_validate_json(line) for line in streamed.splitlines()]
    assert [(row.team, row.user, row.saved_reason) for row in rows] == [(HOSTILE, "bob", "routing")]


def test_html_report_is_written(client: Cosmara, config: Path, tmp_path: Path) -> None:
    target = tmp_path / "report.html"
    usage("--config", str(config), "--by", "team,model", "--html", str(target), "--plain")

    page = target.read_text(encoding="utf-8")
    assert "<h2>By team, model</h2>" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script" not in page
    assert page.count('aria-label="budget"') == 2 + 4  # support, frugal, teams x 4 teams
    assert "<title>50%: downgrade</title>" in page


def test_days_and_date_bounds_are_read_in_the_time_zone(config: Path, emulator: Emulator) -> None:
    clock = FakeClock(datetime(2026, 12, 1, 23, 30, tzinfo=timezone.utc))  # Dec 2 in Paris
    with Cosmara(config, load_entry_points=False, clock=clock) as client:
        client.chat(model="openai/gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])

    def days(*args: str) -> list[str]:
        text = usage("--config", str(config), "--by", "day", "--plain", *args)
        return [line.split()[0] for line in text.splitlines() if line.startswith("2026-")]

    assert days("--timezone", "UTC") == ["2026-12-01"]
    assert days("--timezone", "Europe/Paris") == ["2026-12-02"]
    # An end date counts in full, in the zone it is read in.
    assert days("--until", "2026-12-01") == ["2026-12-01"]
    assert days("--until", "2026-12-01", "--timezone", "Europe/Paris") == []
    assert days("--since", "2026-12-01T23:00", "--until", "2026-12-02T00:00") == ["2026-12-01"]


def test_rich_draws_the_table_when_installed(client: Cosmara, config: Path) -> None:
    pytest.importorskip("rich")
    assert "┏" in usage("--config", str(config))


def test_without_rich_the_command_prints_plain_text(
    client: Cosmara, config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "rich.console", None)  # as on a bare install
    assert usage("--config", str(config)) == usage("--config", str(config), "--plain")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--since", "yesterday"], "'yesterday' is not a date"),
        (["--until", "2026-13-01"], "is not a date"),
        (["--tag", "feature"], "write a tag filter as NAME=VALUE"),
        (["--timezone", "Mars/Olympus"], "unknown time zone 'Mars/Olympus'"),
        (["--csv", "a.csv", "--jsonl", "a.jsonl"], "not allowed with argument"),
        (["--by", ","], "name at least one grouping"),
    ],
)
def test_malformed_arguments_are_usage_errors(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["usage", *args])
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err


def test_problems_fail_with_a_message_and_write_nothing(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "elsewhere.toml"
    missing.write_text(f'[state]\nbackend = "sqlite"\npath = "{tmp_path / "none.db"}"\n')
    assert main(["usage", "--config", str(missing)]) == 1
    assert "ConfigurationError: no state store at" in capsys.readouterr().err
    assert not (tmp_path / "none.db").exists()  # not created by reading

    assert main(["usage", "--config", str(config), "--by", "team,colour"]) == 1
    assert "RequestValidationError: rows cannot be grouped or filtered by 'colour'" in (
        capsys.readouterr().err
    )

    nowhere = tmp_path / "no-such-folder" / "report.html"
    assert main(["usage", "--config", str(config), "--html", str(nowhere)]) == 1
    assert "its folder does not exist" in capsys.readouterr().err
    assert not nowhere.parent.exists()


def test_a_memory_store_is_pointed_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("COSMARA_CONFIG", raising=False)
    out = io.StringIO()
    assert main(["usage", "--plain"], out=out) == 0
    assert "backend is memory: this command sees only its own process" in capsys.readouterr().err
    assert out.getvalue().startswith("Usage: no requests;")


def test_usage_is_listed_in_the_help() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "cosmara._cli", "--help"], capture_output=True, text=True, check=True
    )
    assert "usage and spend from the ledger" in result.stdout
