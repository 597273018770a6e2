"""``track_cost()``: what the requests made inside a block cost, whichever surface made them.

A LangChain chain, a LlamaIndex query engine or an agent makes several calls behind one
``invoke`` or ``query``; none of their results says what all of them cost together. The
engine's events stage reports every request's outcome here once (``record``), and each
``Spend`` open in the current context adds it up. The open trackers live in a context
variable, so asyncio tasks started inside the block, and threads started with a copy of its
context (LangChain's executors, ``contextvars.copy_context().run``), count towards it too.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

__all__ = ["Spend", "record", "track_cost"]

_OPEN: ContextVar[tuple[Spend, ...]] = ContextVar("cosmara_spend", default=())


class Spend:
    """What the requests of a ``track_cost()`` block cost, so far. Thread-safe.

    Attributes:
        usd: dollars paid: every priced answer, and what a stream cut after its first tokens
            had already cost. Unpriced answers (a model missing from the catalog) add
            nothing here; ``unpriced`` counts them.
        saved_usd: dollars not paid: cache hits' original cost (and, where the engine reports
            it, a downgrade's difference).
        calls: requests answered (by a provider or the cache).
        cache_hits: of those, answered from the cache.
        unpriced: of those, answered without a known price.
        failed: requests that ended in an error (also when a configured fallback message
            stood in for the answer).
    """

    def __init__(self) -> None:
        self.usd = 0.0
        self.saved_usd = 0.0
        self.calls = 0
        self.cache_hits = 0
        self.unpriced = 0
        self.failed = 0
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return (
            f"Spend(usd={self.usd:.8f}, saved_usd={self.saved_usd:.8f}, calls={self.calls}, "
            f"cache_hits={self.cache_hits}, unpriced={self.unpriced}, failed={self.failed})"
        )

    def _add_answer(self, cost: float | None, saved: float | None, hit: bool) -> None:
        with self._lock:
            self.calls += 1
            self.cache_hits += hit
            if cost is None:
                self.unpriced += 1
            else:
                self.usd += cost
            self.saved_usd += saved or 0.0

    def _add_failure(self, cost: float | None) -> None:
        with self._lock:
            self.failed += 1
            self.usd += cost or 0.0


@contextmanager
def track_cost(spend: Spend | None = None) -> Iterator[Spend]:
    """Add up what the requests made inside the block cost::

        with cosmara.track_cost() as spend:
            chain.invoke(...)
        print(spend.usd, spend.calls, spend.saved_usd)

    Blocks nest: a request counts towards every block it is made in. Pass an existing
    ``spend`` to add to it again (in a thread started without a copy of the context, say).
    """
    spend = Spend() if spend is None else spend
    token = _OPEN.set((*_OPEN.get(), spend))
    try:
        yield spend
    finally:
        _OPEN.reset(token)


def record(response: Any, error: Any) -> None:
    """One request's outcome, for every open ``Spend``: the engine calls this once per
    request (its events stage), with the answer, the error, or both (a fallback message
    standing in for a failure)."""
    open_now = _OPEN.get()
    if not open_now:
        return
    if error is not None:
        cost = getattr(error, "cost_usd", None)
        for spend in open_now:
            spend._add_failure(cost)
        return
    meta = getattr(response, "cosmara", None)
    if meta is None:
        return
    hit = meta.cache == "hit"
    for spend in open_now:
        spend._add_answer(meta.cost_usd, meta.cost_saved_usd, hit)
