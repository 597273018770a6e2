"""What the semantic cache needs from an embedding model; an embedder delegating to a function.

Vectors from different models never meet: the cache partitions entries by ``Embedder.name``, so
the name must change whenever the vectors would (another model, other weights, other dimensions).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from cosmara._errors import ConfigurationError
from cosmara.semantic._vectors import as_unit_rows, check_texts

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

__all__ = ["CallableEmbedder", "Embedder"]


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into unit-length float32 vectors, one row per text.

    ``name`` identifies the model and its weights (cache partitions use it); ``dimensions`` is
    the length of every vector. ``embed`` and ``aembed`` return an array of shape
    ``(len(texts), dimensions)`` whose rows are L2-normalised, so a dot product is the cosine
    similarity. Both raise ``RequestValidationError`` when ``texts`` is a bare string or holds
    a non-string.
    """

    @property
    def name(self) -> str: ...

    @property
    def dimensions(self) -> int: ...

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]: ...

    async def aembed(self, texts: Sequence[str]) -> NDArray[np.float32]: ...


# What a delegate may return: an ``EmbeddingResponse`` (anything with ``.vectors`` in input
# order), a numpy array, or a list of lists of floats.
EmbedResult = Any


class CallableEmbedder:
    """An ``Embedder`` that calls your function, e.g. a provider through the engine::

        CallableEmbedder(
            "openai/text-embedding-3-small",
            1536,
            embed=lambda texts: client.embed(model="openai/text-embedding-3-small", input=texts),
            aembed=lambda texts: client.aembed(model="openai/text-embedding-3-small", input=texts),
        )

    Give ``embed``, ``aembed`` or both. Without ``aembed``, ``aembed()`` runs ``embed`` in a
    worker thread; without ``embed``, ``embed()`` runs ``aembed`` in a new event loop (so it
    cannot be called from inside a running loop). The results are checked and L2-normalised.

    Raises ``ConfigurationError`` when built without a function, with an empty name or
    non-positive dimensions, when the function returns vectors of another shape, or when
    ``embed()`` needs the async function from inside a running event loop.
    """

    def __init__(
        self,
        name: str,
        dimensions: int,
        *,
        embed: Callable[[list[str]], EmbedResult] | None = None,
        aembed: Callable[[list[str]], Awaitable[EmbedResult]] | None = None,
    ) -> None:
        if not name:
            raise ConfigurationError("an embedder needs a name (it keeps models' vectors apart)")
        if isinstance(dimensions, bool) or not isinstance(dimensions, int) or dimensions < 1:
            raise ConfigurationError(f"dimensions must be a positive int, got {dimensions!r}")
        if embed is None and aembed is None:
            raise ConfigurationError("CallableEmbedder needs embed=, aembed= or both")
        self._name = name
        self._dimensions = dimensions
        self._embed = embed
        self._aembed = aembed

    @property
    def name(self) -> str:
        return self._name

    @property
    def dimensions(self) -> int:
        return self._dimensions

    def __repr__(self) -> str:
        return f"CallableEmbedder(name={self._name!r}, dimensions={self._dimensions})"

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        batch = check_texts(texts)
        if not batch:
            return self._rows([], 0)
        if self._embed is not None:
            return self._rows(self._embed(batch), len(batch))
        assert self._aembed is not None
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return self._rows(asyncio.run(_awaited(self._aembed(batch))), len(batch))
        raise ConfigurationError(
            "CallableEmbedder.embed() was called inside a running event loop with only an async "
            "function: call aembed(), or give embed= as well"
        )

    async def aembed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        batch = check_texts(texts)
        if not batch:
            return self._rows([], 0)
        if self._aembed is not None:
            return self._rows(await self._aembed(batch), len(batch))
        assert self._embed is not None
        return self._rows(await asyncio.to_thread(self._embed, batch), len(batch))

    def _rows(self, result: EmbedResult, count: int) -> NDArray[np.float32]:
        values = getattr(result, "vectors", result)
        return as_unit_rows(
            values, count, self._dimensions, source=repr(self), error=ConfigurationError
        )


async def _awaited(result: Awaitable[EmbedResult]) -> EmbedResult:
    return await result
