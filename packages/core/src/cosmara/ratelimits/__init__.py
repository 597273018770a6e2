"""Rate limits: requests, tokens and dollars per minute, hour or day for any scope, atomic on
every state backend (token buckets; one script call on Redis)."""

from cosmara.ratelimits._settings import RateLimitRule, RateScope

__all__ = ["RateLimitRule", "RateScope"]
