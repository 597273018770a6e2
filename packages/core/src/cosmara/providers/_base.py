"""What a provider is: a sans-I/O translator between Cosmara's vocabulary and one vendor's HTTP API.

An ``HttpProvider`` builds ``HttpRequest`` descriptions and parses ``HttpResponse`` bodies,
stream bytes and error bodies. It never opens a socket: the engine owns the HTTP clients, so
every provider gets pooling, timeouts, retries and test replay for free. A ``LocalProvider``
(an in-process model, a plugin with its own client) does its own I/O instead.
"""

from __future__ import annotations

import json
import os
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from cosmara._config import ProviderSettings
from cosmara._embeddings import EmbeddingRequest, EmbeddingResponse
from cosmara._errors import (
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    ContentFilteredError,
    ContextWindowExceededError,
    InvalidResponseError,
    NotFoundError,
    PermissionDeniedError,
    ProviderConnectionError,
    ProviderError,
    ProviderUnavailableError,
    RateLimitError,
    RequestTimeoutError,
)
from cosmara._messages import ChatRequest
from cosmara._response import ChatResponse
from cosmara._sse import SSEDecoder, SSEEvent
from cosmara._stream import ChatChunk

__all__ = [
    "HttpProvider",
    "HttpRequest",
    "HttpResponse",
    "LocalProvider",
    "Provider",
    "StreamDecoder",
    "error_class_for_status",
    "retry_after_seconds",
]


@dataclass(frozen=True)
class HttpRequest:
    """A request description: the engine's transport sends it."""

    method: str
    url: str
    headers: Mapping[str, str] = field(repr=False)
    body: bytes | None = None
    params: Mapping[str, str] | None = None


@dataclass(frozen=True)
class HttpResponse:
    """Status, lower-cased headers and the (decompressed) body of a finished response."""

    status: int
    headers: Mapping[str, str]
    body: bytes = b""


class StreamDecoder(Protocol):
    """Turns a provider's stream bytes into chunks; pure, fed by the engine's transport."""

    def feed(self, data: bytes) -> list[ChatChunk]: ...

    def close(self) -> list[ChatChunk]:
        """The bytes ended. Raises ``ProviderConnectionError`` if the stream was incomplete."""
        ...


