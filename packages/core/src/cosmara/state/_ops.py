"""Operations as values: what the facets ask a backend to do, each one atomic.

A facet (``store.kv.get``, ``store.counters.reserve`` ...) validates its arguments, reads the
clock once and builds one of these; the backend runs it whole, in one lock, one SQLite
transaction or one Redis script. Sync and async share everything but that last step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from cosmara.state._types import Admission, Counter, Hold, LogEntry, Refusal, Reservation, Take

__all__ = [
    "Admit",
    "BucketAdjust",
    "BucketTake",
    "CounterAdd",
    "CounterRead",
    "CounterReset",
    "CounterSet",
    "KvClear",
    "KvCount",
    "KvDelete",
    "KvGet",
    "KvPut",
    "LogAppend",
    "LogRead",
    "Many",
    "Op",
    "Reserve",
    "Settle",
]

R = TypeVar("R")


class Op(Generic[R]):
    """An operation whose result is an ``R``."""

    __slots__ = ()


# --- key-value -----------------------------------------------------------------------------
@dataclass(slots=True)
class KvGet(Op[bytes | None]):
    namespace: str
    key: str
    now: float


@dataclass(slots=True)
class KvPut(Op[None]):
    namespace: str
    key: str
    value: bytes
    expires_at: float | None
    max_entries: int | None
    now: float


@dataclass(slots=True)
class KvDelete(Op[bool]):
    namespace: str
    key: str
    now: float


@dataclass(slots=True)
class KvClear(Op[int]):
    namespace: str
    prefix: str | None
    now: float


@dataclass(slots=True)
class KvCount(Op[int]):
    namespace: str
    now: float


# --- counters ------------------------------------------------------------------------------
@dataclass(slots=True)
class Reserve(Op[Reservation | Refusal]):
    id: str
    holds: tuple[Hold, ...]
    amount: float
    lease_end: float
    now: float

    def granted(self) -> Reservation:
        return Reservation(self.id, self.holds, self.amount, self.lease_end)


@dataclass(slots=True)
class Settle(Op[bool]):
    """Commit (``actual`` is the amount spent) or release (``actual`` is None) a reservation."""

    reservation: Reservation
    actual: float | None
    now: float


@dataclass(slots=True)
class CounterAdd(Op[float]):
    key: str
    amount: float
    expires_at: float | None
    now: float


@dataclass(slots=True)
class CounterRead(Op[Counter]):
    key: str
    now: float


@dataclass(slots=True)
class CounterSet(Op[None]):
    key: str
    spent: float
    expires_at: float | None
    now: float


@dataclass(slots=True)
class CounterReset(Op[None]):
    key: str
    now: float


# --- rate-limit buckets --------------------------------------------------------------------
@dataclass(slots=True)
class BucketTake(Op[Take]):
    key: str
    rate: float
    burst: float
    amount: float
    now: float


@dataclass(slots=True)
class BucketAdjust(Op[float]):
    key: str
    rate: float
    burst: float
    amount: float
    now: float


# --- logs ----------------------------------------------------------------------------------
@dataclass(slots=True)
class LogAppend(Op[str]):
    stream: str
    record: bytes
    max_len: int | None


@dataclass(slots=True)
class LogRead(Op[list[LogEntry]]):
    stream: str
    after: str | None
    limit: int


# --- several at once -----------------------------------------------------------------------
@dataclass(slots=True)
class Admit(Op[Admission]):
    """Take from every bucket and reserve on every hold, or do nothing: one atomic step."""

    takes: tuple[BucketTake, ...]
    reserve: Reserve | None
    now: float


@dataclass(slots=True)
class Many(Op[None]):
    """Writes run together (one lock, one transaction, one round trip); nobody waits for their
    answers."""

    ops: tuple[Op[Any], ...]
