"""Circuit breakers shared through the state store (``[breaker] shared = true``).

A breaker is per client, in memory. With sharing on, a breaker this client opens is appended to
the store's ``breakers`` log with the wall-clock time it stays open until, on the way back of
the call that opened it (so the async drivers await that write instead of blocking the loop on
it inside an attempt); and before a request is routed, this stage reads (at most every
``shared_every_seconds``) what other clients sharing the store opened, and holds those breakers
open here too until then. So every process skips a provider that one of them saw fail, instead
of each paying its own run of failures to learn it. After the time is up each process probes
the target as usual.

Sharing never fails a request: a store that cannot be read or written is logged and skipped.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from cosmara.pipeline._call import Call, Outcome
from cosmara.pipeline._stage import Stage

if TYPE_CHECKING:
    from cosmara._clock import Clock
    from cosmara._health import HealthMonitor
    from cosmara.state import LogEntry, StateStore

__all__ = ["SharedBreakers"]

logger = logging.getLogger("cosmara.health")

STREAM = "breakers"
_KEPT = 1000  # opened breakers the log keeps: enough for every target of every process


class SharedBreakers(Stage):
    name = "breakers"

    def __init__(
        self,
        health: HealthMonitor,
        store: Callable[[], StateStore],
        clock: Clock,
        *,
        cooldown: float,
        every: float,
    ) -> None:
        self._health = health
        self._store = store
        self._clock = clock
        self._cooldown = cooldown
        self._every = every
        self._me = uuid.uuid4().hex  # this client, so it skips what it published itself
        self._cursor: str | None = None
        self._next_read = -math.inf
        self._reading = threading.Lock()
        self._elsewhere: dict[str, float] = {}  # target -> until (wall clock), opened by others
        self._unsent: list[bytes] = []  # breakers opened here, for the next call settling
        self._unsent_lock = threading.Lock()

    # --- publishing -------------------------------------------------------------------------
    def opened(self, target: str) -> None:
        """This client's breaker of ``target`` opened (during an attempt): the others are told
        when the call settles (unless it opened because another client's did)."""
        now = self._clock.time()
        if self._elsewhere.get(target, -math.inf) > now:
            return
        record = {"target": target, "until": now + self._cooldown, "by": self._me}
        with self._unsent_lock:
            self._unsent.append(json.dumps(record).encode())

    def after(self, call: Call, outcome: Outcome) -> None:
        for record in self._take_unsent():
            try:
                self._store().log.append(STREAM, record, max_len=_KEPT)
            except Exception as error:  # sharing is best effort: the breaker works here anyway
                _unshared(error)

    async def aafter(self, call: Call, outcome: Outcome) -> None:
        for record in self._take_unsent():
            try:
                await self._store().log.aappend(STREAM, record, max_len=_KEPT)
            except Exception as error:
                _unshared(error)

    def _take_unsent(self) -> list[bytes]:
        if not self._unsent:
            return []
        with self._unsent_lock:
            records, self._unsent = self._unsent, []
        return records

    # --- following --------------------------------------------------------------------------
    def before(self, call: Call) -> None:
        if self._due() and self._reading.acquire(blocking=False):
            try:
                self._apply(self._store().log.read(STREAM, after=self._cursor, limit=_KEPT))
            except Exception as error:
                logger.warning("could not read the shared breakers: %s", error)
            finally:
                self._reading.release()

    async def abefore(self, call: Call) -> None:
        if self._due() and self._reading.acquire(blocking=False):
            try:
                entries = await self._store().log.aread(STREAM, after=self._cursor, limit=_KEPT)
                self._apply(entries)
            except Exception as error:
                logger.warning("could not read the shared breakers: %s", error)
            finally:
                self._reading.release()

    def _due(self) -> bool:
        now = self._clock.monotonic()
        if now < self._next_read:
            return False
        self._next_read = now + self._every
        return True

    def _apply(self, entries: list[LogEntry]) -> None:
        now = self._clock.time()
        for entry in entries:
            self._cursor = entry.cursor
            record: Any = _parsed(entry.record)
            if record is None or record.get("by") == self._me:
                continue
            target, until = record.get("target"), record.get("until")
            if not isinstance(target, str) or not isinstance(until, (int, float)):
                continue
            if until > now:
                self._elsewhere[target] = until
                self._health.open_elsewhere(target, until - now)
        self._elsewhere = {t: u for t, u in self._elsewhere.items() if u > now}


def _unshared(error: Exception) -> None:
    logger.warning("could not share the breaker it opened: %s", error)


def _parsed(record: bytes) -> Any:
    try:
        value = json.loads(record)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
