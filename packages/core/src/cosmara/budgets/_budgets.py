"""``Budgets``: which budgets a request falls under, their counters in the shared store, and
the run-time API (set, read, reset).

Each budget instance is a counter in the state store (``budget:NAME:VALUE:PERIOD``), so every
process sharing the store spends from the same money. Reservations against it are atomic
(``Counters.reserve``): a request either fits under every budget that applies to it, or is
refused with nothing reserved anywhere.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from cosmara._context import RequestContext
from cosmara._errors import ConfigurationError
from cosmara.budgets._periods import Span, span_of
from cosmara.budgets._settings import BudgetOptions, BudgetRule, Period
from cosmara.state import Hold

if TYPE_CHECKING:
    from cosmara._routing import Target
    from cosmara.state import StateStore

__all__ = ["Applied", "BudgetStatus", "Budgets"]

_REMEMBERED = 10_000  # counter keys kept worked out, at most


@dataclass(frozen=True)
class Applied:
    """One budget instance a request falls under, this period."""

    name: str
    rule: BudgetRule
    value: str
    span: Span
    key: str

    @property
    def resets_at(self) -> datetime | None:
        return self.span.end

    def expires_at(self) -> float | None:
        return self.span.forgotten_at


@dataclass(frozen=True)
class BudgetStatus:
    """A budget instance as it stands: ``amount_usd`` (with any rollover) this period, what
    was ``spent_usd`` and what requests in flight hold (``reserved_usd``)."""

    name: str
    level: str
    value: str
    period: str
    amount_usd: float
    spent_usd: float
    reserved_usd: float
    period_start: datetime | None
    resets_at: datetime | None

    @property
    def remaining_usd(self) -> float:
        return max(self.amount_usd - self.spent_usd - self.reserved_usd, 0.0)

    @property
    def percent(self) -> float:
        return 100.0 * (self.spent_usd + self.reserved_usd) / self.amount_usd


class Budgets:
    """A client's budgets (``[budgets.NAME]``) and their state.

    ``set`` / ``remove`` change this client's budgets at run time (another process keeps its
    own configuration; the money they count is shared through the store).
    """

    def __init__(
        self,
        rules: Mapping[str, BudgetRule],
        options: BudgetOptions,
        store: Callable[[], StateStore],
        now: Callable[[], datetime],
    ) -> None:
        self.options = options
        self._store = store  # opened when a budget is first read or reserved on
        self._rules = dict(rules)
        self._now = now
        self._zone = ZoneInfo(options.timezone)
        self._spans: dict[str, Span] = {}  # period -> the current one
        self._keys: dict[tuple[str, str, str], str] = {}  # counter keys already worked out
        # A rolled-over amount per (counter key, configured amount): last period is over.
        self._amounts: dict[tuple[str, float], float] = {}

    @property
    def store(self) -> StateStore:
        return self._store()

    # --- the run-time API -------------------------------------------------------------------
    def names(self) -> list[str]:
        return sorted(self._rules)

    def rule(self, name: str) -> BudgetRule:
        """Raises:
        ConfigurationError: no budget has that name."""
        found = self._rules.get(name)
        if found is None:
            raise ConfigurationError(
                f"no budget named {name!r}; budgets: {', '.join(self.names())}"
            )
        return found

    def set(self, name: str, rule: BudgetRule | Mapping[str, Any]) -> BudgetRule:
        """Add or replace a budget (its spend so far is kept: it is counted by name).

        Raises:
            ConfigurationError: the rule is invalid.
        """
        if not isinstance(rule, BudgetRule):
            from pydantic import ValidationError

            try:
                rule = BudgetRule.model_validate(dict(rule))
            except ValidationError as error:
                raise ConfigurationError(f"budget {name!r}: {error}") from None
        self._rules[name] = rule
        return rule

    def remove(self, name: str) -> None:
        self.rule(name)
        del self._rules[name]

    def status(self, name: str, value: str | None = None) -> BudgetStatus:
        """Where budget ``name`` stands this period, for ``value`` (the team, user, ... it
        covers; its own ``match`` when that is not ``*``).

        Raises:
            ConfigurationError: no budget has that name, or a per-value budget was read
                without a value.
        """
        applied = self._instance(name, value)
        counter = self.store.counters.read(applied.key)
        return self._status(applied, counter.spent, counter.reserved)

    def reset(self, name: str, value: str | None = None) -> None:
        """Forget this period's spend of budget ``name`` (for ``value``)."""
        self.store.counters.reset(self._instance(name, value).key)

    # --- requests ---------------------------------------------------------------------------
    def applicable(self, context: RequestContext, target: Target | None) -> list[Applied]:
        """The budget instances a request for ``context``, planned first to ``target``,
        falls under."""
        if not self._rules:
            return []
        now = self._now()
        found = []
        for name, rule in self._rules.items():
            value = _value(rule, context, target)
            if value is not None:
                span = self._span(rule.period, now)
                found.append(Applied(name, rule, value, span, self._key(name, value, span)))
        return found

    def _span(self, period: Period, now: datetime) -> Span:
        """The period ``now`` falls in; worked out again only when the last one ended."""
        span = self._spans.get(period)
        if span is None or not _within(span, now):
            span = self._spans[period] = span_of(period, now, self._zone)
        return span

    def _key(self, name: str, value: str, span: Span) -> str:
        parts = (name, value, span.name)
        key = self._keys.get(parts)
        if key is None:
            if len(self._keys) >= _REMEMBERED:
                self._keys.clear()
            key = self._keys[parts] = _key(name, value, span)
        return key

    def amount(self, applied: Applied) -> float:
        """The budget's money this period: its amount, plus last period's leftover when it
        rolls over (read from the store once per period, then remembered)."""
        known = self._known_amount(applied)
        if known is not None:
            return known
        spent = self.store.counters.read(self._previous_key(applied)).spent
        return self._with_leftover(applied, spent)

    async def aamount(self, applied: Applied) -> float:
        known = self._known_amount(applied)
        if known is not None:
            return known
        counter = await self.store.counters.aread(self._previous_key(applied))
        return self._with_leftover(applied, counter.spent)

    def _known_amount(self, applied: Applied) -> float | None:
        rule = applied.rule
        if not rule.rollover or applied.span.start is None:
            return rule.amount_usd
        return self._amounts.get((applied.key, rule.amount_usd))

    def _previous_key(self, applied: Applied) -> str:
        previous = applied.span.previous(applied.rule.period)
        assert previous is not None  # only a period with a start rolls over
        return _key(applied.name, applied.value, previous)

    def _with_leftover(self, applied: Applied, spent_before: float) -> float:
        amount = applied.rule.amount_usd
        total = amount + max(amount - spent_before, 0.0)
        if len(self._amounts) >= _REMEMBERED:
            self._amounts.clear()
        self._amounts[(applied.key, amount)] = total
        return total

    def holds(self, applied: Iterable[Applied], amounts: Mapping[str, float]) -> list[Hold]:
        """The counters a reservation must fit under: limited at the lowest blocking
        threshold of each budget (unlimited for a budget that never blocks)."""
        holds = []
        for item in applied:
            block = item.rule.block_at
            limit = None if block is None else amounts[item.key] * block / 100
            holds.append(Hold(item.key, limit, item.expires_at()))
        return holds

    def _status(self, applied: Applied, spent: float, reserved: float) -> BudgetStatus:
        return BudgetStatus(
            name=applied.name,
            level=applied.rule.level,
            value=applied.value,
            period=applied.rule.period,
            amount_usd=self.amount(applied),
            spent_usd=spent,
            reserved_usd=reserved,
            period_start=applied.span.start,
            resets_at=applied.span.end,
        )

    def _instance(self, name: str, value: str | None) -> Applied:
        rule = self.rule(name)
        if value is None:
            if rule.match == "*" or rule.match.endswith("=*"):
                raise ConfigurationError(
                    f"budget {name!r} counts each {rule.level} apart: say which value to read"
                )
            value = rule.match.partition("=")[2] if rule.level == "tag" else rule.match
        span = self._span(rule.period, self._now())
        return Applied(name, rule, value, span, self._key(name, value, span))


def _value(rule: BudgetRule, context: RequestContext, target: Target | None) -> str | None:
    """The value a request has at the budget's level, when the budget covers it."""
    level, match = rule.level, rule.match
    if level == "tag":
        tag, _, wanted = match.partition("=")
        value = context.tags.get(tag)
        return value if value is not None and (wanted == "*" or value == wanted) else None
    if level in ("model", "provider"):
        if target is None:
            return None
        value = target.id if level == "model" else target.provider.name
        if match == "*":
            return value  # each model (provider) its own budget
        return match if fnmatchcase(value, match) else None  # one budget for all it matches
    if level == "key":
        key = context.metadata.get("key")
        value = key if isinstance(key, str) else None
    else:
        value = getattr(context, level)
    if value is None:
        return None
    return value if match == "*" or value == match else None


def _within(span: Span, now: datetime) -> bool:
    return span.start is None or span.end is None or span.start <= now < span.end


def _key(name: str, value: str, span: Span) -> str:
    return f"budget:{quote(name, safe='')}:{quote(value, safe='')}:{span.name}"
