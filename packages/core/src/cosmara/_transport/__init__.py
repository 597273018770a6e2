"""The engine's one I/O boundary: pooled HTTP clients, bounded bodies, deadlines, and every
library exception turned into Cosmara's.

Sync requests go through httpx over sockets that keep deadlines (``_sync.py``); async ones
through aiohttp when it is installed (``_aiohttp.py``), else httpx (``_httpx_async.py``), one
set of pools per event loop, closed inside that loop when it shuts down. Bodies are read and
decompressed within the client's ``limits`` (``_body.py``). Nothing here is imported by
``import cosmara``: the HTTP libraries load with the first request.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from collections.abc import AsyncGenerator, AsyncIterator, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Literal, Protocol

from cosmara._errors import ClientClosedError, ConfigurationError, CosmaraError
from cosmara._headers import headers_problem
from cosmara._limits import Limits
from cosmara._transport._body import BodyDecoder, TooLarge
from cosmara._transport._deadlines import Window, within
from cosmara._transport._errors import converted
from cosmara.providers._base import HttpProvider, HttpRequest, HttpResponse

if TYPE_CHECKING:
    import asyncio
    import ssl

    from cosmara._transport._sync import SyncPools

__all__ = [
    "AsyncBackend",
    "AsyncStreamResponse",
    "StreamResponse",
    "Transport",
    "Window",
    "within",
]

AsyncBackend = Literal["auto", "aiohttp", "httpx"]


class _AsyncRaw(Protocol):
    status: int
    headers: Mapping[str, str]

    async def chunk(self, until: float) -> bytes: ...

    async def aclose(self) -> None: ...


class _AsyncPools(Protocol):
    async def open(
        self, provider: HttpProvider, request: HttpRequest, window: Window, *, whole: bool = False
    ) -> _AsyncRaw:
        """The head by ``window.until``; ``whole``: the body will be read at once, by then too."""

    async def aclose(self) -> None: ...


class Transport:
    """Sends ``HttpRequest`` descriptions; owns and closes every connection pool.

    Raises (from every method): ``ProviderError`` subclasses for what went wrong on the way to
    the provider, ``ClientClosedError`` once closed, ``ConfigurationError`` for a request that
    could not be encoded.
    """

    def __init__(
        self, *, max_connections: int, limits: Limits, async_backend: AsyncBackend = "auto"
    ) -> None:
        self.max_connections = max_connections
        self.limits = limits
        self.async_backend = _async_backend(async_backend)
        self.closed = False
        self._sync: SyncPools | None = None
        self._creating = threading.Lock()
        self._ssl: ssl.SSLContext | None = None
        self._loops: dict[asyncio.AbstractEventLoop, _LoopPools] = {}

    # --- sync -------------------------------------------------------------------------------
    def send(self, provider: HttpProvider, request: HttpRequest, window: Window) -> HttpResponse:
        """The whole response, read within ``window``."""
        self._check(provider, request)
        try:
            raw = self._sync_pools().open(provider, request, window)
            try:
                body = _read(raw, window.until, self.limits)
            finally:
                raw.close()
        except Exception as error:
            raise self._converted(error, provider) from None
        return HttpResponse(raw.status, raw.headers, body)

    def open_stream(
        self, provider: HttpProvider, request: HttpRequest, window: Window
    ) -> StreamResponse:
        """The response's head within ``window``; its body as ``StreamResponse.iter_bytes``."""
        self._check(provider, request)
        try:
            raw = self._sync_pools().open(provider, request, window)
        except Exception as error:
            raise self._converted(error, provider) from None
        return StreamResponse(raw, provider, self, window.until)

    def close(self) -> None:
        """Close the sync pools; every later call raises ``ClientClosedError``."""
        self.closed = True
        if self._sync is not None:
            self._sync.close()

    # --- async ------------------------------------------------------------------------------
    async def asend(
        self, provider: HttpProvider, request: HttpRequest, window: Window
    ) -> HttpResponse:
        self._check(provider, request)
        try:
            pools = self._ready_pools() or await self._pools()
            raw = await pools.open(provider, request, window, whole=True)
            try:
                body = await _aread(raw, window.until, self.limits)
            finally:
                await raw.aclose()
        except Exception as error:
            raise self._converted(error, provider) from None
        return HttpResponse(raw.status, raw.headers, body)

    async def aopen_stream(
        self, provider: HttpProvider, request: HttpRequest, window: Window
    ) -> AsyncStreamResponse:
        self._check(provider, request)
        try:
            raw = await (self._ready_pools() or await self._pools()).open(provider, request, window)
        except Exception as error:
            raise self._converted(error, provider) from None
        return AsyncStreamResponse(raw, provider, self, window.until)

    async def aclose(self) -> None:
        """Close the running loop's pools and the sync ones."""
        import asyncio

        self.closed = True
        pools = self._loops.pop(asyncio.get_running_loop(), None)
        if pools is not None:
            await pools.closer.aclose()
        self.close()

    # --- pools ------------------------------------------------------------------------------
    def _check(self, provider: HttpProvider, request: HttpRequest) -> None:
        """Refuse a closed client, and a header no HTTP library should see: their errors and
        debug logs quote the value, which is often a key."""
        if self.closed:
            raise ClientClosedError("the client is closed; create a new one")
        problem = headers_problem(request.headers)
        if problem is not None:
            raise ConfigurationError(f"a request to {provider.name}: {problem}; not sent")

    def _converted(self, error: Exception, provider: HttpProvider) -> BaseException:
        try:
            base_url: str | None = provider.base_url  # named in connection errors
        except CosmaraError:
            base_url = None
        return converted(error, provider.name, closed=self.closed, base_url=base_url)

    def _sync_pools(self) -> SyncPools:
        pools = self._sync
        if pools is None:
            from cosmara._transport._sync import SyncPools

            with self._creating:
                pools = self._sync = self._sync or SyncPools(
                    self.max_connections, self._ssl_context
                )
        return pools

    def _ready_pools(self) -> _AsyncPools | None:
        """The running loop's pools, once ``_pools`` has made them (a lookup, not a coroutine:
        every async request asks)."""
        import asyncio

        entry = self._loops.get(asyncio.get_running_loop())
        return None if entry is None else entry.pools

    async def _pools(self) -> _AsyncPools:
        import asyncio

        loop = asyncio.get_running_loop()
        entry = self._loops.get(loop)
        if entry is None:
            # Loops closed without shutting down their generators keep no pools here.
            for old in [old for old in self._loops if old.is_closed()]:
                del self._loops[old]
            entry = self._loops[loop] = _LoopPools(self._new_pools(), self._loops, loop)
            await entry.closer.__anext__()  # parked: the loop now tracks it
        return entry.pools

    def _new_pools(self) -> _AsyncPools:
        if self.async_backend == "aiohttp":
            from cosmara._transport._aiohttp import AiohttpPools

            return AiohttpPools(self.max_connections, self._ssl_context)
        from cosmara._transport._httpx_async import HttpxAsyncPools

        return HttpxAsyncPools(self.max_connections)

    def _ssl_context(self) -> ssl.SSLContext:
        """One certificate store for every pool: ``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` when set
        (as httpx reads them), else certifi's."""
        if self._ssl is None:
            import ssl

            import certifi

            cafile = os.environ.get("SSL_CERT_FILE") or None
            capath = os.environ.get("SSL_CERT_DIR") or None
            self._ssl = ssl.create_default_context(
                cafile=cafile or (None if capath else certifi.where()), capath=capath
            )
        return self._ssl


