"""``MemoryStore``: the default, state in this process only, behind one lock."""

from __future__ import annotations

import heapq
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeVar

from cosmara.state import _ops
from cosmara.state._base import Clock, StateStore
from cosmara.state._logic import (
    SETTLED_RETENTION,
    SWEEP_INTERVAL,
    Bucket,
    admit,
    bucket_adjust,
    bucket_full_at,
    bucket_take,
    fits,
    sequence,
)
from cosmara.state._types import Admission, Counter, LogEntry, Refusal, Reservation, Take

__all__ = ["MemoryStore"]

R = TypeVar("R")


class MemoryStore(StateStore):
    """State kept in this process: nothing to set up, nothing shared with other processes.

    Every operation runs under one lock and takes microseconds, so the async twins run inline.
    Expired entries, counters, holds and full buckets are swept at least every minute of the
    store's clock, so nothing expired accumulates.
    """

    def __init__(self, *, clock: Clock = time.time) -> None:
        super().__init__(clock=clock)
        self._lock = threading.Lock()
        self._namespaces: dict[str, _Namespace] = {}
        self._counters: dict[str, _Counter] = {}
        self._settled: dict[str, float] = {}  # reservation id -> when to forget it was settled
        self._buckets: dict[str, tuple[float, float, float]] = {}  # key -> level, at, full at
        self._streams: dict[str, _Stream] = {}
        self._next_sweep = -math.inf

    def __repr__(self) -> str:
        return "MemoryStore()"

    def _run(self, op: _ops.Op[R]) -> R:
        handler: Callable[[MemoryStore, Any], R] = _HANDLERS[type(op)]
        with self._lock:
            now = self.clock()
            if now >= self._next_sweep:
                self._sweep(now)
            return handler(self, op)

    async def _arun(self, op: _ops.Op[R]) -> R:
        return self._run(op)

    # --- key-value -------------------------------------------------------------------------
    def _kv_get(self, op: _ops.KvGet) -> bytes | None:
        space = self._namespaces.get(op.namespace)
        return None if space is None else space.get(op.key, op.now)

    def _kv_put(self, op: _ops.KvPut) -> None:
        space = self._namespaces.get(op.namespace)
        if space is None:
            space = self._namespaces[op.namespace] = _Namespace()
        space.put(op.key, op.value, op.expires_at, op.max_entries, op.now)

    def _kv_delete(self, op: _ops.KvDelete) -> bool:
        space = self._namespaces.get(op.namespace)
        if space is None:
            return False
        deleted = space.delete(op.key, op.now)
        self._drop_if_empty(op.namespace, space)
        return deleted

    def _kv_clear(self, op: _ops.KvClear) -> int:
        space = self._namespaces.get(op.namespace)
        if space is None:
            return 0
        cleared = space.clear(op.prefix, op.now)
        self._drop_if_empty(op.namespace, space)
        return cleared

    def _kv_count(self, op: _ops.KvCount) -> int:
        space = self._namespaces.get(op.namespace)
        if space is None:
            return 0
        space.prune(op.now)
        return len(space.entries)

    def _drop_if_empty(self, name: str, space: _Namespace) -> None:
        if not space.entries:
            del self._namespaces[name]

    # --- counters --------------------------------------------------------------------------
    def _counter(self, key: str, now: float, *, create: bool) -> _Counter | None:
        counter = self._counters.get(key)
        if counter is not None and counter.expires_at is not None and counter.expires_at <= now:
            del self._counters[key]
            counter = None
        if counter is None and create:
            counter = self._counters[key] = _Counter()
        return counter

    def _reserve(self, op: _ops.Reserve) -> Reservation | Refusal:
        return self._reserve_reading(op)[0]

    def _reserve_reading(
        self, op: _ops.Reserve
    ) -> tuple[Reservation | Refusal, tuple[Counter, ...]]:
        """The reservation (or refusal), and each hold's counter as it stood before."""
        seen = []
        for hold in op.holds:
            counter = self._counter(hold.key, op.now, create=False)
            spent, reserved = (0.0, 0.0) if counter is None else counter.read(op.now)
            seen.append(Counter(spent, reserved))
            if not fits(spent, reserved, op.amount, hold.limit):
                assert hold.limit is not None
                refusal = Refusal(hold.key, float(hold.limit), spent, reserved, op.amount)
                return refusal, tuple(seen)
        for hold in op.holds:
            counter = self._counter(hold.key, op.now, create=True)
            assert counter is not None
            counter.holds[op.id] = (op.amount, op.lease_end)
            if hold.expires_at is not None:
                counter.expires_at = hold.expires_at
        return op.granted(), tuple(seen)

    def _settle(self, op: _ops.Settle) -> bool:
        reservation = op.reservation
        if reservation.id in self._settled:
            return False
        self._settled[reservation.id] = max(reservation.expires_at, op.now) + SETTLED_RETENTION
        for hold in reservation.holds:
            counter = self._counter(hold.key, op.now, create=op.actual is not None)
            if counter is None:
                continue
            counter.holds.pop(reservation.id, None)
            if op.actual is not None:
                counter.spent += op.actual
                if hold.expires_at is not None:
                    counter.expires_at = hold.expires_at
        return True

    def _add(self, op: _ops.CounterAdd) -> float:
        counter = self._counter(op.key, op.now, create=True)
        assert counter is not None
        counter.spent += op.amount
        if op.expires_at is not None:
            counter.expires_at = op.expires_at
        return counter.spent

    def _read(self, op: _ops.CounterRead) -> Counter:
        counter = self._counter(op.key, op.now, create=False)
        return Counter() if counter is None else Counter(*counter.read(op.now))

    def _set(self, op: _ops.CounterSet) -> None:
        counter = self._counter(op.key, op.now, create=True)
        assert counter is not None
        counter.spent = op.spent
        if op.expires_at is not None:
            counter.expires_at = op.expires_at

    def _reset(self, op: _ops.CounterReset) -> None:
        self._counters.pop(op.key, None)

    # --- buckets ---------------------------------------------------------------------------
    def _bucket(self, key: str) -> Bucket | None:
        state = self._buckets.get(key)
        return None if state is None else state[:2]

    def _store_bucket(self, key: str, state: Bucket, rate: float, burst: float) -> None:
        self._buckets[key] = (*state, bucket_full_at(*state, rate, burst))

    def _take(self, op: _ops.BucketTake) -> Take:
        result, state = bucket_take(self._bucket(op.key), op.now, op.rate, op.burst, op.amount)
        if state is not None:
            self._store_bucket(op.key, state, op.rate, op.burst)
        return result

    def _adjust(self, op: _ops.BucketAdjust) -> float:
        state = bucket_adjust(self._bucket(op.key), op.now, op.rate, op.burst, op.amount)
        self._store_bucket(op.key, state, op.rate, op.burst)
        return state[0]

    # --- several at once --------------------------------------------------------------------
    def _admit(self, op: _ops.Admit) -> Admission:
        return admit(op, self._bucket, self._reserve_reading, self._store_bucket)

    def _many(self, op: _ops.Many) -> None:
        for inner in op.ops:
            _HANDLERS[type(inner)](self, inner)

    # --- logs ------------------------------------------------------------------------------
    def _append(self, op: _ops.LogAppend) -> str:
        stream = self._streams.get(op.stream)
        if stream is None:
            stream = self._streams[op.stream] = _Stream()
        return stream.append(op.record, op.max_len)

    def _log_read(self, op: _ops.LogRead) -> list[LogEntry]:
        after = None if op.after is None else sequence(op.after)
        stream = self._streams.get(op.stream)
        return [] if stream is None else stream.read(after, op.limit)

    # --- housekeeping ----------------------------------------------------------------------
    def _sweep(self, now: float) -> None:
        """Forget everything that expired, including where no operation looks any more."""
        self._next_sweep = now + SWEEP_INTERVAL
        for name, space in list(self._namespaces.items()):
            space.prune(now)
            self._drop_if_empty(name, space)
        for key in list(self._counters):
            counter = self._counter(key, now, create=False)
            if counter is not None:
                counter.read(now)  # drops lapsed holds
        self._settled = {rid: until for rid, until in self._settled.items() if until > now}
        self._buckets = {key: state for key, state in self._buckets.items() if state[2] > now}


