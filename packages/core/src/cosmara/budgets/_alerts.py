"""Budget alerts: each threshold once per period, to the plugins' ``cosmara_budget_alert`` and,
when configured, a webhook sent in the background with retries (it never delays or fails a
request)."""

from __future__ import annotations

import json
import logging
import queue
import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from cosmara._secrets import Secret

__all__ = ["BudgetAlert", "Webhook"]

logger = logging.getLogger("cosmara.budgets")

_QUEUED = 1000  # alerts waiting for the webhook; past it the oldest are dropped (and logged)
_TRIES = 4


@dataclass(frozen=True)
class BudgetAlert:
    """A budget reached a threshold this period."""

    budget: str
    level: str
    value: str
    threshold: float  # percent
    action: str
    percent: float
    spent_usd: float
    amount_usd: float
    resets_at: datetime | None

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["resets_at"] = None if self.resets_at is None else self.resets_at.isoformat()
        return data


class Webhook:
    """POSTs alerts as JSON to ``url`` from one daemon thread, retrying with backoff."""

    def __init__(self, url: str, headers: Mapping[str, Secret]) -> None:
        self._url = url
        self._headers = dict(headers)
        self._queue: queue.Queue[BudgetAlert | None] = queue.Queue(maxsize=_QUEUED)
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._closing = threading.Event()  # no more waiting between tries

    def send(self, alert: BudgetAlert) -> None:
        """Queue ``alert``; returns at once."""
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="cosmara-budget-webhook", daemon=True
                )
                self._thread.start()
        while True:
            try:
                self._queue.put_nowait(alert)
                return
            except queue.Full:
                try:
                    dropped = self._queue.get_nowait()
                    logger.warning("budget webhook backlog full: dropped an alert (%s)", dropped)
                except queue.Empty:
                    pass

    def close(self, timeout: float = 2.0) -> None:
        """Give each queued alert one more try, for up to ``timeout`` seconds, then stop."""
        thread = self._thread
        if thread is None:
            return
        self._closing.set()
        try:
            self._queue.put(None, timeout=timeout)
        except queue.Full:
            return  # the daemon thread ends with the process
        thread.join(timeout)

    def _run(self) -> None:
        import httpx

        headers = {"content-type": "application/json", "user-agent": "cosmara"}
        with httpx.Client(timeout=10.0, follow_redirects=False) as http:
            while True:
                alert = self._queue.get()
                if alert is None:
                    return
                body = json.dumps({"type": "budget_alert", **alert.as_json()}).encode()
                sent = {**headers, **{k: v.get() or "" for k, v in self._headers.items()}}
                for attempt in range(_TRIES):
                    try:
                        response = http.post(self._url, content=body, headers=sent)
                        if response.status_code < 500 and response.status_code != 429:
                            break
                    except Exception as error:  # whatever it is, an alert must not kill its thread
                        logger.debug("budget webhook: %s", type(error).__name__)
                    if self._closing.wait(0.5 * 2**attempt):
                        break
                else:
                    logger.warning(
                        "budget webhook: gave up on an alert for %r after %d tries",
                        alert.budget,
                        _TRIES,
                    )