_STATUS_ERRORS: dict[int, type[ProviderError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    408: RequestTimeoutError,
    413: ContextWindowExceededError,
    422: BadRequestError,
    429: RateLimitError,
}


def error_class_for_status(status: int) -> type[ProviderError]:
    """The typed error for an HTTP status, before any code- or message-based refinement."""
    if status >= 500:
        return ProviderUnavailableError
    return _STATUS_ERRORS.get(status, BadRequestError)


def retry_after_seconds(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``retry-after`` (delta-seconds or HTTP-date)."""
    milliseconds = headers.get("retry-after-ms")
    if milliseconds:
        try:
            return max(float(milliseconds) / 1000, 0.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    import email.utils  # only error responses get here

    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    current = time.time() if now is None else now
    return max(moment.timestamp() - current, 0.0)


class Provider:
    """Common identity of every provider instance (``name`` is its configured name)."""

    kind: ClassVar[str] = ""  # the registered provider kind; catalog entries are keyed by it

    def __init__(self, name: str, settings: ProviderSettings) -> None:
        self.name = name
        self.settings = settings

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"

    @property
    def has_credentials(self) -> bool:
        """Whether the provider has what it needs to authenticate."""
        return True

    @property
    def catalog_names(self) -> tuple[str, ...]:
        """Provider prefixes its models may have in the catalog: its own name, then its kind."""
        return (self.name, self.kind) if self.kind and self.kind != self.name else (self.name,)


class HttpProvider(Provider, ABC):
    """A provider reached over HTTP. Subclasses implement the pure translation methods."""

    default_base_url: ClassVar[str | None] = None
    base_url_env: ClassVar[str | None] = None
    api_key_env: ClassVar[str | None] = None
    requires_api_key: ClassVar[bool] = True

    # Error codes and message fragments that refine the status-based error class.
    error_codes: ClassVar[Mapping[str, type[ProviderError]]] = {
        "context_length_exceeded": ContextWindowExceededError,
        "string_above_max_length": ContextWindowExceededError,
        "content_filter": ContentFilteredError,
        "content_policy_violation": ContentFilteredError,
    }
    error_phrases: ClassVar[Mapping[str, type[ProviderError]]] = {
        "maximum context length": ContextWindowExceededError,
        "context length": ContextWindowExceededError,
        "too many tokens": ContextWindowExceededError,
        "content management policy": ContentFilteredError,
    }
    # Errors whose status looks retryable but whose code says waiting will not help.
    permanent_codes: ClassVar[frozenset[str]] = frozenset({"insufficient_quota"})

    @property
    def base_url(self) -> str:
        url = (
            self.settings.base_url
            or (os.environ.get(self.base_url_env) if self.base_url_env else None)
            or self.default_base_url
        )
        if not url:
            raise ConfigurationError(f"provider {self.name!r} needs a base_url")
        return url.rstrip("/")

    @property
    def api_key(self) -> str | None:
        secret = self.settings.api_key
        if secret is not None:
            return secret.get()
        return os.environ.get(self.api_key_env) if self.api_key_env else None

    @property
    def has_credentials(self) -> bool:
        return not self.requires_api_key or bool(self.api_key)

    @property
    def credentials_hint(self) -> str:
        where = f"set {self.api_key_env} or " if self.api_key_env else ""
        return f"{where}configure providers.{self.name}.api_key"

    # --- chat -------------------------------------------------------------------------------
    @abstractmethod
    def chat_request(self, request: ChatRequest, model: str, *, stream: bool) -> HttpRequest:
        """Describe the HTTP request for ``request`` sent to ``model``."""

    @abstractmethod
    def parse_chat(self, response: HttpResponse, model: str) -> ChatResponse:
        """Parse a successful non-streamed response."""

    @abstractmethod
    def stream_decoder(self, model: str) -> StreamDecoder:
        """A fresh decoder for one streamed response."""

    # --- embeddings -------------------------------------------------------------------------
    def embed_request(self, request: EmbeddingRequest, model: str) -> HttpRequest:
        raise BadRequestError(
            f"provider {self.name!r} does not offer embeddings", provider=self.name
        )

    def parse_embed(self, response: HttpResponse, model: str) -> EmbeddingResponse:
        raise BadRequestError(
            f"provider {self.name!r} does not offer embeddings", provider=self.name
        )

    # --- errors -----------------------------------------------------------------------------
    def parse_error(self, response: HttpResponse, model: str) -> ProviderError:
        """The typed error for an error response: status first, then code and message."""
        message, code, body = self.error_details(response)
        return self.make_error(
            response.status,
            message,
            code=code,
            model=model,
            body=body,
            retry_after=self.retry_after(response),
            request_id=self.request_id(response.headers),
        )

    def make_error(
        self,
        status: int | None,
        message: str,
        *,
        code: str | None = None,
        model: str | None = None,
        **extra: Any,
    ) -> ProviderError:
        error_class = error_class_for_status(status) if status else BadRequestError
        refined = self.error_codes.get(code or "")
        if refined is None and issubclass(error_class, BadRequestError):
            lowered = message.lower()
            refined = next(
                (cls for phrase, cls in self.error_phrases.items() if phrase in lowered), None
            )
        if refined is not None:
            error_class = refined
        retryable = False if code in self.permanent_codes else None
        return error_class(
            message,
            provider=self.name,
            model=model,
            status_code=status,
            provider_message=message,
            code=code,
            retryable=retryable,
            **extra,
        )

    def error_details(self, response: HttpResponse) -> tuple[str, str | None, Any]:
        """(message, code, decoded body) from an error body: JSON in any common shape, or text."""
        text = response.body.decode("utf-8", errors="replace").strip()
        try:
            body: Any = json.loads(text)
        except ValueError:
            return text or f"HTTP {response.status}", None, text
        error = body.get("error", body) if isinstance(body, dict) else body
        if isinstance(error, str):
            return error, None, body
        if not isinstance(error, dict):
            return text, None, body
        message = error.get("message") or error.get("detail") or text
        code = error.get("code") or error.get("type") or error.get("status")
        return str(message), (str(code) if code is not None else None), body

    def decode_object(self, body: bytes | str, model: str) -> dict[str, Any]:
        """A response body that must be a JSON object, or ``InvalidResponseError``."""
        try:
            data = json.loads(body)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise self.invalid(body, model, "not a JSON object")
        return data

    def invalid(self, body: bytes | str, model: str, why: str) -> InvalidResponseError:
        """The error for a body that is not what the provider's API documents."""
        text = body if isinstance(body, str) else body.decode("utf-8", errors="replace")
        return InvalidResponseError(
            f"unexpected response body: {why}", provider=self.name, model=model, body=text[:2000]
        )

    def incomplete_stream(self, model: str) -> ProviderConnectionError:
        """The error for a stream whose bytes ended before the provider said it was done."""
        return ProviderConnectionError(
            "stream ended before the provider finished its answer", provider=self.name, model=model
        )

    def retry_after(self, response: HttpResponse) -> float | None:
        """How long the provider asked us to wait before trying again."""
        return retry_after_seconds(response.headers)

    def request_id(self, headers: Mapping[str, str]) -> str | None:
        return headers.get("x-request-id") or headers.get("request-id")


class LocalProvider(Provider, ABC):
    """A provider that does its own I/O (an in-process model, a vendor SDK).

    Subclasses raise Cosmara's typed errors. The async methods default to the sync ones run
    in a worker thread; override them when the provider has a native async path.
    """

    @abstractmethod
    def chat(self, request: ChatRequest, model: str) -> ChatResponse: ...

    @abstractmethod
    def stream(self, request: ChatRequest, model: str) -> Iterator[ChatChunk]: ...

    async def achat(self, request: ChatRequest, model: str) -> ChatResponse:
        import asyncio

        return await asyncio.to_thread(self.chat, request, model)

    async def astream(self, request: ChatRequest, model: str) -> AsyncIterator[ChatChunk]:
        for chunk in self.stream(request, model):
            yield chunk

    def embed(self, request: EmbeddingRequest, model: str) -> EmbeddingResponse:
        raise BadRequestError(
            f"provider {self.name!r} does not offer embeddings", provider=self.name
        )

    async def aembed(self, request: EmbeddingRequest, model: str) -> EmbeddingResponse:
        return self.embed(request, model)


_P = TypeVar("_P", bound=HttpProvider)


class SSEStreamDecoder(Generic[_P]):
    """A ``StreamDecoder`` for a provider that streams Server-Sent Events: subclasses turn
    events into chunks (``_chunks``) and set ``_finished`` once the provider has said the
    answer is complete, so bytes that end before that are an incomplete stream."""

    def __init__(self, provider: _P, model: str) -> None:
        self._provider = provider
        self._model = model
        self._sse = SSEDecoder()
        self._finished = False

    def feed(self, data: bytes) -> list[ChatChunk]:
        return self._chunks(self._sse.feed(data))

    def close(self) -> list[ChatChunk]:
        chunks = self._chunks(self._sse.close())
        if not self._finished:
            raise self._provider.incomplete_stream(self._model)
        return chunks

    def _chunks(self, events: list[SSEEvent]) -> list[ChatChunk]:
        raise NotImplementedError
