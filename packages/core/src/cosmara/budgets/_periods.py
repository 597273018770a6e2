"""Budget periods as calendar spans in a time zone: a day from midnight, a week from Monday,
a month from the 1st; or the whole of time."""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo

from cosmara.budgets._settings import Period

__all__ = ["Span", "span_of"]


_GRACE = timedelta(days=40)  # a counter outlives its period: rollover reads the previous one


class Span:
    """One period: ``start`` and ``end`` (None for ``total``), the name its counters use, and
    when they may be forgotten (``forgotten_at``, epoch seconds: the end plus a grace)."""

    __slots__ = ("end", "forgotten_at", "name", "start")

    def __init__(self, start: datetime | None, end: datetime | None) -> None:
        self.start = start
        self.end = end
        self.name = "total" if start is None else start.strftime("%Y-%m-%d")
        self.forgotten_at = None if end is None else (end + _GRACE).timestamp()

    def previous(self, period: Period) -> Span | None:
        """The period before this one (None for ``total``)."""
        if self.start is None:
            return None
        return span_of(period, self.start - timedelta(seconds=1))


def span_of(period: Period, now: datetime, zone: tzinfo | None = None) -> Span:
    """The period ``now`` falls in, read in ``zone`` (``now``'s own zone when None)."""
    if period == "total":
        return Span(None, None)
    local = now.astimezone(zone) if zone is not None else now
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "daily":
        start, end = midnight, _add_days(midnight, 1)
    elif period == "weekly":
        start = _add_days(midnight, -midnight.weekday())
        end = _add_days(start, 7)
    else:
        start = midnight.replace(day=1)
        year, month = (start.year + 1, 1) if start.month == 12 else (start.year, start.month + 1)
        end = start.replace(year=year, month=month)
    return Span(start, end)


def _add_days(moment: datetime, days: int) -> datetime:
    # Calendar days, not 24-hour steps: a day with a clock change still ends at midnight
    # (a zone-aware datetime works its offset out from its wall time).
    return (moment.replace(tzinfo=None) + timedelta(days=days)).replace(tzinfo=moment.tzinfo)
