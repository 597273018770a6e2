"""``Cosmara``: the engine every surface calls, a composition of the pipeline's stages.

One request goes through the same stages on every path (sync, async, streamed, embeddings)::

    validate -> events -> route -> [plugins' stages] -> attempts

and back, in reverse, with its outcome (see ``cosmara.pipeline``). Everything before the
attempts raises typed errors before any network call; the attempts are driven by thin sync
and async drivers around ``AttemptLoop``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

from cosmara._catalog import Catalog, ModelInfo, load_litellm_prices
from cosmara._clock import Clock
from cosmara._config import CosmaraConfig
from cosmara._context import RequestContext
from cosmara._cost import CostEstimate, cost_of_usage, estimate_cost
from cosmara._embeddings import EmbeddingRequest, EmbeddingResponse
from cosmara._errors import ConfigurationError, RequestValidationError, UnknownModelError
from cosmara._groups import GroupRouter
from cosmara._health import HealthMonitor, TargetHealth
from cosmara._messages import ChatRequest
from cosmara._plugins import Plugins
from cosmara._response import ChatResponse, Usage
from cosmara._routing import ProviderSet, Router, Target
from cosmara._strategies import BUILTIN_STRATEGIES
from cosmara._stream import ChatChunk
from cosmara._timeouts import Timeouts
from cosmara._tokens import TokenCounter
from cosmara._transport import Transport
from cosmara.pipeline import (
    Attempts,
    Call,
    Events,
    Pipeline,
    Route,
    Settle,
    Stage,
    Validate,
)
from cosmara.pipeline._validate import CACHE_OPTIONS

if TYPE_CHECKING:
    from cosmara.budgets import Budgets, Webhook
    from cosmara.cache import Cache
    from cosmara.ledger import Ledger
    from cosmara.pipeline._breakers import SharedBreakers
    from cosmara.state import StateStore

__all__ = ["Cosmara"]

_Request = TypeVar("_Request", ChatRequest, EmbeddingRequest)


class Cosmara:
    """The Cosmara engine: provider translation, routing, fallbacks and cost accounting.

    Args:
        config: a ``CosmaraConfig``, a dict, or a ``cosmara.toml`` path; ``None`` reads
            ``$COSMARA_CONFIG`` if set. Keyword arguments below override its entries.
        providers: provider settings by name, e.g. ``{"openai": {"api_key": "${OPENAI_API_KEY}"}}``.
            Providers not configured still work when their key is in the environment.
        aliases: model aliases, e.g. ``{"fast": "groq/llama-3.1-8b-instant"}``.
        plugins: plugin objects to register on this client, in addition to installed ones.
        load_entry_points: load plugins installed under the ``cosmara`` entry-point group.
        org, team, user, tags, metadata: default request context for every call.
        clock: where breaker cooldowns, retry waits and time-of-day rules get the time;
            ``cosmara.testing.FakeClock`` makes them testable without sleeping.

    Raises:
        ConfigurationError: the configuration is invalid.
    """

    def __init__(
        self,
        config: CosmaraConfig | Mapping[str, Any] | str | Path | None = None,
        *,
        providers: Mapping[str, Mapping[str, Any]] | None = None,
        aliases: Mapping[str, str | list[str]] | None = None,
        timeout: float | str | Timeouts | None = None,
        plugins: Iterable[object] = (),
        load_entry_points: bool = True,
        org: str | None = None,
        team: str | None = None,
        user: str | None = None,
        tags: Mapping[str, str] | Sequence[str] | None = None,
        metadata: Mapping[str, Any] | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._clock = clock = clock or Clock()
        self.config = CosmaraConfig.load(config).merged(
            providers=providers, aliases=aliases, timeout=timeout
        )
        try:
            self._context = RequestContext.build(
                org=org, team=team, user=user, tags=tags, metadata=metadata
            )
        except RequestValidationError as error:
            raise ConfigurationError(f"the client's default context: {error}") from None
        self.plugins = Plugins(plugins, load_entry_points=load_entry_points)
        self.catalog = _build_catalog(self.config)
        self.providers = ProviderSet(self.config, self.plugins.provider_factories())
        self.providers.check()
        self._router = Router(self.config, self.catalog, self.providers)
        self._health = HealthMonitor(
            self.config.breaker, on_transition=self._breaker_moved, clock=clock.monotonic
        )
        self._groups = GroupRouter(
            self.config.groups,
            aliases=list(self.config.aliases),
            router=self._router,
            catalog=self.catalog,
            providers=self.providers,
            configured=list(self.config.providers),
            health=self._health,
            strategies={**BUILTIN_STRATEGIES, **self.plugins.strategies()},
            clock=clock.now,
        )
        self._transport = Transport(
            max_connections=self.config.max_connections,
            limits=self.config.limits,
            async_backend=self.config.async_transport,
        )
        self._tokens = TokenCounter()
        # Shared state opens only when a stage needs it: memory by default, SQLite or Redis.
        self._state: StateStore | None = None
        self._route = Route(self._router, self._groups, self._tokens, self.config.fallbacks)
        self.budgets: Budgets = _budgets(self.config, lambda: self.state, clock)
        self._webhook: Webhook | None = _webhook(self.config)
        self.cache: Cache | None = None
        self.ledger: Ledger | None = None
        self._shared_breakers: SharedBreakers | None = None
        stages = self.plugins.placed_stages(self._builtin_stages())
        self._validate = Validate(
            self.config,
            self._context,
            clock.monotonic,
            option_names=[*CACHE_OPTIONS, *(name for stage in stages for name in stage.options)],
            option_checks=[stage.check_options for stage in stages if stage.options],
        )
        self._pipeline = Pipeline(
            stages,
            Attempts(
                config=self.config,
                transport=self._transport,
                health=self._health,
                plugins=self.plugins,
                clock=clock,
                settle=Settle(self.catalog, self._tokens),
                content_filter_targets=self._content_filter_targets,
            ),
        )

    def __repr__(self) -> str:
        return f"Cosmara(providers={sorted(self.config.providers)!r})"

    # --- chat -------------------------------------------------------------------------------
    def chat(self, request: ChatRequest | None = None, /, **kwargs: Any) -> ChatResponse:
        """Send a chat request and return the response, with ``resp.cosmara`` filled.

        Takes a ``ChatRequest`` or its fields as keywords (``model``, ``messages``, ``tools``,
        ``temperature``, ...), plus ``fallbacks``, ``timeout``, ``max_retries``,
        ``extra_headers`` / ``extra_query`` (sent to HTTP providers with every attempt) and the
        request context (``user``, ``team``, ``org``, ``tags``, ``metadata``).

        Raises:
            RequestValidationError: the request is malformed (before any network call).
            UnknownModelError: the model names no known provider or catalog entry.
            MissingCredentialsError: no candidate provider has an API key.
            ProviderError: every candidate failed; the error carries all attempts.
        """
        return cast(ChatResponse, self._pipeline.run(self._call(ChatRequest, request, kwargs)))

    async def achat(self, request: ChatRequest | None = None, /, **kwargs: Any) -> ChatResponse:
        """Async ``chat``; same arguments, same errors."""
        call = self._call(ChatRequest, request, kwargs)
        return cast(ChatResponse, await self._pipeline.arun(call))

    def stream(self, request: ChatRequest | None = None, /, **kwargs: Any) -> Iterator[ChatChunk]:
        """Stream a chat response as ``ChatChunk``s.

        The request is validated now (its errors raise here, not on first iteration); it is
        planned and sent when iteration starts. The last chunk has empty ``choices`` and
        carries ``usage`` and ``cosmara`` metadata.
        A target failing before any content reached the caller falls back to the next one
        unseen; a failure after that raises, with ``error.partial_text`` set.
        """
        return self._pipeline.stream(self._call(ChatRequest, request, kwargs, stream=True))

    def astream(
        self, request: ChatRequest | None = None, /, **kwargs: Any
    ) -> AsyncIterator[ChatChunk]:
        """Async ``stream``: ``async for chunk in client.astream(...)``."""
        return self._pipeline.astream(self._call(ChatRequest, request, kwargs, stream=True))

    # --- embeddings -------------------------------------------------------------------------
    def embed(self, request: EmbeddingRequest | None = None, /, **kwargs: Any) -> EmbeddingResponse:
        """Embed ``input`` (a string or a list of strings) with ``model``."""
        call = self._call(EmbeddingRequest, request, kwargs)
        return cast(EmbeddingResponse, self._pipeline.run(call))

    async def aembed(
        self, request: EmbeddingRequest | None = None, /, **kwargs: Any
    ) -> EmbeddingResponse:
        """Async ``embed``."""
        call = self._call(EmbeddingRequest, request, kwargs)
        return cast(EmbeddingResponse, await self._pipeline.arun(call))

    # --- health -----------------------------------------------------------------------------
    def health(self) -> dict[str, TargetHealth]:
        """Live health of every target this client has called: breaker state, EWMA latency,
        error rate, availability in the breaker window and the last error."""
        return self._health.report()

    def _breaker_moved(self, target: str, old_state: str, new_state: str) -> None:
        self.plugins.emit(
            "cosmara_breaker", target=target, old_state=old_state, new_state=new_state
        )
        if new_state == "open" and self._shared_breakers is not None:
            self._shared_breakers.opened(target)

    @property
    def state(self) -> StateStore:
        """The shared-state store (``[state]``), opened on first use."""
        if self._state is None:
            clock = self._clock
            from cosmara.state import open_store

            self._state = open_store(self.config.state, clock=clock.time)
        return self._state

    @property
    def stages(self) -> list[str]:
        """The names of the stages a request passes, in order (plugins' included)."""
        return self._pipeline.names

    # --- cost and tokens --------------------------------------------------------------------
    def estimate_cost(self, request: ChatRequest | None = None, /, **kwargs: Any) -> CostEstimate:
        """Cost ceiling of a chat request before sending it (prompt tokens estimated locally).

        Raises:
            UnknownModelError: the model has no price in the catalog.
        """
        call = self._call(ChatRequest, request, kwargs)
        target = self._route.plan(call).targets[0]
        info = target.info
        if info is None:
            raise UnknownModelError(f"no price for {target.id} in the catalog")
        tokens = self.count_tokens(call.request)
        return estimate_cost(info, tokens, call.request.max_tokens)

    def candidates(self, model: str, fallbacks: Sequence[str] = ()) -> list[ModelInfo | None]:
        """Catalog entries of the targets ``model`` (then each fallback) may be served by, in
        plan order; for a group, all of its candidates. ``None`` for a model not in the catalog.

        Raises:
            UnknownModelError, MissingCredentialsError: as ``chat`` would.
        """
        names = (model, *fallbacks, *self.config.fallbacks.get(model, ()))
        return [target.info for target in self._groups.every_target(names)]

    def count_text(self, text: str) -> int:
        """Estimated tokens in ``text``, by the same counter as ``count_tokens``."""
        return self._tokens.count_text(text)

    def count_tokens(self, request: ChatRequest) -> int:
        """Estimated prompt tokens of ``request`` (tiktoken when installed, else a heuristic)."""
        return self._tokens.count_messages(request.messages, request.tools)

    def cost_of(self, model: str, usage: Usage) -> float | None:
        """USD for ``usage`` on ``provider/model`` at catalog prices (None if unpriced)."""
        info = self.catalog.get(model)
        return None if info is None else cost_of_usage(info, usage)

    # --- lifecycle --------------------------------------------------------------------------
    def close(self) -> None:
        """Close the connection pools and the state store; later calls raise
        ``ClientClosedError``."""
        self._transport.close()
        if self._webhook is not None:
            self._webhook.close()
        if self._state is not None:
            self._state.close()

    async def aclose(self) -> None:
        """Close this event loop's connection pools, the sync ones and the state store."""
        await self._transport.aclose()
        if self._webhook is not None:
            self._webhook.close()
        if self._state is not None:
            await self._state.aclose()

    def __enter__(self) -> Cosmara:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    async def __aenter__(self) -> Cosmara:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def __getstate__(self) -> dict[str, Any]:
        # Connection pools and locks do not pickle; literal keys must not. Rebuild from config
        # (``Secret`` pickles only environment-variable references).
        return {"config": self.config, "context": self._context}

    def __setstate__(self, state: dict[str, Any]) -> None:
        context: RequestContext = state["context"]
        self.__init__(  # type: ignore[misc]
            state["config"],
            org=context.org,
            team=context.team,
            user=context.user,
            tags=context.tags,
            metadata=context.metadata,
        )

    # --- the pipeline --------------------------------------------------------------------
    def _builtin_stages(self) -> list[Stage]:
        """The engine's own stages, in order: a stage for what is configured, no more."""
        config, clock = self.config, self._clock
        stages: list[Stage] = [Events(self.plugins)]
        if config.ledger.enabled:
            from cosmara.ledger import Ledger
            from cosmara.pipeline._ledger import LedgerStage

            self.ledger = Ledger(self.state, max_rows=config.ledger.max_rows)
            stages.append(
                LedgerStage(self.ledger, config.ledger, self.catalog, clock.time, self._is_routed)
            )
        if config.cache.enabled:
            from cosmara.cache._cache import Cache
            from cosmara.pipeline._cache import CacheStage

            self.cache = Cache(
                config.cache,
                self.state,
                self,
                embedders=self.plugins.embedders(),
                verifiers=self.plugins.verifiers(),
            )
            stages.append(CacheStage(self.cache, self.plugins))
        if config.breaker.shared:
            from cosmara.pipeline._breakers import SharedBreakers

            self._shared_breakers = SharedBreakers(
                self._health,
                lambda: self.state,
                clock,
                cooldown=config.breaker.cooldown_seconds,
                every=config.breaker.shared_every_seconds,
            )
            stages.append(self._shared_breakers)
        stages.append(self._route)
        from cosmara.pipeline._spend import SpendStage

        stages.append(
            SpendStage(
                budgets=self.budgets,
                rate_limits=config.rate_limits,
                store=lambda: self.state,
                route=self._route,
                catalog=self.catalog,
                plugins=self.plugins,
                tokens=self._tokens,
                webhook=self._webhook,
                clock=clock,
            )
        )
        return stages

    def _is_routed(self, name: str) -> bool:
        """Whether a model name is one the engine chooses for: a group or an alias."""
        return name in self._groups or name in self.config.aliases

    def _call(
        self,
        request_type: type[_Request],
        request: _Request | None,
        kwargs: dict[str, Any],
        *,
        stream: bool = False,
    ) -> Call:
        return self._validate.call(request_type, request, kwargs, stream=stream)

    def _content_filter_targets(self) -> tuple[Target, ...]:
        names = self.config.content_filter_fallbacks
        return self._router.plan(names[0], names[1:]).targets if names else ()


def _budgets(config: CosmaraConfig, store: Any, clock: Clock) -> Budgets:
    from cosmara.budgets import Budgets

    return Budgets(config.budgets, config.budget, store, now=clock.now)


def _webhook(config: CosmaraConfig) -> Webhook | None:
    options = config.budget
    if not options.webhook:
        return None
    from cosmara.budgets import Webhook

    return Webhook(options.webhook, options.webhook_headers)


def _build_catalog(config: CosmaraConfig) -> Catalog:
    catalog = Catalog.builtin()
    if config.litellm_prices:
        for info in load_litellm_prices(config.litellm_prices):
            catalog.add(info)
    for model_id, fields in config.models.items():
        catalog.override(model_id, fields)
    return catalog
