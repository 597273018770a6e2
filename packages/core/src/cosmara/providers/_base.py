"""What a provider is: a sans-I/O translator between Cosmara's vocabulary and one vendor's HTTP API.

An ``HttpProvider`` builds ``HttpRequest`` descriptions and parses ``HttpResponse`` bodies,
stream bytes and error bodies. It never opens a socket: the engine owns the HTTP clients, so
every provider gets pooling, timeouts, retries and test replay for free. A ``LocalProvider``
(an in-process model, a plugin with its own client) does its own I/O instead.
"""

from __future__ import annotations

import json
import math
import os
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
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
from cosmara._limits import Limits
from cosmara._messages import ChatRequest
from cosmara._response import ChatResponse
from cosmara._secrets import environment_secret
from cosmara._sse import SSEDecoder, SSEEvent
from cosmara._stream import ChatChunk
from cosmara._urls import split_base_url

__all__ = [
    "HttpProvider",
    "HttpRequest",
    "HttpResponse",
    "LocalProvider",
    "Provider",
    "StreamDecoder",
    "error_class_for_status",
    "loads",
    "retry_after_seconds",
]

_DEFAULT_LIMITS = Limits()


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
    """The typed error for an HTTP status, before any code- or message-based refinement.

    A 5xx is the provider failing; a status outside 4xx and 5xx (a redirect the engine does not
    follow, say) is not an answer its API documents: both fail over to the next target."""
    if status >= 500:
        return ProviderUnavailableError
    if status < 400:
        return InvalidResponseError
    return _STATUS_ERRORS.get(status, BadRequestError)


def loads(text: str | bytes) -> Any:
    """JSON, or None for anything that is not: malformed, or nested too deep to decode."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


def retry_after_seconds(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``retry-after`` (delta-seconds or HTTP-date).

    A value that is not a finite, non-negative number of seconds is ignored."""
    milliseconds = _seconds(headers.get("retry-after-ms"))
    if milliseconds is not None:
        return milliseconds / 1000
    value = headers.get("retry-after")
    if not value:
        return None
    seconds = _seconds(value)
    if seconds is not None:
        return seconds
    import email.utils  # only error responses get here

    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    current = time.time() if now is None else now
    return max(moment.timestamp() - current, 0.0)


def _seconds(value: str | None) -> float | None:
    try:
        seconds = float(value) if value else None
    except ValueError:
        return None
    return seconds if seconds is not None and math.isfinite(seconds) and seconds >= 0 else None


class Provider:
    """Common identity of every provider instance (``name`` is its configured name)."""

    kind: ClassVar[str] = ""  # the registered provider kind; catalog entries are keyed by it
    # Provider-specific settings this kind reads, beyond ProviderSettings' own fields: any
    # other key under [providers.NAME] is a configuration error (a typo like ``base_ulr``).
    settings_fields: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, name: str, settings: ProviderSettings) -> None:
        self.name = name
        self.settings = settings
        self.limits = _DEFAULT_LIMITS  # the client's limits, set when the client creates it

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
    fallback_api_key_env: ClassVar[str | None] = None  # read when api_key_env is unset
    requires_api_key: ClassVar[bool] = True
    # Hosts (and their subdomains) that are the provider's own besides its default one: the
    # environment's key may be sent there.
    key_hosts: ClassVar[tuple[str, ...]] = ()

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
        """The configured base URL, else the provider's environment variable, else its default.

        Raises:
            ConfigurationError: none is set, or the environment's is not an http(s) URL.
        """
        url = self.settings.base_url or self.environment_base_url() or self.default_base_url
        if not url:
            raise ConfigurationError(f"provider {self.name!r} needs a base_url")
        return url.rstrip("/")

    def environment_base_url(self) -> str | None:
        """The base URL from the provider's environment variable, checked (None when unset)."""
        url = os.environ.get(self.base_url_env, "").strip() if self.base_url_env else ""
        if not url:
            return None
        try:
            checked, userinfo = split_base_url(url)
        except ValueError as error:
            raise ConfigurationError(f"${self.base_url_env}: {error}") from None
        if userinfo is not None:
            raise ConfigurationError(
                f"${self.base_url_env} holds credentials; configure them as "
                f"providers.{self.name}.headers or api_key instead"
            )
        return checked

    @property
    def api_key(self) -> str | None:
        """The configured key, else the environment's, which is only sent to the provider's
        own host: a configured ``base_url`` elsewhere needs its own configured key."""
        secret = self.settings.api_key
        if secret is not None:
            return secret.get()
        if not self.api_key_env or not self.sends_environment_key:
            return None
        key = environment_secret(self.api_key_env)
        if key is None and self.fallback_api_key_env:
            key = environment_secret(self.fallback_api_key_env)
        return key

    @cached_property
    def sends_environment_key(self) -> bool:
        """Whether the environment's key may go to this provider's base URL: its own default
        host, or the one its own environment variable names (both come from the environment)."""
        configured = self.settings.base_url
        if configured is None:
            return True
        host = _host(configured) or ""
        default = _host(self.default_base_url) if self.default_base_url else None
        return host == default or any(
            host == own or host.endswith("." + own) for own in self.key_hosts
        )

    @property
    def has_credentials(self) -> bool:
        return not self.requires_api_key or bool(self.api_key)

    @property
    def credentials_hint(self) -> str:
        if self.api_key_env and not self.sends_environment_key:
            return (
                f"its base_url is not {self.kind}'s own host, so ${self.api_key_env} is not "
                f"sent there; configure providers.{self.name}.api_key for it"
            )
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
        """The typed error for ``status`` (None: an error object inside a 200 answer, which is
        the provider failing to answer), refined by the provider's codes and phrases."""
        if status:
            error_class = error_class_for_status(status)
            by_phrase = issubclass(error_class, BadRequestError)
        else:
            error_class, by_phrase = ProviderUnavailableError, True
        message = self.cut(message)
        refined = self.error_codes.get(code or "")
        if refined is None and by_phrase:
            lowered = message.lower()
            refined = next(
                (cls for phrase, cls in self.error_phrases.items() if phrase in lowered), None
            )
        if refined is not None:
            error_class = refined
        # A redirect the engine does not follow would only come back: try elsewhere at once.
        permanent = code in self.permanent_codes or (status is not None and status < 400)
        retryable = False if permanent else None
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
        """(message, code, decoded body) from an error body: JSON in any common shape, or text.
        The message is cut to the client's ``limits.error_chars``."""
        text = response.body.decode("utf-8", errors="replace").strip()
        body: Any = loads(text)
        if body is None:
            return self.cut(text) or f"HTTP {response.status}", None, self.cut(text)
        error = body.get("error", body) if isinstance(body, dict) else body
        if isinstance(error, str):
            return self.cut(error), None, body
        if not isinstance(error, dict):
            return self.cut(text), None, body
        message = error.get("message") or error.get("detail") or text
        code = error.get("code") or error.get("type") or error.get("status")
        return self.cut(str(message)), (self.cut(str(code)) if code is not None else None), body

    def cut(self, text: str) -> str:
        """``text`` within the client's ``limits.error_chars``, saying how much was left out."""
        limit = self.limits.error_chars
        if len(text) <= limit:
            return text
        return f"{text[:limit]}... [{len(text) - limit} more characters]"

    def decode_object(self, body: bytes | str, model: str) -> dict[str, Any]:
        """A response body that must be a JSON object, or ``InvalidResponseError``."""
        data = loads(body)
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


def _host(url: str) -> str | None:
    from urllib.parse import urlsplit

    try:
        return urlsplit(url).hostname
    except ValueError:
        return None


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
