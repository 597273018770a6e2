"""An exact namespace: the entry under the request's key, or nothing."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cosmara._context import RequestContext
from cosmara._messages import ChatRequest
from cosmara.cache._entry import Entry
from cosmara.cache._keys import exact_key, scope_of
from cosmara.cache._settings import NamespaceSettings

if TYPE_CHECKING:
    from cosmara.state import StateStore

__all__ = ["ExactCache", "Hit", "Probe"]


@dataclass
class Probe:
    """What a lookup worked out, kept for storing the answer after a miss."""

    key: str
    question: str | None = None
    partition: str | None = None
    vector: Any = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Hit:
    entry: Entry
    similarity: float | None = None  # None: the very same request


class ExactCache:
    kind = "exact"

    def __init__(self, name: str, settings: NamespaceSettings, store: StateStore) -> None:
        self.name = name
        self.settings = settings
        self._store = store
        self._space = f"cache:{name}"

    def probe(self, request: ChatRequest, context: RequestContext) -> Probe | None:
        """What to look up for ``request``, None when it cannot be cached here."""
        scope = scope_of(self.settings.scope, context)
        return Probe(exact_key(request, self.name, scope))

    def lookup(self, probe: Probe) -> Hit | None:
        raw = self._store.kv.get(self._space, probe.key)
        return _hit(raw)

    async def alookup(self, probe: Probe) -> Hit | None:
        raw = await self._store.kv.aget(self._space, probe.key)
        return _hit(raw)

    def store(self, probe: Probe, entry: Entry, ttl: float | None) -> None:
        self._store.kv.put(
            self._space, probe.key, entry.dumps(), ttl=ttl, max_entries=self.settings.max_entries
        )

    async def astore(self, probe: Probe, entry: Entry, ttl: float | None) -> None:
        await self._store.kv.aput(
            self._space, probe.key, entry.dumps(), ttl=ttl, max_entries=self.settings.max_entries
        )

    def clear(self, scope: str | None = None) -> int:
        """Drop the namespace's entries, or those of one scope and the scopes within it
        (``org:acme`` covers ``org:acme/team:support``, not ``org:acme2``; ``*``, the global
        scope, covers every one). ``scope`` is as keys begin (``scope_key``)."""
        kv = self._store.kv
        if scope is None or scope == "*":
            return kv.clear(self._space)
        return kv.clear(self._space, prefix=f"{scope}|") + kv.clear(self._space, prefix=f"{scope}/")

    def count(self) -> int:
        return self._store.kv.count(self._space)


def _hit(raw: bytes | None) -> Hit | None:
    if raw is None:
        return None
    entry = Entry.loads(raw)
    return None if entry is None else Hit(entry)
