"""``Batch``: writes that nobody waits for (settling a reservation, correcting a bucket,
appending a log record) run together, in one lock, one SQLite transaction or one Redis round
trip, instead of one each."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cosmara.state import _ops
from cosmara.state._types import Reservation

if TYPE_CHECKING:
    from cosmara.state._base import StateStore

__all__ = ["Batch"]


class Batch:
    """Writes queued now and run by ``run()`` / ``arun()`` in the order queued.

    Each write is checked as its facet method checks it (``ValueError`` / ``TypeError`` when
    queued) and is atomic by itself; on memory and SQLite the whole batch is atomic too. On
    Redis it is one pipelined round trip of atomic scripts. Their answers are not returned.
    """

    __slots__ = ("_ops", "_store")

    def __init__(self, store: StateStore) -> None:
        self._store = store
        self._ops: list[_ops.Op[Any]] = []

    def __len__(self) -> int:
        return len(self._ops)

    def commit(self, reservation: Reservation, actual: float) -> None:
        """As ``counters.commit``."""
        counters = self._store.counters
        self._ops.append(counters._settle(reservation, counters._actual(actual)))

    def release(self, reservation: Reservation) -> None:
        """As ``counters.release``."""
        self._ops.append(self._store.counters._settle(reservation, None))

    def adjust(self, key: str, amount: float, *, rate: float, burst: float) -> None:
        """As ``buckets.adjust``."""
        self._ops.append(self._store.buckets._adjust(key, amount, rate, burst))

    def append(self, stream: str, record: bytes, *, max_len: int | None = None) -> None:
        """As ``log.append``."""
        self._ops.append(self._store.log._append(stream, record, max_len))

    def run(self) -> None:
        """Run the queued writes, then forget them."""
        ops, self._ops = tuple(self._ops), []
        if ops:
            self._store._run(_ops.Many(ops) if len(ops) > 1 else ops[0])

    async def arun(self) -> None:
        ops, self._ops = tuple(self._ops), []
        if ops:
            await self._store._arun(_ops.Many(ops) if len(ops) > 1 else ops[0])
