"""The values the stores take and give back, the same for every backend."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from cosmara._errors import StateStoreError

__all__ = [
    "Admission",
    "Counter",
    "Draw",
    "Hold",
    "LogEntry",
    "Refusal",
    "Reservation",
    "StateStoreError",
    "Take",
]


@dataclass(frozen=True)
class Hold:
    """One counter a reservation must fit under.

    Attributes:
        key: the counter (for example ``"budget:team:support:2026-01"``).
        limit: the most ``spent + reserved`` may reach; ``None`` reserves without a limit (the
            amount still counts as reserved, for the other readers of the counter).
        expires_at: when the counter itself ends (its period's end plus a grace), in wall-clock
            seconds; the store forgets it then. ``None`` keeps it, or keeps the expiry it had.
    """

    key: str
    limit: float | None = None
    expires_at: float | None = None


@dataclass(frozen=True)
class Reservation:
    """A granted reservation: ``amount`` held on every counter of ``holds`` until settled or
    until its lease ends (``expires_at``, wall-clock seconds)."""

    id: str
    holds: tuple[Hold, ...]
    amount: float
    expires_at: float

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(hold.key for hold in self.holds)


@dataclass(frozen=True)
class Refusal:
    """A reservation that did not fit: the first counter (in the order given) that refused it.
    Nothing was reserved on any counter."""

    key: str
    limit: float
    spent: float
    reserved: float
    amount: float

    @property
    def available(self) -> float:
        """What could still be reserved on this counter (never negative)."""
        return max(0.0, self.limit - self.spent - self.reserved)


@dataclass(frozen=True)
class Counter:
    """A counter as read now: settled ``spent`` and the live (unexpired) ``reserved`` holds."""

    spent: float = 0.0
    reserved: float = 0.0

    @property
    def total(self) -> float:
        return self.spent + self.reserved


@dataclass(frozen=True)
class Take:
    """The answer of a rate-limit bucket.

    Attributes:
        allowed: whether the tokens were taken.
        retry_after: seconds until the same take would be allowed (0 when allowed;
            ``math.inf`` when ``amount`` exceeds the burst and never can be).
        remaining: tokens left in the bucket after this take (negative while in debt).
    """

    allowed: bool
    retry_after: float
    remaining: float


@dataclass(frozen=True)
class Draw:
    """Tokens to take from one bucket as part of ``store.admit`` (see ``Buckets.take``)."""

    key: str
    amount: float
    rate: float
    burst: float


@dataclass(frozen=True)
class Admission:
    """The answer of ``store.admit``: every bucket drawn from and the reservation held, or
    nothing at all.

    Attributes:
        takes: each draw's ``Take`` in the order given; after a refusal, up to the one that
            refused (nothing was taken from any of them).
        reservation: the ``Reservation``, or the ``Refusal`` (nothing was held or taken), or
            None when no holds were asked for or a bucket refused first.
        counters: each hold's counter as it stood before this reservation (empty when a bucket
            refused first).
    """

    takes: tuple[Take, ...]
    reservation: Reservation | Refusal | None
    counters: tuple[Counter, ...]

    @property
    def allowed(self) -> bool:
        return all(take.allowed for take in self.takes) and not isinstance(
            self.reservation, Refusal
        )


class LogEntry(NamedTuple):
    """One record of a log stream and the cursor to read after it."""

    cursor: str
    record: bytes
