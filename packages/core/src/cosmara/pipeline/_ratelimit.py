"""The rate-limit stage: every configured limit that applies takes from its token buckets
before the request goes on (or the request waits, or is refused with ``retry_after``), and on
the way back the estimate is corrected with what was really used."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from cosmara._errors import RateLimitExceededError
from cosmara.pipeline._call import Call, Outcome
from cosmara.pipeline._stage import Stage
from cosmara.ratelimits import RateLimitRule

if TYPE_CHECKING:
    from cosmara._clock import Clock
    from cosmara._tokens import TokenCounter
    from cosmara.state import StateStore, Take

__all__ = ["RateLimitStage"]

logger = logging.getLogger("cosmara.ratelimits")


@dataclass(frozen=True)
class _Bucket:
    rule: str
    key: str
    what: str  # requests, tokens or usd
    rate: float
    burst: float
    amount: float  # taken before the request


class RateLimitStage(Stage):
    name = "rate_limits"

    def __init__(
        self,
        rules: Mapping[str, RateLimitRule],
        store: StateStore,
        tokens: TokenCounter,
        clock: Clock,
    ) -> None:
        self._rules = dict(rules)
        self._store = store
        self._tokens = tokens
        self._clock = clock

    def before(self, call: Call) -> None:
        buckets = self._buckets(call)
        if not buckets:
            return
        while True:
            refused = self._take(buckets)
            if refused is None:
                call.notes[self] = buckets
                return
            self._clock.sleep(self._wait(refused))

    async def abefore(self, call: Call) -> None:
        buckets = self._buckets(call)
        if not buckets:
            return
        while True:
            refused = await self._atake(buckets)
            if refused is None:
                call.notes[self] = buckets
                return
            await self._clock.asleep(self._wait(refused))

    def after(self, call: Call, outcome: Outcome) -> None:
        for bucket, correction in self._corrections(call, outcome):
            self._store.buckets.adjust(bucket.key, correction, rate=bucket.rate, burst=bucket.burst)

    async def aafter(self, call: Call, outcome: Outcome) -> None:
        for bucket, correction in self._corrections(call, outcome):
            await self._store.buckets.aadjust(
                bucket.key, correction, rate=bucket.rate, burst=bucket.burst
            )

    # --- decisions --------------------------------------------------------------------------
    def _buckets(self, call: Call) -> list[_Bucket]:
        found = []
        estimate: int | None = None
        for name, rule in self._rules.items():
            value = _value(rule, call)
            if value is None:
                continue
            for what, window, rate, burst in rule.buckets():
                if what == "tokens":
                    if estimate is None:
                        estimate = self._estimate(call)
                    amount = float(estimate)
                else:
                    amount = 1.0 if what == "requests" else 0.0  # dollars: charged after
                key = f"rate:{quote(name, safe='')}:{what}:{window}:{quote(value, safe='')}"
                found.append(_Bucket(name, key, what, rate, burst, amount))
        return found

    def _estimate(self, call: Call) -> int:
        request = call.request
        if call.kind == "embed":
            return sum(self._tokens.count_text(text) for text in request.input)
        prompt = self._tokens.count_messages(request.messages, request.tools)
        return prompt + (request.max_tokens or 0)

    def _take(self, buckets: list[_Bucket]) -> tuple[_Bucket, Take] | None:
        taken: list[_Bucket] = []
        for bucket in buckets:
            take = self._store.buckets.take(
                bucket.key, bucket.amount, rate=bucket.rate, burst=bucket.burst
            )
            if not take.allowed:
                for earlier in taken:  # all or nothing: give back what was taken
                    self._store.buckets.adjust(
                        earlier.key, -earlier.amount, rate=earlier.rate, burst=earlier.burst
                    )
                return bucket, take
            taken.append(bucket)
        return None

    async def _atake(self, buckets: list[_Bucket]) -> tuple[_Bucket, Take] | None:
        taken: list[_Bucket] = []
        for bucket in buckets:
            take = await self._store.buckets.atake(
                bucket.key, bucket.amount, rate=bucket.rate, burst=bucket.burst
            )
            if not take.allowed:
                for earlier in taken:
                    await self._store.buckets.aadjust(
                        earlier.key, -earlier.amount, rate=earlier.rate, burst=earlier.burst
                    )
                return bucket, take
            taken.append(bucket)
        return None

    def _wait(self, refused: tuple[_Bucket, Take]) -> float:
        """How long to wait before taking again, or ``RateLimitExceededError``."""
        bucket, take = refused
        rule = self._rules[bucket.rule]
        if rule.on_exceed == "wait" and take.retry_after <= rule.max_wait_seconds:
            logger.info(
                "rate limit %r (%s): waiting %.3f s", bucket.rule, bucket.what, take.retry_after
            )
            return take.retry_after
        logger.info(
            "rate limit %r (%s) refused a request; retry after %.3f s",
            bucket.rule,
            bucket.what,
            take.retry_after,
        )
        raise RateLimitExceededError(
            f"rate limit {bucket.rule!r} ({bucket.what}) is exhausted; try again in "
            f"{take.retry_after:.3f} s",
            limit=bucket.rule,
            retry_after=take.retry_after,
        )

    def _corrections(self, call: Call, outcome: Outcome) -> list[tuple[_Bucket, float]]:
        """Tokens: the real count minus the estimate (the estimate back when nothing was
        used); dollars: what the request cost."""
        buckets: list[_Bucket] | None = call.notes.get(self)
        if not buckets:
            return []
        usage, cost = outcome.spent()
        corrections = []
        for bucket in buckets:
            if bucket.what == "tokens":
                used = usage.total_tokens if usage is not None else 0
                corrections.append((bucket, used - bucket.amount))
            elif bucket.what == "usd" and cost:
                corrections.append((bucket, cost))
        return [(bucket, amount) for bucket, amount in corrections if amount]


def _value(rule: RateLimitRule, call: Call) -> str | None:
    scope, match = rule.scope, rule.match
    context = call.context
    if scope == "global":
        return "*"
    if scope == "model":
        value: Any = call.model
    elif scope == "provider":
        provider, slash, _ = call.model.partition("/")
        value = provider if slash else None
    elif scope == "key":
        value = context.metadata.get("key")
    else:
        value = getattr(context, scope)
    if not isinstance(value, str):
        return None
    return value if match == "*" or value == match else None
