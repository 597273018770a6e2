"""Plain-Python surfaces for Cosmara.

- ``Ask``: a model as a function, ``Ask("openai/gpt-4o-mini")("Hi") -> str``.
- ``OpenAI`` / ``AsyncOpenAI``: the openai SDK's own clients (``openai.OpenAI`` instances),
  whose HTTP client hands every request to a Cosmara engine: change the import, keep the code.
- ``http_client`` / ``async_http_client`` and ``CosmaraTransport`` / ``AsyncCosmaraTransport``:
  the same transport for an SDK client you build yourself.
- The SDK's exception classes (``RateLimitError``, ...), re-exported: they are ``openai``'s.

Everything but ``Ask`` is imported when first used, so ``Ask`` alone never loads the SDK.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from cosmara_generic._ask import Ask

if TYPE_CHECKING:
    from openai import (
        APIConnectionError,
        APIError,
        APIResponseValidationError,
        APIStatusError,
        APITimeoutError,
        AuthenticationError,
        BadRequestError,
        ConflictError,
        InternalServerError,
        NotFoundError,
        OpenAIError,
        PermissionDeniedError,
        RateLimitError,
        UnprocessableEntityError,
    )

    from cosmara_generic._client import AsyncOpenAI, OpenAI, async_http_client, http_client
    from cosmara_generic._reply import COST_HEADER
    from cosmara_generic._transport import AsyncCosmaraTransport, CosmaraTransport

__version__ = "0.2.0"

_SDK_ERRORS = (
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "InternalServerError",
    "NotFoundError",
    "OpenAIError",
    "PermissionDeniedError",
    "RateLimitError",
    "UnprocessableEntityError",
)
_LAZY = {
    "AsyncOpenAI": "cosmara_generic._client",
    "OpenAI": "cosmara_generic._client",
    "async_http_client": "cosmara_generic._client",
    "http_client": "cosmara_generic._client",
    "AsyncCosmaraTransport": "cosmara_generic._transport",
    "CosmaraTransport": "cosmara_generic._transport",
    "COST_HEADER": "cosmara_generic._reply",
    **dict.fromkeys(_SDK_ERRORS, "openai"),
}

__all__ = [
    "COST_HEADER",
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "Ask",
    "AsyncCosmaraTransport",
    "AsyncOpenAI",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "CosmaraTransport",
    "InternalServerError",
    "NotFoundError",
    "OpenAI",
    "OpenAIError",
    "PermissionDeniedError",
    "RateLimitError",
    "UnprocessableEntityError",
    "__version__",
    "async_http_client",
    "http_client",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'cosmara_generic' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted(__all__)
