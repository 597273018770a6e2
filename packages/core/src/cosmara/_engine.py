"""``Cosmara``: the engine every surface calls.

One request goes through the same steps on every path (sync, async, streamed, embeddings)::

    validate -> context -> route plan -> [cache] -> [budget] -> attempts -> settle

The bracketed steps belong to later capabilities and slot in between planning and the attempt
loop. Everything before the attempts is pure and raises typed errors before any network call;
the attempts are driven by thin sync and async drivers around ``AttemptLoop``.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, cast

from pydantic import ValidationError

from cosmara._attempts import AttemptLoop
from cosmara._catalog import Catalog, ModelInfo, load_litellm_prices
from cosmara._clock import Clock
from cosmara._config import CosmaraConfig
from cosmara._context import RequestContext
from cosmara._cost import CostEstimate, cost_of_usage, estimate_cost
from cosmara._embeddings import EmbeddingRequest, EmbeddingResponse
from cosmara._errors import (
    BadRequestError,
    ConfigurationError,
    ContextWindowExceededError,
    CosmaraError,
    InvalidResponseError,
    ProviderError,
    RequestTimeoutError,
    RequestValidationError,
    UnknownModelError,
)
from cosmara._groups import GroupRouter
from cosmara._headers import checked_headers
from cosmara._health import HealthMonitor, TargetHealth
from cosmara._messages import AssistantMessage, ChatRequest
from cosmara._meta import CosmaraMeta
from cosmara._plugins import Plugins
from cosmara._response import ChatResponse, Choice, Usage
from cosmara._retry import MAX_RETRIES, RetryPolicy
from cosmara._routing import Plan, ProviderSet, Router, Target
from cosmara._strategies import BUILTIN_STRATEGIES, needed_capabilities
from cosmara._stream import ChatChunk, ChunkChoice, Delta, StreamAccumulator
from cosmara._timeouts import Timeouts
from cosmara._tokens import PromptSize, TokenCounter, most_tokens
from cosmara._transport import AsyncStreamResponse, StreamResponse, Transport, Window
from cosmara._transport._deadlines import within
from cosmara.providers._base import HttpProvider, HttpRequest, HttpResponse, LocalProvider

__all__ = ["Cosmara"]

_Request = TypeVar("_Request", ChatRequest, EmbeddingRequest)
_T = TypeVar("_T")
_CONTEXT_KEYS = ("org", "team", "tags", "metadata")  # ``user`` is also a request field


@dataclass
class _Call:
    """One request in flight: what was asked, for whom, and where it may go."""

    request: Any
    context: RequestContext
    plan: Plan
    timeout: Timeouts | None  # given for this call; else per model, provider, client
    retry: RetryPolicy
    unfit: dict[str, ProviderError]  # targets skipped without a request, with the reason
    fallback_message: str | None = None  # the answer of last resort when every target failed
    headers: dict[str, str] | None = None  # the call's extra_headers, sent to HTTP providers
    query: dict[str, str] | None = None  # the call's extra_query parameters
    deadline: float | None = None  # the clock's monotonic time the whole call must end by


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
        return cast(ChatResponse, self._run(self._prepare(ChatRequest, request, kwargs)))

    async def achat(self, request: ChatRequest | None = None, /, **kwargs: Any) -> ChatResponse:
        """Async ``chat``; same arguments, same errors."""
        return cast(ChatResponse, await self._arun(self._prepare(ChatRequest, request, kwargs)))

    def stream(self, request: ChatRequest | None = None, /, **kwargs: Any) -> Iterator[ChatChunk]:
        """Stream a chat response as ``ChatChunk``s.

        The request is validated and planned now (errors raise here, not on first iteration).
        The last chunk has empty ``choices`` and carries ``usage`` and ``cosmara`` metadata.
        A target failing before any content reached the caller falls back to the next one
        unseen; a failure after that raises, with ``error.partial_text`` set.
        """
        call = self._prepare(ChatRequest, request, kwargs)
        return self._stream(call)

    def astream(
        self, request: ChatRequest | None = None, /, **kwargs: Any
    ) -> AsyncIterator[ChatChunk]:
        """Async ``stream``: ``async for chunk in client.astream(...)``."""
        call = self._prepare(ChatRequest, request, kwargs)
        return self._astream(call)

    # --- embeddings -------------------------------------------------------------------------
    def embed(self, request: EmbeddingRequest | None = None, /, **kwargs: Any) -> EmbeddingResponse:
        """Embed ``input`` (a string or a list of strings) with ``model``."""
        return cast(EmbeddingResponse, self._run(self._prepare(EmbeddingRequest, request, kwargs)))

    async def aembed(
        self, request: EmbeddingRequest | None = None, /, **kwargs: Any
    ) -> EmbeddingResponse:
        """Async ``embed``."""
        return cast(
            EmbeddingResponse, await self._arun(self._prepare(EmbeddingRequest, request, kwargs))
        )

    # --- health -----------------------------------------------------------------------------
    def health(self) -> dict[str, TargetHealth]:
        """Live health of every target this client has called: breaker state, EWMA latency,
        error rate, availability in the breaker window and the last error."""
        return self._health.report()

    def _breaker_moved(self, target: str, old_state: str, new_state: str) -> None:
        self.plugins.emit(
            "cosmara_breaker", target=target, old_state=old_state, new_state=new_state
        )

    # --- cost and tokens --------------------------------------------------------------------
    def estimate_cost(self, request: ChatRequest | None = None, /, **kwargs: Any) -> CostEstimate:
        """Cost ceiling of a chat request before sending it (prompt tokens estimated locally).

        Raises:
            UnknownModelError: the model has no price in the catalog.
        """
        call = self._prepare(ChatRequest, request, kwargs, announce=False)
        target = call.plan.targets[0]
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
        """Close the sync connection pools."""
        self._transport.close()

    async def aclose(self) -> None:
        """Close this event loop's async connection pools and the sync ones."""
        await self._transport.aclose()

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

    # --- pipeline steps ---------------------------------------------------------------------
    def _prepare(
        self,
        request_type: type[_Request],
        request: _Request | None,
        kwargs: dict[str, Any],
        *,
        announce: bool = True,
    ) -> _Call:
        given = _fallback_names(kwargs.pop("fallbacks", None))
        timeout = _call_timeouts(kwargs.pop("timeout", None))
        fallback_message = kwargs.pop("fallback_message", self.config.fallback_message)
        retry = _retry_policy(self.config.retry, kwargs.pop("max_retries", None))
        headers = _extra_headers(kwargs.pop("extra_headers", None))
        query = _extra_query(kwargs.pop("extra_query", None))
        who = {key: kwargs.pop(key) for key in _CONTEXT_KEYS if key in kwargs}
        if "user" in kwargs:
            who["user"] = kwargs["user"]
        context = RequestContext.build(**who, base=self._context) if who else self._context
        if request is None:
            if "model" not in kwargs and self.config.default_model:
                kwargs["model"] = self.config.default_model
            if context.user is not None:
                # The caller's user id doubles as OpenAI's end-user field for abuse monitoring.
                kwargs.setdefault("user", context.user)
            request = _validate(request_type, kwargs)
        elif kwargs:
            request = _validate(request_type, {**request.model_dump(), **kwargs})
        fallbacks = given + tuple(self.config.fallbacks.get(request.model, ()))
        groups = self._groups
        if isinstance(request, ChatRequest):
            needs = needed_capabilities(request)
            size = PromptSize(self._tokens, request)
            if request.model in groups or any(name in groups for name in fallbacks):
                plan = groups.route(
                    request.model, fallbacks, request, context, needs=needs, size=size
                )
            else:
                plan = self._router.plan(request.model, fallbacks)
            unfit = self._unfit(request, plan, needs, size)
        else:
            plan = self._router.plan(request.model, fallbacks)
            unfit = {}
        total = (timeout or self.config.timeout).total
        deadline = None if total is None else self._clock.monotonic() + total
        if announce:
            self.plugins.emit("cosmara_request_start", request=request, context=context)
        return _Call(
            request,
            context,
            plan,
            timeout,
            retry,
            unfit,
            fallback_message,
            headers,
            query,
            deadline,
        )

    def _unfit(
        self, request: ChatRequest, plan: Plan, needs: frozenset[str], size: PromptSize
    ) -> dict[str, ProviderError]:
        """Targets not worth a request, with why: the prompt plus max_tokens already exceeds
        their context window, or the catalog says an alternative cannot do what the request
        needs (tools, images, a JSON schema). The first target is the one the caller (or the
        routing strategy) chose, so a capability gap in the catalog never blocks it."""
        unfit: dict[str, ProviderError] = {}
        if needs:
            for target in plan.targets[1:]:
                if target.info is not None and not needs <= target.info.capabilities:
                    unfit[target.id] = _incapable(target, needs - target.info.capabilities)
        windows = plan.windows
        if not windows:
            return unfit
        reserve = request.max_tokens or 0
        # A bound first, without counting: most prompts stop here.
        if most_tokens(request) + reserve <= min(windows.values()):
            return unfit
        needed = size() + reserve
        for target in plan.targets:
            window = windows.get(target.id)
            if window is not None and needed > window:
                unfit.setdefault(target.id, _too_long(target, window))
        return unfit

    def _timeouts(self, call: _Call, target: Target) -> Timeouts:
        """The call's own, else the model's, else the provider's, else the client's."""
        return (
            call.timeout
            or self.config.model_timeouts.get(target.id)
            or target.provider.settings.timeout
            or self.config.timeout
        )

    def _window(self, call: _Call, target: Target, *, stream: bool) -> Window:
        """What one attempt may spend: the answer's limit (a stream's first token's), never
        past the call's own deadline."""
        timeouts = self._timeouts(call, target)
        now = time.monotonic()
        until = now + (timeouts.first if stream else timeouts.request)
        if call.deadline is not None:
            until = min(until, now + call.deadline - self._clock.monotonic())
        return Window(until, timeouts.connect, timeouts.pool or timeouts.connect)

    def _gap_deadline(self, call: _Call, target: Target) -> float:
        """When the next chunk of a stream that has begun must have arrived."""
        now = time.monotonic()
        until = now + self._timeouts(call, target).gap
        if call.deadline is not None:
            until = min(until, now + call.deadline - self._clock.monotonic())
        return until

    def _content_filter_targets(self) -> tuple[Target, ...]:
        names = self.config.content_filter_fallbacks
        return self._router.plan(names[0], names[1:]).targets if names else ()

    def _loop(self, call: _Call) -> AttemptLoop:
        return AttemptLoop(
            call.plan,
            call.request,
            call.context,
            self.plugins,
            call.retry,
            self._health,
            call.unfit,
            self._content_filter_targets(),
            deadline=call.deadline,
            clock=self._clock.monotonic,
        )

    def _run(self, call: _Call) -> Any:
        with self._loop(call) as loop:
            for target in loop:
                if loop.delay:
                    self._clock.sleep(loop.delay)
                try:
                    response = self._send(call, target)
                except ProviderError as error:
                    loop.failed(target, error)
                    continue
                loop.succeeded(target)
                return self._settle(call, loop, target, response)
            return self._last_resort(call, loop, loop.final_error())

    async def _arun(self, call: _Call) -> Any:
        with self._loop(call) as loop:
            for target in loop:
                if loop.delay:
                    await self._clock.asleep(loop.delay)
                try:
                    response = await self._asend(call, target)
                except ProviderError as error:
                    loop.failed(target, error)
                    continue
                loop.succeeded(target)
                return self._settle(call, loop, target, response)
            return self._last_resort(call, loop, loop.final_error())

    def _send(self, call: _Call, target: Target) -> Any:
        provider, request, model = target.provider, call.request, target.model
        if isinstance(provider, LocalProvider):
            if isinstance(request, EmbeddingRequest):
                return provider.embed(request, model)
            return provider.chat(request, model)
        assert isinstance(provider, HttpProvider)
        http = _described(provider, request, model, call)
        window = self._window(call, target, stream=False)
        return _parse(provider, self._transport.send(provider, http, window), request, model)

    async def _asend(self, call: _Call, target: Target) -> Any:
        provider, request, model = target.provider, call.request, target.model
        window = self._window(call, target, stream=False)
        if isinstance(provider, LocalProvider):
            answer = (
                provider.aembed(request, model)
                if isinstance(request, EmbeddingRequest)
                else provider.achat(request, model)
            )
            return await _in_time(answer, window.until, target)
        assert isinstance(provider, HttpProvider)
        http = _described(provider, request, model, call)
        response = await self._transport.asend(provider, http, window)
        return _parse(provider, response, request, model)

    def _stream(self, call: _Call) -> Iterator[ChatChunk]:
        with self._loop(call) as loop:
            for target in loop:
                if loop.delay:
                    self._clock.sleep(loop.delay)
                provider = target.provider
                window = self._window(call, target, stream=True)
                pace: _Pace | StreamResponse = _Pace(window.until)  # in-process: unbounded
                try:
                    if isinstance(provider, LocalProvider):
                        chunks: Iterator[ChatChunk] = iter(
                            provider.stream(call.request, target.model)
                        )
                        close = getattr(chunks, "close", lambda: None)
                    else:
                        assert isinstance(provider, HttpProvider)
                        http = _described(provider, call.request, target.model, call, stream=True)
                        opened = self._transport.open_stream(provider, http, window)
                        if opened.status >= 300:
                            raise _error_of(provider, opened.read(), target.model)
                        pace = opened
                        chunks = _decode(provider, target.model, opened.iter_bytes())
                        close = opened.close
                except ProviderError as error:
                    loop.failed(target, error)
                    continue
                gate = _FirstTokenGate()
                try:
                    for chunk in chunks:
                        yield from gate.admit(chunk)
                        if gate.opened:
                            pace.deadline = self._gap_deadline(call, target)
                except ProviderError as error:
                    error = self._stalled(error, call, target, gate)
                    loop.failed(target, error)
                    if not gate.opened:
                        continue  # nothing reached the caller yet: the next try takes over unseen
                    raise loop.fail(self._interrupted(call, target, gate, error)) from None
                finally:
                    close()
                yield from gate.release()
                loop.succeeded(target, first_token_at=gate.opened_at)
                yield self._final_chunk(call, loop, target, gate.accumulator)
                return
            answer = self._last_resort(call, loop, loop.final_error())
            yield from _as_chunks(answer)

    async def _astream(self, call: _Call) -> AsyncIterator[ChatChunk]:
        with self._loop(call) as loop:
            for target in loop:
                if loop.delay:
                    await self._clock.asleep(loop.delay)
                provider = target.provider
                window = self._window(call, target, stream=True)
                try:
                    if isinstance(provider, LocalProvider):
                        local = _Pace(window.until)
                        pace: _Pace | AsyncStreamResponse = local
                        chunks = local.bound(provider.astream(call.request, target.model), target)
                        close: Any = chunks.aclose
                    else:
                        assert isinstance(provider, HttpProvider)
                        http = _described(provider, call.request, target.model, call, stream=True)
                        opened = await self._transport.aopen_stream(provider, http, window)
                        if opened.status >= 300:
                            raise _error_of(provider, await opened.read(), target.model)
                        pace = opened
                        chunks = _adecode(provider, target.model, opened.iter_bytes())
                        close = opened.close
                except ProviderError as error:
                    loop.failed(target, error)
                    continue
                gate = _FirstTokenGate()
                try:
                    async for chunk in chunks:
                        for admitted in gate.admit(chunk):
                            yield admitted
                        if gate.opened:
                            pace.deadline = self._gap_deadline(call, target)
                except ProviderError as error:
                    error = self._stalled(error, call, target, gate)
                    loop.failed(target, error)
                    if not gate.opened:
                        continue  # nothing reached the caller yet: the next try takes over unseen
                    raise loop.fail(self._interrupted(call, target, gate, error)) from None
                finally:
                    await close()
                for held in gate.release():
                    yield held
                loop.succeeded(target, first_token_at=gate.opened_at)
                yield self._final_chunk(call, loop, target, gate.accumulator)
                return
            answer = self._last_resort(call, loop, loop.final_error())
            for chunk in _as_chunks(answer):
                yield chunk

    def _stalled(
        self, error: ProviderError, call: _Call, target: Target, gate: _FirstTokenGate
    ) -> ProviderError:
        """A stream's timeout, said as the limit that ran out: the call's total, the first
        token's, or the gap between two chunks."""
        if not isinstance(error, RequestTimeoutError) or error.code is not None:
            return error
        timeouts = self._timeouts(call, target)
        if call.deadline is not None and call.deadline - self._clock.monotonic() <= 0.01:
            code, what = "deadline_exceeded", "the call's total timeout passed"
        elif gate.opened:
            code, what = "stream_stalled", f"waited more than {timeouts.gap:g} s between chunks"
        else:
            code, what = (
                "first_token_timeout",
                (f"waited more than {timeouts.first:g} s for the first token"),
            )
        return RequestTimeoutError(
            what, provider=target.provider.name, model=target.model, code=code
        )

    def _interrupted(
        self, call: _Call, target: Target, gate: _FirstTokenGate, error: ProviderError
    ) -> ProviderError:
        """A stream that failed after content reached the caller: the error carries the text
        they have and what it cost (the provider's usage if it sent one, else an estimate)."""
        error.partial_text = gate.accumulator.text
        usage = gate.accumulator.usage
        if usage is None:
            prompt = self.count_tokens(call.request)
            completion = self.count_text(error.partial_text)
            usage = Usage(
                prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion
            )
        error.usage = usage
        error.cost_usd = cost_of_usage(target.info, usage) if target.info else None
        return error

    def _last_resort(self, call: _Call, loop: AttemptLoop, error: ProviderError) -> Any:
        """The configured default answer once every target failed, or the error itself."""
        if call.fallback_message is None or not isinstance(call.request, ChatRequest):
            raise error
        response = ChatResponse(
            id=f"cosmara-fallback-{int(time.time() * 1000)}",
            created=int(time.time()),
            model="fallback_message",
            choices=[
                Choice(
                    message=AssistantMessage(content=call.fallback_message), finish_reason="stop"
                )
            ],
            usage=Usage(),
        )
        response.cosmara = CosmaraMeta(
            provider="cosmara",
            model="fallback_message",
            cost_usd=0.0,
            latency_ms=round(loop.latency_ms, 3),
            attempts=loop.attempts,
            route=call.plan.route,
            context=call.context,
        )
        return response

    def _final_chunk(
        self, call: _Call, loop: AttemptLoop, target: Target, accumulator: StreamAccumulator
    ) -> ChatChunk:
        meta = self._meta(call, loop, target, accumulator.usage, accumulator.model)
        if self.plugins.has_observers("cosmara_response"):
            response = accumulator.response()
            response.cosmara = meta
            self.plugins.emit(
                "cosmara_response", request=call.request, response=response, context=call.context
            )
        return ChatChunk(
            id=accumulator.id,
            created=accumulator.created,
            model=accumulator.model,
            choices=[],
            usage=accumulator.usage,
            system_fingerprint=accumulator.system_fingerprint,
            cosmara=meta,
        )

    def _settle(self, call: _Call, loop: AttemptLoop, target: Target, response: Any) -> Any:
        """Cost, metadata and the response event. Budget settlement and the ledger go here."""
        usage = response.usage
        if isinstance(response, EmbeddingResponse) and usage is not None:
            usage = Usage(prompt_tokens=usage.prompt_tokens, total_tokens=usage.total_tokens)
        response.cosmara = self._meta(call, loop, target, usage, response.model)
        self.plugins.emit(
            "cosmara_response", request=call.request, response=response, context=call.context
        )
        return response

    def _meta(
        self,
        call: _Call,
        loop: AttemptLoop,
        target: Target,
        usage: Usage | None,
        served_model: str,
    ) -> CosmaraMeta:
        info = target.info or self.catalog.price_entry(
            target.provider.catalog_names, target.model, served_model
        )
        return CosmaraMeta(
            provider=target.provider.name,
            model=target.model,
            cost_usd=cost_of_usage(info, usage) if info is not None and usage is not None else None,
            latency_ms=round(loop.latency_ms, 3),
            attempts=loop.attempts,
            route=call.plan.route,
            context=call.context,
        )


