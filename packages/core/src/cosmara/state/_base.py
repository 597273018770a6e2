"""``StateStore``: the one object the cache, budgets, rate limits and ledger share.

A store offers four interfaces as attributes (``kv``, ``counters``, ``buckets``, ``log``) and
implements two methods: ``_run`` and ``_arun`` execute one operation atomically, the sync and
the async way. Everything else (argument checks, the clock, building the operation) is shared.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any, TypeVar

from cosmara.state._batch import Batch
from cosmara.state._facets import Buckets, Counters, KeyValues, Log
from cosmara.state._ops import Admit, Op
from cosmara.state._types import Admission, Draw, Hold

__all__ = ["Clock", "StateStore"]

R = TypeVar("R")
_Store = TypeVar("_Store", bound="StateStore")
Clock = Callable[[], float]
"""Wall-clock seconds since the epoch, like ``time.time``: leases, TTLs and buckets are shared
by several processes (and machines), so they need a time all of them agree on."""


class StateStore(ABC):
    """Shared state behind four interfaces, with memory, SQLite or Redis behind them.

    Attributes:
        kv: ``KeyValues``, bytes with TTLs and an LRU bound per namespace (caches).
        counters: ``Counters``, spent amounts with atomic reservations against limits (budgets).
        buckets: ``Buckets``, token buckets (rate limits).
        log: ``Log``, append-only streams read from a cursor (the ledger).
        clock: the time every operation reads, ``time.time`` unless one was given.

    Safe to use from many threads and from asyncio at once. ``close()`` / ``aclose()`` (or
    ``with`` / ``async with``) release its connections. Operations of a failing store raise
    ``StateStoreError``.
    """

    def __init__(self, *, clock: Clock = time.time) -> None:
        self.clock = clock
        self.kv = KeyValues(self)
        self.counters = Counters(self)
        self.buckets = Buckets(self)
        self.log = Log(self)

    # --- several interfaces at once ---------------------------------------------------------
    def admit(
        self,
        draws: Sequence[Draw] = (),
        *,
        amount: float = 0.0,
        holds: Sequence[Hold] = (),
        lease: float = 60.0,
    ) -> Admission:
        """Take each draw from its bucket and reserve ``amount`` on every hold, or, if any
        bucket or counter refuses, change nothing: a request's rate limits and budgets
        checked in one atomic step (one lock, one transaction, one Redis script)."""
        return self._run(self._admission(draws, amount, holds, lease))

    async def aadmit(
        self,
        draws: Sequence[Draw] = (),
        *,
        amount: float = 0.0,
        holds: Sequence[Hold] = (),
        lease: float = 60.0,
    ) -> Admission:
        return await self._arun(self._admission(draws, amount, holds, lease))

    def batch(self) -> Batch:
        """A ``Batch``: writes queued now and run together later."""
        return Batch(self)

    def _admission(
        self, draws: Sequence[Draw], amount: float, holds: Sequence[Hold], lease: float
    ) -> Admit:
        if not all(isinstance(draw, Draw) for draw in draws):
            raise TypeError("draws must be Draw instances")
        takes = tuple(
            self.buckets._take(draw.key, draw.amount, draw.rate, draw.burst) for draw in draws
        )
        reserve = self.counters._reserve(amount, holds, lease) if holds else None
        if len({take.key for take in takes}) != len(takes):
            raise ValueError("an admission draws from each bucket once")
        now = reserve.now if reserve is not None else takes[0].now if takes else self.clock()
        for take in takes:
            take.now = now  # one moment for the whole step
        return Admit(takes, reserve, now)

    @abstractmethod
    def _run(self, op: Op[R]) -> R:
        """Execute one operation atomically and return its result."""

    @abstractmethod
    async def _arun(self, op: Op[R]) -> R:
        """Execute one operation atomically without blocking the event loop."""

    def close(self) -> None:  # noqa: B027 - a store with nothing to release keeps this
        """Release connections; the store must not be used afterwards."""

    async def aclose(self) -> None:
        """Release connections, including those of the running event loop."""
        self.close()

    def __enter__(self: _Store) -> _Store:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    async def __aenter__(self: _Store) -> _Store:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __reduce__(self) -> Any:
        raise TypeError(
            f"a {type(self).__name__} holds live state and connections and cannot be pickled; "
            "pickle its StateSettings and open the store again"
        )
