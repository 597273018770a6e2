"""When to send the same request to the same target again, and how long to wait first."""

from __future__ import annotations

import math
import random
from collections.abc import Callable

from pydantic import BaseModel, ConfigDict, Field

from cosmara._errors import ProviderError

__all__ = ["MAX_RETRIES", "RetryPolicy"]

MAX_RETRIES = 20


class RetryPolicy(BaseModel):
    """Exponential backoff with jitter; ``Retry-After`` from the provider wins, up to a cap.

    Whether an error is worth retrying is the typed error's ``retryable`` flag, unless
    ``retry_on`` names its class (or a base class) with an explicit yes or no.
    """

    model_config = ConfigDict(frozen=True, defer_build=True)

    max_retries: int = Field(default=2, ge=0, le=MAX_RETRIES)
    initial_delay: float = Field(default=0.5, ge=0)
    max_delay: float = Field(default=8.0, ge=0)
    multiplier: float = Field(default=2.0, ge=1)
    jitter: float = Field(default=0.25, ge=0, le=1, description="± fraction of each delay")
    retry_after_cap: float = Field(default=30.0, ge=0)
    retry_on: dict[str, bool] = Field(default_factory=dict)

    def should_retry(self, error: ProviderError) -> bool:
        for cls in type(error).__mro__:
            verdict = self.retry_on.get(cls.__name__)
            if verdict is not None:
                return verdict
        return error.retryable

    def delay(
        self, retry_number: int, error: ProviderError, rand: Callable[[], float] = random.random
    ) -> float:
        """Seconds to wait before retry ``retry_number`` (1 for the first retry)."""
        wait = error.retry_after
        if wait is not None and math.isfinite(wait) and wait >= 0:
            return min(wait, self.retry_after_cap)
        base = min(self.initial_delay * self.multiplier ** (retry_number - 1), self.max_delay)
        return max(base * (1 + self.jitter * (2 * rand() - 1)), 0.0)
