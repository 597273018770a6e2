"""Embedders and verifiers by the names configuration gives them: ``local``, an embedding
model the engine serves, ``builtin``, ``none``, or a plugin's (``cosmara_register_embedders``,
``cosmara_register_verifiers``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from cosmara._errors import ConfigurationError

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    from cosmara._engine import Cosmara
    from cosmara.semantic import Embedder, Verifier

__all__ = ["EngineEmbedder", "check_names", "embedder_named", "verifier_named"]

EmbedderFactory = Callable[["Cosmara"], "Embedder"]


def check_names(
    embedder: str, verifier: str, embedders: Mapping[str, Any], verifiers: Mapping[str, Any]
) -> None:
    """Whether a semantic namespace's embedder and verifier exist, without building them (an
    embedder loads a model): a client with a misspelt one fails when it is made.

    Raises:
        ConfigurationError: no embedder or no verifier has that name.
    """
    if embedder not in embedders and embedder != "local" and "/" not in embedder:
        known = ", ".join(["local", "a provider/model embedding model", *sorted(embedders)])
        raise ConfigurationError(f"unknown cache embedder {embedder!r}; use {known}")
    if verifier not in verifiers and verifier not in ("builtin", "none"):
        known = ", ".join(["builtin", "none", *sorted(verifiers)])
        raise ConfigurationError(f"unknown cache verifier {verifier!r}; use {known}")


def embedder_named(name: str, engine: Cosmara, plugins: Mapping[str, EmbedderFactory]) -> Embedder:
    """Raises:
    ConfigurationError: no embedder has that name, or its extra is not installed."""
    check_names(name, "none", plugins, {})
    factory = plugins.get(name)
    if factory is not None:
        return factory(engine)
    if name == "local":
        from cosmara.semantic import LocalMiniLM

        return LocalMiniLM()
    return EngineEmbedder(engine, name)


def verifier_named(name: str, plugins: Mapping[str, Verifier]) -> Verifier | None:
    """Raises:
    ConfigurationError: no verifier has that name."""
    check_names("local", name, {}, plugins)
    if name in plugins:
        return plugins[name]
    if name == "builtin":
        from cosmara.semantic import DetailVerifier

        return DetailVerifier()
    return None


class EngineEmbedder:
    """An embedding model served by the engine itself (routed, retried, priced and recorded
    like any call). Its dimensions are learnt from its first answer."""

    def __init__(self, engine: Cosmara, model: str) -> None:
        self._engine = engine
        self._model = model
        self._dimensions = 0

    @property
    def name(self) -> str:
        return self._model

    @property
    def dimensions(self) -> int:
        return self._dimensions

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        return self._rows(self._engine.embed(model=self._model, input=list(texts)).vectors)

    async def aembed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        response = await self._engine.aembed(model=self._model, input=list(texts))
        return self._rows(response.vectors)

    def _rows(self, vectors: Any) -> NDArray[np.float32]:
        from cosmara.semantic._vectors import as_unit_rows

        size = len(vectors[0]) if vectors else self._dimensions
        self._dimensions = self._dimensions or size
        return as_unit_rows(
            vectors, len(vectors), self._dimensions, source=self._model, error=ConfigurationError
        )
