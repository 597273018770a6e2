"""``Cache``: a client's namespaces over one state store."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from cosmara._errors import ConfigurationError
from cosmara.cache._embedders import (
    EmbedderFactory,
    check_names,
    embedder_named,
    verifier_named,
)
from cosmara.cache._exact import ExactCache
from cosmara.cache._keys import scope_key
from cosmara.cache._semantic import SemanticCache
from cosmara.cache._settings import CacheSettings

if TYPE_CHECKING:
    from cosmara._engine import Cosmara
    from cosmara.semantic import Embedder, Verifier
    from cosmara.state import StateStore

__all__ = ["Cache"]


class Cache:
    """A client's cache namespaces over one store; semantic ones are built on first use (an
    embedder loads a model).

    Raises:
        ConfigurationError: a semantic namespace names an embedder or verifier that does not
            exist.
    """

    def __init__(
        self,
        settings: CacheSettings,
        store: StateStore,
        engine: Cosmara,
        *,
        embedders: Mapping[str, EmbedderFactory] | None = None,
        verifiers: Mapping[str, Verifier] | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self._engine = engine
        self._embedder_factories = dict(embedders or {})
        self._verifiers = dict(verifiers or {})
        self._embedders: dict[str, Embedder] = {}
        self._namespaces: dict[str, ExactCache] = {}
        for namespace in settings.namespaces.values():
            if namespace.type == "semantic":
                check_names(
                    namespace.embedder,
                    namespace.verifier,
                    self._embedder_factories,
                    self._verifiers,
                )

    def namespace(self, name: str) -> ExactCache:
        """Raises:
        ConfigurationError: no namespace has that name, or a semantic one lacks its extras."""
        found = self._namespaces.get(name)
        if found is None:
            settings = self.settings.namespaces.get(name)
            if settings is None:
                known = ", ".join(sorted(self.settings.namespaces))
                raise ConfigurationError(f"unknown cache namespace {name!r}; configured: {known}")
            if settings.type == "exact":
                found = ExactCache(name, settings, self.store)
            else:
                found = SemanticCache(
                    name,
                    settings,
                    self.store,
                    self._embedder(settings.embedder),
                    verifier_named(settings.verifier, self._verifiers),
                )
            self._namespaces[name] = found
        return found

    def clear(self, namespace: str | None = None, scope: str | None = None) -> int:
        """Drop entries: of one namespace or all, of one scope and the scopes within it
        (``"org:acme"`` clears ``org:acme/team:support`` too, never ``org:acme2``;
        ``"global"`` everything) or all. Returns how many went.

        Raises:
            ConfigurationError: no namespace has that name.
            RequestValidationError: ``scope`` is not ``global`` nor ``org:NAME[/team:NAME
                [/user:NAME]]``.
            StateStoreError: the store failed.
        """
        prefix = None if scope is None else scope_key(scope)
        names = [namespace] if namespace is not None else list(self.settings.namespaces)
        return sum(self._plain(name).clear(prefix) for name in names)

    def _plain(self, name: str) -> ExactCache:
        # Clearing needs no embedder: an exact view of the namespace's entries will do.
        found = self._namespaces.get(name)
        if found is not None:
            return found
        settings = self.settings.namespaces.get(name)
        if settings is None:
            raise ConfigurationError(f"unknown cache namespace {name!r}")
        return ExactCache(name, settings, self.store)

    def _embedder(self, name: str) -> Embedder:
        embedder = self._embedders.get(name)
        if embedder is None:
            embedder = embedder_named(name, self._engine, self._embedder_factories)
            self._embedders[name] = embedder
        return embedder
