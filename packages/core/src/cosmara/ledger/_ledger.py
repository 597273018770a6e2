"""``Ledger``: the usage ledger over the state store's log, written one row per request and read
back by period and grouping, or exported as CSV and JSON lines."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from pydantic import ValidationError

from cosmara._errors import RequestValidationError
from cosmara.ledger._row import LedgerRow

if TYPE_CHECKING:
    from cosmara.state import Batch, StateStore

__all__ = ["GROUPINGS", "Ledger", "Summary", "summarize"]

STREAM = "ledger"
_READ_BATCH = 1000
_FIELDS = ("org", "team", "user", "key", "requested_model", "provider", "model", "outcome", "kind")
GROUPINGS = (*_FIELDS, "day", "week", "month", "tag:<name>")
"""What rows can be grouped and filtered by (``tag:feature`` groups by the ``feature`` tag)."""


@dataclass
class Summary:
    """The totals of one group of rows."""

    group: dict[str, str | None]
    requests: int = 0
    errors: int = 0
    blocked: int = 0
    cached: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    saved_usd: float = 0.0
    saved_by: dict[str, float] = field(default_factory=dict)

    def add(self, row: LedgerRow) -> None:
        self.requests += 1
        self.errors += row.outcome == "error"
        self.blocked += row.outcome == "blocked"
        self.cached += row.outcome == "cached"
        self.input_tokens += row.input_tokens
        self.output_tokens += row.output_tokens
        self.cost_usd += row.cost_usd
        if row.saved_usd and row.saved_reason is not None:
            self.saved_usd += row.saved_usd
            self.saved_by[row.saved_reason] = (
                self.saved_by.get(row.saved_reason, 0.0) + row.saved_usd
            )


class Ledger:
    """Rows are appended to the store's ``ledger`` log (memory, SQLite or Redis, so several
    processes write one ledger) and read by scanning it in order.

    ``max_rows`` bounds what a memory store keeps (the oldest go); a SQLite or Redis ledger
    keeps every row unless a bound is configured.
    """

    def __init__(self, store: StateStore, *, max_rows: int | None = None) -> None:
        self.store = store
        self._max_rows = max_rows

    def record(self, row: LedgerRow) -> None:
        self.store.log.append(STREAM, row.model_dump_json().encode(), max_len=self._max_rows)

    async def arecord(self, row: LedgerRow) -> None:
        await self.store.log.aappend(STREAM, row.model_dump_json().encode(), max_len=self._max_rows)

    def queue(self, fields: Mapping[str, Any], batch: Batch) -> None:
        """Append a row when ``batch`` (of this ledger's store) runs: ``fields`` are a
        ``LedgerRow``'s, every one of them, already checked (the pipeline's ledger stage)."""
        record = json.dumps(fields, separators=(",", ":"), allow_nan=False, ensure_ascii=False)
        # A lone surrogate (text that is not Unicode) would make the row unreadable: it is
        # written as "?" instead, so no row is ever lost to its text.
        batch.append(STREAM, record.encode("utf-8", "replace"), max_len=self._max_rows)

    # --- reading ----------------------------------------------------------------------------
    def rows(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        **where: str | None,
    ) -> list[LedgerRow]:
        """The rows from ``since`` (inclusive) to ``until`` (exclusive), oldest first, whose
        fields equal ``where`` (``team="support"``, ``model="gpt-4o-mini"``,
        ``tag:feature`` as ``**{"tag:feature": "faq"}``).

        Raises:
            RequestValidationError: a filter on a field rows do not have.
        """
        for name in where:
            _check_grouping(name, allow_periods=False)
        start = since.timestamp() if since is not None else None
        end = until.timestamp() if until is not None else None
        return [
            row
            for row in self._all()
            if (start is None or row.time >= start)
            and (end is None or row.time < end)
            and all(_value(row, name, timezone.utc) == wanted for name, wanted in where.items())
        ]

    def summary(
        self,
        by: Sequence[str] = ("team",),
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        tz: tzinfo = timezone.utc,
        **where: str | None,
    ) -> list[Summary]:
        """Totals per group (``by=("team", "day")``), largest cost first; ``day``, ``week``
        (starting Monday) and ``month`` are read in ``tz``.

        Raises:
            RequestValidationError: a grouping or filter rows do not have.
        """
        for name in by:
            _check_grouping(name, allow_periods=True)
        return summarize(self.rows(since=since, until=until, **where), by, tz=tz)

    def total(self, **where: Any) -> Summary:
        """Every matching row added up (``since`` / ``until`` as in ``rows``)."""
        summary = Summary({})
        for row in self.rows(**where):
            summary.add(row)
        return summary

    # --- exporting --------------------------------------------------------------------------
    def to_csv(self, target: str | Path | TextIO, rows: Iterable[LedgerRow] | None = None) -> int:
        """Write rows (all when None) as CSV with a header, one column per ``LedgerRow`` field;
        ``tags`` as a JSON object (tag names and values may hold any character). A text cell
        that a spreadsheet would run as a formula (it starts with ``=``, ``+``, ``-``, ``@``,
        a tab or a carriage return: a user name from the outside, say) is written with a
        leading ``'``. Returns how many rows were written."""
        names = list(LedgerRow.model_fields)
        count = 0
        with _opened(target) as out:
            writer = csv.DictWriter(out, fieldnames=names)
            writer.writeheader()
            for row in self._all() if rows is None else rows:
                data = row.model_dump()
                data["tags"] = json.dumps(row.tags, sort_keys=True, ensure_ascii=False)
                writer.writerow({name: _inert(value) for name, value in data.items()})
                count += 1
        return count

    def to_jsonl(self, target: str | Path | TextIO, rows: Iterable[LedgerRow] | None = None) -> int:
        """Write rows (all when None) as JSON lines; returns how many."""
        count = 0
        with _opened(target) as out:
            for row in self._all() if rows is None else rows:
                out.write(row.model_dump_json() + "\n")
                count += 1
        return count

    def _all(self) -> Iterator[LedgerRow]:
        cursor = None
        while True:
            batch = self.store.log.read(STREAM, after=cursor, limit=_READ_BATCH)
            for entry in batch:
                try:
                    yield LedgerRow.model_validate_json(entry.record)
                except ValidationError:
                    continue  # a row another version wrote, with fields this one lacks
            if len(batch) < _READ_BATCH:
                return
            cursor = batch[-1].cursor


