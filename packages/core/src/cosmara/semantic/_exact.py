"""Exact nearest-neighbour search: every stored vector scored by one numpy dot product."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

__all__ = ["ExactVectors", "top_k"]

_MIN_CAPACITY = 64


class ExactVectors:
    """Unit vectors under integer labels, in one contiguous matrix scored by a dot product.

    Rows are packed: removing a vector moves the last row into its place, so a search reads
    exactly ``len`` rows, and the matrix halves when it is three quarters empty, so memory
    follows the number of vectors held (between one and four times their size), not the most
    ever held. Not thread-safe on its own; ``VectorIndex`` locks around it.
    """

    def __init__(self, dimensions: int) -> None:
        import numpy as np

        self._dimensions = dimensions
        self._matrix = np.empty((_MIN_CAPACITY, dimensions), dtype=np.float32)
        self._labels = np.empty(_MIN_CAPACITY, dtype=np.int64)
        self._rows: dict[int, int] = {}

    def __len__(self) -> int:
        return len(self._rows)

    @property
    def capacity(self) -> int:
        return int(self._matrix.shape[0])

    def add(self, label: int, vector: NDArray[np.float32]) -> None:
        row = self._rows.get(label)
        if row is None:
            row = len(self._rows)
            if row == self.capacity:
                self._resize(2 * self.capacity)
            self._rows[label] = row
            self._labels[row] = label
        self._matrix[row] = vector

    def remove(self, label: int) -> bool:
        row = self._rows.pop(label, None)
        if row is None:
            return False
        last = len(self._rows)
        if row != last:
            moved = int(self._labels[last])
            self._matrix[row] = self._matrix[last]
            self._labels[row] = moved
            self._rows[moved] = row
        if self.capacity > _MIN_CAPACITY and len(self._rows) < self.capacity // 4:
            self._resize(self.capacity // 2)
        return True

    def search(self, query: NDArray[np.float32], k: int) -> list[tuple[int, float]]:
        count = len(self._rows)
        if count == 0:
            return []
        similarities = self._matrix[:count] @ query
        return [
            (int(self._labels[row]), float(similarities[row])) for row in top_k(similarities, k)
        ]

    def items(self) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
        """Copies of the labels and vectors held, row for row."""
        count = len(self._rows)
        return self._labels[:count].copy(), self._matrix[:count].copy()

    def _resize(self, capacity: int) -> None:
        import numpy as np

        count = len(self._rows)
        matrix = np.empty((capacity, self._dimensions), dtype=np.float32)
        labels = np.empty(capacity, dtype=np.int64)
        matrix[:count] = self._matrix[:count]
        labels[:count] = self._labels[:count]
        self._matrix, self._labels = matrix, labels


def top_k(similarities: NDArray[np.float32], k: int) -> list[int]:
    """Positions of the ``k`` highest similarities, highest first (ties: lower position first)."""
    import numpy as np

    count = similarities.shape[0]
    # argpartition finds the k best in linear time; only those k are then sorted.
    whole = k >= count
    candidates = np.arange(count) if whole else np.argpartition(-similarities, k - 1)[:k]
    order = np.lexsort((candidates, -similarities[candidates]))
    return [int(position) for position in candidates[order]]
