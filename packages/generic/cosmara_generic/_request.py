"""What an openai SDK request asks of the engine, read from its HTTP form. Pure: no I/O.

The SDK turns every call into an HTTP request; this module reads one back: which endpoint,
the JSON body, the headers and query parameters worth sending on to the provider, and the
SDK's timeout. Cosmara's own keywords travel in the body (the SDK's ``extra_body``) and are
taken out of it here, so they never reach a provider.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

import cosmara

__all__ = ["COSMARA_KEYS", "Incoming", "engine_keywords", "forwarded_headers", "read_request"]

# Engine keywords a caller may put in ``extra_body`` (``user`` is also an OpenAI field and
# stays in the body); ``cosmara_metadata`` is Cosmara's, as ``metadata`` is OpenAI's.
COSMARA_KEYS = frozenset({"fallbacks", "org", "team", "tags", "cosmara_metadata"})

# Headers that describe this hop, not the request: the SDK's bookkeeping (``x-stainless-*``,
# its retry ``idempotency-key``), transport framing, and the SDK-side identity (its key and
# OpenAI organisation/project): a provider's credentials and headers come from Cosmara's
# configuration, never from the SDK client, whose key is a placeholder or another service's.
_DROPPED = frozenset(
    {
        "accept",
        "accept-encoding",
        "connection",
        "content-length",
        "content-type",
        "host",
        "idempotency-key",
        "keep-alive",
        "openai-organization",
        "openai-project",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "user-agent",
    }
)
_DROPPED_PREFIXES = ("x-stainless-", "x-cosmara-", "proxy-")
# Any header that carries a credential, whatever the vendor calls it.
_CREDENTIAL = re.compile(r"authorization|api[-_]?key|token|secret|password|cookie", re.I)


@dataclass(frozen=True)
class Incoming:
    """One SDK request: ``method`` and ``path`` (decoded), its JSON ``body`` (a dict, or
    ``None`` for a GET), and the engine keywords it implies before any endpoint reads it:
    forwarded headers and query parameters and the call's timeout."""

    method: str
    path: str
    body: dict[str, Any] | None
    transport: dict[str, Any]


def read_request(request: httpx.Request) -> Incoming:
    """Read an already-loaded ``httpx.Request``.

    Raises:
        cosmara.RequestValidationError: the body is not a JSON object.
    """
    body: dict[str, Any] | None = None
    if request.content:
        try:
            body = json.loads(request.content)
        except ValueError:
            raise cosmara.RequestValidationError("the request body is not valid JSON") from None
        if not isinstance(body, dict):
            raise cosmara.RequestValidationError("the request body must be a JSON object")
    transport: dict[str, Any] = {}
    headers = forwarded_headers(request.headers)
    if headers:
        transport["extra_headers"] = headers
    if request.url.query:
        transport["extra_query"] = dict(request.url.params.multi_items())
    timeout = _timeout(request.extensions.get("timeout"))
    if timeout is not None:
        transport["timeout"] = timeout
    return Incoming(request.method, request.url.path, body, transport)


def forwarded_headers(headers: httpx.Headers) -> dict[str, str]:
    """The headers a caller added for the provider (``default_headers``, ``extra_headers``):
    everything but this hop's framing, the SDK's bookkeeping and any credential."""
    return {
        name: value
        for name, value in headers.items()
        if name not in _DROPPED
        and not name.startswith(_DROPPED_PREFIXES)
        and not _CREDENTIAL.search(name)
    }


def engine_keywords(
    body: dict[str, Any], defaults: Mapping[str, Any], transport: Mapping[str, Any]
) -> dict[str, Any]:
    """Take Cosmara's keywords out of ``body`` and return every engine keyword of the call:
    the client's defaults, then the call's transport options, then the body's own."""
    keywords = {**defaults, **transport}
    for key in COSMARA_KEYS.intersection(body):
        keywords["metadata" if key == "cosmara_metadata" else key] = body.pop(key)
    if body.get("user") is not None:
        keywords["user"] = body["user"]  # the end user, for Cosmara's context too
    return keywords


def _timeout(phases: Any) -> cosmara.Timeouts | None:
    """The SDK's timeout (an httpx timeout: connect / read / write / pool) as the engine's.

    ``read`` bounds the answer (a whole non-streamed one, each wait of a stream): without it
    the call has no timeout of its own and the engine's configured ones apply.
    """
    if not isinstance(phases, Mapping) or not phases.get("read"):
        return None
    read = float(phases["read"])
    connect = float(phases.get("connect") or read)
    pool = phases.get("pool")
    return cosmara.Timeouts(
        connect=min(connect, read),
        request=read,
        first_token=read,
        between_chunks=read,
        pool=float(pool) if pool else None,
    )
