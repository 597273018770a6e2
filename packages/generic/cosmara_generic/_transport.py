"""``CosmaraTransport`` / ``AsyncCosmaraTransport``: httpx transports that answer the OpenAI
API from a Cosmara engine.

Give one to an ``httpx.Client`` and any client of the OpenAI HTTP API (the openai SDK first)
talks to the engine instead of a server: each request is read back into an engine call
(``_Router.plan``, pure), the engine routes, retries, falls back and prices it, and the answer
goes back as OpenAI's JSON, SSE stream or error. The two transports differ only in how they
wait: everything they decide is in ``_Router`` and the encoders.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

import cosmara
from cosmara_generic._chat import (
    ChatStreamEncoder,
    chat_request,
    completion_body,
    embedding_request,
    embeddings_body,
)
from cosmara_generic._errors import error_reply, not_served, raise_unanswered
from cosmara_generic._models import model_list, model_object
from cosmara_generic._reply import Reply, meta_headers
from cosmara_generic._request import Incoming, engine_keywords, read_request
from cosmara_generic._responses import chat_from_responses
from cosmara_generic._responses_stream import ResponsesStreamEncoder

__all__ = ["AsyncCosmaraTransport", "CosmaraTransport"]

_ENDPOINT = re.compile(r"/(chat/completions|completions|embeddings|responses|models)(?:/(.+))?$")
_SSE = {"content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache"}
_LEGACY = (
    "the legacy Completions API continues a prompt, which chat models do not do; "
    "use chat.completions or responses"
)


class _Encoder(Protocol):
    def feed(self, chunk: cosmara.ChatChunk) -> bytes: ...
    def close(self) -> bytes: ...
    def fail(self, error: cosmara.CosmaraError) -> bytes: ...


@dataclass
class _EngineCall:
    """What one request asks of the engine: ``chat`` or ``embed`` with these arguments,
    answered whole by ``render`` or streamed through ``encoder``."""

    method: str
    request: Any
    keywords: dict[str, Any]
    render: Callable[[Any], Reply] | None = None
    encoder: _Encoder | None = None


class _Router:
    """Requests to engine calls, and answers needing no call (models, errors). Pure."""

    def __init__(self, engine: cosmara.Cosmara, defaults: Mapping[str, Any]) -> None:
        self.engine = engine
        self.defaults = dict(defaults)

    def plan(self, request: httpx.Request) -> Reply | _EngineCall:
        try:
            incoming = read_request(request)
            return self._route(incoming)
        except cosmara.CosmaraError as error:
            return error_reply(error)

    def _route(self, incoming: Incoming) -> Reply | _EngineCall:
        method, path = incoming.method, incoming.path
        found = _ENDPOINT.search(path)
        endpoint, rest = (found.group(1), found.group(2)) if found else (None, None)
        if endpoint == "models" and method == "GET":
            if rest is None:
                return Reply(200, model_list(self.engine))
            return Reply(200, model_object(self.engine, rest))
        if rest is not None or method != "POST":
            return not_served(method, path, "Cosmara answers requests, it stores nothing")
        if endpoint == "completions":
            return not_served(method, path, _LEGACY)
        if endpoint is None or endpoint == "models":
            return not_served(method, path, "not an endpoint Cosmara translates")
        if incoming.body is None:
            raise cosmara.RequestValidationError("the request has no JSON body")
        body = dict(incoming.body)
        keywords = engine_keywords(body, self.defaults, incoming.transport)
        if endpoint == "embeddings":
            embed, as_base64 = embedding_request(body)
            return _EngineCall("embed", embed, keywords, lambda r: _embeddings(r, as_base64))
        if endpoint == "chat/completions":
            chat, stream, include_usage = chat_request(body)
            if stream:
                return _EngineCall("chat", chat, keywords, encoder=ChatStreamEncoder(include_usage))
            return _EngineCall("chat", chat, keywords, _completion)
        chat, stream, shape = chat_from_responses(body)
        if stream:
            encoder = ResponsesStreamEncoder(shape, chat.model)
            return _EngineCall("chat", chat, keywords, encoder=encoder)
        return _EngineCall(
            "chat",
            chat,
            keywords,
            lambda r: Reply(200, shape.from_chat(r), meta_headers(r.cosmara)),
        )


def _completion(response: cosmara.ChatResponse) -> Reply:
    return Reply(200, completion_body(response), meta_headers(response.cosmara))


def _embeddings(response: cosmara.EmbeddingResponse, as_base64: bool) -> Reply:
    return Reply(200, embeddings_body(response, as_base64), meta_headers(response.cosmara))


def _failed(error: cosmara.CosmaraError, request: httpx.Request) -> httpx.Response:
    raise_unanswered(error, request)
    return error_reply(error).to_httpx()


class _Settings:
    """The engine and the defaults every call of one transport gets."""

    def __init__(
        self,
        engine: cosmara.Cosmara,
        *,
        close_engine: bool = False,
        max_retries: int | None = None,
        fallbacks: Sequence[str] | None = None,
        org: str | None = None,
        team: str | None = None,
        user: str | None = None,
        tags: Mapping[str, str] | Sequence[str] | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        defaults = {"max_retries": max_retries, "fallbacks": fallbacks, "org": org, "team": team}
        defaults.update(user=user, tags=tags, metadata=metadata)
        self.engine = engine
        self.close_engine = close_engine
        self.defaults = {key: value for key, value in defaults.items() if value is not None}
        self._router = _Router(engine, self.defaults)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(engine={self.engine!r})"

    def with_defaults(self, **changes: Any) -> Any:
        """A transport on the same engine (not closing it) with some defaults changed:
        ``max_retries``, ``fallbacks``, ``org``, ``team``, ``user``, ``tags``, ``metadata``."""
        return type(self)(self.engine, **{**self.defaults, **changes})


class CosmaraTransport(_Settings, httpx.BaseTransport):
    """An httpx transport that answers the OpenAI API from ``engine``.

    Serves ``POST /chat/completions`` (plain and streamed), ``POST /responses`` (translated
    to chat), ``POST /embeddings``, ``GET /models`` and ``GET /models/{name}``; any other
    path is answered 404 with the reason. Requests keep their headers and query parameters
    for the provider, less the SDK's own bookkeeping and any credential.

    Args:
        engine: the ``cosmara.Cosmara`` engine to answer from.
        close_engine: close ``engine`` when this transport closes (when it was built for it).
        max_retries: the engine's retries of a failing target per call (``None``: its
            configured retry policy).
        fallbacks, org, team, user, tags, metadata: Cosmara defaults for every call; a
            call's ``extra_body`` keys of the same names override them.

    Errors come back as OpenAI error answers (status, body, ``retry-after``); timeouts and
    connection failures raise ``openai.APITimeoutError`` / ``openai.APIConnectionError``.
    """

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        call = self._router.plan(request)
        if isinstance(call, Reply):
            return call.to_httpx()
        engine = self.engine
        try:
            if call.encoder is None:
                answer = getattr(engine, call.method)(call.request, **call.keywords)
                return call.render(answer).to_httpx()  # type: ignore[misc]
            chunks = engine.stream(call.request, **call.keywords)
            first = next(chunks, None)
        except cosmara.CosmaraError as error:
            return _failed(error, request)
        stream = _Events(call.encoder, first, chunks, request)
        return httpx.Response(200, headers=_SSE, stream=stream)

    def close(self) -> None:
        if self.close_engine:
            self.engine.close()


class AsyncCosmaraTransport(_Settings, httpx.AsyncBaseTransport):
    """The async ``CosmaraTransport``, for ``httpx.AsyncClient`` (same arguments)."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        call = self._router.plan(request)
        if isinstance(call, Reply):
            return call.to_httpx()
        engine = self.engine
        try:
            if call.encoder is None:
                answer = await getattr(engine, "a" + call.method)(call.request, **call.keywords)
                return call.render(answer).to_httpx()  # type: ignore[misc]
            chunks = engine.astream(call.request, **call.keywords)
            first = await anext(chunks, None)
        except cosmara.CosmaraError as error:
            return _failed(error, request)
        stream = _AsyncEvents(call.encoder, first, chunks, request)
        return httpx.Response(200, headers=_SSE, stream=stream)

    async def aclose(self) -> None:
        if self.close_engine:
            await self.engine.aclose()


