"""Approximate nearest-neighbour search: an HNSW graph from usearch, for large partitions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cosmara._errors import ConfigurationError
from cosmara.semantic._extras import missing_extra

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

__all__ = ["HnswSettings", "HnswVectors", "require_usearch"]

# Below this many slots an index is never rebuilt to shrink it: usearch's own arenas cost more.
_MIN_COMPACT_CAPACITY = 4096


@dataclass(frozen=True)
class HnswSettings:
    """The HNSW graph's shape.

    ``connectivity`` is the links per node (M); ``expansion_add`` and ``expansion_search`` the
    candidates kept while inserting and while searching (ef). Higher values buy recall with
    speed and memory; the defaults are usearch's own. Raises ``ConfigurationError`` for a value
    below 1.
    """

    connectivity: int = 16
    expansion_add: int = 128
    expansion_search: int = 64

    def __post_init__(self) -> None:
        for name in ("connectivity", "expansion_add", "expansion_search"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigurationError(f"HnswSettings.{name} must be an int >= 1, got {value!r}")


class HnswVectors:
    """Unit vectors under integer labels in a usearch HNSW graph (inner product = cosine).

    usearch reuses the slots of removed vectors, so churn (LRU eviction, TTL expiry) at a steady
    size does not grow it; after a large shrink (below a quarter of its slots) the graph is
    rebuilt at the new size, so memory follows the vectors held. Not thread-safe on its own;
    ``VectorIndex`` locks around it. Raises ``ConfigurationError`` without usearch
    (``cosmara[semantic]``).
    """

    def __init__(self, dimensions: int, settings: HnswSettings) -> None:
        self._dimensions = dimensions
        self._settings = settings
        self._index = self._new_index()

    def __len__(self) -> int:
        return int(self._index.size)

    @property
    def capacity(self) -> int:
        return int(self._index.capacity)

    def add(self, label: int, vector: NDArray[np.float32]) -> None:
        if self._index.contains(label):
            self._index.remove(label)
        self._index.add(label, vector)

    def add_many(self, labels: NDArray[np.int64], vectors: NDArray[np.float32]) -> None:
        """Insert many new labels at once, on every core (the switch from exact search)."""
        if len(labels):
            self._index.add(labels.astype("uint64"), vectors)

    def remove(self, label: int) -> bool:
        if not self._index.contains(label):
            return False
        self._index.remove(label)
        if self.capacity > _MIN_COMPACT_CAPACITY and len(self) < self.capacity // 4:
            self._rebuild()
        return True

    def search(self, query: NDArray[np.float32], k: int) -> list[tuple[int, float]]:
        if len(self) == 0:
            return []
        matches = self._index.search(query, k)
        # usearch's "ip" distance is 1 - dot product.
        return [
            (int(label), 1.0 - float(distance))
            for label, distance in zip(matches.keys, matches.distances, strict=True)
        ]

    def items(self) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
        """The labels and vectors held, row for row."""
        import numpy as np

        labels = np.asarray(self._index.keys, dtype=np.uint64)
        if len(labels) == 0:
            return labels.astype(np.int64), np.empty((0, self._dimensions), dtype=np.float32)
        vectors = np.stack(self._index.get(labels, dtype=np.float32)).astype(np.float32)
        return labels.astype(np.int64), vectors

    def _rebuild(self) -> None:
        labels, vectors = self.items()
        self._index = self._new_index()
        self.add_many(labels, vectors)

    def _new_index(self) -> Any:
        return require_usearch()(
            ndim=self._dimensions,
            metric="ip",
            dtype="f32",
            connectivity=self._settings.connectivity,
            expansion_add=self._settings.expansion_add,
            expansion_search=self._settings.expansion_search,
        )


def require_usearch() -> Any:
    """usearch's ``Index`` class; ``ConfigurationError`` naming ``cosmara[semantic]`` without it."""
    try:
        from usearch.index import Index
    except ImportError as error:
        raise missing_extra("usearch", "semantic", error) from error
    return Index
