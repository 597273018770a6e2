"""HTTP header names and values that are safe to send, checked before any request.

A header value with a line break or a non-Latin-1 character makes httpx raise an error whose
text holds the value (often a key); checking at configuration or call time turns that into a
typed error that names the header and never shows its value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = ["checked_headers", "header_problem", "headers_problem", "is_secret_name"]

# RFC 9110 token characters.
_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
# Visible ASCII, space and tab; no control characters, nothing outside ASCII.
_VALUE = re.compile(r"^[\t\x20-\x7e]*$")
# Settings and headers that carry credentials, whatever a vendor calls them: ``api_key``,
# ``x-api-key``, ``azure_ad_token``, ``aws_secret_access_key``, ``Authorization``, ``Cookie``.
_SECRET_NAME = re.compile(
    r"(^|[-_])(key|token|secret|password|passphrase|credentials?)$|authorization|cookie", re.I
)


def is_secret_name(name: str) -> bool:
    """Whether a setting or header of this name holds a credential (masked wherever shown)."""
    return bool(_SECRET_NAME.search(name))


def header_problem(name: Any, value: Any) -> str | None:
    """Why this header cannot be sent (without showing its value), or None."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        return f"header name {name!r} is not a valid HTTP token"
    if not isinstance(value, str):
        return f"header {name!r} must have a string value, not {type(value).__name__}"
    if not _VALUE.fullmatch(value):
        return f"header {name!r} holds a control or non-ASCII character"
    return None


def headers_problem(headers: Mapping[Any, Any]) -> str | None:
    """Why one of these headers cannot be sent, or None.

    Every request passes here, so the usual answer (all fine) costs two regex matches: the
    names are tokens if their concatenation is one (none empty), the values are clean if theirs
    is. Only a failure looks at the headers one by one, to name the bad one.
    """
    try:
        names = "".join(headers)
        values = "".join(headers.values())
    except TypeError:  # a name or value that is not a string
        pass
    else:
        if _VALUE.fullmatch(values) and _NAME.fullmatch(names) and all(headers):
            return None
        if not headers:
            return None
    for name, value in headers.items():
        problem = header_problem(name, value)
        if problem is not None:
            return problem
    return None  # pragma: no cover - the joined check fails only when one header does


def checked_headers(headers: Any, where: str) -> dict[str, str]:
    """``headers`` as a plain dict, or ``ValueError`` naming ``where`` and the bad header."""
    if not isinstance(headers, Mapping):
        raise ValueError(f"{where} must be a mapping of header names to strings")
    problem = headers_problem(headers)
    if problem is not None:
        raise ValueError(f"{where}: {problem}")
    return dict(headers)
