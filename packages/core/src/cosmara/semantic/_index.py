"""The vectors of the semantic cache, searchable by cosine similarity, one index per partition.

A partition's index searches exactly (a numpy dot product over every vector) while it is
small, and moves its vectors into an HNSW graph (usearch) once it holds ``hnsw_from`` of them,
the size past which the graph answers faster on this project's reference machine; it moves
back below half that size, so a partition hovering at the line is not rebuilt on every change.

Building the graph for ``hnsw_from`` vectors takes seconds, so it happens in a background
thread: exact search goes on answering meanwhile, the changes made during the build are
replayed into the graph, and the graph takes over when it is complete.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Hashable
from typing import TYPE_CHECKING, Any, Literal

from cosmara._errors import ConfigurationError, RequestValidationError
from cosmara.semantic._exact import ExactVectors
from cosmara.semantic._hnsw import HnswSettings, HnswVectors, require_usearch
from cosmara.semantic._vectors import as_unit_rows

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

__all__ = ["HNSW_FROM", "PartitionedIndex", "VectorIndex"]

logger = logging.getLogger("cosmara.semantic")

# Measured with benchmarks/semantic_index.py (384 dimensions, the 2-core reference machine, three
# runs): exact search wins up to a few thousand vectors (43-75 us against 123-232 us at 1,000),
# the two are even at 8,000-10,000 (about 0.4-0.6 ms each), and HNSW wins every time from 16,000
# (about 0.5-0.6 ms against several ms, 1 ms against 40+ ms at 100,000). See docs/benchmarks.md
# (Semantic index and embedder).
HNSW_FROM = 10_000


class VectorIndex:
    """Unit vectors of one partition under string keys; ``search`` finds the most similar.

    Vectors are L2-normalised on the way in, so similarities are cosines in [-1, 1]. Adding a
    key that is already there replaces its vector. Every method is thread-safe. Crossing
    ``hnsw_from`` starts the graph's build in a background thread (``settle()`` waits for it).

    Args:
        dimensions: the length of every vector (the embedder's ``dimensions``).
        hnsw_from: the size from which search goes through an HNSW graph; ``None`` keeps it
            exact at every size, ``1`` uses the graph from the first vector.
        hnsw: the graph's settings.

    Raises:
        ConfigurationError: bad arguments; numpy missing, or usearch missing while
            ``hnsw_from`` is set (both come with ``cosmara[semantic]``).
    """

    def __init__(
        self,
        dimensions: int,
        *,
        hnsw_from: int | None = HNSW_FROM,
        hnsw: HnswSettings | None = None,
    ) -> None:
        if isinstance(dimensions, bool) or not isinstance(dimensions, int) or dimensions < 1:
            raise ConfigurationError(f"dimensions must be a positive int, got {dimensions!r}")
        if hnsw_from is not None and (isinstance(hnsw_from, bool) or hnsw_from < 1):
            raise ConfigurationError(f"hnsw_from must be None or >= 1, got {hnsw_from!r}")
        if hnsw_from is not None:
            require_usearch()  # now, not when a partition first outgrows exact search
        self._dimensions = dimensions
        self._hnsw_from = hnsw_from
        self._hnsw = hnsw or HnswSettings()
        self._lock = threading.Lock()
        self._labels: dict[str, int] = {}
        self._keys: dict[int, str] = {}
        self._next_label = 0
        self._vectors: ExactVectors | HnswVectors = ExactVectors(dimensions)
        # While a graph is being built: the changes since its snapshot, to replay into it.
        self._changes: list[tuple[int, NDArray[np.float32] | None]] | None = None
        self._builder: threading.Thread | None = None
        self._build_failed_at = 0  # the size when a build last failed: retry only at twice that

    @property
    def dimensions(self) -> int:
        return self._dimensions

    @property
    def kind(self) -> Literal["exact", "hnsw"]:
        """How ``search`` works now."""
        return "hnsw" if isinstance(self._vectors, HnswVectors) else "exact"

    def __len__(self) -> int:
        return len(self._labels)

    def __contains__(self, key: object) -> bool:
        return key in self._labels

    def __repr__(self) -> str:
        return f"VectorIndex(dimensions={self._dimensions}, size={len(self)}, kind={self.kind!r})"

    def add(self, key: str, vector: Any) -> None:
        """Store ``vector`` under ``key`` (replacing any vector it had).

        Raises ``RequestValidationError`` for a vector of the wrong length or with a NaN.
        """
        unit = self._unit(vector)
        with self._lock:
            label = self._labels.get(key)
            if label is None:
                label = self._next_label
                self._next_label += 1
                self._labels[key] = label
                self._keys[label] = key
            self._vectors.add(label, unit)
            if self._changes is not None:
                self._changes.append((label, unit))
            elif self._outgrown():
                self._start_build()

    def remove(self, key: str) -> bool:
        """Forget ``key``; whether it was there."""
        with self._lock:
            label = self._labels.pop(key, None)
            if label is None:
                return False
            del self._keys[label]
            self._vectors.remove(label)
            if self._changes is not None:
                self._changes.append((label, None))
            if self.kind == "hnsw" and len(self._labels) < self._shrink_below:
                # A few thousand vectors: moving them back is quick enough to do here.
                labels, vectors = self._vectors.items()
                exact = ExactVectors(self._dimensions)
                for moved, vector in zip(labels.tolist(), vectors, strict=True):
                    exact.add(moved, vector)
                self._vectors = exact
            return True

    def settle(self, timeout: float | None = None) -> bool:
        """Wait for a graph being built in the background, if any; whether none is left."""
        builder = self._builder
        if builder is not None:
            builder.join(timeout)
        return self._builder is None or not self._builder.is_alive()

    def search(
        self, vector: Any, k: int = 1, *, min_similarity: float | None = None
    ) -> list[tuple[str, float]]:
        """The ``k`` stored keys most similar to ``vector``, most similar first, as
        ``(key, cosine similarity)``; only those at or above ``min_similarity`` when given.

        Exact while the partition is small; past ``hnsw_from`` the graph may, rarely, miss a
        neighbour (benchmarks/semantic_index.py measures how rarely). Raises
        ``RequestValidationError`` for a bad vector or a ``k`` below 1.
        """
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise RequestValidationError(f"k must be an int >= 1, got {k!r}")
        unit = self._unit(vector)
        with self._lock:
            found = self._vectors.search(unit, min(k, len(self._labels)))
            keys = self._keys
            return [
                (keys[label], similarity)
                for label, similarity in found
                if label in keys and (min_similarity is None or similarity >= min_similarity)
            ]

    def _unit(self, vector: Any) -> NDArray[np.float32]:
        import numpy as np

        array = np.asarray(vector, dtype=np.float32)
        row = array.reshape(1, -1) if array.ndim == 1 else array
        unit: NDArray[np.float32] = as_unit_rows(row, 1, self._dimensions, source="the vector")[0]
        return unit

    @property
    def _shrink_below(self) -> int:
        return 0 if self._hnsw_from is None else self._hnsw_from // 2

    def _outgrown(self) -> bool:
        return (
            self.kind == "exact"
            and self._hnsw_from is not None
            and len(self._labels) >= max(self._hnsw_from, 2 * self._build_failed_at)
        )

    def _start_build(self) -> None:
        """Snapshot the vectors and build their graph in a thread (caller holds the lock)."""
        graph = HnswVectors(self._dimensions, self._hnsw)
        labels, vectors = self._vectors.items()
        self._changes = []
        self._builder = threading.Thread(
            target=self._build, args=(graph, labels, vectors), name="cosmara-hnsw", daemon=True
        )
        self._builder.start()

    def _build(
        self, graph: HnswVectors, labels: NDArray[np.int64], vectors: NDArray[np.float32]
    ) -> None:
        try:
            graph.add_many(labels, vectors)
        except Exception:  # the exact vectors still answer: log, and try again when it grows
            logger.exception("building the HNSW graph of %d vectors failed", len(labels))
            with self._lock:
                self._changes = None
                self._build_failed_at = max(len(labels), 1)
            return
        with self._lock:
            for label, vector in self._changes or ():
                if vector is None:
                    graph.remove(label)
                else:
                    graph.add(label, vector)
            self._changes = None
            if len(self._labels) >= self._shrink_below:
                self._vectors = graph


class PartitionedIndex:
    """One ``VectorIndex`` per partition key: a search never sees another partition's vectors.

    A partition exists while it holds vectors (an emptied one is dropped), so memory follows
    the entries held. Every method is thread-safe. Arguments are those of ``VectorIndex``.
    """

    def __init__(
        self,
        dimensions: int,
        *,
        hnsw_from: int | None = HNSW_FROM,
        hnsw: HnswSettings | None = None,
    ) -> None:
        VectorIndex(dimensions, hnsw_from=hnsw_from, hnsw=hnsw)  # checks the arguments now
        self._dimensions = dimensions
        self._hnsw_from = hnsw_from
        self._hnsw = hnsw
        self._lock = threading.Lock()
        self._partitions: dict[Hashable, VectorIndex] = {}

    def __len__(self) -> int:
        """Vectors held in all partitions."""
        with self._lock:
            return sum(len(index) for index in self._partitions.values())

    def __repr__(self) -> str:
        return (
            f"PartitionedIndex(dimensions={self._dimensions}, partitions={len(self._partitions)})"
        )

    def partitions(self) -> list[Hashable]:
        with self._lock:
            return list(self._partitions)

    def settle(self, timeout: float | None = None) -> bool:
        """``VectorIndex.settle`` for every partition; whether no build is left running."""
        with self._lock:
            indexes = list(self._partitions.values())
        return all([index.settle(timeout) for index in indexes])

    def size(self, partition: Hashable) -> int:
        with self._lock:
            index = self._partitions.get(partition)
            return 0 if index is None else len(index)

    def add(self, partition: Hashable, key: str, vector: Any) -> None:
        """``VectorIndex.add`` in ``partition``, which is created when needed."""
        with self._lock:
            index = self._partitions.get(partition)
            if index is None:
                index = VectorIndex(self._dimensions, hnsw_from=self._hnsw_from, hnsw=self._hnsw)
                self._partitions[partition] = index
            try:
                index.add(key, vector)
            finally:
                if not len(index):
                    del self._partitions[partition]

    def remove(self, partition: Hashable, key: str) -> bool:
        """``VectorIndex.remove`` in ``partition``; an emptied partition is dropped."""
        with self._lock:
            index = self._partitions.get(partition)
            if index is None or not index.remove(key):
                return False
            if not len(index):
                del self._partitions[partition]
            return True

    def search(
        self, partition: Hashable, vector: Any, k: int = 1, *, min_similarity: float | None = None
    ) -> list[tuple[str, float]]:
        """``VectorIndex.search`` in ``partition`` (nothing found in an unknown one)."""
        with self._lock:
            index = self._partitions.get(partition)
        if index is None:
            if isinstance(k, bool) or not isinstance(k, int) or k < 1:
                raise RequestValidationError(f"k must be an int >= 1, got {k!r}")
            return []
        return index.search(vector, k, min_similarity=min_similarity)