def _described(
    provider: HttpProvider, request: Any, model: str, call: _Call, *, stream: bool = False
) -> HttpRequest:
    """The provider's HTTP request, with the call's own headers and query parameters.

    Raises:
        RequestValidationError: the request cannot be put on the wire (a lone surrogate in
            its text, a value JSON cannot carry): nothing is sent to any target.
    """
    try:
        if isinstance(request, EmbeddingRequest):
            http = provider.embed_request(request, model)
        else:
            http = provider.chat_request(request, model, stream=stream)
    except CosmaraError:
        raise
    except (ValueError, TypeError, RecursionError) as error:
        raise RequestValidationError(
            f"the request cannot be sent as JSON: {_first_line(error)}"
        ) from None
    if call.headers is None and call.query is None:
        return http
    headers = {**http.headers, **(call.headers or {})}
    params = {**(http.params or {}), **(call.query or {})} or None
    return dataclasses.replace(http, headers=headers, params=params)


def _parse(provider: HttpProvider, response: HttpResponse, request: Any, model: str) -> Any:
    """The answer in a response, or its typed error; a body no parser can make sense of (too
    deep, wrong types, bytes that are not text) is an ``InvalidResponseError``."""
    if response.status >= 300:
        raise _error_of(provider, response, model)
    try:
        if isinstance(request, EmbeddingRequest):
            return provider.parse_embed(response, model)
        return provider.parse_chat(response, model)
    except CosmaraError:
        raise
    except Exception as error:
        raise _unreadable(provider, model, error) from None


