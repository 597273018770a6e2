"""The spend stage: rate limits and budgets, checked together in one atomic store step.

On the way out, once the route is planned, the request asks the store for everything at once
(``store.admit``): a draw from each rate-limit bucket that applies (requests, estimated
tokens, a dollar bucket's debt) and a reservation of its maximum cost on every budget that
applies. Either all of it is granted, or nothing is taken and the request is refused
(``RateLimitExceededError`` with ``retry_after``, or a wait when the limit says so;
``BudgetExceededError``) without being sent. Before that, budgets past a soft threshold act:
a downgrade re-plans to a cheaper model, a throttle adds its own bucket to the draw.

On the way back the reservation settles with the real cost (released when nothing was spent),
token and dollar buckets are corrected with what was really used, and all of it joins the
call's batch of writes (``Call.batch``), which the pipeline runs in one round trip with the
ledger's row. Alerts go out once per threshold per period.

The maximum cost is an upper bound: the prompt counted as one token per character (tools
included) plus ``max_tokens`` (else the model's own maximum output, or ``[budget]
output_tokens_when_unset`` when configured lower) at the dearest price among the targets the
request may be sent to. So what is settled never passes a budget's limit, unless a configured
``output_tokens_when_unset`` is less than an answer without ``max_tokens`` turns out to be.

Soft thresholds (alert, throttle, downgrade) act on the spend this process last saw (read
once, then kept up to date by its own admissions and settlements); the hard limit is decided
by the store, atomically, across every process.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn
from urllib.parse import quote

from cosmara._cost import cost_of_usage, estimate_cost
from cosmara._embeddings import EmbeddingRequest
from cosmara._errors import BudgetExceededError, RateLimitExceededError
from cosmara._response import Usage
from cosmara._tokens import most_tokens
from cosmara.budgets import Applied, BudgetAlert, Budgets
from cosmara.pipeline._call import Call, Outcome
from cosmara.pipeline._stage import Stage
from cosmara.ratelimits import RateLimitRule
from cosmara.state import Admission, Counter, Draw, Hold, Refusal, Reservation

if TYPE_CHECKING:
    from cosmara._catalog import Catalog
    from cosmara._clock import Clock
    from cosmara._plugins import Plugins
    from cosmara._tokens import TokenCounter
    from cosmara.budgets import Threshold, Webhook
    from cosmara.pipeline._route import Route
    from cosmara.state import Batch, StateStore

__all__ = ["SpendStage"]

logger = logging.getLogger("cosmara.budgets")
limits_logger = logging.getLogger("cosmara.ratelimits")

_UNKNOWN_MAXIMUM_OUTPUT = 16_384  # reserved for a priced model whose maximum output is unknown
_REMEMBERED = 10_000  # budget instances whose spend a process keeps in mind, at most


@dataclass(frozen=True)
class _Limit:
    """One rate-limit bucket a request draws from."""

    rule: str
    what: str  # requests, tokens or usd
    draw: Draw


@dataclass
class _Ask:
    """What a request asks the store for, and what it was granted."""

    limits: list[_Limit]
    throttles: dict[str, Applied]  # a throttle bucket's key -> its budget
    applied: list[Applied]
    amounts: dict[str, float]  # budget key -> its money this period (with any rollover)
    maximum: float
    holds: list[Hold]  # worked out once the amounts are known
    downgraded_from: str | None = None
    reservation: Reservation | None = None
    counters: tuple[Counter, ...] = ()

    @property
    def draws(self) -> list[Draw]:
        return [limit.draw for limit in self.limits]


class SpendStage(Stage):
    name = "spend"

    def __init__(
        self,
        *,
        budgets: Budgets,
        rate_limits: Mapping[str, RateLimitRule],
        store: Callable[[], StateStore],
        route: Route,
        catalog: Catalog,
        plugins: Plugins,
        tokens: TokenCounter,
        webhook: Webhook | None,
        clock: Clock,
    ) -> None:
        self._budgets = budgets
        self._rules = dict(rate_limits)
        self._buckets = {name: rule.buckets() for name, rule in self._rules.items()}
        self._store = store
        self._route = route
        self._catalog = catalog
        self._plugins = plugins
        self._tokens = tokens
        self._webhook = webhook
        self._clock = clock
        self._seen: dict[str, float] = {}  # budget key -> spent, as this process last saw it
        self._announced: set[tuple[str, float]] = set()  # (budget key, threshold) announced
        self._bucket_keys: dict[tuple[str, str, str, str], str] = {}

    # --- the way out ------------------------------------------------------------------------
    def before(self, call: Call) -> None:
        ask = self._ask(call)
        if ask is None:
            return
        store = self._store()
        for item in ask.applied:
            if item.rule.rollover:
                ask.amounts[item.key] = self._budgets.amount(item)
            if _acts(item) and item.key not in self._seen:
                self._saw(item.key, store.counters.read(item.key).spent)
        self._act(call, ask)
        ask.holds = self._budgets.holds(ask.applied, ask.amounts)
        while True:
            admission = store.admit(
                ask.draws, amount=ask.maximum, holds=ask.holds, lease=self._lease
            )
            wait = self._admitted(call, ask, admission)
            if wait is None:
                return
            self._clock.sleep(wait)

    async def abefore(self, call: Call) -> None:
        ask = self._ask(call)
        if ask is None:
            return
        store = self._store()
        for item in ask.applied:
            if item.rule.rollover:
                ask.amounts[item.key] = await self._budgets.aamount(item)
            if _acts(item) and item.key not in self._seen:
                self._saw(item.key, (await store.counters.aread(item.key)).spent)
        self._act(call, ask)
        ask.holds = self._budgets.holds(ask.applied, ask.amounts)
        while True:
            admission = await store.aadmit(
                ask.draws, amount=ask.maximum, holds=ask.holds, lease=self._lease
            )
            wait = self._admitted(call, ask, admission)
            if wait is None:
                return
            await self._clock.asleep(wait)

    # --- the way back -----------------------------------------------------------------------
    def after(self, call: Call, outcome: Outcome) -> None:
        ask: _Ask | None = call.notes.get(self)
        if ask is None:
            return
        store = self._store()
        for item, threshold, spent in self._settle(call, ask, outcome, call.batch(store)):
            announced = store.counters.add(_alert_key(item, threshold.at), 1, **_until(item))
            self._announce(call, ask, item, threshold, spent, first=announced == 1)

    async def aafter(self, call: Call, outcome: Outcome) -> None:
        ask: _Ask | None = call.notes.get(self)
        if ask is None:
            return
        store = self._store()
        for item, threshold, spent in self._settle(call, ask, outcome, call.batch(store)):
            announced = await store.counters.aadd(_alert_key(item, threshold.at), 1, **_until(item))
            self._announce(call, ask, item, threshold, spent, first=announced == 1)

    # --- decisions --------------------------------------------------------------------------
    @property
    def _lease(self) -> float:
        return self._budgets.options.lease_seconds

    def _ask(self, call: Call) -> _Ask | None:
        """The buckets and budgets a request falls under (None when there are none)."""
        assert call.plan is not None
        applied = self._budgets.applicable(call.context, call.plan.targets[0])
        limits = self._limits(call) if self._rules else []
        if not applied and not limits:
            return None
        amounts = {item.key: item.rule.amount_usd for item in applied}
        ask = _Ask(limits, {}, applied, amounts, 0.0, [])
        if applied:
            ask.maximum = self._maximum(call)
        call.notes[self] = ask
        return ask

    def _limits(self, call: Call) -> list[_Limit]:
        found = []
        tokens: float | None = None
        for name, rule in self._rules.items():
            value = _scope_value(rule, call)
            if value is None:
                continue
            for what, window, rate, burst in self._buckets[name]:
                if what == "tokens":
                    if tokens is None:
                        tokens = float(self._estimate(call))
                    amount = tokens
                else:
                    amount = 1.0 if what == "requests" else 0.0  # dollars: charged after
                key = self._bucket_key(name, what, window, value)
                found.append(_Limit(name, what, Draw(key, amount, rate, burst)))
        return found

    def _bucket_key(self, name: str, what: str, window: str, value: str) -> str:
        parts = (name, what, window, value)
        key = self._bucket_keys.get(parts)
        if key is None:
            if len(self._bucket_keys) >= _REMEMBERED:
                self._bucket_keys.clear()
            key = f"rate:{quote(name, safe='')}:{what}:{window}:{quote(value, safe='')}"
            self._bucket_keys[parts] = key
        return key

    def _estimate(self, call: Call) -> int:
        request = call.request
        if call.kind == "embed":
            return sum(self._tokens.count_text(text) for text in request.input)
        prompt = self._tokens.count_messages(request.messages, request.tools)
        return prompt + (request.max_tokens or 0)

    def _act(self, call: Call, ask: _Ask) -> None:
        """Throttle or downgrade for the budgets past those thresholds."""
        for item in ask.applied:
            if not _acts(item):
                continue
            percent = 100 * self._seen.get(item.key, 0.0) / ask.amounts[item.key]
            reached = [t for t in item.rule.thresholds if t.at <= percent]
            for threshold in reached:
                if threshold.action == "throttle":
                    per_minute = threshold.requests_per_minute or 1.0
                    key = f"throttle:{item.key}"
                    draw = Draw(key, 1.0, per_minute / 60, max(per_minute, 1.0))
                    ask.limits.append(_Limit(f"budget:{item.name}", "requests", draw))
                    ask.throttles[key] = item
            downgrades = [t for t in reached if t.action == "downgrade"]
            if downgrades and ask.downgraded_from is None:
                target = max(downgrades, key=lambda t: t.at).to
                assert target is not None
                ask.downgraded_from = call.model
                logger.info(
                    "budget %r at %.0f%%: %s downgraded to %s",
                    item.name,
                    percent,
                    call.model,
                    target,
                )
                call.request = call.request.model_copy(update={"model": target})
                self._route.plan(call)
                ask.maximum = self._maximum(call)
                # Model- and provider-scoped limits now apply to the target planned instead.
                throttles = [limit for limit in ask.limits if limit.draw.key in ask.throttles]
                ask.limits = [*self._limits(call), *throttles]

    def _maximum(self, call: Call) -> float:
        """An upper bound of what the request can cost on any target it may be sent to."""
        assert call.plan is not None
        request = call.request
        if isinstance(request, EmbeddingRequest):
            prompt = sum(len(text) for text in request.input)
        else:
            prompt = most_tokens(request) + sum(
                len(tool.model_dump_json()) for tool in request.tools or ()
            )
        unset = self._budgets.options.output_tokens_when_unset
        ceiling = 0.0
        for target in call.plan.targets:
            info = target.info
            if info is None:
                continue  # unpriced (a fine-tune, a local model): nothing to reserve
            output = 0 if isinstance(request, EmbeddingRequest) else request.max_tokens
            if output is None:
                most = info.max_output_tokens or _UNKNOWN_MAXIMUM_OUTPUT
                output = min(unset, most) if unset else most
            ceiling = max(ceiling, estimate_cost(info, prompt, output).max_cost_usd)
        return ceiling

    def _admitted(self, call: Call, ask: _Ask, admission: Admission) -> float | None:
        """None when admitted; else how long to wait before asking again, or the error."""
        if admission.takes and not admission.takes[-1].allowed:
            return self._refused_by_limit(ask, len(admission.takes) - 1, admission)
        for item, counter in zip(ask.applied, admission.counters, strict=False):
            self._saw(item.key, counter.spent)
        reservation = admission.reservation
        if isinstance(reservation, Refusal):
            self._refused_by_budget(ask, reservation)
        else:
            ask.reservation = reservation
        ask.counters = admission.counters
        return None

    def _refused_by_limit(self, ask: _Ask, index: int, admission: Admission) -> float:
        limit, take = ask.limits[index], admission.takes[index]
        rule = self._rules.get(limit.rule)
        if (
            rule is not None
            and rule.on_exceed == "wait"
            and take.retry_after <= rule.max_wait_seconds
        ):
            limits_logger.info(
                "rate limit %r (%s): waiting %.3f s", limit.rule, limit.what, take.retry_after
            )
            return take.retry_after
        throttled = ask.throttles.get(limit.draw.key)
        if throttled is not None:
            message = (
                f"budget {throttled.name!r} ({throttled.rule.level} {throttled.value!r}) is past "
                f"its throttle threshold: at most {limit.draw.rate * 60:g} requests a minute"
            )
        else:
            message = (
                f"rate limit {limit.rule!r} ({limit.what}) is exhausted; try again in "
                f"{take.retry_after:.3f} s"
            )
        limits_logger.info("%s", message)
        raise RateLimitExceededError(message, limit=limit.rule, retry_after=take.retry_after)

    def _refused_by_budget(self, ask: _Ask, refusal: Refusal) -> NoReturn:
        item = next(i for i in ask.applied if i.key == refusal.key)
        logger.info(
            "budget %r (%s %r) refused a request: $%.6f would pass its limit of $%.6f",
            item.name,
            item.rule.level,
            item.value,
            refusal.amount,
            refusal.limit,
        )
        raise BudgetExceededError(
            f"budget {item.name!r} ({item.rule.level} {item.value!r}) has "
            f"${refusal.available:.6f} left of ${refusal.limit:.6f} this period; this request "
            f"may cost up to ${refusal.amount:.6f}",
            budget=item.name,
            level=item.rule.level,
            value=item.value,
            limit_usd=refusal.limit,
            spent_usd=refusal.spent,
            reserved_usd=refusal.reserved,
            resets_at=item.resets_at,
        )

    def _settle(
        self, call: Call, ask: _Ask, outcome: Outcome, batch: Batch
    ) -> list[tuple[Applied, Threshold, float]]:
        """Queue the settlement and corrections on ``batch``; the alert thresholds newly
        crossed, with the spend that crossed them."""
        usage, cost = outcome.spent()
        if ask.reservation is not None:
            if cost > 0:
                batch.commit(ask.reservation, cost)
            else:
                batch.release(ask.reservation)
        for limit in ask.limits:
            if limit.what == "tokens":
                correction = (usage.total_tokens if usage is not None else 0) - limit.draw.amount
            elif limit.what == "usd":
                correction = cost
            else:
                continue
            if correction:
                draw = limit.draw
                batch.adjust(draw.key, correction, rate=draw.rate, burst=draw.burst)
        self._downgraded(ask, outcome)
        crossed = []
        for item, counter in zip(ask.applied, ask.counters, strict=False):
            spent = counter.spent + cost
            self._saw(item.key, spent)
            for threshold in item.rule.thresholds:
                if threshold.action != "alert" or (item.key, threshold.at) in self._announced:
                    continue
                if 100 * spent / ask.amounts[item.key] >= threshold.at:
                    self._announced.add((item.key, threshold.at))
                    crossed.append((item, threshold, spent))
        return crossed

    def _saw(self, key: str, spent: float) -> None:
        if len(self._seen) >= _REMEMBERED:
            self._seen.clear()
            self._announced.clear()
        self._seen[key] = spent

    def _downgraded(self, ask: _Ask, outcome: Outcome) -> None:
        """Record a downgrade on the answer, and what it saved: its usage priced at the model
        the caller asked for, minus what was paid."""
        meta = getattr(outcome.response, "cosmara", None)
        if ask.downgraded_from is None or meta is None:
            return
        meta.downgraded_from = ask.downgraded_from
        usage: Usage | None = getattr(outcome.response, "usage", None)
        asked = self._catalog.get(ask.downgraded_from)
        if asked is not None and usage is not None and meta.cost_usd is not None:
            meta.cost_saved_usd = max(cost_of_usage(asked, usage) - meta.cost_usd, 0.0)

    def _announce(
        self, call: Call, ask: _Ask, item: Applied, threshold: Threshold, spent: float, first: bool
    ) -> None:
        if not first:
            return  # another process announced it this period
        amount = ask.amounts[item.key]
        alert = BudgetAlert(
            budget=item.name,
            level=item.rule.level,
            value=item.value,
            threshold=threshold.at,
            action=threshold.action,
            percent=round(100 * spent / amount, 3),
            spent_usd=spent,
            amount_usd=amount,
            resets_at=item.resets_at,
        )
        logger.info(
            "budget %r (%s %r) reached %g%%: $%.6f of $%.6f",
            item.name,
            item.rule.level,
            item.value,
            threshold.at,
            spent,
            amount,
        )
        self._plugins.emit("cosmara_budget_alert", alert=alert, context=call.context)
        if self._webhook is not None:
            self._webhook.send(alert)


def _acts(item: Applied) -> bool:
    return any(t.action in ("throttle", "downgrade") for t in item.rule.thresholds)


def _alert_key(item: Applied, at: float) -> str:
    return f"alert:{item.key}:{at:g}"


def _until(item: Applied) -> dict[str, Any]:
    return {"expires_at": item.expires_at()}


def _scope_value(rule: RateLimitRule, call: Call) -> str | None:
    """The value a request has in the limit's scope, when the limit covers it. ``model`` and
    ``provider`` are those of the target planned first."""
    scope, match = rule.scope, rule.match
    if scope == "global":
        return "*"
    context = call.context
    if scope in ("model", "provider"):
        assert call.plan is not None
        target = call.plan.targets[0]
        value: Any = target.id if scope == "model" else target.provider.name
    elif scope == "key":
        value = context.metadata.get("key")
    else:
        value = getattr(context, scope)
    if not isinstance(value, str):
        return None
    return value if match == "*" or value == match else None
