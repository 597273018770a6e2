"""The cache stage: a stored answer for the request on its way out, and the provider's answer
stored on its way back.

Per call: ``cache=False`` (no lookup), ``no_store=True`` (no write), ``cache_ttl=`` (seconds
for the answer stored), ``cache_namespace=`` (another configured namespace). Only complete
answers from a provider are stored: no errors, no interrupted streams, no answer cut short by
a content filter, no answer of last resort, nothing a stage answered.

A store (or an embedder) that fails on lookup is logged and the call goes on without the
cache: a cache outage must not become a provider outage.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any

from cosmara._errors import ProviderError, RequestValidationError
from cosmara._meta import CosmaraMeta, Route
from cosmara._response import ChatResponse
from cosmara.cache import Cache, Entry, ExactCache, Hit, Probe
from cosmara.pipeline._call import Call, Outcome
from cosmara.pipeline._stage import Stage
from cosmara.pipeline._validate import CACHE_OPTIONS
from cosmara.state import StateStoreError

if TYPE_CHECKING:
    from cosmara._plugins import Plugins

__all__ = ["CacheStage"]

logger = logging.getLogger("cosmara.cache")


@dataclass
class _Plan:
    namespace: ExactCache
    probe: Probe
    lookup: bool
    store: bool
    ttl: float | None


class CacheStage(Stage):
    name = "cache"
    options = CACHE_OPTIONS

    def __init__(self, cache: Cache, plugins: Plugins) -> None:
        self._cache = cache
        self._plugins = plugins
        self._exact_routes: dict[str, Route] = {}  # one per namespace

    def before(self, call: Call) -> Any:
        plan = self._plan(call)
        if plan is None or not plan.lookup:
            return None
        try:
            hit = plan.namespace.lookup(plan.probe)
        except (StateStoreError, ProviderError) as error:
            return self._unavailable(call, plan, error)
        return None if hit is None else self._answer(call, plan, hit)

    async def abefore(self, call: Call) -> Any:
        plan = self._plan(call)
        if plan is None or not plan.lookup:
            return None
        try:
            hit = await plan.namespace.alookup(plan.probe)
        except (StateStoreError, ProviderError) as error:
            return self._unavailable(call, plan, error)
        return None if hit is None else self._answer(call, plan, hit)

    def after(self, call: Call, outcome: Outcome) -> None:
        plan = self._settled(call, outcome)
        if plan is not None:
            plan.namespace.store(plan.probe, self._entry(call, plan, outcome.response), plan.ttl)
            self._stored(call, plan, outcome.response)

    async def aafter(self, call: Call, outcome: Outcome) -> None:
        plan = self._settled(call, outcome)
        if plan is not None:
            entry = self._entry(call, plan, outcome.response)
            await plan.namespace.astore(plan.probe, entry, plan.ttl)
            self._stored(call, plan, outcome.response)

    def _unavailable(self, call: Call, plan: _Plan, error: Exception) -> None:
        """A store or embedder that fails must not fail the call: it goes on uncached."""
        del call.notes[self]
        logger.warning(
            "cosmara cache namespace %r unavailable, the call goes on without it: %s",
            plan.namespace.name,
            error,
        )

    def check_options(self, options: Mapping[str, Any]) -> None:
        if not all(isinstance(options.get(flag, False), bool) for flag in ("cache", "no_store")):
            raise RequestValidationError("cache and no_store must be True or False")
        name = options.get("cache_namespace", self._cache.settings.namespace)
        if not isinstance(name, str) or name not in self._cache.settings.namespaces:
            known = ", ".join(sorted(self._cache.settings.namespaces))
            raise RequestValidationError(f"cache_namespace {name!r} is not one of: {known}")
        ttl = options.get("cache_ttl")
        if ttl is not None and (
            isinstance(ttl, bool)
            or not isinstance(ttl, (int, float))
            or not math.isfinite(ttl)
            or ttl <= 0
        ):
            raise RequestValidationError("cache_ttl must be a positive number of seconds")

    # --- decisions --------------------------------------------------------------------------
    def _plan(self, call: Call) -> _Plan | None:
        """What to look up and store for this call (its options were checked by
        ``check_options`` when the call was validated)."""
        if call.kind != "chat":
            return None
        options = call.options
        lookup, store = options.get("cache", True), not options.get("no_store", False)
        namespace = self._cache.namespace(
            options.get("cache_namespace", self._cache.settings.namespace)
        )
        settings = namespace.settings
        ttl = options.get("cache_ttl", settings.ttl)
        if settings.models and not any(fnmatchcase(call.model, p) for p in settings.models):
            return None
        if not (lookup or store):
            return None
        probe = namespace.probe(call.request, call.context)
        if probe is None:
            return None
        plan = _Plan(namespace, probe, lookup, store, ttl)
        call.notes[self] = plan
        return plan

    def _settled(self, call: Call, outcome: Outcome) -> _Plan | None:
        """The plan of an answer to store, marking the answer a miss; None when nothing is."""
        plan: _Plan | None = call.notes.get(self)
        if plan is None or not outcome.answered or outcome.served != "provider":
            return None
        response = outcome.response
        if plan.lookup and response.cosmara is not None:
            response.cosmara.cache = "miss"
        complete = all(
            choice.finish_reason and choice.finish_reason != "content_filter"
            for choice in response.choices
        )
        return plan if plan.store and complete and response.choices else None

    # --- answers ----------------------------------------------------------------------------
    def _answer(self, call: Call, plan: _Plan, hit: Hit) -> ChatResponse:
        entry = hit.entry
        response = entry.response
        # Built without validation: every value is already typed (the entry was validated
        # when read), and a hit is the path where microseconds count.
        response.cosmara = CosmaraMeta.model_construct(
            provider=entry.provider,
            model=entry.model,
            cost_usd=0.0,
            cost_saved_usd=entry.cost_usd,
            latency_ms=round(call.elapsed_ms, 3),
            attempts=[],
            route=self._route(plan.namespace.name, hit.similarity),
            context=call.context,
            cache="hit",
            cache_similarity=hit.similarity,
        )
        self._plugins.emit(
            "cosmara_cache_hit",
            request=call.request,
            response=response,
            namespace=plan.namespace.name,
            similarity=hit.similarity,
            context=call.context,
        )
        return response

    def _route(self, namespace: str, similarity: float | None) -> Route:
        """Why a hit answered; an exact hit's is the same every time (and ``Route`` is frozen)."""
        if similarity is not None:
            reason = f"semantic (similarity {similarity}) hit in cache namespace {namespace!r}"
            return Route.model_construct(strategy="cache", reason=reason)
        route = self._exact_routes.get(namespace)
        if route is None:
            reason = f"exact hit in cache namespace {namespace!r}"
            route = self._exact_routes[namespace] = Route(strategy="cache", reason=reason)
        return route

    def _entry(self, call: Call, plan: _Plan, response: ChatResponse) -> Entry:
        meta = response.cosmara
        assert meta is not None
        return Entry(
            response=response,
            cost_usd=meta.cost_usd,
            provider=meta.provider,
            model=meta.model,
            question=plan.probe.question,
            created=self._cache.store.clock(),
        )

    def _stored(self, call: Call, plan: _Plan, response: ChatResponse) -> None:
        self._plugins.emit(
            "cosmara_cache_store",
            request=call.request,
            response=response,
            namespace=plan.namespace.name,
            context=call.context,
        )