def _error_of(provider: HttpProvider, response: HttpResponse, model: str) -> ProviderError:
    try:
        return provider.parse_error(response, model)
    except Exception as error:
        return _unreadable(provider, model, error)


def _unreadable(provider: HttpProvider, model: str, error: BaseException) -> ProviderError:
    return InvalidResponseError(
        f"could not read the response ({type(error).__name__})",
        provider=provider.name,
        model=model,
    )


def _first_line(error: BaseException) -> str:
    return str(error).splitlines()[0] if str(error) else type(error).__name__


class _FirstTokenGate:
    """Holds a stream's opening chunks until its first content arrives.

    Until then a failed target can hand the request to the next one without the caller seeing
    two beginnings; after it, a failure is raised with the text streamed so far. Usage is held
    back from every chunk so it is reported once, on the engine's final chunk.
    """

    def __init__(self) -> None:
        self.accumulator = StreamAccumulator()
        self.opened = False
        self.opened_at: float | None = None  # perf_counter() when the first content arrived
        self._held: list[ChatChunk] = []

    def admit(self, chunk: ChatChunk) -> list[ChatChunk]:
        """The chunks to pass on now (none while the gate is still closed)."""
        self.accumulator.add(chunk)
        if chunk.usage is not None:
            if not chunk.choices:
                return []
            chunk.usage = None
        if self.opened:
            return [chunk]
        self._held.append(chunk)
        if not self.accumulator.has_content:
            return []
        self.opened = True
        self.opened_at = time.perf_counter()
        return self.release()

    def release(self) -> list[ChatChunk]:
        held, self._held = self._held, []
        return held


