"""The attempt loop's decisions, shared by the sync, async and streaming drivers.

The drivers only do I/O: they iterate targets from ``AttemptLoop``, send, and report the
outcome back. What counts as worth trying elsewhere, what gets recorded, and when a fallback
is announced (``cosmara_fallback``) are decided here once, and logged here (logger
``cosmara.attempts``; see docs/logging.md): each attempt's outcome, each retry with its wait,
each fallback and each target passed over. Lines name targets, error classes, statuses and
codes, never a provider's message (it may quote the prompt) nor anything sent.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from time import monotonic, perf_counter

from cosmara._context import RequestContext
from cosmara._errors import (
    POOL_EXHAUSTED,
    BadRequestError,
    ContentFilteredError,
    ContextWindowExceededError,
    ProviderError,
    ProviderUnavailableError,
)
from cosmara._health import HealthMonitor
from cosmara._meta import Attempt
from cosmara._plugins import Plugins
from cosmara._retry import RetryPolicy
from cosmara._routing import Plan, Target

__all__ = ["AttemptLoop"]

logger = logging.getLogger("cosmara.attempts")


class AttemptLoop:
    """Walks a plan's targets in order until one succeeds or the failures are final.

    A retryable failure is retried on the same target (``delay`` says how long the driver
    waits first) until the policy's retries are spent; then the next target is tried. With a
    ``deadline`` (on ``clock``), no wait runs past it and no attempt starts after it: the
    last failure is final.
    """

    def __init__(
        self,
        plan: Plan,
        request: object,
        context: RequestContext,
        plugins: Plugins,
        retry: RetryPolicy,
        health: HealthMonitor,
        unfit: Mapping[str, ProviderError] | None = None,
        on_content_filter: tuple[Target, ...] = (),
        *,
        deadline: float | None = None,
        clock: Callable[[], float] = monotonic,
    ) -> None:
        self.plan = plan
        # Tried next (once) when a provider's content policy refuses the request.
        self._on_content_filter = on_content_filter
        self.attempts: list[Attempt] = []
        self.started = perf_counter()
        self.delay = 0.0  # seconds the driver sleeps before sending to the yielded target
        self._request = request
        self._context = context
        self._plugins = plugins
        self._retry = retry
        self._health = health
        self._unfit = unfit or {}  # targets not sent to at all, with the reason
        self._retries = 0
        self._tried = perf_counter()
        self._stop = False
        self._last_error: ProviderError | None = None  # from a failure or a skip
        self._sent_error: ProviderError | None = None  # from a request that was sent
        self._probing: Target | None = None  # a half-open probe sent, no outcome reported yet
        self._refused_window = 0  # the largest context window a provider said was too small
        self._deadline = deadline
        self._clock = clock

    def sending(self) -> None:
        """The request to the target just yielded goes out now (after any retry wait): its
        latency and time to first token count from here, not from the wait."""
        self._tried = perf_counter()

    def __iter__(self) -> Iterator[Target]:
        targets = list(self.plan.targets)
        for position, target in enumerate(targets):  # grows when a content filter refuses
            if self._stop or (self.attempts and self._out_of_time()):
                break
            if position and self._last_error is not None:
                logger.info(
                    "fallback: %s -> %s after %s",
                    self.attempts[-1].provider + "/" + self.attempts[-1].model,
                    target.id,
                    type(self._last_error).__name__,
                )
                self._plugins.emit(
                    "cosmara_fallback",
                    request=self._request,
                    failed=self.attempts[-1],
                    error=self._last_error,
                    next_target=target.id,
                    context=self._context,
                )
            self._retries, self.delay = 0, 0.0
            while True:
                self._tried = perf_counter()
                reason = self._unfit.get(target.id) or self._too_small(target)
                if reason is not None:
                    self._skip(target, reason)
                    break
                admission = self._health.admit(target.id)
                if admission is None:
                    self._skip(target, _circuit_open(target))
                    break
                self._probing = target if admission == "probe" else None
                yield target
                if isinstance(self._last_error, ContentFilteredError) and self._on_content_filter:
                    targets.extend(t for t in self._on_content_filter if t not in targets)
                    self._on_content_filter = ()
                if not self._retrying(target):
                    break

    def _skip(self, target: Target, error: ProviderError) -> None:
        """Record a target passed over without sending, and move on."""
        logger.debug("%s passed over, not sent: %s", target.id, error.code)
        self.attempts.append(
            Attempt(
                provider=target.provider.name,
                model=target.model,
                latency_ms=0.0,
                error=error.code,
                code=error.code,
                message=error.message,
            )
        )
        self._last_error = error

    def _too_small(self, target: Target) -> ProviderError | None:
        """After a provider said the prompt exceeds its context window, a target whose
        window is no larger would say the same: skip it."""
        window = target.info.context_window if target.info else None
        if not self._refused_window or window is None or window > self._refused_window:
            return None
        return ContextWindowExceededError(
            f"not sent: a {self._refused_window}-token context window already refused this "
            f"prompt, and this one has {window}",
            provider=target.provider.name,
            model=target.model,
            code="ContextWindowExceeded",
        )

    def _retrying(self, target: Target) -> bool:
        """After a failure on ``target``: retry it (setting ``delay``) or move on."""
        error = self._last_error
        failed_here = self.attempts and self.attempts[-1].error is not None
        if self._stop or error is None or not failed_here:
            return False
        if self._retries >= self._retry.max_retries or not self._retry.should_retry(error):
            return False
        if error.code == POOL_EXHAUSTED:
            return False  # it already waited its pool timeout: the next target, at once
        delay = self._retry.delay(self._retries + 1, error)
        if self._out_of_time(after=delay):
            logger.info("%s not retried: a %.2f s wait would outlast the call", target.id, delay)
            return False  # the wait would outlast the call: the next target may still answer
        self._retries += 1
        self.delay = delay
        logger.info(
            "%s retry %d of %d in %.2f s after %s",
            target.id,
            self._retries,
            self._retry.max_retries,
            delay,
            type(error).__name__,
        )
        return True

    def _out_of_time(self, after: float = 0.0) -> bool:
        return self._deadline is not None and self._clock() + after >= self._deadline

    def __enter__(self) -> AttemptLoop:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """The driver is done. A probe left without an outcome (the caller was cancelled, or
        stopped reading a stream) gives back its half-open slot: otherwise the target would
        wait forever for a probe result that is never coming."""
        if self._probing is not None:
            self._health.release(self._probing.id)
            self._probing = None

    def succeeded(self, target: Target, first_token_at: float | None = None) -> None:
        """Record a success; ``first_token_at`` (a ``perf_counter`` time) for streams."""
        self._probing = None
        latency = self._elapsed()
        first_token = (
            None if first_token_at is None else round((first_token_at - self._tried) * 1000, 3)
        )
        logger.debug("%s answered in %.1f ms", target.id, latency)
        self._health.record(target.id, ok=True, latency_ms=latency, first_token_ms=first_token)
        self.attempts.append(
            Attempt(
                provider=target.provider.name,
                model=target.model,
                latency_ms=latency,
                first_token_ms=first_token,
            )
        )

    def failed(self, target: Target, error: ProviderError) -> None:
        """Record a failure; a request the next provider would reject just as well stops here."""
        self._probing = None
        error.provider = error.provider or target.provider.name
        error.model = error.model or target.model
        latency = self._elapsed()
        logger.info(
            "%s failed in %.1f ms: %s (status %s, code %s)",
            target.id,
            latency,
            type(error).__name__,
            error.status_code,
            error.code,
        )
        # Only failures that say something about the target count against its health: a
        # request the provider rejected shows the provider answering, and a request that
        # found our own connection limit full never reached it.
        if error.code != POOL_EXHAUSTED:
            self._health.record(
                target.id, ok=not error.retryable, latency_ms=latency, error=type(error).__name__
            )
        self.attempts.append(
            Attempt(
                provider=target.provider.name,
                model=target.model,
                latency_ms=latency,
                error=type(error).__name__,
                code=error.code,
                status_code=error.status_code,
                message=error.message,
            )
        )
        self._last_error = self._sent_error = error
        if isinstance(error, ContextWindowExceededError) and target.info:
            self._refused_window = max(self._refused_window, target.info.context_window or 0)
        if type(error) is BadRequestError:
            self._stop = True

    def final_error(self) -> ProviderError:
        """The error to raise once no target is left, carrying every attempt: the last
        failure of a request that was sent, else the reason the last target was skipped."""
        error = self._sent_error or self._last_error
        if error is None:  # pragma: no cover - a plan always has at least one target
            raise RuntimeError("attempt loop ended without an attempt")
        logger.info(
            "no target answered after %d attempt(s): %s", len(self.attempts), type(error).__name__
        )
        return self.fail(error)

    def fail(self, error: ProviderError) -> ProviderError:
        """``error`` as the request's final one, carrying every attempt."""
        error.attempts = list(self.attempts)
        return error

    @property
    def latency_ms(self) -> float:
        return (perf_counter() - self.started) * 1000

    def _elapsed(self) -> float:
        return round((perf_counter() - self._tried) * 1000, 3)


def _circuit_open(target: Target) -> ProviderError:
    return ProviderUnavailableError(
        "circuit open: not sent while the target is failing",
        provider=target.provider.name,
        model=target.model,
        code="CircuitOpen",
    )
