"""The cache: exact and semantic namespaces of answers, kept in the shared state store.

``Cache`` holds a client's namespaces (``[cache.namespaces.NAME]``); the pipeline's cache stage
(``cosmara.pipeline``) looks a request up on its way out and stores the answer on its way
back. Semantic namespaces need the ``cosmara[semantic]`` extra (and ``cosmara[local]`` for the
local embedder).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cosmara._lazy import lazy_exports
from cosmara.cache._settings import CacheSettings, NamespaceSettings, Scope

if TYPE_CHECKING:
    from cosmara.cache._cache import Cache
    from cosmara.cache._embedders import EngineEmbedder
    from cosmara.cache._entry import Entry
    from cosmara.cache._exact import ExactCache, Hit, Probe
    from cosmara.cache._keys import VERSION, exact_key, scope_key, scope_of, semantic_parts
    from cosmara.cache._semantic import SemanticCache

# What a configuration needs (the settings) loads with it; the cache itself when a client
# turns it on.
_LAZY = {
    "Cache": "cosmara.cache._cache",
    "EngineEmbedder": "cosmara.cache._embedders",
    "Entry": "cosmara.cache._entry",
    "ExactCache": "cosmara.cache._exact",
    "Hit": "cosmara.cache._exact",
    "Probe": "cosmara.cache._exact",
    "VERSION": "cosmara.cache._keys",
    "exact_key": "cosmara.cache._keys",
    "scope_key": "cosmara.cache._keys",
    "scope_of": "cosmara.cache._keys",
    "semantic_parts": "cosmara.cache._keys",
    "SemanticCache": "cosmara.cache._semantic",
}


__getattr__ = lazy_exports(__name__, _LAZY)


__all__ = [
    "VERSION",
    "Cache",
    "CacheSettings",
    "EngineEmbedder",
    "Entry",
    "ExactCache",
    "Hit",
    "NamespaceSettings",
    "Probe",
    "Scope",
    "SemanticCache",
    "exact_key",
    "scope_key",
    "scope_of",
    "semantic_parts",
]