class _Chunks:
    """A provider's stream decoder, held to the stream limits: at most ``limits.event_bytes``
    may arrive without making a chunk (one SSE line or event, one NDJSON line), and whatever
    the decoder cannot make sense of is an ``InvalidResponseError``."""

    def __init__(self, provider: HttpProvider, model: str) -> None:
        self._provider = provider
        self._model = model
        self._decoder = provider.stream_decoder(model)
        self._limit = provider.limits.event_bytes
        self._pending = 0

    def feed(self, data: bytes) -> list[ChatChunk]:
        self._pending += len(data)
        chunks = self._guarded(self._decoder.feed, data)
        if chunks:
            self._pending = 0
        elif self._pending > self._limit:
            raise InvalidResponseError(
                f"the stream sent more than {self._limit:,} bytes without a complete event "
                "(limits.event_bytes)",
                provider=self._provider.name,
                model=self._model,
                code="response_too_large",
                retryable=False,
            )
        return chunks

    def close(self) -> list[ChatChunk]:
        return self._guarded(self._decoder.close)

    def _guarded(self, step: Any, *args: Any) -> list[ChatChunk]:
        try:
            chunks: list[ChatChunk] = step(*args)
        except CosmaraError:
            raise
        except Exception as error:  # invalid UTF-8, JSON nested too deep, wrong shapes
            raise _unreadable(self._provider, self._model, error) from None
        return chunks


