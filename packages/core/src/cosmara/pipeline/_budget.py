"""The budget stage: on the way out, every budget that applies acts at its thresholds
(throttle, downgrade) and the request's maximum cost is reserved on all of them at once, or it
is refused (``BudgetExceededError``) with nothing reserved and nothing sent; on the way back
the reservation settles with the real cost (released when nothing was spent), and alerts go
out once per threshold per period.

The maximum cost is an upper bound: the prompt counted as one token per character (tools
included) plus ``max_tokens`` (else the model's own maximum output, or ``[budget]
output_tokens_when_unset`` when configured lower) at the dearest price among the targets the
request may be sent to. So what is settled never passes a budget's limit, unless a configured
``output_tokens_when_unset`` is less than an answer without ``max_tokens`` turns out to be.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cosmara._cost import cost_of_usage, estimate_cost
from cosmara._embeddings import EmbeddingRequest
from cosmara._errors import BudgetExceededError, RateLimitExceededError
from cosmara._response import Usage
from cosmara._tokens import most_tokens
from cosmara.budgets import Applied, BudgetAlert, Budgets
from cosmara.pipeline._call import Call, Outcome
from cosmara.pipeline._stage import Stage
from cosmara.state import Refusal, Reservation

if TYPE_CHECKING:
    from cosmara._catalog import Catalog
    from cosmara._plugins import Plugins
    from cosmara.budgets import Webhook
    from cosmara.pipeline._route import Route

__all__ = ["BudgetStage"]

logger = logging.getLogger("cosmara.budgets")

_UNKNOWN_MAXIMUM_OUTPUT = 16_384  # reserved for a priced model whose maximum output is unknown


@dataclass
class _Held:
    applied: list[Applied]
    amounts: dict[str, float]
    reservation: Reservation | None = None
    downgraded_from: str | None = None
    fired: set[tuple[str, float]] = field(default_factory=set)


class BudgetStage(Stage):
    name = "budget"

    def __init__(
        self,
        budgets: Budgets,
        route: Route,
        catalog: Catalog,
        plugins: Plugins,
        webhook: Webhook | None,
        now: Callable[[], float],
    ) -> None:
        self._budgets = budgets
        self._route = route
        self._catalog = catalog
        self._plugins = plugins
        self._webhook = webhook
        self._now = now

    # --- the way out ------------------------------------------------------------------------
    def before(self, call: Call) -> None:
        held = self._applicable(call)
        if held is None:
            return
        counters = self._budgets.store.counters
        for item in held.applied:
            if item.rule.rollover:
                held.amounts[item.key] = self._budgets.amount(item)
        actions = [i for i in held.applied if _acts(i)]
        spent = {i.key: counters.read(i.key).total for i in actions}
        self._act(call, held, spent)
        result = counters.reserve(
            self._maximum(call), self._budgets.holds(held.applied, held.amounts), lease=self._lease
        )
        self._reserved(call, held, result)

    async def abefore(self, call: Call) -> None:
        held = self._applicable(call)
        if held is None:
            return
        counters = self._budgets.store.counters
        for item in held.applied:
            if item.rule.rollover:
                held.amounts[item.key] = await self._budgets.aamount(item)
        spent = {i.key: (await counters.aread(i.key)).total for i in held.applied if _acts(i)}
        self._act(call, held, spent)
        result = await counters.areserve(
            self._maximum(call), self._budgets.holds(held.applied, held.amounts), lease=self._lease
        )
        self._reserved(call, held, result)

    # --- the way back -----------------------------------------------------------------------
    def after(self, call: Call, outcome: Outcome) -> None:
        held: _Held | None = call.notes.get(self)
        if held is None or held.reservation is None:
            return
        counters = self._budgets.store.counters
        spent = outcome.spent()[1]
        if spent > 0:
            counters.commit(held.reservation, spent)
        else:
            counters.release(held.reservation)
        self._downgraded(held, outcome)
        for item in held.applied:
            if any(t.action == "alert" for t in item.rule.thresholds):
                self._alert(call, held, item, counters.read(item.key).spent, counters.add)

    async def aafter(self, call: Call, outcome: Outcome) -> None:
        held: _Held | None = call.notes.get(self)
        if held is None or held.reservation is None:
            return
        counters = self._budgets.store.counters
        spent = outcome.spent()[1]
        if spent > 0:
            await counters.acommit(held.reservation, spent)
        else:
            await counters.arelease(held.reservation)
        self._downgraded(held, outcome)
        for item in held.applied:
            if any(t.action == "alert" for t in item.rule.thresholds):
                counter = await counters.aread(item.key)
                firsts = [
                    (
                        t,
                        await counters.aadd(
                            _alert_key(item, t.at), 1, expires_at=item.expires_at()
                        ),
                    )
                    for t in self._crossed(held, item, counter.spent)
                ]
                self._announce(call, item, held, counter.spent, firsts)

    # --- decisions --------------------------------------------------------------------------
    @property
    def _lease(self) -> float:
        return self._budgets.options.lease_seconds

    def _applicable(self, call: Call) -> _Held | None:
        assert call.plan is not None
        applied = self._budgets.applicable(call.context, call.plan.targets[0])
        if not applied:
            return None
        held = _Held(applied, {item.key: item.rule.amount_usd for item in applied})
        call.notes[self] = held
        return held

    def _act(self, call: Call, held: _Held, spent: dict[str, float]) -> None:
        """Throttle or downgrade for the budgets past those thresholds."""
        for item in held.applied:
            if item.key not in spent:
                continue
            percent = 100 * spent[item.key] / held.amounts[item.key]
            reached = [t for t in item.rule.thresholds if t.at <= percent]
            for threshold in reached:
                if threshold.action == "throttle":
                    self._throttle(item, threshold.requests_per_minute or 1.0)
            downgrades = [t for t in reached if t.action == "downgrade"]
            if downgrades and held.downgraded_from is None:
                target = max(downgrades, key=lambda t: t.at).to
                assert target is not None
                held.downgraded_from = call.model
                logger.info(
                    "budget %r at %.0f%%: %s downgraded to %s",
                    item.name,
                    percent,
                    call.model,
                    target,
                )
                call.request = call.request.model_copy(update={"model": target})
                self._route.plan(call)

    def _throttle(self, item: Applied, per_minute: float) -> None:
        take = self._budgets.store.buckets.take(
            f"throttle:{item.key}", 1, rate=per_minute / 60, burst=max(per_minute, 1.0)
        )
        if not take.allowed:
            raise RateLimitExceededError(
                f"budget {item.name!r} ({item.rule.level} {item.value!r}) is past its throttle "
                f"threshold: at most {per_minute:g} requests a minute",
                limit=f"budget:{item.name}",
                retry_after=take.retry_after,
            )

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

    def _reserved(self, call: Call, held: _Held, result: Reservation | Refusal) -> None:
        if isinstance(result, Reservation):
            held.reservation = result
            return
        item = next(i for i in held.applied if i.key == result.key)
        logger.info(
            "budget %r (%s %r) refused a request: $%.6f would pass its limit of $%.6f",
            item.name,
            item.rule.level,
            item.value,
            result.amount,
            result.limit,
        )
        raise BudgetExceededError(
            f"budget {item.name!r} ({item.rule.level} {item.value!r}) has ${result.available:.6f} "
            f"left of ${result.limit:.6f} this period; this request may cost up to "
            f"${result.amount:.6f}",
            budget=item.name,
            level=item.rule.level,
            value=item.value,
            limit_usd=result.limit,
            spent_usd=result.spent,
            reserved_usd=result.reserved,
            resets_at=item.resets_at,
        )

    def _downgraded(self, held: _Held, outcome: Outcome) -> None:
        """Record a downgrade on the answer, and what it saved: its usage priced at the model
        the caller asked for, minus what was paid."""
        meta = getattr(outcome.response, "cosmara", None)
        if held.downgraded_from is None or meta is None:
            return
        meta.downgraded_from = held.downgraded_from
        usage: Usage | None = getattr(outcome.response, "usage", None)
        asked = self._catalog.get(held.downgraded_from)
        if asked is not None and usage is not None and meta.cost_usd is not None:
            meta.cost_saved_usd = max(cost_of_usage(asked, usage) - meta.cost_usd, 0.0)

    def _alert(self, call: Call, held: _Held, item: Applied, spent: float, add: Any) -> None:
        firsts = [
            (t, add(_alert_key(item, t.at), 1, expires_at=item.expires_at()))
            for t in self._crossed(held, item, spent)
        ]
        self._announce(call, item, held, spent, firsts)

    @staticmethod
    def _crossed(held: _Held, item: Applied, spent: float) -> list[Any]:
        percent = 100 * spent / held.amounts[item.key]
        return [t for t in item.rule.thresholds if t.action == "alert" and t.at <= percent]

    def _announce(
        self, call: Call, item: Applied, held: _Held, spent: float, firsts: list[tuple[Any, float]]
    ) -> None:
        amount = held.amounts[item.key]
        for threshold, count in firsts:
            if count != 1:
                continue  # another request (perhaps another process) announced it this period
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