class _LoopPools:
    """One event loop's pools, closed inside that loop when it shuts down.

    ``closer`` is an async generator parked at its first ``yield``: the loop tracks it, and
    ``asyncio.run`` (or any runner calling ``shutdown_asyncgens``) finalises it before closing,
    which closes the connections while their loop can still do so and forgets the loop.
    """

    def __init__(
        self,
        pools: _AsyncPools,
        registry: dict[asyncio.AbstractEventLoop, _LoopPools],
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self.pools = pools
        self.closer = self._close_at_shutdown(registry, loop)

    async def _close_at_shutdown(
        self,
        registry: dict[asyncio.AbstractEventLoop, _LoopPools],
        loop: asyncio.AbstractEventLoop,
    ) -> AsyncGenerator[None, None]:
        try:
            yield
        finally:
            if registry.get(loop) is self:
                del registry[loop]
            await self.pools.aclose()


class StreamResponse:
    """An open streamed response. ``deadline`` (a ``time.monotonic()`` time) bounds the next
    read; the engine moves it as the stream goes (first token, then each gap)."""

    def __init__(self, raw: Any, provider: HttpProvider, transport: Transport, deadline: float):
        self.status: int = raw.status
        self.headers: Mapping[str, str] = raw.headers
        self.deadline = deadline
        self._raw = raw
        self._provider = provider
        self._transport = transport

    def read(self) -> HttpResponse:
        """The (error) body, truncated to ``limits.error_bytes``, and close."""
        try:
            body = _read(self._raw, self.deadline, self._transport.limits)
        except Exception as error:
            raise self._transport._converted(error, self._provider) from None
        finally:
            self._raw.close()
        return HttpResponse(self.status, self.headers, body)

    def iter_bytes(self) -> Iterator[bytes]:
        """The body, decompressed, as it arrives; at most ``limits.decoded_bytes`` in all."""
        try:
            decoder = _decoder(self.status, self.headers, self._transport.limits)
            while True:
                data = self._raw.chunk(self.deadline)
                if not data:
                    break
                yield from decoder.feed(data)
            yield from decoder.flush()
        except Exception as error:
            raise self._transport._converted(error, self._provider) from None

    def close(self) -> None:
        self._raw.close()


class AsyncStreamResponse:
    """``StreamResponse`` for async code."""

    def __init__(
        self, raw: _AsyncRaw, provider: HttpProvider, transport: Transport, deadline: float
    ):
        self.status = raw.status
        self.headers = raw.headers
        self.deadline = deadline
        self._raw = raw
        self._provider = provider
        self._transport = transport

    async def read(self) -> HttpResponse:
        try:
            body = await _aread(self._raw, self.deadline, self._transport.limits)
        except Exception as error:
            raise self._transport._converted(error, self._provider) from None
        finally:
            await self._raw.aclose()
        return HttpResponse(self.status, self.headers, body)

    async def iter_bytes(self) -> AsyncIterator[bytes]:
        try:
            decoder = _decoder(self.status, self.headers, self._transport.limits)
            while True:
                data = await self._raw.chunk(self.deadline)
                if not data:
                    break
                for piece in decoder.feed(data):
                    yield piece
            for piece in decoder.flush():
                yield piece
        except Exception as error:
            raise self._transport._converted(error, self._provider) from None

    async def close(self) -> None:
        await self._raw.aclose()


def _read(raw: Any, until: float, limits: Limits) -> bytes:
    """A whole body within ``limits``, each read by the deadline ``until``."""
    decoder = _decoder(raw.status, raw.headers, limits)
    parts: list[bytes] = []
    try:
        while not decoder.full:
            data = raw.chunk(until)
            if not data:
                break
            parts.extend(decoder.feed(data))
        parts.extend(decoder.flush())
    except BaseException:
        parts.clear()  # the error's traceback must not keep a half-read body alive
        raise
    return b"".join(parts)


async def _aread(raw: _AsyncRaw, until: float, limits: Limits) -> bytes:
    """``_read`` for async code."""
    decoder = _decoder(raw.status, raw.headers, limits)
    parts: list[bytes] = []
    try:
        while not decoder.full:
            data = await raw.chunk(until)
            if not data:
                break
            parts.extend(decoder.feed(data))
        parts.extend(decoder.flush())
    except BaseException:
        parts.clear()
        raise
    return b"".join(parts)


def _decoder(status: int, headers: Mapping[str, str], limits: Limits) -> BodyDecoder:
    """A decoder for this response: an error body is cut short (its start says enough), any
    other passing a limit is an error; a declared length over the limit fails at once."""
    encoding = headers.get("content-encoding")
    if status >= 300:
        return BodyDecoder(
            encoding,
            wire_limit=limits.error_bytes,
            decoded_limit=limits.error_bytes,
            truncate=True,
        )
    length = headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > limits.response_bytes:
        raise TooLarge("declared length", limits.response_bytes)
    return BodyDecoder(
        encoding, wire_limit=limits.response_bytes, decoded_limit=limits.decoded_bytes
    )


def _async_backend(wanted: AsyncBackend) -> Literal["aiohttp", "httpx"]:
    if wanted == "httpx":
        return "httpx"
    installed = importlib.util.find_spec("aiohttp") is not None
    if wanted == "aiohttp" and not installed:
        raise ConfigurationError(
            "async_transport 'aiohttp' needs aiohttp: pip install 'cosmara[aiohttp]'"
        )
    return "aiohttp" if installed else "httpx"
