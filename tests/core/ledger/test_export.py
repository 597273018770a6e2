"""Exports of the ledger: CSV with a header (tags as JSON), JSON lines that read back as the
same rows."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from cosmara import Cosmara, RequestValidationError
from cosmara.ledger import Ledger, LedgerRow
from cosmara.state import MemoryStore
from tests.core.ledger.conftest import HOSTILE, make_row

AWKWARD = [
    make_row(team='comma, "quote"\nnewline', tags={"a;b": "c=d", "feature": "faq"}),
    make_row(team=HOSTILE, tags={}, saved_usd=0.5, saved_reason="cache"),
]


def test_csv_has_a_header_of_every_field_and_one_line_per_row(
    recorded: Cosmara, tmp_path: Path
) -> None:
    ledger = recorded.ledger
    assert ledger is not None
    path = tmp_path / "usage.csv"

    assert ledger.to_csv(path) == 18

    with path.open(newline="", encoding="utf-8") as file:
        reader = csv.DictReader(file)
        assert reader.fieldnames == list(LedgerRow.model_fields)
        lines = list(reader)
    rows = ledger.rows()
    assert [line["id"] for line in lines] == [row.id for row in rows]
    first, row = lines[0], rows[0]
    assert first["team"] == "support"
    assert first["outcome"] == "ok"
    assert float(first["cost_usd"]) == row.cost_usd
    assert int(first["input_tokens"]) == row.input_tokens
    assert first["prompt"] == ""  # no text unless record_text
    assert {line["saved_reason"] for line in lines} == {"", "cache", "downgrade", "routing"}


def test_csv_keeps_awkward_values_and_tags_intact() -> None:
    out = io.StringIO()
    assert Ledger(MemoryStore()).to_csv(out, AWKWARD) == 2

    lines = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert lines[0]["team"] == 'comma, "quote"\nnewline'
    assert json.loads(lines[0]["tags"]) == {"a;b": "c=d", "feature": "faq"}
    assert json.loads(lines[1]["tags"]) == {}
    assert lines[1]["team"] == HOSTILE
    assert lines[1]["saved_reason"] == "cache"


def test_jsonl_reads_back_as_the_same_rows(recorded: Cosmara, tmp_path: Path) -> None:
    ledger = recorded.ledger
    assert ledger is not None
    rows = [*ledger.rows(), *AWKWARD]
    path = tmp_path / "usage.jsonl"

    assert ledger.to_jsonl(path, rows) == len(rows)

    text = path.read_text(encoding="utf-8")
    assert text.endswith("\n")
    assert text.count("\n") == len(rows)
    assert [LedgerRow.model_validate_json(line) for line in text.splitlines()] == rows


def test_exports_write_only_the_rows_given(recorded: Cosmara) -> None:
    ledger = recorded.ledger
    assert ledger is not None
    support = ledger.rows(team="support")
    out = io.StringIO()
    assert ledger.to_jsonl(out, support) == 9
    assert {json.loads(line)["team"] for line in out.getvalue().splitlines()} == {"support"}


def test_export_needs_a_path_or_a_text_stream() -> None:
    with pytest.raises(RequestValidationError, match="path or a text stream"):
        Ledger(MemoryStore()).to_csv(42, [])  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ['=HYPERLINK("http://x")', "+1", "-2+3", "@SUM(A1)", "\tx"])
def test_csv_cells_never_run_as_spreadsheet_formulas(name: str) -> None:
    out = io.StringIO()
    Ledger(MemoryStore()).to_csv(out, [make_row(user=name, team="plain")])
    [line] = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert line["user"] == "'" + name
    assert line["team"] == "plain"
    assert float(line["cost_usd"]) >= 0  # numbers are written as numbers
