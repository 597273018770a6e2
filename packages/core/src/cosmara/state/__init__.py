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

from typing import TYPE_CHECKING

from cosmara._errors import StateStoreError
from cosmara._lazy import lazy_exports
from cosmara.state._settings import StateSettings, open_store

if TYPE_CHECKING:
    from cosmara.state._base import Clock, StateStore
    from cosmara.state._batch import Batch
    from cosmara.state._facets import Buckets, Counters, KeyValues, Log
    from cosmara.state._memory import MemoryStore
    from cosmara.state._redis import RedisStore
    from cosmara.state._sqlite import SQLiteStore
    from cosmara.state._types import (
        Admission,
        Counter,
        Draw,
        Hold,
        LogEntry,
        Refusal,
        Reservation,
        Take,
    )

# The stores, their interfaces and their value types load when first named: a client whose
# configuration only mentions [state] does not pay for code it may never run.
_LAZY = {
    "Admission": "cosmara.state._types",
    "Counter": "cosmara.state._types",
    "Draw": "cosmara.state._types",
    "Hold": "cosmara.state._types",
    "LogEntry": "cosmara.state._types",
    "Refusal": "cosmara.state._types",
    "Reservation": "cosmara.state._types",
    "Take": "cosmara.state._types",
    "Batch": "cosmara.state._batch",
    "Clock": "cosmara.state._base",
    "StateStore": "cosmara.state._base",
    "Buckets": "cosmara.state._facets",
    "Counters": "cosmara.state._facets",
    "KeyValues": "cosmara.state._facets",
    "Log": "cosmara.state._facets",
    "MemoryStore": "cosmara.state._memory",
    "RedisStore": "cosmara.state._redis",
    "SQLiteStore": "cosmara.state._sqlite",
}


__getattr__ = lazy_exports(__name__, _LAZY)


__all__ = [
    "Admission",
    "Batch",
    "Buckets",
    "Clock",
    "Counter",
    "Counters",
    "Draw",
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
