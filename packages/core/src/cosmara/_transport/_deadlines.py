"""Deadlines that hold on blocking sockets and on asyncio.

A socket timeout bounds one read: a server that sends a byte every half second never trips a
2-second read timeout, and a whole answer can take forever. The engine works with absolute
deadlines instead. Async code waits with ``asyncio`` timeouts at the deadline; sync code runs
its sockets through ``DeadlineBackend``, which gives every read, write and connect only the
time left before the deadline in ``READ_DEADLINE`` (a context variable, so each thread and
task has its own; see ``_sync.py``).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Awaitable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TypeVar

__all__ = ["READ_DEADLINE", "Window", "within"]

READ_DEADLINE: ContextVar[float | None] = ContextVar("cosmara_read_deadline", default=None)

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class Window:
    """What one attempt may spend: ``until`` (a ``time.monotonic()`` deadline) for opening a
    response and, unless streamed, reading all of it; at most ``connect`` seconds of that to
    connect and ``pool`` seconds to wait for a free connection."""

    until: float
    connect: float
    pool: float

    def left(self) -> float:
        return max(self.until - time.monotonic(), 0.0)


async def within(awaitable: Awaitable[_T], until: float) -> _T:
    """``await awaitable``, or ``TimeoutError`` at the ``time.monotonic()`` deadline ``until``."""
    import asyncio  # kept off `import cosmara`

    left = until - time.monotonic()
    if sys.version_info >= (3, 11):
        loop = asyncio.get_running_loop()
        async with asyncio.timeout_at(loop.time() + left):
            return await awaitable
    return await asyncio.wait_for(awaitable, max(left, 0.0))  # pragma: no cover - 3.10
