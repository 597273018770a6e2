"""``[rate_limits.NAME]``: requests, tokens and dollars per window for a scope, with bursts."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["RateLimitRule", "RateScope"]

RateScope = Literal["global", "org", "team", "user", "key", "model", "provider"]
_WINDOWS = {"minute": 60.0, "hour": 3600.0, "day": 86_400.0}


class RateLimitRule(BaseModel):
    """A rate limit for the requests of one ``scope`` (``match`` a value, or ``*`` for one
    limit per value; for ``model`` and ``provider`` the name the request asks for).

    Each ``<what>_per_<window>`` is a token bucket: it refills at that rate and holds at most
    ``burst`` times the window's amount (1: the window's amount at once). Tokens are counted
    before the request (the prompt, plus max_tokens) and corrected with the real usage after;
    dollars are charged after and refuse new requests while the bucket is in debt.
    """

    model_config = ConfigDict(defer_build=True, extra="forbid")

    scope: RateScope = "global"
    match: str = "*"
    requests_per_minute: float | None = Field(default=None, gt=0)
    requests_per_hour: float | None = Field(default=None, gt=0)
    requests_per_day: float | None = Field(default=None, gt=0)
    tokens_per_minute: float | None = Field(default=None, gt=0)
    tokens_per_hour: float | None = Field(default=None, gt=0)
    tokens_per_day: float | None = Field(default=None, gt=0)
    usd_per_minute: float | None = Field(default=None, gt=0)
    usd_per_hour: float | None = Field(default=None, gt=0)
    usd_per_day: float | None = Field(default=None, gt=0)
    burst: float = Field(default=1.0, gt=0, description="the bucket's size, in windows")
    on_exceed: Literal["error", "wait"] = Field(
        default="error", description="raise RateLimitExceededError, or wait (up to max_wait)"
    )
    max_wait_seconds: float = Field(default=10.0, ge=0)

    @model_validator(mode="after")
    def _has_a_limit(self) -> RateLimitRule:
        if not self.buckets():
            raise ValueError("a rate limit needs at least one <what>_per_<window> value")
        return self

    def buckets(self) -> list[tuple[str, str, float, float]]:
        """(what, window, rate per second, burst) of each configured limit."""
        found = []
        for what in ("requests", "tokens", "usd"):
            for window, seconds in _WINDOWS.items():
                amount = getattr(self, f"{what}_per_{window}")
                if amount is not None:
                    found.append((what, window, amount / seconds, amount * self.burst))
        return found
