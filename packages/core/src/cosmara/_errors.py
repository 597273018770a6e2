"""Cosmara's one error hierarchy.

Every failure a caller can see is one of these, whichever provider or surface produced it::

    CosmaraError
    ├── ConfigurationError              the client itself is set up wrongly
    │   └── MissingCredentialsError     no API key for the chosen provider
    ├── RequestValidationError          bad input, raised before any network call (also ValueError)
    │   └── UnknownModelError           unknown provider prefix or model name (also LookupError)
    ├── ClientClosedError               the client was closed (also RuntimeError)
    ├── StateStoreError                 the shared state store (SQLite, Redis) failed
    ├── RequestRefusedError             a stage refused the request: a limit, a budget, a policy
    │   ├── BudgetExceededError         a budget's hard limit would be passed
    │   └── RateLimitExceededError      a configured rate limit, with retry_after
    └── ProviderError                   the provider (or the way to it) failed
        ├── AuthenticationError         401
        ├── PermissionDeniedError       403
        ├── NotFoundError               404 (model or deployment)
        ├── BadRequestError             400 / 422
        │   ├── ContextWindowExceededError
        │   └── ContentFilteredError
        ├── RateLimitError              429, with ``retry_after`` seconds when known
        ├── ProviderUnavailableError    5xx, 529 overloaded
        ├── RequestTimeoutError         connect / read / whole-request timeout
        ├── ProviderConnectionError     refused, reset, cut stream
        └── InvalidResponseError        a body we cannot parse, or one over a configured limit

``ProviderError.retryable`` says whether sending the same request again may succeed; the
resilience layer decides what to do with it. ``attempts`` is filled by the engine when every
candidate failed, so the last error carries the whole story.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from datetime import datetime

    from cosmara._meta import Attempt
    from cosmara._response import Usage

__all__ = [
    "AuthenticationError",
    "BadRequestError",
    "BudgetExceededError",
    "ClientClosedError",
    "ConfigurationError",
    "ContentFilteredError",
    "ContextWindowExceededError",
    "CosmaraError",
    "InvalidResponseError",
    "MissingCredentialsError",
    "NotFoundError",
    "PermissionDeniedError",
    "ProviderConnectionError",
    "ProviderError",
    "ProviderUnavailableError",
    "RateLimitError",
    "RateLimitExceededError",
    "RequestRefusedError",
    "RequestTimeoutError",
    "RequestValidationError",
    "StateStoreError",
    "UnknownModelError",
]


class CosmaraError(Exception):
    """Base class of every error Cosmara raises."""


class ConfigurationError(CosmaraError):
    """The client's configuration is invalid or incomplete."""


class MissingCredentialsError(ConfigurationError):
    """No API key is configured for the provider a request needs."""


class RequestValidationError(CosmaraError, ValueError):
    """The request is malformed; raised before anything is sent."""


class UnknownModelError(RequestValidationError, LookupError):
    """The model name names no registered provider or catalog entry."""


class ClientClosedError(CosmaraError, RuntimeError):
    """The client was closed; calls in flight when it closed end with this error too, and
    never count against a provider's health."""


class StateStoreError(CosmaraError):
    """The store failed: Redis unreachable or refusing, SQLite file unwritable, or a lock held
    by another process for longer than the configured timeout. Never carries credentials. A
    request whose budgets or limits cannot be checked is not sent."""


class RequestRefusedError(CosmaraError):
    """A stage of the pipeline refused the request before any provider was called: a rate
    limit, a budget, a guardrail of a plugin's. ``stage`` names it."""

    def __init__(self, message: str, *, stage: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.stage = stage

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_error, (type(self), self.message, dict(self.__dict__)))


class BudgetExceededError(RequestRefusedError):
    """The request's reserved cost would pass a budget's hard limit. Nothing was sent.

    Attributes:
        budget: the budget's name; level, value: what it covers (``team``, ``support``);
        limit_usd, spent_usd, reserved_usd: its limit this period, what was spent and what is
        held by requests in flight; resets_at: when the period ends (None for ``total``).
    """

    def __init__(
        self,
        message: str,
        *,
        budget: str,
        level: str,
        value: str,
        limit_usd: float,
        spent_usd: float,
        reserved_usd: float,
        resets_at: datetime | None,
    ) -> None:
        super().__init__(message, stage="budget")
        self.budget = budget
        self.level = level
        self.value = value
        self.limit_usd = limit_usd
        self.spent_usd = spent_usd
        self.reserved_usd = reserved_usd
        self.resets_at = resets_at


