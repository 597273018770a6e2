"""``FakeClock``: time that passes only when told to, for tests of cooldowns and backoff."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

from cosmara._clock import Clock

__all__ = ["FakeClock"]


class FakeClock(Clock):
    """A ``Clock`` whose time moves only through ``advance`` and the engine's own sleeps.

    Pass it as ``Cosmara(..., clock=FakeClock())``: a retry that would wait 20 s returns at
    once with the clock 20 s later (``slept`` lists every wait asked for), and a breaker's
    cooldown ends when the test advances the clock past it.

    Args:
        start: the wall-clock time ``now()`` reports before any time has passed (UTC).
    """

    def __init__(self, start: datetime | None = None) -> None:
        self._start = start or datetime(2026, 1, 5, 12, 0, tzinfo=timezone.utc)  # a Monday
        self._elapsed = 0.0
        self._lock = threading.Lock()
        self.slept: list[float] = []

    def __repr__(self) -> str:
        return f"FakeClock(now={self.now().isoformat()})"

    def advance(self, seconds: float) -> None:
        """Let ``seconds`` pass."""
        if seconds < 0:
            raise ValueError("time does not run backwards")
        with self._lock:
            self._elapsed += seconds

    def monotonic(self) -> float:
        return self._elapsed

    def now(self) -> datetime:
        return self._start + timedelta(seconds=self._elapsed)

    def time(self) -> float:
        return self._start.timestamp() + self._elapsed

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.advance(seconds)

    async def asleep(self, seconds: float) -> None:
        import asyncio

        self.sleep(seconds)
        await asyncio.sleep(0)  # still a suspension point, as a real sleep would be
