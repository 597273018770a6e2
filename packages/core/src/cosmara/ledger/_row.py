"""One ledger row: what one request was, for whom, what it cost and what it saved."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["LedgerRow", "Outcome", "SavedReason"]

Outcome = Literal["ok", "cached", "fallback_message", "error", "blocked", "cancelled"]
SavedReason = Literal["cache", "downgrade", "routing"]


class LedgerRow(BaseModel):
    """A request as the ledger keeps it. Prompt and answer text only when configured
    (``[ledger] record_text = true``); never a key or a header.

    ``outcome``: ``ok`` (a provider answered), ``cached`` (the cache did), ``fallback_message``
    (every target failed; the answer of last resort stood in), ``error`` (it failed),
    ``blocked`` (a limit, a budget or a plugin's stage refused it before any provider),
    ``cancelled`` (the caller stopped first). ``saved_usd`` is what this request did not pay
    and ``saved_reason`` why: a cache hit (its original cost), a downgrade (the usage priced at
    the model asked for, minus what was paid), routing (the usage priced at the configured
    baseline model, minus what was paid), so every saving can be checked row by row.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    id: str
    time: float = Field(description="seconds since the epoch, UTC, when the request started")
    org: str | None = None
    team: str | None = None
    user: str | None = None
    key: str | None = Field(default=None, description="the virtual key, when a gateway adds one")
    tags: dict[str, str] = Field(default_factory=dict)
    kind: Literal["chat", "embed"] = "chat"
    stream: bool = False
    requested_model: str
    provider: str | None = None
    model: str | None = None
    input_tokens: int = 0
    cached_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    cost_usd: float = 0.0
    saved_usd: float = 0.0
    saved_reason: SavedReason | None = None
    latency_ms: float = 0.0
    attempts: int = 0
    outcome: Outcome = "ok"
    error: str | None = Field(default=None, description="the error's class, when it failed")
    prompt: str | None = None
    answer: str | None = None
