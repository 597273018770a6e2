"""The engine's one I/O boundary: pooled httpx clients, and httpx errors turned into ours.

One sync client per provider, and one async client per provider per event loop (an
``AsyncClient`` must not outlive or cross its loop). httpx is imported on first use, not at
``import cosmara``.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any

from cosmara._errors import (
    POOL_EXHAUSTED,
    InvalidResponseError,
    ProviderConnectionError,
    ProviderError,
    ProviderUnavailableError,
    RequestTimeoutError,
)
from cosmara._timeouts import Timeouts
from cosmara.providers._base import HttpProvider, HttpRequest, HttpResponse

if TYPE_CHECKING:
    import asyncio

    import httpx

__all__ = ["AsyncStreamResponse", "StreamResponse", "Transport"]


class Transport:
    """Sends ``HttpRequest`` descriptions; owns and closes every connection pool."""

    def __init__(self, *, max_connections: int) -> None:
        self.max_connections = max_connections
        self._clients: dict[str, httpx.Client] = {}
        self._creating = threading.Lock()
        self._async_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopPools] = (
            weakref.WeakKeyDictionary()
        )

    # --- sync -------------------------------------------------------------------------------
    def send(
        self, provider: HttpProvider, request: HttpRequest, timeouts: Timeouts
    ) -> HttpResponse:
        client = self._clients.get(provider.name) or self._new_client(provider)
        try:
            response = client.send(_build(client, request, timeouts.for_httpx(stream=False)))
        except Exception as error:
            raise _convert(error, provider) from error
        return HttpResponse(response.status_code, response.headers, response.content)

    def open_stream(
        self, provider: HttpProvider, request: HttpRequest, timeouts: Timeouts
    ) -> StreamResponse:
        client = self._clients.get(provider.name) or self._new_client(provider)
        try:
            opened = client.send(
                _build(client, request, timeouts.for_httpx(stream=True)), stream=True
            )
            return StreamResponse(opened, provider)
        except Exception as error:
            raise _convert(error, provider) from error

    def close(self) -> None:
        for client in self._clients.values():
            client.close()
        self._clients.clear()

    # --- async ------------------------------------------------------------------------------
    async def asend(
        self, provider: HttpProvider, request: HttpRequest, timeouts: Timeouts
    ) -> HttpResponse:
        client = await self._async_client(provider)
        try:
            response = await client.send(_build(client, request, timeouts.for_httpx(stream=False)))
        except Exception as error:
            raise _convert(error, provider) from error
        return HttpResponse(response.status_code, response.headers, response.content)

    async def aopen_stream(
        self, provider: HttpProvider, request: HttpRequest, timeouts: Timeouts
    ) -> AsyncStreamResponse:
        client = await self._async_client(provider)
        try:
            opened = await client.send(
                _build(client, request, timeouts.for_httpx(stream=True)), stream=True
            )
            return AsyncStreamResponse(opened, provider)
        except Exception as error:
            raise _convert(error, provider) from error

    async def aclose(self) -> None:
        """Close the async clients of the running loop (and the sync ones)."""
        import asyncio

        pools = self._async_clients.pop(asyncio.get_running_loop(), None)
        if pools is not None:
            await pools.closer.aclose()
        self.close()

    # --- pools ------------------------------------------------------------------------------
    def _limits(self, provider: HttpProvider) -> httpx.Limits:
        import httpx

        size = provider.settings.max_connections or self.max_connections
        # Keep every connection alive: closing them after a burst makes the next burst reconnect.
        return httpx.Limits(max_connections=size, max_keepalive_connections=size)

    def _new_client(self, provider: HttpProvider) -> httpx.Client:
        import httpx

        # Threads racing on a provider's first request must share one pool: a second one
        # would double its connection limit and never be closed.
        with self._creating:
            client = self._clients.get(provider.name)
            if client is None:
                client = self._clients[provider.name] = httpx.Client(
                    limits=self._limits(provider), follow_redirects=False
                )
        return client

    async def _async_client(self, provider: HttpProvider) -> httpx.AsyncClient:
        import asyncio

        loop = asyncio.get_running_loop()
        pools = self._async_clients.get(loop)
        if pools is None:
            pools = self._async_clients[loop] = _LoopPools()
            await pools.closer.__anext__()
        clients = pools.clients
        client = clients.get(provider.name)
        if client is None:
            import httpx

            client = clients[provider.name] = httpx.AsyncClient(
                limits=self._limits(provider),
                follow_redirects=False,
            )
        return client


class _OpenStream:
    """An open streamed response: status and headers now, the body as it arrives."""

    def __init__(self, response: httpx.Response, provider: HttpProvider) -> None:
        self.status = response.status_code
        self.headers = response.headers
        self._response = response
        self._provider = provider


class _LoopPools:
    """One event loop's async clients, closed inside that loop when it shuts down.

    ``closer`` is an async generator parked at its first ``yield``: the loop tracks it, and
    ``asyncio.run`` (or any runner calling ``shutdown_asyncgens``) finalises it before closing,
    which closes the clients' connections while their loop can still do so.
    """

    def __init__(self) -> None:
        self.clients: dict[str, httpx.AsyncClient] = {}
        self.closer = self._close_at_shutdown()

    async def _close_at_shutdown(self) -> AsyncGenerator[None, None]:
        try:
            yield
        finally:
            clients, self.clients = self.clients, {}
            for client in clients.values():
                await client.aclose()


class StreamResponse(_OpenStream):
    def read(self) -> HttpResponse:
        """Read the whole body (error responses) and close."""
        try:
            body = self._response.read()
        except Exception as error:
            raise _convert(error, self._provider) from error
        finally:
            self._response.close()
        return HttpResponse(self.status, self.headers, body)

    def iter_bytes(self) -> Iterator[bytes]:
        try:
            yield from self._response.iter_bytes()
        except Exception as error:
            raise _convert(error, self._provider) from error

    def close(self) -> None:
        self._response.close()


class AsyncStreamResponse(_OpenStream):
    async def read(self) -> HttpResponse:
        try:
            body = await self._response.aread()
        except Exception as error:
            raise _convert(error, self._provider) from error
        finally:
            await self._response.aclose()
        return HttpResponse(self.status, self.headers, body)

    async def iter_bytes(self) -> AsyncIterator[bytes]:
        try:
            async for data in self._response.aiter_bytes():
                yield data
        except Exception as error:
            raise _convert(error, self._provider) from error

    async def close(self) -> None:
        await self._response.aclose()


def _build(
    client: httpx.Client | httpx.AsyncClient, request: HttpRequest, timeout: httpx.Timeout
) -> httpx.Request:
    """The httpx request for a description, with the timeouts that apply to this attempt."""
    return client.build_request(
        request.method,
        request.url,
        headers=request.headers,
        content=request.body,
        params=request.params,
        timeout=timeout,
    )


def _convert(error: Exception, provider: HttpProvider) -> Exception:
    """httpx's exceptions become Cosmara's, most specific first; anything else passes through."""
    import httpx

    if isinstance(error, ProviderError):
        return error
    kwargs: dict[str, Any] = {"provider": provider.name}
    if isinstance(error, httpx.PoolTimeout):
        # Our own limit, not the provider failing: the attempt loop moves on without
        # counting it against the provider's health.
        return ProviderUnavailableError(
            f"every connection to {provider.name} stayed busy (its max_connections): not sent",
            code=POOL_EXHAUSTED,
            **kwargs,
        )
    if isinstance(error, httpx.TimeoutException):
        return RequestTimeoutError(
            f"{type(error).__name__}: the provider did not answer in time", **kwargs
        )
    if isinstance(error, httpx.DecodingError):
        return InvalidResponseError(f"could not decode the response body: {error}", **kwargs)
    if isinstance(error, httpx.TransportError):
        detail = str(error) or type(error).__name__
        return ProviderConnectionError(f"connection to {provider.name} failed: {detail}", **kwargs)
    return error
