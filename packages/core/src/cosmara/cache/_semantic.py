"""A semantic namespace: an equivalent question's answer, found by meaning within the partition
of requests that must match exactly (model, parameters, system prompt, earlier turns, tools,
response format, scope), and confirmed by a verifier.

The partition is chosen before the vector search (only its entries are searched, so entries
of other models or scopes can never crowd out the right one). Entries live in the state store
(shared by every process using it); each process keeps a local vector index that follows the
store's log, so an entry one process writes is found by another's next lookup.
"""

from __future__ import annotations

import base64
import json
import threading
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from cosmara._context import RequestContext
from cosmara._messages import ChatRequest
from cosmara.cache._entry import Entry
from cosmara.cache._exact import ExactCache, Hit, Probe
from cosmara.cache._keys import exact_key, scope_of, semantic_parts
from cosmara.cache._settings import NamespaceSettings
from cosmara.state import LogEntry

if TYPE_CHECKING:
    from cosmara.semantic import Embedder, PartitionedIndex, Verifier
    from cosmara.state import StateStore

__all__ = ["SemanticCache"]

_CANDIDATES = 4  # the nearest entries a verifier may look at before the lookup gives up
_READ_BATCH = 500
_UNBOUNDED_INDEX = 100_000  # the local index's bound when the namespace sets none


