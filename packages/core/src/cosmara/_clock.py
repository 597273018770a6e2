"""The engine's sense of time: breaker cooldowns, retry waits and time-of-day rules.

Everything time-dependent in the engine asks one ``Clock`` so that tests (and simulations)
can swap in ``cosmara.testing.FakeClock`` and make hours of backoff and cooldown pass
instantly. Latencies are still measured with ``perf_counter``: they describe real traffic.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone

__all__ = ["Clock"]


class Clock:
    """Real time: ``time.monotonic`` for intervals, UTC wall time for rules, real sleeps."""

    def monotonic(self) -> float:
        return time.monotonic()

    def now(self) -> datetime:
        """Wall-clock time in UTC (what time-of-day and weekday rules look at)."""
        return datetime.now(timezone.utc)

    def time(self) -> float:
        """Wall-clock seconds since the epoch: ``now()`` as a number, for the state store's
        leases and periods and the ledger's rows (cheaper than a datetime). A subclass that
        changes ``now`` and not this keeps the two in step."""
        if type(self).now is not Clock.now:
            return self.now().timestamp()
        return time.time()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    async def asleep(self, seconds: float) -> None:
        import asyncio  # kept off `import cosmara`: only async callers need it

        await asyncio.sleep(seconds)
