"""Cosmara's errors as the HTTP answers the openai SDK turns into its own exceptions.

The SDK picks its exception class from the status (400 ``BadRequestError`` ... 429
``RateLimitError``, 5xx ``InternalServerError``) and reads ``message``, ``type``, ``param`` and
``code`` from the body's ``error`` object; so each Cosmara error becomes that status and
body, with the provider's own error object when it sent one. Cosmara's account of the
failure (which targets were tried, how each ended) rides along as ``error.cosmara``, the SDK's
``e.body["cosmara"]``. A request a stage refused before any provider saw it is 402 for a
budget (``code: budget_exceeded``, with the budget's level, limit, spend and reset time), 429
for a rate limit (``code: rate_limit_exceeded``, with ``retry-after``), 403 for any other
stage's refusal (``code: request_refused``). Every error answer says ``x-should-retry:
false``: the engine has already retried and fallen back as configured, so the SDK must not
start over.

Timeouts and unreachable providers have no HTTP answer: they are raised as the SDK's own
``APITimeoutError`` and ``APIConnectionError`` (chained from the Cosmara error), which the SDK
passes on as they are, without retrying either.
"""

from __future__ import annotations

import math
from typing import Any

import httpx

import cosmara
from cosmara_generic._reply import Reply

__all__ = ["error_reply", "not_served", "raise_unanswered"]

# A provider error without an HTTP status: the status its class stands for.
_STATUS_OF: tuple[tuple[type[cosmara.ProviderError], int], ...] = (
    (cosmara.AuthenticationError, 401),
    (cosmara.PermissionDeniedError, 403),
    (cosmara.NotFoundError, 404),
    (cosmara.RateLimitError, 429),
    (cosmara.BadRequestError, 400),
    (cosmara.ProviderUnavailableError, 503),
    (cosmara.InvalidResponseError, 502),  # the provider's answer was not its API's: bad gateway
)
_TYPE_OF = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "insufficient_quota",
    403: "permission_error",
    404: "invalid_request_error",
    409: "conflict_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
}


def error_reply(error: cosmara.CosmaraError) -> Reply:
    """The HTTP answer for an error that has one (all but timeouts and connection errors)."""
    if isinstance(error, cosmara.ProviderError):
        return _provider_error(error)
    if isinstance(error, cosmara.RequestRefusedError):
        return _refused(error)
    if isinstance(error, cosmara.UnknownModelError):
        status, code, param = 404, "model_not_found", "model"
    elif isinstance(error, cosmara.RequestValidationError):
        status, code, param = 400, "invalid_request", None
    elif isinstance(error, cosmara.MissingCredentialsError):
        status, code, param = 401, "missing_credentials", None
    else:  # ConfigurationError: the engine cannot serve this until it is set up differently
        status, code, param = 500, "configuration_error", None
    inner = {"message": str(error), "type": _type(status), "param": param, "code": code}
    inner["cosmara"] = {"error": type(error).__name__}
    return Reply(status, {"error": inner}, {"x-should-retry": "false"})


def not_served(method: str, path: str, why: str, status: int = 404) -> Reply:
    """The answer for an endpoint Cosmara does not serve, saying why."""
    inner = {
        "message": f"{method} {path} is not served by Cosmara: {why}",
        "type": "invalid_request_error",
        "param": None,
        "code": "unsupported_endpoint",
    }
    return Reply(status, {"error": inner}, {"x-should-retry": "false"})


def raise_unanswered(error: cosmara.CosmaraError, request: httpx.Request) -> None:
    """Raise the SDK's exception for an error with no HTTP answer (a timeout, a connection
    that failed or broke); return for every other error."""
    import openai

    if isinstance(error, cosmara.RequestTimeoutError):
        raise openai.APITimeoutError(request=request) from error  # type: ignore[arg-type]
    if isinstance(error, cosmara.ProviderConnectionError):
        raise openai.APIConnectionError(
            message=f"Connection error: {error}",
            request=request,  # type: ignore[arg-type]
        ) from error


def _provider_error(error: cosmara.ProviderError) -> Reply:
    status = error.status_code or next(
        (code for kind, code in _STATUS_OF if isinstance(error, kind)), 500
    )
    body = error.body
    provided = body.get("error") if isinstance(body, dict) else None
    inner: dict[str, Any] = dict(provided) if isinstance(provided, dict) else {}
    inner.setdefault("message", error.provider_message or error.message)
    inner.setdefault("type", _type(status))
    inner.setdefault("param", None)
    inner.setdefault("code", error.code)
    inner["cosmara"] = {
        "error": type(error).__name__,
        "provider": error.provider,
        "model": error.model,
        "attempts": [attempt.model_dump(exclude_none=True) for attempt in error.attempts],
    }
    headers = {"x-should-retry": "false"}
    if error.retry_after is not None:
        headers["retry-after"] = f"{error.retry_after:g}"
    if error.request_id:
        headers["x-request-id"] = error.request_id
    return Reply(status, {"error": inner}, headers)


def _refused(error: cosmara.RequestRefusedError) -> Reply:
    """A budget is 402 (payment required: retrying will not help before it resets), a rate
    limit 429 with ``retry-after``, another stage's refusal 403; the details ride along."""
    headers = {"x-should-retry": "false"}
    details: dict[str, Any] = {"error": type(error).__name__, "stage": error.stage}
    if isinstance(error, cosmara.BudgetExceededError):
        status, code = 402, "budget_exceeded"
        resets_at = error.resets_at.isoformat() if error.resets_at is not None else None
        details.update(
            budget=error.budget,
            level=error.level,
            value=error.value,
            limit_usd=error.limit_usd,
            spent_usd=error.spent_usd,
            reserved_usd=error.reserved_usd,
            resets_at=resets_at,
        )
    elif isinstance(error, cosmara.RateLimitExceededError):
        status, code = 429, "rate_limit_exceeded"
        details.update(limit=error.limit, retry_after=error.retry_after)
        if math.isfinite(error.retry_after):
            headers["retry-after"] = f"{math.ceil(error.retry_after)}"
            headers["retry-after-ms"] = f"{math.ceil(error.retry_after * 1000)}"
    else:
        status, code = 403, "request_refused"
    inner = {"message": str(error), "type": _TYPE_OF.get(status, "invalid_request_error")}
    inner.update(param=None, code=code, cosmara=details)
    return Reply(status, {"error": inner}, headers)


def _type(status: int) -> str:
    return _TYPE_OF.get(status, "server_error" if status >= 500 else "invalid_request_error")
