"""Exceptions from below the transport become Cosmara's, most specific first.

Some library messages quote what was being sent: httpx's ``Illegal header value b'Bearer
sk-...'``, a ``UnicodeEncodeError`` over a header. Those become an error that names the
problem and never carries the original text, neither as its message nor as its cause.
"""

from __future__ import annotations

import sys
from typing import Any

from cosmara._errors import (
    POOL_EXHAUSTED,
    ClientClosedError,
    ConfigurationError,
    CosmaraError,
    InvalidResponseError,
    ProviderConnectionError,
    ProviderError,
    ProviderUnavailableError,
    RequestTimeoutError,
)
from cosmara._transport._body import TooLarge

__all__ = ["converted"]


def converted(
    error: BaseException, provider: str, *, closed: bool, base_url: str | None = None
) -> BaseException:
    """The Cosmara error for ``error``, raised while talking to ``provider`` at ``base_url``;
    ``closed`` says the client was closed meanwhile (whatever broke then is the closing, not
    the provider). Connection failures and timeouts name the URL they tried (its scheme, host,
    port and path: a mistyped base URL is the usual cause).

    Return it and raise it ``from None`` when it is not ``error`` itself: a converted error's
    cause could carry what the transport was sending."""
    return _converted(error, provider, closed=closed, where=_where(provider, base_url))


def _where(provider: str, base_url: str | None) -> str:
    """``provider`` and the URL tried, without anything that could be a credential: base URL
    credentials were taken out when configured; a query or fragment is left out here."""
    if not base_url:
        return provider
    from urllib.parse import urlsplit, urlunsplit

    try:
        parts = urlsplit(base_url)
    except ValueError:
        return provider
    host = parts.netloc.rpartition("@")[2]
    return f"{provider} at {urlunsplit((parts.scheme, host, parts.path, '', ''))}"


def _converted(error: BaseException, provider: str, *, closed: bool, where: str) -> BaseException:
    if isinstance(error, CosmaraError):
        if isinstance(error, ProviderError) and error.provider is None:
            error.provider = provider
        return error
    if closed:
        return ClientClosedError(f"the client was closed while a request to {provider} was open")
    if isinstance(error, TooLarge):
        return error.error(provider)
    if isinstance(error, (UnicodeError, ValueError)):
        # A header or URL the HTTP library could not encode; configuration checks should have
        # stopped it, and its text may hold a credential.
        return ConfigurationError(
            f"a request to {provider} could not be encoded ({type(error).__name__}): check its "
            "headers, key and base_url for control or non-ASCII characters"
        )
    found = _from_httpx(error, provider, where) or _from_aiohttp(error, provider, where)
    if found is not None:
        return found
    if isinstance(error, _timeouts()):  # asyncio deadlines
        return RequestTimeoutError(f"{where} did not answer in time", provider=provider)
    if isinstance(error, OSError):
        return ProviderConnectionError(
            f"connection to {where} failed: {type(error).__name__}", provider=provider
        )
    return error


def _from_httpx(error: BaseException, provider: str, where: str) -> CosmaraError | None:
    # Only if the library is loaded: converting must never import one.
    httpx: Any = sys.modules.get("httpx")
    httpcore: Any = sys.modules.get("httpcore")
    pool_timeouts = tuple(m.PoolTimeout for m in (httpx, httpcore) if m is not None)
    if pool_timeouts and isinstance(error, pool_timeouts):
        # Our own limit, not the provider failing: the attempt loop moves on without
        # counting it against the provider's health.
        return ProviderUnavailableError(
            f"every connection to {provider} stayed busy (its max_connections): not sent",
            code=POOL_EXHAUSTED,
            provider=provider,
        )
    timeouts = tuple(m.TimeoutException for m in (httpx, httpcore) if m is not None)
    if timeouts and isinstance(error, timeouts):
        return RequestTimeoutError(
            f"{type(error).__name__}: {where} did not answer in time", provider=provider
        )
    local = tuple(m.LocalProtocolError for m in (httpx, httpcore) if m is not None)
    if local and isinstance(error, local):
        return ConfigurationError(
            f"a request to {provider} could not be sent ({type(error).__name__}): check its "
            "headers and key for characters HTTP does not allow"
        )
    if httpx is not None and isinstance(error, httpx.UnsupportedProtocol):
        return ConfigurationError(f"provider {provider}: the base_url's scheme is not http(s)")
    transport = tuple(
        cls
        for cls in (
            getattr(httpx, "TransportError", None),
            getattr(httpcore, "NetworkError", None),
            getattr(httpcore, "ProtocolError", None),
        )
        if cls is not None
    )
    if transport and isinstance(error, transport):
        detail = str(error) or type(error).__name__
        return ProviderConnectionError(f"connection to {where} failed: {detail}", provider=provider)
    if (
        httpx is not None
        and isinstance(error, RuntimeError)
        and "client has been closed" in str(error)
    ):
        return ClientClosedError("the client was closed")
    return None


def _from_aiohttp(error: BaseException, provider: str, where: str) -> ProviderError | None:
    aiohttp: Any = sys.modules.get("aiohttp")
    if aiohttp is None:
        return None
    if isinstance(error, aiohttp.ServerTimeoutError):
        return RequestTimeoutError(
            f"{type(error).__name__}: {where} did not answer in time", provider=provider
        )
    if isinstance(error, aiohttp.ClientResponseError):
        # The response itself was not valid HTTP (a broken status line or header).
        return InvalidResponseError(
            f"the response from {provider} is not valid HTTP ({type(error).__name__})",
            provider=provider,
        )
    if isinstance(error, aiohttp.ClientError):
        detail = str(error) or type(error).__name__
        return ProviderConnectionError(f"connection to {where} failed: {detail}", provider=provider)
    return None


def _timeouts() -> tuple[type[BaseException], ...]:
    asyncio: Any = sys.modules.get("asyncio")
    # The same class since 3.11; on 3.10 asyncio has its own.
    return (TimeoutError,) if asyncio is None else (TimeoutError, asyncio.TimeoutError)
