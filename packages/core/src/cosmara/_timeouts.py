"""How long to wait: to connect, for an answer, for a stream's first token, between chunks.

A timeout is given as seconds, a preset name (``quick`` 5 s, ``standard`` 10 s, ``extended``
30 s), or the parts (plus ``pool``: how long a request queues for one of the provider's
``max_connections`` before it fails over); per call, per model (``model_timeouts``), per
provider, or for the client. Async streams enforce the first-token and between-chunk limits
exactly; sync streams enforce the larger of the two on every read (a blocking read cannot be
re-armed mid-stream).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    import httpx

__all__ = ["PRESETS", "Timeouts"]


class Timeouts(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    connect: float = Field(default=10.0, gt=0)
    request: float = Field(default=60.0, gt=0, description="a whole non-streamed answer")
    first_token: float | None = Field(default=None, gt=0, description="streams; default: request")
    between_chunks: float | None = Field(
        default=None, gt=0, description="streams; default: request"
    )
    pool: float | None = Field(
        default=None,
        gt=0,
        description="waiting for a free connection once the provider's max_connections are "
        "all busy; default: connect",
    )

    @classmethod
    def coerce(cls, value: Any) -> Timeouts:
        """From seconds, a preset name, a mapping of the parts, or a ``Timeouts``."""
        if isinstance(value, Timeouts):
            return value
        if isinstance(value, str):
            preset = PRESETS.get(value)
            if preset is None:
                raise ValueError(f"unknown timeout preset {value!r}; presets: {', '.join(PRESETS)}")
            return preset
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            seconds = float(value)
            return cls(connect=min(seconds, 10.0), request=seconds)
        return cls.model_validate(value)

    @property
    def first(self) -> float:
        return self.first_token or self.request

    @property
    def gap(self) -> float:
        return self.between_chunks or self.request

    def for_httpx(self, *, stream: bool) -> httpx.Timeout:
        import httpx

        read = max(self.first, self.gap) if stream else self.request
        return httpx.Timeout(read, connect=self.connect, pool=self.pool or self.connect)


PRESETS = {
    "quick": Timeouts(connect=2.0, request=5.0),
    "standard": Timeouts(connect=5.0, request=10.0),
    "extended": Timeouts(connect=10.0, request=30.0),
}
