"""``[ledger]``: whether every request is recorded, and what a row may hold."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["LedgerSettings"]


class LedgerSettings(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="forbid")

    enabled: bool = False
    record_text: bool = Field(
        default=False, description="keep each request's prompt and answer text in its row"
    )
    max_rows: int | None = Field(
        default=100_000,
        ge=1,
        description="the rows a ledger keeps (the oldest go); None keeps every row (SQLite or "
        "Redis: a memory ledger must be bounded)",
    )
    baseline_model: str | None = Field(
        default=None,
        description="'provider/model' that routing savings are counted against: what a call "
        "to a group or alias would have cost there",
    )