class _Namespace:
    """One namespace's entries in least-recently-used order, and a heap of their expiries."""

    __slots__ = ("entries", "expiries")

    def __init__(self) -> None:
        self.entries: OrderedDict[str, tuple[bytes, float | None]] = OrderedDict()
        self.expiries: list[tuple[float, str]] = []

    def get(self, key: str, now: float) -> bytes | None:
        entry = self.entries.get(key)
        if entry is None:
            return None
        value, expires_at = entry
        if expires_at is not None and expires_at <= now:
            del self.entries[key]
            return None
        self.entries.move_to_end(key)
        return value

    def put(
        self, key: str, value: bytes, expires_at: float | None, bound: int | None, now: float
    ) -> None:
        self.prune(now)  # expired entries go before any live one is evicted
        self.entries[key] = (value, expires_at)
        self.entries.move_to_end(key)
        if expires_at is not None:
            heapq.heappush(self.expiries, (expires_at, key))
        while bound is not None and len(self.entries) > bound:
            self.entries.popitem(last=False)

    def delete(self, key: str, now: float) -> bool:
        entry = self.entries.pop(key, None)
        return entry is not None and (entry[1] is None or entry[1] > now)

    def clear(self, prefix: str | None, now: float) -> int:
        self.prune(now)
        if prefix is None:
            cleared = len(self.entries)
            self.entries.clear()
            self.expiries.clear()
            return cleared
        doomed = [key for key in self.entries if key.startswith(prefix)]
        for key in doomed:
            del self.entries[key]
        return len(doomed)

    def prune(self, now: float) -> None:
        expiries, entries = self.expiries, self.entries
        while expiries and expiries[0][0] <= now:
            expires_at, key = heapq.heappop(expiries)
            entry = entries.get(key)
            if entry is not None and entry[1] == expires_at:
                del entries[key]
        # Overwritten and evicted entries leave stale heap items: rebuild before they pile up.
        if len(expiries) > 2 * len(entries) + 64:
            self.expiries = [(e, key) for key, (_, e) in entries.items() if e is not None]
            heapq.heapify(self.expiries)


