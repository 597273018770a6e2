"""Async I/O on httpx, for when aiohttp is not installed: one ``httpx.AsyncClient`` per
provider in each event loop. Deadlines are asyncio timeouts around each wait."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping

import httpx

from cosmara._transport._body import ACCEPT_ENCODING
from cosmara._transport._deadlines import Window, within
from cosmara.providers._base import HttpProvider, HttpRequest

__all__ = ["HttpxAsyncPools"]

_HEADERS = {"accept-encoding": ACCEPT_ENCODING, "user-agent": "cosmara"}
# httpcore's pool looks through its idle connections for every request: keeping many of them
# makes bursts slower (benchmarks/concurrent_achat.py measures it), so fewer stay open.
_KEEP_ALIVE = 20


class HttpxAsyncPools:
    """The running loop's clients (one instance per loop)."""

    def __init__(self, max_connections: int) -> None:
        self._max_connections = max_connections
        self._clients: dict[str, httpx.AsyncClient] = {}

    async def open(
        self, provider: HttpProvider, request: HttpRequest, window: Window, *, whole: bool = False
    ) -> _Raw:
        client = self._clients.get(provider.name) or self._new_client(provider)
        left = max(window.left(), 0.001)
        built = client.build_request(
            request.method,
            request.url,
            headers=request.headers,
            content=request.body,
            params=request.params,
            timeout=httpx.Timeout(
                left, connect=min(window.connect, left), pool=min(window.pool, left)
            ),
        )
        response = await within(client.send(built, stream=True), window.until)
        return _Raw(response)

    async def aclose(self) -> None:
        clients, self._clients = self._clients, {}
        for client in clients.values():
            await client.aclose()

    def _new_client(self, provider: HttpProvider) -> httpx.AsyncClient:
        size = provider.settings.max_connections or self._max_connections
        client = self._clients[provider.name] = httpx.AsyncClient(
            limits=httpx.Limits(
                max_connections=size, max_keepalive_connections=min(size, _KEEP_ALIVE)
            ),
            follow_redirects=False,
            headers=_HEADERS,
        )
        return client


class _Raw:
    def __init__(self, response: httpx.Response) -> None:
        self.status = response.status_code
        self.headers: Mapping[str, str] = response.headers
        self._response = response
        self._raw: AsyncIterator[bytes] = response.aiter_raw()

    async def chunk(self, until: float) -> bytes:
        return await within(anext(self._raw, b""), until)

    async def aclose(self) -> None:
        await self._response.aclose()
