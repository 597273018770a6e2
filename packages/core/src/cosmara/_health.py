"""Per-target health and circuit breakers, fed by real traffic.

Each ``provider/model`` target gets an EWMA of its latency and error rate, its last error, and
a circuit breaker::

    closed --(N failures in a row, or error rate over threshold with enough requests)--> open
    open --(cooldown elapsed)--> half_open --(M successes)--> closed
                                 half_open --(a probe fails)--> open

While a breaker is open no request is sent to its target; half-open lets a limited number of
probe requests through. Only failures that say something about the target count (outages,
timeouts, broken connections, rate limits, invalid bodies: the errors marked retryable); a
bad request or a bad key does not trip a breaker.

Every move of a breaker is logged (logger ``cosmara.health``, INFO) with the target and, when
it opens, what opened it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Admission", "BreakerPolicy", "HealthMonitor", "TargetHealth"]

BreakerState = Literal["closed", "open", "half_open"]
Admission = Literal["free", "probe"] | None
_UNKNOWN: tuple[frozenset[str], float] = (frozenset(), float("-inf"))

logger = logging.getLogger("cosmara.health")


class BreakerPolicy(BaseModel):
    """When a target's breaker opens, how long it stays open, and how it closes again."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    enabled: bool = True
    consecutive_failures: int = Field(default=5, ge=1)
    error_rate: float = Field(default=0.5, gt=0, le=1)
    min_requests: int = Field(default=20, ge=1)
    window_seconds: float = Field(default=60.0, gt=0)
    cooldown_seconds: float = Field(default=30.0, ge=0)
    half_open_probes: int = Field(default=1, ge=1)
    close_after_successes: int = Field(default=2, ge=1)
    ewma_alpha: float = Field(default=0.2, gt=0, le=1)
    shared: bool = Field(
        default=False,
        description="share opened breakers with every process using the same [state] store",
    )
    shared_every_seconds: float = Field(
        default=1.0, gt=0, description="how often a process reads the breakers others opened"
    )


class TargetHealth(BaseModel):
    """What ``client.health()`` reports for one target."""

    model_config = ConfigDict(defer_build=True)  # built when first reported, not on import

    target: str
    state: BreakerState
    requests: int
    failures: int
    latency_ms: float | None = Field(description="EWMA of successful calls' latency")
    first_token_ms: float | None = Field(
        default=None, description="EWMA of successful streams' time to first token"
    )
    error_rate: float = Field(description="EWMA of failures (1) and successes (0)")
    availability: float = Field(description="Share of requests in the window that succeeded")
    last_error: str | None = None
    last_error_at: float | None = None


class _Target:
    __slots__ = (
        "consecutive",
        "error_rate",
        "failures",
        "first_token_ms",
        "last_error",
        "last_error_at",
        "latency_ms",
        "opened_at",
        "probes",
        "recent",
        "requests",
        "state",
        "successes",
    )

    def __init__(self) -> None:
        self.state: BreakerState = "closed"
        self.requests = 0
        self.failures = 0
        self.consecutive = 0
        self.successes = 0  # in half_open
        self.probes = 0  # in flight while half_open
        self.opened_at = 0.0
        self.latency_ms: float | None = None
        self.first_token_ms: float | None = None
        self.error_rate = 0.0
        self.last_error: str | None = None
        self.last_error_at: float | None = None
        self.recent: deque[tuple[float, bool]] = deque(maxlen=1000)  # (time, ok) in the window


