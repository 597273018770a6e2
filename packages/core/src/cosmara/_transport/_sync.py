"""Blocking I/O: one ``httpx.Client`` per provider over an httpcore pool whose sockets keep the
engine's deadlines (``DeadlineBackend``).

httpx stays the client (request building, and the seam test recorders such as vcrpy patch);
only the layer that touches sockets is ours, so a whole answer, a stream's first token and
each gap can be held to a deadline even though a blocking read cannot be re-armed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import unquote, urlsplit

import httpcore
import httpx

from cosmara._transport._body import ACCEPT_ENCODING
from cosmara._transport._deadlines import READ_DEADLINE, Window
from cosmara._transport._proxy import proxy_for
from cosmara.providers._base import HttpProvider, HttpRequest

__all__ = ["DeadlineBackend", "SyncPools", "SyncRaw"]

_USER_AGENT = "cosmara"


class SyncPools:
    """One client per provider, created on first use (threads racing on a provider's first
    request share one pool: a second would double its connection limit and never close)."""

    def __init__(self, max_connections: int, ssl_context: Callable[[], Any]) -> None:
        self._max_connections = max_connections
        self._ssl_context = ssl_context
        self._clients: dict[str, httpx.Client] = {}
        self._creating = threading.Lock()

    def open(self, provider: HttpProvider, request: HttpRequest, window: Window) -> SyncRaw:
        """Send ``request`` and wait for the response's head, within ``window``."""
        client = self._clients.get(provider.name) or self._new_client(provider)
        left = window.left()
        if left <= 0:
            raise httpcore.ReadTimeout("the deadline passed before the request was sent")
        timeout = httpx.Timeout(
            left, connect=min(window.connect, left), pool=min(window.pool, left)
        )
        built = client.build_request(
            request.method,
            request.url,
            headers=request.headers,
            content=request.body,
            params=request.params,
            timeout=timeout,
        )
        token = READ_DEADLINE.set(window.until)
        try:
            response = client.send(built, stream=True)
        finally:
            READ_DEADLINE.reset(token)
        return SyncRaw(response)

    def close(self) -> None:
        with self._creating:
            clients, self._clients = self._clients, {}
        for client in clients.values():
            client.close()

    def _new_client(self, provider: HttpProvider) -> httpx.Client:
        with self._creating:
            client = self._clients.get(provider.name)
            if client is None:
                size = provider.settings.max_connections or self._max_connections
                base_url = provider.base_url
                # Loading the certificate store costs tens of milliseconds: only for TLS.
                context = self._ssl_context() if base_url.startswith("https:") else None
                transport = _DeadlineTransport(_pool(base_url, size, context), context)
                client = self._clients[provider.name] = httpx.Client(
                    transport=transport,
                    follow_redirects=False,
                    headers={"accept-encoding": ACCEPT_ENCODING, "user-agent": _USER_AGENT},
                )
        return client


class SyncRaw:
    """An open response: status and head now, the body's bytes as received (undecoded), each
    read within the deadline the reader sets."""

    def __init__(self, response: httpx.Response) -> None:
        self.status = response.status_code
        self.headers: Mapping[str, str] = response.headers
        self._response = response
        self._raw = response.iter_raw()

    def chunk(self, until: float) -> bytes:
        """The next bytes received, ``b""`` at the end; ``until`` is a monotonic deadline."""
        token = READ_DEADLINE.set(until)
        try:
            return next(self._raw, b"")
        finally:
            READ_DEADLINE.reset(token)

    def close(self) -> None:
        self._response.close()


def _pool(base_url: str, size: int, ssl_context: Any | None) -> httpcore.ConnectionPool:
    """The provider's pool; through the environment's proxy for its host if one applies."""
    options: dict[str, Any] = {
        "ssl_context": ssl_context,
        "max_connections": size,
        "max_keepalive_connections": size,
        "network_backend": DeadlineBackend(),
    }
    proxy = proxy_for(base_url)
    if proxy is None:
        return httpcore.ConnectionPool(**options)
    parts = urlsplit(proxy)
    auth = None
    if parts.username is not None:
        auth = (unquote(parts.username).encode(), unquote(parts.password or "").encode())
        parts = parts._replace(netloc=parts.netloc.rpartition("@")[2])
    return httpcore.HTTPProxy(proxy_url=parts.geturl(), proxy_auth=auth, **options)


class _DeadlineTransport(httpx.HTTPTransport):
    """httpx's own transport with the socket layer swapped for ours.

    It stays an ``httpx.HTTPTransport`` (not a look-alike) so that everything patching or
    inspecting httpx's transport, such as vcrpy replaying cassettes, still sees one; only its
    httpcore pool (the ``_pool`` every httpx version since 0.18 keeps) is ours. The deadline
    tests fail loudly if that ever changes.
    """

    def __init__(
        self, pool: httpcore.ConnectionPool | httpcore.HTTPProxy, ssl_context: Any | None
    ) -> None:
        # httpx builds a pool of its own here, replaced below before it ever connects; for a
        # plain-http provider it gets no certificate store rather than loading one for nothing.
        verify = ssl_context if ssl_context is not None else False
        super().__init__(verify=verify, trust_env=False)
        self._pool = pool


def _bounded(timeout: float | None) -> float | None:
    deadline = READ_DEADLINE.get()
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise httpcore.ReadTimeout("the deadline passed")
    return left if timeout is None else min(timeout, left)


class _Stream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _bounded(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _bounded(timeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        return _Stream(self._stream.start_tls(ssl_context, server_hostname, _bounded(timeout)))

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's blocking socket backend, every operation bounded by ``READ_DEADLINE``."""

    def __init__(self) -> None:
        self._backend = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._backend.connect_tcp(
            host, port, _bounded(timeout), local_address, socket_options
        )
        return _Stream(stream)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        return _Stream(self._backend.connect_unix_socket(path, _bounded(timeout), socket_options))

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)
