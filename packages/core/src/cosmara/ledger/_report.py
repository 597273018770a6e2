"""``UsageReport``: what a report on the ledger shows, worked out once from the rows: the rows
grouped and added up, spend per period by team and by model, savings by kind, and where the
configured budgets stand. ``_table`` prints it in a terminal, ``_html`` makes a page of it."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone, tzinfo
from typing import TYPE_CHECKING, Literal, TextIO, get_args

from cosmara.ledger._ledger import Summary, _check_grouping, summarize
from cosmara.ledger._row import LedgerRow, SavedReason

if TYPE_CHECKING:
    from cosmara.budgets import Budgets, BudgetStatus
    from cosmara.ledger._ledger import Ledger

__all__ = ["SAVED_KINDS", "BudgetUse", "Series", "UsageReport", "select_rows"]

SAVED_KINDS: tuple[SavedReason, ...] = get_args(SavedReason)
"""Why a request cost less than it would have: ``cache``, ``downgrade``, ``routing``."""

OTHER = "other"
_SERIES_NAMES = 7  # the largest names a chart shows apart; the rest are summed as "other"
Unit = Literal["day", "week", "month"]


@dataclass(frozen=True)
class Series:
    """Spend per period (``unit``: day, week or month) of the largest names, largest first;
    the others summed as ``other`` (last)."""

    unit: Unit
    periods: list[str]
    names: list[str]
    spend: dict[str, list[float]]

    def totals(self) -> list[float]:
        """Each period's spend, every name added up."""
        return [sum(spent[n] for spent in self.spend.values()) for n in range(len(self.periods))]


@dataclass(frozen=True)
class BudgetUse:
    """A budget instance as it stands now, with its thresholds (percent, action)."""

    status: BudgetStatus
    thresholds: tuple[tuple[float, str], ...]

    @property
    def state(self) -> Literal["ok", "warn", "over"]:
        """``over`` once a blocking threshold is reached, ``warn`` once another one is."""
        reached = [action for at, action in self.thresholds if self.status.percent >= at]
        if "block" in reached:
            return "over"
        return "warn" if reached else "ok"