def _decode(provider: HttpProvider, model: str, data: Iterator[bytes]) -> Iterator[ChatChunk]:
    decoder = _Chunks(provider, model)
    for piece in data:
        yield from decoder.feed(piece)
    yield from decoder.close()


async def _adecode(
    provider: HttpProvider, model: str, data: AsyncIterator[bytes]
) -> AsyncGenerator[ChatChunk, None]:
    decoder = _Chunks(provider, model)
    async for piece in data:
        for chunk in decoder.feed(piece):
            yield chunk
    for chunk in decoder.close():
        yield chunk


class _Pace:
    """The deadline of a stream's next chunk, for streams the transport does not read: an
    in-process provider's (held to it when async; a blocking one cannot be interrupted)."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline

    async def bound(
        self, chunks: AsyncIterator[ChatChunk], target: Target
    ) -> AsyncGenerator[ChatChunk, None]:
        iterator = chunks.__aiter__()
        try:
            while True:
                try:
                    chunk = await _in_time(iterator.__anext__(), self.deadline, target)
                except StopAsyncIteration:
                    return
                yield chunk
        finally:
            closing = getattr(iterator, "aclose", None)
            if closing is not None:
                await closing()


async def _in_time(answer: Awaitable[_T], until: float, target: Target) -> _T:
    """``await answer`` by the ``time.monotonic()`` deadline ``until``."""
    import asyncio

    try:
        return await within(answer, until)
    except (TimeoutError, asyncio.TimeoutError):
        raise RequestTimeoutError(
            "the provider did not answer in time", provider=target.provider.name, model=target.model
        ) from None


def _incapable(target: Target, missing: frozenset[str]) -> ProviderError:
    return BadRequestError(
        f"not sent: the catalog lists no {', '.join(sorted(missing))} support for {target.id}",
        provider=target.provider.name,
        model=target.model,
        code="UnsupportedCapability",
    )


def _too_long(target: Target, window: int) -> ProviderError:
    return ContextWindowExceededError(
        f"not sent: the prompt and max_tokens exceed the {window}-token context window",
        provider=target.provider.name,
        model=target.model,
        code="ContextWindowExceeded",
    )


def _as_chunks(response: ChatResponse) -> list[ChatChunk]:
    """A whole answer as a stream: its content, its finish, then usage and metadata."""
    ident, created, model = response.id, response.created, response.model
    opening = ChunkChoice(delta=Delta(role="assistant", content=response.text))
    return [
        ChatChunk(id=ident, created=created, model=model, choices=[opening]),
        ChatChunk(
            id=ident,
            created=created,
            model=model,
            choices=[ChunkChoice(delta=Delta(), finish_reason="stop")],
        ),
        ChatChunk(
            id=ident,
            created=created,
            model=model,
            choices=[],
            usage=response.usage,
            cosmara=response.cosmara,
        ),
    ]


def _call_timeouts(value: Any) -> Timeouts | None:
    if value is None:
        return None
    try:
        return Timeouts.coerce(value)
    except (ValueError, TypeError) as error:
        raise RequestValidationError(f"invalid timeout: {error}") from None


def _extra_headers(value: Any) -> dict[str, str] | None:
    if not value:
        return None
    try:
        checked = checked_headers(value, "extra_headers")
    except ValueError as error:
        raise RequestValidationError(str(error)) from None
    return {name.lower(): text for name, text in checked.items()}


def _extra_query(value: Any) -> dict[str, str] | None:
    if not value:
        return None
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise RequestValidationError("extra_query must be a mapping of strings to strings")
    return dict(value)


def _retry_policy(configured: RetryPolicy, max_retries: Any) -> RetryPolicy:
    if max_retries is None:
        return configured
    if (
        not isinstance(max_retries, int)
        or isinstance(max_retries, bool)
        or not 0 <= max_retries <= MAX_RETRIES
    ):
        raise RequestValidationError(
            f"max_retries must be an integer from 0 to {MAX_RETRIES}, not {max_retries!r}"
        )
    return configured.model_copy(update={"max_retries": max_retries})


def _fallback_names(given: Any) -> tuple[str, ...]:
    """The call's fallbacks: one model name or a list of them."""
    if given is None:
        return ()
    names = (given,) if isinstance(given, str) else given
    if not isinstance(names, (list, tuple)) or not all(
        isinstance(name, str) and name for name in names
    ):
        raise RequestValidationError("fallbacks must be a model name or a list of model names")
    return tuple(names)


def _validate(request_type: type[_Request], data: dict[str, Any]) -> _Request:
    try:
        return request_type.model_validate(data)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in item['loc']) or 'request'}: {item['msg']}"
            for item in error.errors(include_url=False)
        )
        raise RequestValidationError(f"invalid {request_type.__name__}: {problems}") from None


def _build_catalog(config: CosmaraConfig) -> Catalog:
    catalog = Catalog.builtin()
    if config.litellm_prices:
        for info in load_litellm_prices(config.litellm_prices):
            catalog.add(info)
    for model_id, fields in config.models.items():
        catalog.override(model_id, fields)
    return catalog