class _Events(httpx.SyncByteStream):
    """A stream's events, as the engine's chunks arrive. A failure after the first token
    ends it with the encoder's error event (a timeout or a broken connection raises the
    SDK's ``APITimeoutError`` / ``APIConnectionError``)."""

    def __init__(
        self,
        encoder: _Encoder,
        first: cosmara.ChatChunk | None,
        chunks: Iterator[cosmara.ChatChunk],
        request: httpx.Request,
    ) -> None:
        self._encoder, self._first, self._chunks, self._request = encoder, first, chunks, request

    def __iter__(self) -> Iterator[bytes]:
        encoder = self._encoder
        try:
            if self._first is not None:
                yield encoder.feed(self._first)
            for chunk in self._chunks:
                data = encoder.feed(chunk)
                if data:
                    yield data
        except cosmara.CosmaraError as error:
            raise_unanswered(error, self._request)
            yield encoder.fail(error)
            return
        yield encoder.close()

    def close(self) -> None:
        close = getattr(self._chunks, "close", None)
        if close is not None:
            close()  # stops the engine's stream, which releases the provider's connection


class _AsyncEvents(httpx.AsyncByteStream):
    """The async ``_Events``."""

    def __init__(
        self,
        encoder: _Encoder,
        first: cosmara.ChatChunk | None,
        chunks: AsyncIterator[cosmara.ChatChunk],
        request: httpx.Request,
    ) -> None:
        self._encoder, self._first, self._chunks, self._request = encoder, first, chunks, request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        encoder = self._encoder
        try:
            if self._first is not None:
                yield encoder.feed(self._first)
            async for chunk in self._chunks:
                data = encoder.feed(chunk)
                if data:
                    yield data
        except cosmara.CosmaraError as error:
            raise_unanswered(error, self._request)
            yield encoder.fail(error)
            return
        yield encoder.close()

    async def aclose(self) -> None:
        aclose = getattr(self._chunks, "aclose", None)
        if aclose is not None:
            await aclose()