class RateLimitExceededError(RequestRefusedError):
    """A configured rate limit (requests, tokens or dollars per window) is exhausted; try again
    after ``retry_after`` seconds (``inf`` when the request alone is larger than the burst)."""

    def __init__(self, message: str, *, limit: str, retry_after: float) -> None:
        super().__init__(message, stage="rate_limits")
        self.limit = limit
        self.retry_after = retry_after


class ProviderError(CosmaraError):
    """A provider answered with an error, or could not be reached.

    Attributes:
        provider: registered provider name (``"openai"``, ``"azure"``, ...).
        model: model the request was for.
        status_code: HTTP status, or ``None`` when no response arrived.
        provider_message: the provider's own error message, verbatim.
        code: the provider's machine-readable error code when it gives one.
        retryable: whether the same request may succeed if sent again.
        retry_after: seconds the provider asked us to wait, when it said.
        request_id: the provider's request id header, for support tickets.
        body: the decoded error body (dict or text), kept for diagnosis.
        attempts: every try the request made, when it came from the engine.
        partial_text, usage, cost_usd: for a stream that failed after content reached the
            caller, the text already streamed and what it cost.
    """

    default_retryable = False

    def __init__(
        self,
        message: str,
        *,
        provider: str | None = None,
        model: str | None = None,
        status_code: int | None = None,
        provider_message: str | None = None,
        code: str | None = None,
        retryable: bool | None = None,
        retry_after: float | None = None,
        request_id: str | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.provider = provider
        self.model = model
        self.status_code = status_code
        self.provider_message = provider_message
        self.code = code
        self.retryable = self.default_retryable if retryable is None else retryable
        self.retry_after = retry_after
        self.request_id = request_id
        self.body = body
        self.attempts: list[Attempt] = []
        # Set when a stream failed after content reached the caller: what they already have,
        # and the usage and cost of it (the provider's count if it sent one, else estimated).
        self.partial_text: str | None = None
        self.usage: Usage | None = None
        self.cost_usd: float | None = None

    def __str__(self) -> str:
        where = "/".join(part for part in (self.provider, self.model) if part)
        status = f" {self.status_code}" if self.status_code is not None else ""
        prefix = f"[{where}{status}] " if where or status else ""
        return f"{prefix}{self.message}"

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only constructor: rebuild from the instance dict so errors survive pickling
        # (multiprocessing, task queues) with every attribute intact.
        return (_rebuild_error, (type(self), self.message, dict(self.__dict__)))


def _rebuild_error(cls: type[CosmaraError], message: str, state: dict[str, Any]) -> CosmaraError:
    error = cls.__new__(cls)
    Exception.__init__(error, message)
    error.__dict__.update(state)
    return error


class AuthenticationError(ProviderError):
    """The provider rejected the API key (401)."""


class PermissionDeniedError(ProviderError):
    """The key is valid but may not use this model or resource (403)."""


class NotFoundError(ProviderError):
    """The model, deployment or endpoint does not exist (404)."""


class BadRequestError(ProviderError):
    """The provider rejected the request as invalid (400, 422)."""


class ContextWindowExceededError(BadRequestError):
    """The prompt plus requested output does not fit the model's context window."""


class ContentFilteredError(BadRequestError):
    """The provider's content policy blocked the prompt or the answer."""


class RateLimitError(ProviderError):
    """Too many requests or tokens (429); ``retry_after`` holds the wait when known."""

    default_retryable = True


# The code of a request never sent because the provider's connections were all busy.
POOL_EXHAUSTED = "pool_exhausted"


class ProviderUnavailableError(ProviderError):
    """The provider failed or is overloaded (5xx, 529), or, with code ``pool_exhausted``,
    every connection this client may open to it stayed busy."""

    default_retryable = True


class RequestTimeoutError(ProviderError):
    """No (complete) answer arrived within the configured timeout."""

    default_retryable = True


class ProviderConnectionError(ProviderError):
    """The connection could not be made or broke mid-way."""

    default_retryable = True


class InvalidResponseError(ProviderError):
    """The provider answered with a body that is not what its API documents, or one larger
    than the client's ``limits`` allow (code ``response_too_large``, not retried)."""

    default_retryable = True
