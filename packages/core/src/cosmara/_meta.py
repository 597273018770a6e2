"""What Cosmara adds to every response: ``resp.cosmara``."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from cosmara._context import RequestContext

__all__ = ["Attempt", "CosmaraMeta", "Route"]


class Attempt(BaseModel):
    """One try at one target: which, how long, and how it ended."""

    model_config = ConfigDict(defer_build=True)

    provider: str
    model: str
    latency_ms: float
    first_token_ms: float | None = Field(
        default=None, description="Streams: time until the first content arrived"
    )
    error: str | None = Field(
        default=None,
        description="Error class name, None on success; for a target passed over without a "
        "request, why: CircuitOpen, ContextWindowExceeded or UnsupportedCapability",
    )
    code: str | None = Field(
        default=None, description="The error's code: the provider's, or Cosmara's own"
    )
    status_code: int | None = None
    message: str | None = None


class Route(BaseModel):
    """Why the engine chose the targets it tried, in order. Shared between calls: frozen."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    strategy: str = Field(description="'explicit', 'alias', 'catalog' or a routing strategy name")
    reason: str
    candidates: tuple[str, ...] = ()


class CosmaraMeta(BaseModel):
    """Cosmara's account of a call: who served it, what it cost, how it got there."""

    model_config = ConfigDict(defer_build=True)

    provider: str
    model: str
    cost_usd: float | None = Field(
        default=None, description="Exact cost from the response's usage; None if unpriced"
    )
    latency_ms: float
    attempts: list[Attempt] = Field(default_factory=list)
    route: Route
    context: RequestContext = Field(default_factory=RequestContext)
    cache: Literal["hit", "miss"] | None = Field(
        default=None, description="Looked up in the cache: answered from it, or not"
    )
    cache_similarity: float | None = Field(
        default=None, description="A semantic hit: how close the cached question was"
    )
    downgraded_from: str | None = Field(
        default=None, description="A budget downgraded the request from this model or group"
    )
    cost_saved_usd: float | None = Field(
        default=None,
        description="What this call did not pay: a cache hit's original cost, or (a downgrade) "
        "the difference from the model asked for",
    )