class _Counter:
    __slots__ = ("expires_at", "holds", "spent")

    def __init__(self) -> None:
        self.spent = 0.0
        self.expires_at: float | None = None
        self.holds: dict[str, tuple[float, float]] = {}  # reservation id -> amount, lease end

    def read(self, now: float) -> tuple[float, float]:
        """Spent and live reserved, dropping holds whose lease ended."""
        lapsed = [rid for rid, (_, lease_end) in self.holds.items() if lease_end <= now]
        for rid in lapsed:
            del self.holds[rid]
        return self.spent, sum((amount for amount, _ in self.holds.values()), 0.0)


class _Stream:
    __slots__ = ("first", "next", "records")

    def __init__(self) -> None:
        self.records: dict[int, bytes] = {}
        self.first = self.next = 1

    def append(self, record: bytes, bound: int | None) -> str:
        sequence = self.next
        self.records[sequence] = record
        self.next += 1
        while bound is not None and len(self.records) > bound:
            del self.records[self.first]
            self.first += 1
        return str(sequence)

    def read(self, after: int | None, limit: int) -> list[LogEntry]:
        start = self.first if after is None else max(after + 1, self.first)
        stop = min(start + limit, self.next)
        return [LogEntry(str(seq), self.records[seq]) for seq in range(start, stop)]


_HANDLERS: dict[type[Any], Callable[[MemoryStore, Any], Any]] = {
    _ops.KvGet: MemoryStore._kv_get,
    _ops.KvPut: MemoryStore._kv_put,
    _ops.KvDelete: MemoryStore._kv_delete,
    _ops.KvClear: MemoryStore._kv_clear,
    _ops.KvCount: MemoryStore._kv_count,
    _ops.Reserve: MemoryStore._reserve,
    _ops.Settle: MemoryStore._settle,
    _ops.CounterAdd: MemoryStore._add,
    _ops.CounterRead: MemoryStore._read,
    _ops.CounterSet: MemoryStore._set,
    _ops.CounterReset: MemoryStore._reset,
    _ops.BucketTake: MemoryStore._take,
    _ops.BucketAdjust: MemoryStore._adjust,
    _ops.LogAppend: MemoryStore._append,
    _ops.LogRead: MemoryStore._log_read,
    _ops.Admit: MemoryStore._admit,
    _ops.Many: MemoryStore._many,
}
