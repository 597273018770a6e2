"""``Reply``: a finished HTTP answer (status, headers, JSON body), and the wire encodings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
from pydantic_core import to_json

import cosmara

__all__ = ["COST_HEADER", "Reply", "meta_headers", "sse_data", "sse_event"]

COST_HEADER = "x-cosmara-cost-usd"
_JSON = {"content-type": "application/json"}


@dataclass(frozen=True)
class Reply:
    """What the transport answers without streaming."""

    status: int
    body: Any
    headers: Mapping[str, str] = field(default_factory=dict)

    def to_httpx(self) -> httpx.Response:
        data = to_json(self.body)
        headers = {**_JSON, "content-length": str(len(data)), **self.headers}
        # A ready byte stream: httpx's ``content=`` path re-derives the same headers, slowly.
        return httpx.Response(self.status, headers=headers, stream=httpx.ByteStream(data))


def meta_headers(meta: cosmara.CosmaraMeta | None) -> dict[str, str]:
    """Cosmara's account of a call as response headers: who served it, what it cost, and
    what it saved (a cache hit, a budget's downgrade)."""
    if meta is None:
        return {}
    headers = {
        "x-cosmara-provider": meta.provider,
        "x-cosmara-model": meta.model,
        "x-cosmara-latency-ms": f"{meta.latency_ms:g}",
        "x-cosmara-attempts": str(len(meta.attempts)),
    }
    if meta.cost_usd is not None:
        headers[COST_HEADER] = repr(meta.cost_usd)
    if meta.cache is not None:
        headers["x-cosmara-cache"] = meta.cache  # hit or miss
    if meta.cost_saved_usd:
        headers["x-cosmara-cost-saved-usd"] = repr(meta.cost_saved_usd)
    if meta.downgraded_from is not None:
        headers["x-cosmara-downgraded-from"] = meta.downgraded_from
    return headers


def sse_data(payload: Any) -> bytes:
    """One Chat Completions stream event: ``data: {json}``."""
    return b"data: " + to_json(payload) + b"\n\n"


def sse_event(payload: Mapping[str, Any]) -> bytes:
    """One Responses stream event, named by its type as the API sends them."""
    return b"event: " + payload["type"].encode() + b"\ndata: " + to_json(payload) + b"\n\n"