def summarize(
    rows: Iterable[LedgerRow], by: Sequence[str] = ("team",), *, tz: tzinfo = timezone.utc
) -> list[Summary]:
    """Totals per group of rows already read (``Ledger.summary`` without the reading), largest
    cost first; ``by=()`` gives one group, every row.

    Raises:
        RequestValidationError: a grouping rows do not have.
    """
    for name in by:
        _check_grouping(name, allow_periods=True)
    groups: dict[tuple[str | None, ...], Summary] = {}
    for row in rows:
        values = tuple(_value(row, name, tz) for name in by)
        summary = groups.get(values)
        if summary is None:
            summary = groups[values] = Summary(dict(zip(by, values, strict=True)))
        summary.add(row)
    return sorted(groups.values(), key=lambda s: (-s.cost_usd, -s.requests))


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _inert(value: Any) -> Any:
    """A text cell a spreadsheet will show as text, never evaluate."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def _check_grouping(name: str, *, allow_periods: bool) -> None:
    if name in _FIELDS or (name.startswith("tag:") and len(name) > 4):
        return
    if allow_periods and name in ("day", "week", "month"):
        return
    known = ", ".join(GROUPINGS if allow_periods else (*_FIELDS, "tag:<name>"))
    raise RequestValidationError(f"rows cannot be grouped or filtered by {name!r}; use {known}")


def _value(row: LedgerRow, name: str, tz: tzinfo) -> str | None:
    if name.startswith("tag:"):
        return row.tags.get(name[4:])
    if name in ("day", "week", "month"):
        moment = datetime.fromtimestamp(row.time, tz)
        if name == "day":
            return moment.strftime("%Y-%m-%d")
        if name == "week":
            return (moment - timedelta(days=moment.weekday())).strftime("%Y-%m-%d")
        return moment.strftime("%Y-%m")
    value = getattr(row, name)
    return None if value is None else str(value)


class _opened:
    """A path opened for writing, or a stream the caller owns (left open)."""

    def __init__(self, target: str | Path | TextIO) -> None:
        self._target = target
        self._file: TextIO | None = None

    def __enter__(self) -> TextIO:
        if isinstance(self._target, (str, Path)):
            self._file = open(self._target, "w", encoding="utf-8", newline="")
            return self._file
        if isinstance(self._target, io.TextIOBase) or hasattr(self._target, "write"):
            return self._target
        raise RequestValidationError("export to a path or a text stream")

    def __exit__(self, *exc_info: object) -> None:
        if self._file is not None:
            self._file.close()
