"""Base URLs checked when a provider is configured, so a mistake is a configuration error and
not, later, a connection failure that counts against the provider's health."""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

__all__ = ["base_url_problem", "split_base_url"]

_LABEL = re.compile(r"^(?!-)[A-Za-z0-9_-]{1,63}(?<!-)$")


def split_base_url(url: str) -> tuple[str, str | None]:
    """``url`` without a ``user:password@`` part, and that part (None when absent).

    Raises:
        ValueError: the URL is not an http(s) URL with a valid host (says why, never the
            credentials).
    """
    problem = base_url_problem(url)
    if problem is not None:
        raise ValueError(f"base_url {problem}")
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url, None
    userinfo, _, host = parts.netloc.rpartition("@")
    return urlunsplit(parts._replace(netloc=host)), userinfo


def base_url_problem(url: str) -> str | None:
    """Why ``url`` cannot be a provider's base URL, or None."""
    if not url.strip():
        return "is empty"
    if any(ord(character) < 0x21 or ord(character) == 0x7F for character in url):
        return "holds a space or a control character"
    try:
        parts = urlsplit(url)
        port = parts.port  # raises on a port that is not a number in range
    except ValueError as error:
        return f"is not a valid URL ({error})"
    if parts.scheme not in ("http", "https"):
        return "must start with http:// or https://"
    host = parts.hostname
    if not host:
        return "has no host"
    if port == 0:
        return "has port 0"
    return None if _valid_host(host) else f"has an invalid host name {_shown(host)}"


def _valid_host(host: str) -> bool:
    if ":" in host:  # an IPv6 literal; urlsplit has checked its brackets
        return True
    labels = host.rstrip(".").split(".")
    if host.isascii() and not any(label.startswith("xn--") for label in labels):
        return all(_LABEL.fullmatch(label) for label in labels)
    import idna  # httpx's own dependency: the rules the request would meet

    try:
        # Unicode names must encode, and ASCII (punycode) ones must decode, under IDNA 2008.
        encoded = idna.encode(idna.decode(host.lower()) if host.isascii() else host.lower())
    except (idna.IDNAError, UnicodeError, ValueError):
        return False
    return all(_LABEL.fullmatch(label) for label in encoded.decode("ascii").split("."))


def _shown(host: str) -> str:
    return repr(host if len(host) <= 80 else host[:80] + "...")