@dataclass(frozen=True)
class UsageReport:
    """The ledger's rows for a period, filtered, grouped and added up.

    Build one with ``UsageReport.from_ledger(client.ledger, budgets=client.budgets, ...)`` or
    from rows already read (``UsageReport.build(rows, ...)``); print ``report.table()``, save
    ``report.html()``.
    """

    by: tuple[str, ...]
    groups: list[Summary]
    total: Summary
    spend_by_team: Series
    spend_by_model: Series
    budgets: list[BudgetUse]
    timezone: str
    since: datetime | None
    until: datetime | None
    filters: dict[str, str | None]
    first: datetime | None
    last: datetime | None
    generated: datetime

    @classmethod
    def from_ledger(
        cls,
        ledger: Ledger,
        *,
        budgets: Budgets | None = None,
        by: Sequence[str] = ("team",),
        since: datetime | None = None,
        until: datetime | None = None,
        tz: tzinfo | str = "UTC",
        **where: str | None,
    ) -> UsageReport:
        """Read the rows from ``since`` (inclusive) to ``until`` (exclusive) that match
        ``where`` (as ``Ledger.rows``; ``model`` also as ``provider/model``) and report on
        them, grouped ``by`` (groupings as ``Ledger.summary``), with days read in ``tz``.

        Raises:
            RequestValidationError: a grouping or filter rows do not have (before reading).
            ConfigurationError: an unknown time zone.
            StateStoreError: the store cannot be read.
        """
        check(by, where)
        zone = _zone(tz)
        rows = select_rows(ledger, since=since, until=until, **where)
        return cls.build(
            rows, by=by, tz=zone, since=since, until=until, filters=where, budgets=budgets
        )

    @classmethod
    def build(
        cls,
        rows: Iterable[LedgerRow],
        *,
        by: Sequence[str] = ("team",),
        tz: tzinfo | str = "UTC",
        since: datetime | None = None,
        until: datetime | None = None,
        filters: Mapping[str, str | None] | None = None,
        budgets: Budgets | None = None,
        now: datetime | None = None,
    ) -> UsageReport:
        """Report on ``rows`` (already selected: ``since``, ``until`` and ``filters`` are only
        shown). Budgets are read as they stand now, for the values the rows hold.

        Raises:
            RequestValidationError: a grouping rows do not have.
            ConfigurationError: an unknown time zone.
        """
        check(by, {})
        zone = _zone(tz)
        rows = list(rows)
        times = [row.time for row in rows]
        first = datetime.fromtimestamp(min(times), zone) if rows else None
        last = datetime.fromtimestamp(max(times), zone) if rows else None
        unit = _unit(first, last)
        totals = summarize(rows, (), tz=zone)
        return cls(
            by=tuple(by),
            groups=summarize(rows, by, tz=zone),
            total=totals[0] if totals else Summary({}),
            spend_by_team=_series(rows, unit, ("team",), zone, first, last),
            spend_by_model=_series(rows, unit, ("provider", "model"), zone, first, last),
            budgets=_budget_uses(budgets, rows) if budgets is not None else [],
            timezone=_zone_name(zone),
            since=since.astimezone(zone) if since is not None else None,
            until=until.astimezone(zone) if until is not None else None,
            filters=dict(filters or {}),
            first=first,
            last=last,
            generated=(now or datetime.now(timezone.utc)).astimezone(zone),
        )

    # --- rendering --------------------------------------------------------------------------
    def table(self, *, plain: bool = False, width: int | None = None) -> str:
        """The report as text: a table per group with totals, savings by kind, budgets. With
        ``rich`` installed (``cosmara[reports]``) and ``plain`` false, drawn by rich."""
        import io

        out = io.StringIO()
        self.print_table(out, plain=plain, width=width)
        return out.getvalue()

    def print_table(self, out: TextIO, *, plain: bool = False, width: int | None = None) -> None:
        """Write ``table()`` to ``out`` (in colour when it is a terminal and rich is there)."""
        from cosmara.ledger._table import render_table

        render_table(self, out, plain=plain, width=width)

    def html(self) -> str:
        """The report as one self-contained HTML page: inline CSS and SVG charts, no script,
        nothing fetched, every name escaped."""
        from cosmara.ledger._html import render_html

        return render_html(self)

    # --- what renderers share ---------------------------------------------------------------
    @property
    def saved_by(self) -> dict[str, float]:
        """Savings by kind, every kind present (0.0 when none)."""
        return {kind: self.total.saved_by.get(kind, 0.0) for kind in SAVED_KINDS}

    def columns(self) -> list[tuple[str, Callable[[Summary], str]]]:
        """The figures shown for each group and the total: a heading and how to show it
        (a saving kind only when some row has it)."""
        kinds = [kind for kind in SAVED_KINDS if self.total.saved_by.get(kind)]
        return [
            ("requests", lambda s: f"{s.requests:,}"),
            ("tokens in", lambda s: f"{s.input_tokens:,}"),
            ("tokens out", lambda s: f"{s.output_tokens:,}"),
            ("cost", lambda s: money(s.cost_usd)),
            ("saved", lambda s: money(s.saved_usd)),
            *[(f"saved: {kind}", _saved_as(kind)) for kind in kinds],
            ("errors", lambda s: f"{s.errors:,}"),
            ("blocked", lambda s: f"{s.blocked:,}"),
            ("cached", lambda s: f"{s.cached:,}"),
        ]

    def describe(self) -> str:
        """One line: the period, time zone, grouping and filters."""
        start = self.since or self.first
        if start is None:
            period = "no requests"
        elif self.until is not None:
            period = f"{_when(start)} to {_until(self.until)}"
        else:
            assert self.last is not None or self.since is not None
            period = f"{_when(start)} to {_when(self.last) if self.last else 'now'}"
        parts = [period, f"time zone {self.timezone}", f"by {', '.join(self.by) or 'nothing'}"]
        if self.filters:
            parts.append(
                "where " + ", ".join(f"{k}={label(v)}" for k, v in sorted(self.filters.items()))
            )
        return "; ".join(parts)


def select_rows(
    ledger: Ledger,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    **where: str | None,
) -> list[LedgerRow]:
    """``ledger.rows(...)``, where ``model`` may also be written ``provider/model``.

    Raises:
        RequestValidationError: a filter on a field rows do not have.
    """
    if "model" not in where:
        return ledger.rows(since=since, until=until, **where)
    model = where.pop("model")
    rows = ledger.rows(since=since, until=until, **where)
    return [row for row in rows if model in (row.model, _target(row))]


def check(by: Sequence[str], where: Mapping[str, object]) -> None:
    """Raises ``RequestValidationError`` for a grouping or filter rows do not have."""
    if isinstance(by, str):
        from cosmara._errors import RequestValidationError

        raise RequestValidationError("by is a sequence of groupings: by=('team', 'day')")
    for name in by:
        _check_grouping(name, allow_periods=True)
    for name in where:
        _check_grouping(name, allow_periods=False)


def label(value: str | None) -> str:
    """A value as shown: control characters made visible, a missing one as ``(none)``."""
    if value is None:
        return "(none)"
    if value.isprintable():
        return value
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in value)


def money(value: float) -> str:
    """Dollars: cents from a dollar up (``$1,234.50``), four significant digits below it
    (``$0.0004925``), since one request often costs a fraction of a cent."""
    if value >= 1 or value <= 0:
        return f"${value:,.2f}" if value else "$0"
    decimals = max(2, 3 - math.floor(math.log10(value)))
    text = f"{value:.{decimals}f}".rstrip("0")
    return "$" + (text if len(text.partition(".")[2]) >= 2 else f"{value:.2f}")


