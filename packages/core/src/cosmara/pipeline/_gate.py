"""A stream's first token: what is held back until it arrives, and the deadline of each chunk."""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable
from typing import TypeVar

from cosmara._errors import RequestTimeoutError
from cosmara._routing import Target
from cosmara._stream import ChatChunk, StreamAccumulator
from cosmara._transport import within

__all__ = ["FirstTokenGate", "Pace", "in_time"]

_T = TypeVar("_T")


class FirstTokenGate:
    """Holds a stream's opening chunks until its first content arrives.

    Until then a failed target can hand the request to the next one without the caller seeing
    two beginnings; after it, a failure is raised with the text streamed so far. Usage is held
    back from every chunk so it is reported once, on the engine's final chunk.
    """

    def __init__(self) -> None:
        self.accumulator = StreamAccumulator()
        self.opened = False
        self.opened_at: float | None = None  # perf_counter() when the first content arrived
        self._held: list[ChatChunk] = []

    def admit(self, chunk: ChatChunk) -> list[ChatChunk]:
        """The chunks to pass on now (none while the gate is still closed)."""
        self.accumulator.add(chunk)
        if chunk.usage is not None:
            if not chunk.choices:
                return []
            chunk.usage = None
        if self.opened:
            return [chunk]
        self._held.append(chunk)
        if not self.accumulator.has_content:
            return []
        self.opened = True
        self.opened_at = time.perf_counter()
        return self.release()

    def release(self) -> list[ChatChunk]:
        held, self._held = self._held, []
        return held


class Pace:
    """The deadline of a stream's next chunk, for streams the transport does not read: an
    in-process provider's (held to it when async; a blocking one cannot be interrupted)."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline

    async def bound(
        self, chunks: AsyncIterator[ChatChunk], target: Target
    ) -> AsyncGenerator[ChatChunk, None]:
        iterator = chunks.__aiter__()
        try:
            while True:
                try:
                    chunk = await in_time(iterator.__anext__(), self.deadline, target)
                except StopAsyncIteration:
                    return
                yield chunk
        finally:
            closing = getattr(iterator, "aclose", None)
            if closing is not None:
                await closing()


async def in_time(answer: Awaitable[_T], until: float, target: Target) -> _T:
    """``await answer`` by the ``time.monotonic()`` deadline ``until``."""
    import asyncio

    try:
        result: _T = await within(answer, until)
    except (TimeoutError, asyncio.TimeoutError):
        raise RequestTimeoutError(
            "the provider did not answer in time", provider=target.provider.name, model=target.model
        ) from None
    return result
