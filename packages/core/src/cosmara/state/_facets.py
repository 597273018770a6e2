"""The four interfaces every store offers: key-value entries, counters, buckets and logs.

Each method checks its arguments, reads the store's clock once, and hands one operation to the
backend, which runs it atomically; the ``a``-prefixed twin hands the same operation to the
backend's async driver. Arguments that make no sense raise ``ValueError`` or ``TypeError``
before the store is touched; a store that fails raises ``StateStoreError``.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from cosmara.state import _ops
from cosmara.state._types import Counter, Hold, LogEntry, Refusal, Reservation, Take

if TYPE_CHECKING:
    from cosmara.state._base import StateStore

__all__ = ["Buckets", "Counters", "KeyValues", "Log"]


class _Facet:
    """One interface of a store. Every method raises ``ValueError`` or ``TypeError`` for
    arguments that make no sense (before touching the store) and ``StateStoreError`` when the
    store fails (unreachable, a lock held too long, a disk error)."""

    __slots__ = ("_arun", "_clock", "_run")

    def __init__(self, store: StateStore) -> None:
        self._run = store._run
        self._arun = store._arun
        self._clock = store.clock


class KeyValues(_Facet):
    """Bytes under ``(namespace, key)``, with a time to live and a least-recently-used bound per
    namespace: what caches keep. An expired entry is never returned."""

    __slots__ = ()

    def get(self, namespace: str, key: str) -> bytes | None:
        """The live value, or None; a hit counts as a use for the LRU bound."""
        return self._run(self._get(namespace, key))

    async def aget(self, namespace: str, key: str) -> bytes | None:
        return await self._arun(self._get(namespace, key))

    def put(
        self,
        namespace: str,
        key: str,
        value: bytes,
        *,
        ttl: float | None = None,
        max_entries: int | None = None,
    ) -> None:
        """Store ``value`` for ``ttl`` seconds (None: until deleted or evicted). With
        ``max_entries``, the namespace then keeps only that many live entries, evicting the
        least recently used."""
        self._run(self._put(namespace, key, value, ttl, max_entries))

    async def aput(
        self,
        namespace: str,
        key: str,
        value: bytes,
        *,
        ttl: float | None = None,
        max_entries: int | None = None,
    ) -> None:
        await self._arun(self._put(namespace, key, value, ttl, max_entries))

    def delete(self, namespace: str, key: str) -> bool:
        """Remove one entry; whether a live one was there."""
        return self._run(_ops.KvDelete(_name(namespace), _name(key, "key"), self._clock()))

    async def adelete(self, namespace: str, key: str) -> bool:
        return await self._arun(_ops.KvDelete(_name(namespace), _name(key, "key"), self._clock()))

    def clear(self, namespace: str, *, prefix: str | None = None) -> int:
        """Remove a whole namespace, or only its keys starting with ``prefix``; how many live
        entries went."""
        return self._run(self._clear(namespace, prefix))

    async def aclear(self, namespace: str, *, prefix: str | None = None) -> int:
        return await self._arun(self._clear(namespace, prefix))

    def count(self, namespace: str) -> int:
        """How many live entries the namespace holds."""
        return self._run(_ops.KvCount(_name(namespace), self._clock()))

    async def acount(self, namespace: str) -> int:
        return await self._arun(_ops.KvCount(_name(namespace), self._clock()))

    def _get(self, namespace: str, key: str) -> _ops.KvGet:
        return _ops.KvGet(_name(namespace), _name(key, "key"), self._clock())

    def _put(
        self, namespace: str, key: str, value: bytes, ttl: float | None, max_entries: int | None
    ) -> _ops.KvPut:
        if not isinstance(value, bytes):
            raise TypeError(f"a stored value must be bytes, not {type(value).__name__}")
        if max_entries is not None:
            max_entries = _count(max_entries, "max_entries")
        now = self._clock()
        expires_at = None if ttl is None else now + _positive(ttl, "ttl")
        return _ops.KvPut(_name(namespace), _name(key, "key"), value, expires_at, max_entries, now)

    def _clear(self, namespace: str, prefix: str | None) -> _ops.KvClear:
        if prefix is not None and not isinstance(prefix, str):
            raise TypeError("prefix must be a string or None")
        return _ops.KvClear(_name(namespace), prefix or None, self._clock())


class Counters(_Facet):
    """Spent amounts with reservations held against limits: budgets (dollars) and quotas
    (tokens, requests). Reserving checks every counter and holds on all or none, atomically."""

    __slots__ = ()

    def reserve(
        self, amount: float, holds: Sequence[Hold], *, lease: float
    ) -> Reservation | Refusal:
        """Hold ``amount`` on every counter of ``holds`` if each stays within its limit
        (``spent + reserved + amount <= limit``); else hold nothing and say which counter
        refused. The hold ends at ``commit``/``release`` or, if neither comes (a crash), when
        the ``lease`` (seconds) runs out."""
        return self._run(self._reserve(amount, holds, lease))

    async def areserve(
        self, amount: float, holds: Sequence[Hold], *, lease: float
    ) -> Reservation | Refusal:
        return await self._arun(self._reserve(amount, holds, lease))

    def commit(self, reservation: Reservation, actual: float) -> bool:
        """Drop the holds and add ``actual`` to every counter's spent, even past its limit
        (what was spent is spent), also after the lease ended. Only the first commit or
        release of a reservation counts; True when this call was it."""
        return self._run(self._settle(reservation, self._actual(actual)))

    async def acommit(self, reservation: Reservation, actual: float) -> bool:
        return await self._arun(self._settle(reservation, self._actual(actual)))

    def release(self, reservation: Reservation) -> bool:
        """Drop the holds without spending; True when this call settled the reservation."""
        return self._run(self._settle(reservation, None))

    async def arelease(self, reservation: Reservation) -> bool:
        return await self._arun(self._settle(reservation, None))

    def add(self, key: str, amount: float, *, expires_at: float | None = None) -> float:
        """Add ``amount`` (may be negative) to spent, whatever the limit; the new spent."""
        return self._run(self._add(key, amount, expires_at))

    async def aadd(self, key: str, amount: float, *, expires_at: float | None = None) -> float:
        return await self._arun(self._add(key, amount, expires_at))

    def read(self, key: str) -> Counter:
        """Spent and the live reserved amount of one counter (zeros when it does not exist)."""
        return self._run(_ops.CounterRead(_name(key, "key"), self._clock()))

    async def aread(self, key: str) -> Counter:
        return await self._arun(_ops.CounterRead(_name(key, "key"), self._clock()))

    def set(self, key: str, spent: float, *, expires_at: float | None = None) -> None:
        """Set spent (live holds stay)."""
        self._run(self._set(key, spent, expires_at))

    async def aset(self, key: str, spent: float, *, expires_at: float | None = None) -> None:
        await self._arun(self._set(key, spent, expires_at))

    def reset(self, key: str) -> None:
        """Forget the counter: spent and every hold on it."""
        self._run(_ops.CounterReset(_name(key, "key"), self._clock()))

    async def areset(self, key: str) -> None:
        await self._arun(_ops.CounterReset(_name(key, "key"), self._clock()))

    def _reserve(self, amount: float, holds: Sequence[Hold], lease: float) -> _ops.Reserve:
        amount = _number(amount, "amount", minimum=0.0)
        checked = tuple(_hold(hold) for hold in holds)
        if not checked:
            raise ValueError("a reservation needs at least one Hold")
        if len({hold.key for hold in checked}) != len(checked):
            raise ValueError("a reservation holds each counter once")
        now = self._clock()
        lease_end = now + _positive(lease, "lease")
        return _ops.Reserve(_reservation_id(), checked, amount, lease_end, now)

    @staticmethod
    def _actual(actual: float) -> float:
        return _number(actual, "actual", minimum=0.0)

    def _settle(self, reservation: Reservation, actual: float | None) -> _ops.Settle:
        if not isinstance(reservation, Reservation):
            raise TypeError("commit and release take the Reservation that reserve returned")
        return _ops.Settle(reservation, actual, self._clock())

    def _add(self, key: str, amount: float, expires_at: float | None) -> _ops.CounterAdd:
        return _ops.CounterAdd(
            _name(key, "key"), _number(amount, "amount"), _moment(expires_at), self._clock()
        )

    def _set(self, key: str, spent: float, expires_at: float | None) -> _ops.CounterSet:
        return _ops.CounterSet(
            _name(key, "key"), _number(spent, "spent"), _moment(expires_at), self._clock()
        )


class Buckets(_Facet):
    """Token buckets for rate limits: ``burst`` tokens at most, refilled at ``rate`` tokens per
    second. One bucket per key; the same key must always be used with the same rate and burst."""

    __slots__ = ()

    def take(self, key: str, amount: float = 1.0, *, rate: float, burst: float) -> Take:
        """Take ``amount`` tokens if the bucket holds them; else take none and say when to
        retry."""
        return self._run(self._take(key, amount, rate, burst))

    async def atake(self, key: str, amount: float = 1.0, *, rate: float, burst: float) -> Take:
        return await self._arun(self._take(key, amount, rate, burst))

    def adjust(self, key: str, amount: float, *, rate: float, burst: float) -> float:
        """Correct a take after the fact: take ``amount`` more whatever the level (the bucket may
        go into debt), or give ``-amount`` back (up to a full bucket). The new level."""
        return self._run(self._adjust(key, amount, rate, burst))

    async def aadjust(self, key: str, amount: float, *, rate: float, burst: float) -> float:
        return await self._arun(self._adjust(key, amount, rate, burst))

    def _take(self, key: str, amount: float, rate: float, burst: float) -> _ops.BucketTake:
        return _ops.BucketTake(
            _name(key, "key"),
            _positive(rate, "rate"),
            _positive(burst, "burst"),
            _number(amount, "amount", minimum=0.0),
            self._clock(),
        )

    def _adjust(self, key: str, amount: float, rate: float, burst: float) -> _ops.BucketAdjust:
        return _ops.BucketAdjust(
            _name(key, "key"),
            _positive(rate, "rate"),
            _positive(burst, "burst"),
            _number(amount, "amount"),
            self._clock(),
        )


class Log(_Facet):
    """Append-only streams of records, read in order from a cursor: the usage ledger, and
    entries other processes follow. Cursors are opaque strings, increasing within a stream."""

    __slots__ = ()

    def append(self, stream: str, record: bytes, *, max_len: int | None = None) -> str:
        """Append ``record``; its cursor. With ``max_len`` the stream then keeps only that many
        newest records."""
        return self._run(self._append(stream, record, max_len))

    async def aappend(self, stream: str, record: bytes, *, max_len: int | None = None) -> str:
        return await self._arun(self._append(stream, record, max_len))

    def read(self, stream: str, *, after: str | None = None, limit: int = 100) -> list[LogEntry]:
        """Up to ``limit`` records after the cursor ``after`` (None: from the oldest kept), in
        order. Raises ValueError for a cursor this store did not give."""
        return self._run(self._read(stream, after, limit))

    async def aread(
        self, stream: str, *, after: str | None = None, limit: int = 100
    ) -> list[LogEntry]:
        return await self._arun(self._read(stream, after, limit))

    def _append(self, stream: str, record: bytes, max_len: int | None) -> _ops.LogAppend:
        if not isinstance(record, bytes):
            raise TypeError(f"a log record must be bytes, not {type(record).__name__}")
        max_len = None if max_len is None else _count(max_len, "max_len")
        return _ops.LogAppend(_name(stream, "stream"), record, max_len)

    def _read(self, stream: str, after: str | None, limit: int) -> _ops.LogRead:
        if after is not None and not isinstance(after, str):
            raise TypeError("after must be a cursor string or None")
        return _ops.LogRead(_name(stream, "stream"), after, _count(limit, "limit"))


def _reservation_id() -> str:
    """Unique (64 random bits) and roughly time-ordered, so stores that index reservations
    (SQLite) add each new one next to the last instead of at a random page."""
    return f"{time.time_ns():016x}{os.urandom(8).hex()}"


# --- argument checks -----------------------------------------------------------------------
def _name(value: object, what: str = "namespace") -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{what} must be a non-empty string")
    return value


def _number(value: object, what: str, *, minimum: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{what} must be a finite number")
    if minimum is not None and value < minimum:
        raise ValueError(f"{what} must be at least {minimum}")
    return float(value)


def _positive(value: object, what: str) -> float:
    number = _number(value, what)
    if number <= 0:
        raise ValueError(f"{what} must be positive")
    return number


def _moment(value: object) -> float | None:
    return None if value is None else _number(value, "expires_at")


def _count(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{what} must be a whole number of at least 1")
    return value


def _hold(hold: object) -> Hold:
    if not isinstance(hold, Hold):
        raise TypeError("holds must be Hold instances")
    _name(hold.key, "a hold's key")
    if hold.limit is not None:
        _number(hold.limit, "a hold's limit", minimum=0.0)
    _moment(hold.expires_at)
    return hold
