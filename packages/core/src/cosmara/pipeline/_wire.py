"""Between a provider's pure translation and the transport: its requests built for one call,
and whatever comes back read without ever letting an unexpected exception out.

A provider's parser meeting a body it cannot make sense of (nested too deep, wrong types,
bytes that are not text) is a provider failure to fail over from, not a crash; a request
that cannot even be encoded is the caller's, refused before anything is sent.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from typing import Any

from cosmara._embeddings import EmbeddingRequest
from cosmara._errors import (
    CosmaraError,
    InvalidResponseError,
    ProviderError,
    RequestValidationError,
)
from cosmara._stream import ChatChunk
from cosmara.pipeline._call import Call
from cosmara.providers._base import HttpProvider, HttpRequest, HttpResponse

__all__ = ["adecode", "decode", "described", "error_of", "parsed"]


def described(
    provider: HttpProvider, request: Any, model: str, call: Call, *, stream: bool = False
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


def parsed(provider: HttpProvider, response: HttpResponse, request: Any, model: str) -> Any:
    """The answer in a response, or its typed error."""
    if response.status >= 300:
        raise error_of(provider, response, model)
    try:
        if isinstance(request, EmbeddingRequest):
            return provider.parse_embed(response, model)
        return provider.parse_chat(response, model)
    except CosmaraError:
        raise
    except Exception as error:
        raise _unreadable(provider, model, error) from None


def error_of(provider: HttpProvider, response: HttpResponse, model: str) -> ProviderError:
    """The typed error an error response stands for."""
    try:
        return provider.parse_error(response, model)
    except Exception as error:
        return _unreadable(provider, model, error)


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


def decode(provider: HttpProvider, model: str, data: Iterator[bytes]) -> Iterator[ChatChunk]:
    decoder = _Chunks(provider, model)
    for piece in data:
        yield from decoder.feed(piece)
    yield from decoder.close()


async def adecode(
    provider: HttpProvider, model: str, data: AsyncIterator[bytes]
) -> AsyncGenerator[ChatChunk, None]:
    decoder = _Chunks(provider, model)
    async for piece in data:
        for chunk in decoder.feed(piece):
            yield chunk
    for chunk in decoder.close():
        yield chunk


def _unreadable(provider: HttpProvider, model: str, error: BaseException) -> ProviderError:
    return InvalidResponseError(
        f"could not read the response ({type(error).__name__})",
        provider=provider.name,
        model=model,
    )


def _first_line(error: BaseException) -> str:
    return str(error).splitlines()[0] if str(error) else type(error).__name__