class SemanticCache(ExactCache):
    kind = "semantic"

    def __init__(
        self,
        name: str,
        settings: NamespaceSettings,
        store: StateStore,
        embedder: Embedder,
        verifier: Verifier | None,
    ) -> None:
        super().__init__(name, settings, store)
        self.embedder = embedder
        self._verifier = verifier
        self._stream = f"cache:{name}:entries"
        self._index: PartitionedIndex | None = None
        self._keys: OrderedDict[tuple[str, str], None] = OrderedDict()  # oldest first
        self._cursor: str | None = None
        self._lock = threading.Lock()
        self._bound = settings.max_entries or _UNBOUNDED_INDEX

    def probe(self, request: ChatRequest, context: RequestContext) -> Probe | None:
        scope = scope_of(self.settings.scope, context)
        key = exact_key(request, self.name, scope)
        parts = semantic_parts(request, self.name, scope, self.settings.embed)
        if parts is None:
            return Probe(key)  # not a question of text: the exact key still applies
        partition, question = parts
        return Probe(key, question, f"{self.embedder.name}|{partition}")

    def lookup(self, probe: Probe) -> Hit | None:
        exact = super().lookup(probe)
        if exact is not None or probe.partition is None:
            self._touch(probe.partition, probe.key, exact)
            return exact
        self._follow(self._store.log.read)
        assert probe.question is not None
        probe.vector = self.embedder.embed([probe.question])[0]
        return self._match(probe, self._store.kv.get)

    async def alookup(self, probe: Probe) -> Hit | None:
        exact = await super().alookup(probe)
        if exact is not None or probe.partition is None:
            self._touch(probe.partition, probe.key, exact)
            return exact
        await self._afollow()
        assert probe.question is not None
        probe.vector = (await self.embedder.aembed([probe.question]))[0]
        hit = None
        for key, similarity in self._nearest(probe):
            raw = await self._store.kv.aget(self._space, key)
            hit = self._verified(probe, key, raw, similarity)
            if hit is not None:
                break
        return hit

    def store(self, probe: Probe, entry: Entry, ttl: float | None) -> None:
        super().store(probe, entry, ttl)
        if probe.vector is None and probe.question is not None:  # stored without a lookup
            probe.vector = self.embedder.embed([probe.question])[0]
        record = self._record(probe)
        if record is not None:
            self._store.log.append(self._stream, record, max_len=self._bound * 2)
            self._add(probe.partition, probe.key, probe.vector)

    async def astore(self, probe: Probe, entry: Entry, ttl: float | None) -> None:
        await super().astore(probe, entry, ttl)
        if probe.vector is None and probe.question is not None:  # stored without a lookup
            probe.vector = (await self.embedder.aembed([probe.question]))[0]
        record = self._record(probe)
        if record is not None:
            await self._store.log.aappend(self._stream, record, max_len=self._bound * 2)
            self._add(probe.partition, probe.key, probe.vector)

    def clear(self, scope: str | None = None) -> int:
        dropped = super().clear(scope)
        with self._lock:  # the log still names them: lookups drop keys whose entry is gone
            stale = [pair for pair in self._keys if scope in (None, "*") or _within(pair[1], scope)]
        for partition, key in stale:
            self._forget(partition, key)
        return dropped

    # --- matching -------------------------------------------------------------------------
    def _match(self, probe: Probe, get: Any) -> Hit | None:
        for key, similarity in self._nearest(probe):
            hit = self._verified(probe, key, get(self._space, key), similarity)
            if hit is not None:
                return hit
        return None

    def _nearest(self, probe: Probe) -> list[tuple[str, float]]:
        index = self._index
        if index is None or probe.partition is None:
            return []
        return index.search(
            probe.partition, probe.vector, _CANDIDATES, min_similarity=self.settings.threshold
        )

    def _verified(self, probe: Probe, key: str, raw: bytes | None, similarity: float) -> Hit | None:
        entry = None if raw is None else Entry.loads(raw)
        if entry is None:  # expired, evicted or cleared: the index forgets it too
            assert probe.partition is not None
            self._forget(probe.partition, key)
            return None
        question = entry.question or ""
        assert probe.question is not None
        if self._verifier is not None and not self._verifier.agrees(probe.question, question):
            return None
        hit = Hit(entry, round(float(similarity), 4))
        self._touch(probe.partition, key, hit)
        return hit

    # --- the local index, following the store's log ---------------------------------------
    def _follow(self, read: Any) -> None:
        with self._lock:
            while True:
                batch: list[LogEntry] = read(self._stream, after=self._cursor, limit=_READ_BATCH)
                self._take(batch)
                if len(batch) < _READ_BATCH:
                    return

    async def _afollow(self) -> None:
        while True:
            with self._lock:
                cursor = self._cursor
            batch = await self._store.log.aread(self._stream, after=cursor, limit=_READ_BATCH)
            with self._lock:
                if self._cursor == cursor:  # another task may have read these meanwhile
                    self._take(batch)
            if len(batch) < _READ_BATCH:
                return

    def _take(self, batch: list[LogEntry]) -> None:
        for cursor, record in batch:
            self._cursor = cursor
            try:
                data = json.loads(record)
                partition, key = data["partition"], data["key"]
                if (partition, key) in self._keys:
                    continue  # indexed already: this process stored it (the same question)
                vector = _vector(data["vector"])
            except (ValueError, KeyError, TypeError):
                continue  # another version's record: not ours to index
            self._add_locked(partition, key, vector)

    def _add(self, partition: str | None, key: str, vector: Any) -> None:
        if partition is None or vector is None:
            return
        with self._lock:
            self._add_locked(partition, key, vector)

    def _add_locked(self, partition: str, key: str, vector: Any) -> None:
        if self._index is None:
            from cosmara.semantic import PartitionedIndex

            self._index = PartitionedIndex(len(vector))
        self._index.add(partition, key, vector)
        self._keys[(partition, key)] = None
        self._keys.move_to_end((partition, key))
        while len(self._keys) > self._bound:  # the store evicts its oldest; so does the index
            (old_partition, old_key), _ = self._keys.popitem(last=False)
            self._index.remove(old_partition, old_key)

    def _touch(self, partition: str | None, key: str, hit: Hit | None) -> None:
        """A hit is a use: the store moves the entry up its LRU order, so does the index (else
        it would drop, at its bound, an entry the store keeps)."""
        if hit is None or partition is None:
            return
        with self._lock:
            if (partition, key) in self._keys:
                self._keys.move_to_end((partition, key))

    def _forget(self, partition: str, key: str) -> None:
        with self._lock:
            if (partition, key) in self._keys:
                del self._keys[(partition, key)]
                if self._index is not None:
                    self._index.remove(partition, key)

    def _record(self, probe: Probe) -> bytes | None:
        if probe.partition is None or probe.vector is None:
            return None
        import numpy as np

        packed = base64.b64encode(np.asarray(probe.vector, dtype="<f4").tobytes()).decode()
        return json.dumps(
            {"key": probe.key, "partition": probe.partition, "vector": packed}
        ).encode()


def _vector(packed: str) -> Any:
    import numpy as np

    return np.frombuffer(base64.b64decode(packed), dtype="<f4")


def _within(key: str, scope: str) -> bool:
    return key.startswith(f"{scope}|") or key.startswith(f"{scope}/")
