"""The attempts stage: the plan's targets tried in order, with retries, deadlines and streaming
failover, through thin sync and async drivers around ``AttemptLoop``'s decisions.

Each driver ends with an ``Outcome``: the settled answer, or (when every target failed) the
final error with every attempt, or the answer of last resort standing in for it. A stream
yields its chunks and then its ``Outcome``, whose answer the pipeline settles before the last
chunk goes out.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from cosmara._attempts import AttemptLoop
from cosmara._clock import Clock
from cosmara._config import CosmaraConfig
from cosmara._embeddings import EmbeddingRequest
from cosmara._errors import ProviderError, RequestTimeoutError
from cosmara._health import HealthMonitor
from cosmara._plugins import Plugins
from cosmara._routing import Target
from cosmara._stream import ChatChunk
from cosmara._timeouts import Timeouts
from cosmara._transport import AsyncStreamResponse, StreamResponse, Transport, Window
from cosmara.pipeline._call import Call, Outcome
from cosmara.pipeline._gate import FirstTokenGate, Pace, in_time
from cosmara.pipeline._settle import Settle
from cosmara.pipeline._wire import adecode, decode, described, error_of, parsed
from cosmara.providers._base import HttpProvider, LocalProvider

__all__ = ["Attempts"]


class Attempts:
    """Sends a planned call. Stateless between calls: everything per call is on the ``Call``
    and its ``AttemptLoop``."""

    name = "attempts"

    def __init__(
        self,
        *,
        config: CosmaraConfig,
        transport: Transport,
        health: HealthMonitor,
        plugins: Plugins,
        clock: Clock,
        settle: Settle,
        content_filter_targets: Callable[[], tuple[Target, ...]],
    ) -> None:
        self._config = config
        self._transport = transport
        self._health = health
        self._plugins = plugins
        self._clock = clock
        self._settle = settle
        self._content_filter_targets = content_filter_targets

    # --- drivers ----------------------------------------------------------------------------
    def run(self, call: Call) -> Outcome:
        with self._loop(call) as loop:
            for target in loop:
                if loop.delay:
                    self._clock.sleep(loop.delay)
                loop.sending()
                try:
                    response = self._send(call, target)
                except ProviderError as error:
                    loop.failed(target, error)
                    continue
                loop.succeeded(target)
                return Outcome(response=self._settle.answer(call, loop, target, response))
            return self._last_resort(call, loop)

    async def arun(self, call: Call) -> Outcome:
        with self._loop(call) as loop:
            for target in loop:
                if loop.delay:
                    await self._clock.asleep(loop.delay)
                loop.sending()
                try:
                    response = await self._asend(call, target)
                except ProviderError as error:
                    loop.failed(target, error)
                    continue
                loop.succeeded(target)
                return Outcome(response=self._settle.answer(call, loop, target, response))
            return self._last_resort(call, loop)

    def stream(self, call: Call) -> Iterator[ChatChunk | Outcome]:
        with self._loop(call) as loop:
            for target in loop:
                if loop.delay:
                    self._clock.sleep(loop.delay)
                loop.sending()
                provider = target.provider
                window = self._window(call, target, stream=True)
                pace: Pace | StreamResponse = Pace(window.until)  # in-process: unbounded
                try:
                    if isinstance(provider, LocalProvider):
                        chunks: Iterator[ChatChunk] = iter(
                            provider.stream(call.request, target.model)
                        )
                        close = getattr(chunks, "close", lambda: None)
                    else:
                        assert isinstance(provider, HttpProvider)
                        http = described(provider, call.request, target.model, call, stream=True)
                        opened = self._transport.open_stream(provider, http, window)
                        if opened.status >= 300:
                            raise error_of(provider, opened.read(), target.model)
                        pace = opened
                        chunks = decode(provider, target.model, opened.iter_bytes())
                        close = opened.close
                except ProviderError as error:
                    loop.failed(target, error)
                    continue
                gate = FirstTokenGate()
                gap = self._timeouts(call, target).gap  # each chunk's allowance, once it flows
                call.notes[self] = target, gate  # for abandoned(), if it comes to that
                try:
                    for chunk in chunks:
                        yield from gate.admit(chunk)
                        if gate.opened:
                            pace.deadline = self._gap_deadline(call, gap)
                except ProviderError as error:
                    error = self._stalled(error, call, target, gate)
                    loop.failed(target, error)
                    if not gate.opened:
                        del call.notes[self]
                        continue  # nothing reached the caller yet: the next try takes over unseen
                    raise loop.fail(self._interrupted(call, target, gate, error)) from None
                finally:
                    close()
                yield from gate.release()
                loop.succeeded(target, first_token_at=gate.opened_at)
                yield self._streamed(call, loop, target, gate)
                return
            yield self._last_resort(call, loop)

    async def astream(self, call: Call) -> AsyncIterator[ChatChunk | Outcome]:
        with self._loop(call) as loop:
            for target in loop:
                if loop.delay:
                    await self._clock.asleep(loop.delay)
                loop.sending()
                provider = target.provider
                window = self._window(call, target, stream=True)
                try:
                    if isinstance(provider, LocalProvider):
                        local = Pace(window.until)
                        pace: Pace | AsyncStreamResponse = local
                        chunks = local.bound(provider.astream(call.request, target.model), target)
                        close: Any = chunks.aclose
                    else:
                        assert isinstance(provider, HttpProvider)
                        http = described(provider, call.request, target.model, call, stream=True)
                        opened = await self._transport.aopen_stream(provider, http, window)
                        if opened.status >= 300:
                            raise error_of(provider, await opened.read(), target.model)
                        pace = opened
                        chunks = adecode(provider, target.model, opened.iter_bytes())
                        close = opened.close
                except ProviderError as error:
                    loop.failed(target, error)
                    continue
                gate = FirstTokenGate()
                gap = self._timeouts(call, target).gap  # each chunk's allowance, once it flows
                call.notes[self] = target, gate
                try:
                    async for chunk in chunks:
                        for admitted in gate.admit(chunk):
                            yield admitted
                        if gate.opened:
                            pace.deadline = self._gap_deadline(call, gap)
                except ProviderError as error:
                    error = self._stalled(error, call, target, gate)
                    loop.failed(target, error)
                    if not gate.opened:
                        del call.notes[self]
                        continue  # nothing reached the caller yet: the next try takes over unseen
                    raise loop.fail(self._interrupted(call, target, gate, error)) from None
                finally:
                    await close()
                for held in gate.release():
                    yield held
                loop.succeeded(target, first_token_at=gate.opened_at)
                yield self._streamed(call, loop, target, gate)
                return
            yield self._last_resort(call, loop)

    def abandoned(self, call: Call) -> Outcome:
        """A call its caller stopped. A stream a provider was already answering still costs
        the prompt and what was streamed, and the stages settle that."""
        streaming: tuple[Target, FirstTokenGate] | None = call.notes.get(self)
        if streaming is None:
            return Outcome(cancelled=True)
        target, gate = streaming
        accumulator = gate.accumulator
        usage, cost = self._settle.so_far(call, target, accumulator.text, accumulator.usage)
        return Outcome(cancelled=True, usage=usage, cost_usd=cost)

    # --- one attempt ------------------------------------------------------------------------
    def _send(self, call: Call, target: Target) -> Any:
        provider, request, model = target.provider, call.request, target.model
        if isinstance(provider, LocalProvider):
            if isinstance(request, EmbeddingRequest):
                return provider.embed(request, model)
            return provider.chat(request, model)
        assert isinstance(provider, HttpProvider)
        http = described(provider, request, model, call)
        window = self._window(call, target, stream=False)
        return parsed(provider, self._transport.send(provider, http, window), request, model)

    async def _asend(self, call: Call, target: Target) -> Any:
        provider, request, model = target.provider, call.request, target.model
        window = self._window(call, target, stream=False)
        if isinstance(provider, LocalProvider):
            answer = (
                provider.aembed(request, model)
                if isinstance(request, EmbeddingRequest)
                else provider.achat(request, model)
            )
            return await in_time(answer, window.until, target)
        assert isinstance(provider, HttpProvider)
        http = described(provider, request, model, call)
        response = await self._transport.asend(provider, http, window)
        return parsed(provider, response, request, model)

    # --- decisions --------------------------------------------------------------------------
    def _loop(self, call: Call) -> AttemptLoop:
        assert call.plan is not None
        return AttemptLoop(
            call.plan,
            call.request,
            call.context,
            self._plugins,
            call.retry,
            self._health,
            call.unfit,
            self._content_filter_targets(),
            deadline=call.deadline,
            clock=self._clock.monotonic,
        )

    def _timeouts(self, call: Call, target: Target) -> Timeouts:
        """The call's own, else the model's, else the provider's, else the client's."""
        return (
            call.timeout
            or self._config.model_timeouts.get(target.id)
            or target.provider.settings.timeout
            or self._config.timeout
        )

    def _window(self, call: Call, target: Target, *, stream: bool) -> Window:
        """What one attempt may spend: the answer's limit (a stream's first token's), never
        past the call's own deadline."""
        timeouts = self._timeouts(call, target)
        now = time.monotonic()
        until = now + (timeouts.first if stream else timeouts.request)
        if call.deadline is not None:
            until = min(until, now + call.deadline - self._clock.monotonic())
        return Window(until, timeouts.connect, timeouts.pool or timeouts.connect)

    def _gap_deadline(self, call: Call, gap: float) -> float:
        """When the next chunk of a stream that has begun must have arrived."""
        now = time.monotonic()
        until = now + gap
        if call.deadline is not None:
            until = min(until, now + call.deadline - self._clock.monotonic())
        return until

    def _stalled(
        self, error: ProviderError, call: Call, target: Target, gate: FirstTokenGate
    ) -> ProviderError:
        """A stream's timeout, said as the limit that ran out: the call's total, the first
        token's, or the gap between two chunks."""
        if not isinstance(error, RequestTimeoutError) or error.code is not None:
            return error
        timeouts = self._timeouts(call, target)
        if call.deadline is not None and call.deadline - self._clock.monotonic() <= 0.01:
            code, what = "deadline_exceeded", "the call's total timeout passed"
        elif gate.opened:
            code, what = "stream_stalled", f"waited more than {timeouts.gap:g} s between chunks"
        else:
            code, what = (
                "first_token_timeout",
                (f"waited more than {timeouts.first:g} s for the first token"),
            )
        return RequestTimeoutError(
            what, provider=target.provider.name, model=target.model, code=code
        )

    def _interrupted(
        self, call: Call, target: Target, gate: FirstTokenGate, error: ProviderError
    ) -> ProviderError:
        accumulator = gate.accumulator
        return self._settle.interrupted(call, target, accumulator.text, accumulator.usage, error)

    def _streamed(
        self, call: Call, loop: AttemptLoop, target: Target, gate: FirstTokenGate
    ) -> Outcome:
        response = gate.accumulator.response()
        response.cosmara = self._settle.meta(
            call, loop, target, response.usage, gate.accumulator.model
        )
        return Outcome(response=response)

    def _last_resort(self, call: Call, loop: AttemptLoop) -> Outcome:
        error = loop.final_error()
        return Outcome(response=self._settle.last_resort(call, loop, error), error=error)