class HealthMonitor:
    """Health and breakers for every target a client has talked to (one per client).

    ``on_transition(target, old, new)`` is called whenever a breaker changes state.
    """

    def __init__(
        self,
        policy: BreakerPolicy,
        *,
        on_transition: Callable[[str, BreakerState, BreakerState], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.policy = policy
        self._targets: dict[str, _Target] = {}
        # ``resting()``'s last answer and until when it holds (reset by every breaker move).
        self._resting: tuple[frozenset[str], float] = _UNKNOWN
        self._lock = threading.Lock()
        self._clock = clock
        self._on_transition = on_transition

    def allow(self, target: str) -> bool:
        """Whether a request may be sent to ``target`` now (a probe counts as sent)."""
        return self.admit(target) is not None

    def admit(self, target: str) -> Admission:
        """Like ``allow``, saying how: ``"free"`` (closed), ``"probe"`` (a half-open slot
        taken: ``record`` or ``release`` gives it back) or None (not now)."""
        if not self.policy.enabled:
            return "free"
        with self._lock:
            state = self._targets.get(target)
            if state is None or state.state == "closed":
                return "free"
            changed = None
            if state.state == "open":
                if self._clock() - state.opened_at < self.policy.cooldown_seconds:
                    return None
                changed = self._move(state, "half_open")
                state.successes = state.probes = 0
                self._resting = _UNKNOWN
            allowed = state.probes < self.policy.half_open_probes
            if allowed:
                state.probes += 1
        if changed:
            self._announce(target, *changed)
        return "probe" if allowed else None

    def open_elsewhere(self, target: str, remaining: float) -> bool:
        """Another process opened ``target``'s breaker: hold it open here too for
        ``remaining`` seconds, then probe as usual. False when it was already open as long."""
        if not self.policy.enabled or remaining <= 0:
            return False
        with self._lock:
            state = self._targets.get(target)
            if state is None:
                state = self._targets[target] = _Target()
            opened_at = self._clock() - max(self.policy.cooldown_seconds - remaining, 0.0)
            if state.state == "open" and state.opened_at >= opened_at:
                return False
            old = state.state
            self._open(state, opened_at)
            self._resting = _UNKNOWN
        logger.info("breaker of %s: %s -> open (opened by another process)", target, old)
        if self._on_transition is not None and old != "open":
            self._on_transition(target, old, "open")
        return True

    def record(
        self,
        target: str,
        *,
        ok: bool,
        latency_ms: float,
        error: str | None = None,
        first_token_ms: float | None = None,
    ) -> None:
        """One finished attempt; ``ok=False`` only for failures that reflect on the target.
        ``first_token_ms`` for a stream: how long its first content took."""
        policy = self.policy
        now = self._clock()
        with self._lock:
            state = self._targets.get(target)
            if state is None:
                state = self._targets[target] = _Target()
            state.requests += 1
            state.recent.append((now, ok))
            state.error_rate += policy.ewma_alpha * ((0.0 if ok else 1.0) - state.error_rate)
            if first_token_ms is not None:
                state.first_token_ms = _ewma(state.first_token_ms, first_token_ms, policy)
            changed = (
                self._record_ok(state, latency_ms)
                if ok
                else self._record_failure(state, error, now)
            )
            if changed:
                self._resting = _UNKNOWN
        if changed:
            self._announce(target, *changed)

    def release(self, target: str) -> None:
        """Give back the probe slot of a probe that ended without an outcome."""
        with self._lock:
            state = self._targets.get(target)
            if state is not None and state.state == "half_open" and state.probes:
                state.probes -= 1

    def report(self) -> dict[str, TargetHealth]:
        """A snapshot of every target's health, keyed by ``provider/model``."""
        now = self._clock()
        with self._lock:
            return {
                target: TargetHealth(
                    target=target,
                    state=state.state,
                    requests=state.requests,
                    failures=state.failures,
                    latency_ms=_rounded(state.latency_ms),
                    first_token_ms=_rounded(state.first_token_ms),
                    error_rate=round(state.error_rate, 4),
                    availability=_availability(self._window(state, now)),
                    last_error=state.last_error,
                    last_error_at=state.last_error_at,
                )
                for target, state in self._targets.items()
            }

    def latency_ms(self, target: str) -> float | None:
        """EWMA latency of ``target``'s successful calls, None before the first one."""
        state = self._targets.get(target)
        return None if state is None else state.latency_ms

    def latencies(self, targets: Sequence[str]) -> list[float | None]:
        """``latency_ms`` of each target, in one call (strategies rank whole groups)."""
        known = self._targets
        return [state.latency_ms if (state := known.get(t)) else None for t in targets]

    def resting(self) -> frozenset[str]:
        """Targets whose breaker is open and still cooling down: routing passes them over.

        A target whose cooldown has ended is not resting even before its breaker moves to
        half-open (that happens when a request is next offered to it), so it gets its probes.
        """
        if not self.policy.enabled:
            return frozenset()
        now = self._clock()
        resting, valid_until = self._resting
        if now < valid_until:  # no breaker moved and no cooldown ended since it was made
            return resting
        cooldown = self.policy.cooldown_seconds
        with self._lock:
            ends = {
                target: state.opened_at + cooldown
                for target, state in self._targets.items()
                if state.state == "open" and state.opened_at + cooldown > now
            }
            resting = frozenset(ends)
            self._resting = (resting, min(ends.values(), default=float("inf")))
        return resting

    # --- transitions (called with the lock held; announced after it is released) -----------
    def _record_ok(
        self, state: _Target, latency_ms: float
    ) -> tuple[BreakerState, BreakerState] | None:
        state.latency_ms = _ewma(state.latency_ms, latency_ms, self.policy)
        state.consecutive = 0
        if state.state != "half_open":
            return None
        state.probes = max(state.probes - 1, 0)
        state.successes += 1
        if state.successes < self.policy.close_after_successes:
            return None
        return self._move(state, "closed")

    def _record_failure(
        self, state: _Target, error: str | None, now: float
    ) -> tuple[BreakerState, BreakerState] | None:
        state.failures += 1
        state.consecutive += 1
        state.last_error, state.last_error_at = error, time.time()
        if state.state == "half_open":
            return self._open(state, now)
        if state.state == "closed" and self._should_open(state, now):
            return self._open(state, now)
        return None

    def _should_open(self, state: _Target, now: float) -> bool:
        policy = self.policy
        if state.consecutive >= policy.consecutive_failures:
            return True
        window = self._window(state, now)
        if len(window) < policy.min_requests:
            return False
        return 1 - _availability(window) >= policy.error_rate

    def _open(self, state: _Target, now: float) -> tuple[BreakerState, BreakerState]:
        state.opened_at = now
        state.probes = state.successes = 0
        return self._move(state, "open")

    @staticmethod
    def _move(state: _Target, new: BreakerState) -> tuple[BreakerState, BreakerState]:
        old, state.state = state.state, new
        if new == "closed":
            state.consecutive = 0
            state.recent.clear()
        return old, new

    def _window(self, state: _Target, now: float) -> list[bool]:
        start = now - self.policy.window_seconds
        return [ok for at, ok in state.recent if at >= start]

    def _announce(self, target: str, old: BreakerState, new: BreakerState) -> None:
        if logger.isEnabledFor(logging.INFO):
            logger.info("breaker of %s: %s -> %s%s", target, old, new, self._why(target, new))
        if self._on_transition is not None:
            self._on_transition(target, old, new)

    def _why(self, target: str, new: BreakerState) -> str:
        """What moved a breaker, said in the log line: the failures that opened it, the
        cooldown that ended, the successes that closed it."""
        policy = self.policy
        if new == "half_open":
            return f" (cooldown of {policy.cooldown_seconds:g} s over: probing)"
        if new == "closed":
            return f" ({policy.close_after_successes} probe(s) succeeded)"
        state = self._targets.get(target)
        if state is None:  # pragma: no cover - a target moves only once it has a state
            return ""
        return f" ({state.consecutive} failure(s) in a row, last {state.last_error})"


def _availability(window: list[bool]) -> float:
    return round(sum(window) / len(window), 4) if window else 1.0


def _ewma(previous: float | None, value: float, policy: BreakerPolicy) -> float:
    return value if previous is None else previous + policy.ewma_alpha * (value - previous)


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 3)
