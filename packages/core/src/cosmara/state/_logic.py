"""The decisions the memory and SQLite backends share (the Redis scripts restate them in Lua).

Everything here is pure: numbers in, numbers out, no clock and no storage.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

from cosmara.state._types import Admission, Counter, Refusal, Reservation, Take

if TYPE_CHECKING:
    from cosmara.state._ops import Admit, Reserve

Bucket = tuple[float, float]  # a bucket's stored (level, at)

__all__ = [
    "SETTLED_RETENTION",
    "SWEEP_INTERVAL",
    "Bucket",
    "admit",
    "bucket_adjust",
    "bucket_full_at",
    "bucket_take",
    "fits",
    "sequence",
]

# A settled reservation is remembered this long after its lease ends, so a repeated commit or
# release within that time is recognised and ignored instead of counted twice.
SETTLED_RETENTION = 3600.0
# How often (seconds of the store's clock) a store deletes what expired in places no operation
# touches any more: namespaces, counters and buckets nobody reads again.
SWEEP_INTERVAL = 60.0
# Binary fractions do not add up exactly (0.1 + 0.2 > 0.3): a limit is met when it is exceeded
# by less than this. Far below a cent and below one token.
_SLACK = 1e-9


def fits(spent: float, reserved: float, amount: float, limit: float | None) -> bool:
    """Whether reserving ``amount`` keeps ``spent + reserved`` within ``limit``."""
    return limit is None or spent + reserved + amount <= limit + _SLACK * max(1.0, abs(limit))


def _level(state: tuple[float, float] | None, now: float, rate: float, burst: float) -> float:
    """Tokens in a bucket at ``now``: its stored ``(level, at)`` refilled at ``rate``, capped at
    ``burst``. An absent bucket is full."""
    if state is None:
        return burst
    level, at = state
    return min(burst, level + max(0.0, now - at) * rate)


def bucket_take(
    state: tuple[float, float] | None, now: float, rate: float, burst: float, amount: float
) -> tuple[Take, tuple[float, float] | None]:
    """Take ``amount`` tokens if the bucket holds them: the answer and the new ``(level, at)``
    (None when nothing changes)."""
    level = _level(state, now, rate, burst)
    if amount > burst:
        return Take(False, math.inf, level), None
    if level + _SLACK >= amount:
        return Take(True, 0.0, level - amount), (level - amount, now)
    return Take(False, (amount - level) / rate, level), None


def bucket_adjust(
    state: tuple[float, float] | None, now: float, rate: float, burst: float, amount: float
) -> tuple[float, float]:
    """Take ``amount`` more tokens whatever the level (negative gives tokens back, up to a full
    bucket): the new ``(level, at)``. The level may go below zero: a debt later takes wait out."""
    return (min(burst, _level(state, now, rate, burst) - amount), now)


def bucket_full_at(level: float, at: float, rate: float, burst: float) -> float:
    """When a bucket refills to ``burst``; from then on it is the same as an absent one."""
    return at + (burst - level) / rate


def admit(
    op: Admit,
    bucket: Callable[[str], Bucket | None],
    reserve: Callable[[Reserve], tuple[Reservation | Refusal, tuple[Counter, ...]]],
    store: Callable[[str, Bucket, float, float], None],
) -> Admission:
    """Every bucket's draw and the reservation, or nothing: the draws are written (``store``)
    only once each bucket had room and the reservation (if any) fitted. ``bucket`` reads a
    stored bucket, ``reserve`` reserves and says how each counter stood before; the caller
    runs it all under its lock or in one transaction."""
    takes: list[Take] = []
    states = []
    for take in op.takes:
        result, state = bucket_take(bucket(take.key), op.now, take.rate, take.burst, take.amount)
        takes.append(result)
        if state is None:
            return Admission(tuple(takes), None, ())
        states.append(state)
    reservation: Reservation | Refusal | None = None
    counters: tuple[Counter, ...] = ()
    if op.reserve is not None:
        reservation, counters = reserve(op.reserve)
        if isinstance(reservation, Refusal):  # nothing was written
            return Admission(tuple(takes), reservation, counters)
    for take, state in zip(op.takes, states, strict=True):
        store(take.key, state, take.rate, take.burst)
    return Admission(tuple(takes), reservation, counters)


def sequence(cursor: str) -> int:
    """The record number in a log cursor of the memory and SQLite stores.

    Raises:
        ValueError: the cursor did not come from such a store.
    """
    if not (cursor.isascii() and cursor.isdigit()):
        raise ValueError(f"not a cursor of this store: {cursor!r}")
    return int(cursor)
