"""Shared state for the cache, budgets, rate limits and the usage ledger.

One ``StateStore`` offers four interfaces, ``kv`` (entries with TTLs and an LRU bound),
``counters`` (atomic reservations against limits), ``buckets`` (token-bucket rate limits) and
``log`` (append-only streams read from a cursor), over one of three backends: ``MemoryStore``
(this process), ``SQLiteStore`` (the processes of one machine) and ``RedisStore`` (many
machines). ``open_store(StateSettings(...))`` picks one from configuration. Importing this
package loads neither sqlite3 nor redis: a backend loads its library when it is opened.

>>> from cosmara.state import Hold, open_store
>>> store = open_store()  # memory
>>> store.counters.reserve(0.25, [Hold("budget:team:support", limit=10.0)], lease=60)
"""

from cosmara.state._base import Clock, StateStore
from cosmara.state._facets import Buckets, Counters, KeyValues, Log
from cosmara.state._memory import MemoryStore
from cosmara.state._redis import RedisStore
from cosmara.state._settings import StateSettings, open_store
from cosmara.state._sqlite import SQLiteStore
from cosmara.state._types import (
    Counter,
    Hold,
    LogEntry,
    Refusal,
    Reservation,
    StateStoreError,
    Take,
)

__all__ = [
    "Buckets",
    "Clock",
    "Counter",
    "Counters",
    "Hold",
    "KeyValues",
    "Log",
    "LogEntry",
    "MemoryStore",
    "RedisStore",
    "Refusal",
    "Reservation",
    "SQLiteStore",
    "StateSettings",
    "StateStore",
    "StateStoreError",
    "Take",
    "open_store",
]
