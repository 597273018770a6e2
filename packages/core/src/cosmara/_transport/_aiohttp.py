"""Async I/O on aiohttp: one ``ClientSession`` per provider in each event loop.

aiohttp's connector finds an idle connection in constant time however many it keeps, which is
what lets 50 or 500 concurrent calls cost little more than one (httpcore's pool scans its
connections for every request). A semaphore per provider is the ``max_connections`` bound, so
waiting for a free connection is told apart from connecting (it fails over as
``pool_exhausted`` without counting against the provider).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from typing import Any

import aiohttp
import yarl

from cosmara._errors import POOL_EXHAUSTED, ProviderUnavailableError
from cosmara._transport._body import ACCEPT_ENCODING
from cosmara._transport._deadlines import Window, within
from cosmara._transport._proxy import proxy_for
from cosmara.providers._base import HttpProvider, HttpRequest

__all__ = ["AiohttpPools"]

_Session = tuple[aiohttp.ClientSession, asyncio.Semaphore, "str | None"]

_HEADERS = {"accept-encoding": ACCEPT_ENCODING, "user-agent": "cosmara"}


class AiohttpPools:
    """The running loop's sessions (one instance per loop)."""

    def __init__(self, max_connections: int, ssl_context: Callable[[], Any]) -> None:
        self._max_connections = max_connections
        self._ssl_context = ssl_context
        self._sessions: dict[str, _Session] = {}

    async def open(
        self, provider: HttpProvider, request: HttpRequest, window: Window, *, whole: bool = False
    ) -> _Raw:
        """The response's head by ``window.until``; with ``whole`` (an answer read at once, not
        a stream) its body by then too. aiohttp's own timer keeps that deadline: it is armed
        once per request, where an asyncio timeout around each wait costs several times more."""
        session, slots, proxy = self._sessions.get(provider.name) or self._new_session(provider)
        try:
            if slots.locked():  # wait for a free connection, at most the pool timeout
                await within(slots.acquire(), min(window.until, time.monotonic() + window.pool))
            else:
                await slots.acquire()
        except (TimeoutError, asyncio.TimeoutError):
            raise ProviderUnavailableError(
                f"every connection to {provider.name} stayed busy (its max_connections): not sent",
                code=POOL_EXHAUSTED,
                provider=provider.name,
            ) from None
        try:
            left = max(window.left(), 0.001)
            opening = session.request(
                request.method,
                yarl.URL(request.url, encoded=True),  # as built: SigV4 signed this path
                headers=request.headers,
                data=request.body,
                params=request.params,
                proxy=proxy,
                allow_redirects=False,  # a redirect is the answer, not ours to follow
                timeout=aiohttp.ClientTimeout(
                    total=left if whole else None, sock_connect=min(window.connect, left)
                ),
            )
            response = await (opening if whole else within(opening, window.until))
        except BaseException:
            slots.release()
            raise
        return _Raw(response, slots, timed=whole)

    async def aclose(self) -> None:
        sessions, self._sessions = self._sessions, {}
        for session, _, _ in sessions.values():
            await session.close()

    def _new_session(self, provider: HttpProvider) -> _Session:
        size = provider.settings.max_connections or self._max_connections
        # Our certificate store only for TLS (loading it costs tens of milliseconds); a
        # plain-http provider never uses one (redirects are not followed).
        tls = self._ssl_context() if provider.base_url.startswith("https:") else True
        connector = aiohttp.TCPConnector(
            limit=size, limit_per_host=0, ssl=tls, enable_cleanup_closed=False
        )
        session = aiohttp.ClientSession(
            connector=connector,
            headers=_HEADERS,
            auto_decompress=False,  # bodies are decompressed within limits (_body.py)
            # Not trust_env: it reads ~/.netrc and the proxy variables in a worker thread on
            # every request. The proxy is decided once here, as the sync pools do.
            trust_env=False,
            cookie_jar=aiohttp.DummyCookieJar(),  # an API client keeps no cookies
            timeout=aiohttp.ClientTimeout(total=None),
            skip_auto_headers=("content-type",),
        )
        proxy = proxy_for(provider.base_url)
        entry = self._sessions[provider.name] = (session, asyncio.Semaphore(size), proxy)
        return entry


class _Raw:
    """An open response: status and head now, the body's bytes as received."""

    def __init__(
        self, response: aiohttp.ClientResponse, slots: asyncio.Semaphore, *, timed: bool
    ) -> None:
        self.status = response.status
        self.headers: Mapping[str, str] = response.headers
        self._response = response
        self._slots: asyncio.Semaphore | None = slots
        self._ended = False
        self._timed = timed  # aiohttp's timer bounds every read (see AiohttpPools.open)

    async def chunk(self, until: float) -> bytes:
        content = self._response.content
        data = content.read_nowait()  # what already arrived: most bodies come with the head
        if not data and not content.at_eof():
            reading = content.readany()
            data = await (reading if self._timed else within(reading, until))
        if not data:
            self._ended = True
        return data

    async def aclose(self) -> None:
        if self._slots is None:
            return
        slots, self._slots = self._slots, None
        try:
            if self._ended:
                self._response.release()  # read to the end: the connection can be reused
            else:
                self._response.close()  # abandoned mid-body: the connection cannot
        finally:
            slots.release()
