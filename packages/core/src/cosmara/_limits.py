"""How much of a response the engine will hold: every buffer fed by a provider has a bound.

A provider (or anything pretending to be one) decides how many bytes it sends. These limits
are enforced while reading, so a gzip bomb, an endless body or a stream line without an end
costs at most the limit, and ends in a typed error that fails over to the next target.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Limits"]

_MIB = 1024 * 1024


class Limits(BaseModel):
    """Configured under ``[limits]``; the defaults suit chat and embeddings."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    response_bytes: int = Field(
        default=64 * _MIB, ge=1024, description="a response body as received (compressed)"
    )
    decoded_bytes: int = Field(
        default=64 * _MIB, ge=1024, description="a response body after decompression"
    )
    event_bytes: int = Field(
        default=8 * _MIB,
        ge=1024,
        description="a stream's bytes between two chunks: one SSE line or event, one NDJSON "
        "line, one event-stream frame",
    )
    error_bytes: int = Field(
        default=_MIB, ge=1024, description="an error response's body (the rest is not read)"
    )
    error_chars: int = Field(
        default=4000, ge=100, description="characters of a provider's error message kept"
    )
