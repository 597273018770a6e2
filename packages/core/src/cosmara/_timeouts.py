"""How long to wait: to connect, for an answer, for a stream's first token, between chunks,
and for the whole call.

A timeout is given as seconds, a preset name (``quick``, ``standard``, ``extended``), or the
parts; per call, per model (``model_timeouts``), per provider, or for the client. Every limit
is a deadline, not a per-read allowance: ``request`` bounds a whole non-streamed answer,
``first_token`` the wait for a stream's first content (role-only chunks and keep-alive
comments do not count), ``between_chunks`` each gap after it, and ``total`` the whole call:
every attempt, retry wait and fallback, and for a stream everything up to its last chunk.
Seconds given as a plain number are both the ``request`` limit and the call's ``total``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["PRESETS", "Timeouts"]

_DAY = 86_400.0


def _seconds(default: float | None, description: str) -> Any:
    return Field(default=default, gt=0, le=_DAY, description=description)


class Timeouts(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    connect: float = _seconds(10.0, "opening a connection")
    request: float = _seconds(60.0, "a whole non-streamed answer, per attempt")
    first_token: float | None = _seconds(
        None, "streams: until the first content or tool-call delta, per attempt; default: request"
    )
    between_chunks: float | None = _seconds(
        None, "streams: the longest gap between two chunks after it; default: request"
    )
    pool: float | None = _seconds(
        None,
        "waiting for a free connection once the provider's max_connections are all busy; "
        "default: connect",
    )
    total: float | None = _seconds(
        None, "the whole call: attempts, retry waits, fallbacks, a stream to its end"
    )

    @classmethod
    def coerce(cls, value: Any) -> Timeouts:
        """From seconds, a preset name, a mapping of the parts, or a ``Timeouts``.

        Raises:
            ValueError: an unknown preset, or a value that is not a positive number of seconds
                up to a day.
        """
        if isinstance(value, Timeouts):
            return value
        if isinstance(value, str):
            preset = PRESETS.get(value)
            if preset is None:
                raise ValueError(f"unknown timeout preset {value!r}; presets: {', '.join(PRESETS)}")
            return preset
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            seconds = float(value)
            return cls(connect=min(seconds, 10.0), request=seconds, total=seconds)
        if not isinstance(value, Mapping):
            raise ValueError(
                "a timeout is seconds, a preset name or a mapping of connect, request, "
                f"first_token, between_chunks, pool and total; not {type(value).__name__}"
            )
        return cls.model_validate(value)

    @property
    def first(self) -> float:
        return self.first_token or self.request

    @property
    def gap(self) -> float:
        return self.between_chunks or self.request


PRESETS = {
    "quick": Timeouts(connect=2.0, request=5.0, total=10.0),
    "standard": Timeouts(connect=5.0, request=10.0, total=30.0),
    "extended": Timeouts(connect=10.0, request=30.0, total=90.0),
}