def _saved_as(kind: str) -> Callable[[Summary], str]:
    return lambda summary: money(summary.saved_by.get(kind, 0.0))


def _target(row: LedgerRow) -> str | None:
    return None if row.provider is None or row.model is None else f"{row.provider}/{row.model}"


def _zone(tz: tzinfo | str) -> tzinfo:
    if not isinstance(tz, str):
        return tz
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        from cosmara._errors import ConfigurationError

        raise ConfigurationError(
            f"unknown time zone {tz!r} (an IANA name: 'Europe/Paris')"
        ) from None


def _zone_name(zone: tzinfo) -> str:
    return str(getattr(zone, "key", None) or zone.tzname(None) or zone)


def _when(moment: datetime) -> str:
    text = moment.strftime("%Y-%m-%d %H:%M")
    return text[:-6] if text.endswith(" 00:00") else text


def _until(moment: datetime) -> str:
    """An exclusive end as people say it: up to midnight is the whole day before."""
    if moment.time() == datetime.min.time():
        return (moment - timedelta(days=1)).strftime("%Y-%m-%d")
    return f"{_when(moment)} (exclusive)"


def _unit(first: datetime | None, last: datetime | None) -> Unit:
    """Days while a chart stays readable (a quarter), then weeks (two years), then months."""
    if first is None or last is None:
        return "day"
    days = (last.date() - first.date()).days + 1
    return "day" if days <= 92 else "week" if days <= 731 else "month"


def _periods(unit: Unit, first: datetime | None, last: datetime | None) -> list[str]:
    """Every period from the first row's to the last row's, empty ones included."""
    if first is None or last is None:
        return []
    if unit == "month":
        periods, year, month = [], first.year, first.month
        while (year, month) <= (last.year, last.month):
            periods.append(f"{year:04d}-{month:02d}")
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return periods
    start, end, step = first.date(), last.date(), 1
    if unit == "week":
        start, end, step = _monday(start), _monday(end), 7
    return [(start + timedelta(days=n)).isoformat() for n in range(0, (end - start).days + 1, step)]


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _series(
    rows: list[LedgerRow],
    unit: Unit,
    fields: tuple[str, ...],
    zone: tzinfo,
    first: datetime | None,
    last: datetime | None,
) -> Series:
    periods = _periods(unit, first, last)
    index = {period: n for n, period in enumerate(periods)}
    spend: dict[str, list[float]] = {}
    for summary in summarize(rows, (unit, *fields), tz=zone):
        if not summary.cost_usd:
            continue
        values = [summary.group[name] for name in fields]
        if fields == ("provider", "model") and values[0] is None:
            continue  # refused before any provider: nothing was spent
        name = "/".join(label(value) for value in values)
        period = summary.group[unit]
        assert period is not None
        spend.setdefault(name, [0.0] * len(periods))[index[period]] += summary.cost_usd
    ranked = sorted(spend, key=lambda name: (-sum(spend[name]), name))
    shown, rest = ranked[:_SERIES_NAMES], ranked[_SERIES_NAMES:]
    if len(rest) == 1:  # "other" standing for one name would hide it for nothing
        shown, rest = ranked, []
    series = {name: spend[name] for name in shown}
    if rest:
        series[OTHER] = [sum(spend[name][n] for name in rest) for n in range(len(periods))]
    return Series(unit, periods, list(series), series)


def _budget_uses(budgets: Budgets, rows: list[LedgerRow]) -> list[BudgetUse]:
    """Each configured budget as it stands now: a per-value budget (``match = "*"``) for each
    value the rows hold at its level, most used first."""
    uses = []
    for name in budgets.names():
        rule = budgets.rule(name)
        thresholds = tuple(sorted((t.at, t.action) for t in rule.thresholds))
        if rule.match == "*" or rule.match.endswith("=*"):
            values = sorted(_values_at(rule.level, rule.match, rows))
            found = [budgets.status(name, value) for value in values]
        else:
            found = [budgets.status(name)]
        found.sort(key=lambda status: (-status.percent, status.value))
        uses += [BudgetUse(status, thresholds) for status in found]
    return uses


def _values_at(level: str, match: str, rows: list[LedgerRow]) -> set[str]:
    """The values ``rows`` hold at a budget's level (the target for model and provider)."""
    found: set[str | None] = set()
    for row in rows:
        if level == "tag":
            found.add(row.tags.get(match.partition("=")[0]))
        elif level in ("model", "provider"):
            if row.outcome != "fallback_message":  # answered by no provider
                found.add(_target(row) if level == "model" else row.provider)
        else:
            found.add(getattr(row, level))
    return {value for value in found if value is not None}
