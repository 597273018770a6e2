"""Cache keys: a versioned canonical hash of everything that changes an answer, under the scope
that may share it.

A key is ``<scope>|<sha256>``: the scope (``org:acme/team:support``) first, so clearing a
scope is clearing a prefix, and so a key can never match across scopes. The hash covers the
model, alias or group the caller named, the messages, tools, tool choice, response format,
every sampling parameter (temperature, top_p, max_tokens, stop, seed, n, reasoning effort)
and provider extras: the whole request but its ``user`` field (OpenAI's end-user id, which
the scope handles). Bump ``VERSION`` when what goes into a key changes.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any
from urllib.parse import quote

from cosmara._context import RequestContext
from cosmara._errors import RequestValidationError
from cosmara._messages import ChatRequest, TextPart, UserMessage
from cosmara.cache._settings import Scope

__all__ = ["VERSION", "exact_key", "scope_key", "scope_of", "semantic_parts"]

VERSION = 1
_LEVELS = ("org", "team", "user")


def scope_of(scope: Scope, context: RequestContext) -> str:
    """Who may share an entry: ``*`` for everyone, else the context down to that level."""
    if scope == "global":
        return "*"
    depth = _LEVELS.index(scope) + 1
    return "/".join(
        f"{level}:{quote(getattr(context, level) or '', safe='')}" for level in _LEVELS[:depth]
    )


def scope_key(written: str) -> str:
    """A scope as people write it (``global``, ``org:acme``, ``org:acme/team:support``,
    ``org:acme/team:support/user:ana``) as the keys of its entries begin.

    Raises:
        RequestValidationError: not a scope: levels out of order, missing or empty names.
    """
    if not isinstance(written, str):
        raise RequestValidationError(f"a scope is a string, not {type(written).__name__}")
    if written in ("global", "*"):
        return "*"
    parts = written.split("/")
    if len(parts) > len(_LEVELS):
        raise RequestValidationError(f"scope {written!r} has more than org, team and user")
    quoted = []
    for part, level in zip(parts, _LEVELS, strict=False):
        given, colon, name = part.partition(":")
        if given != level or not colon or not name:
            expected = "/".join(f"{level}:NAME" for level in _LEVELS[: len(parts)])
            raise RequestValidationError(
                f"scope {written!r} is not 'global' nor of the form {expected!r}"
            )
        quoted.append(f"{level}:{quote(name, safe='')}")
    return "/".join(quoted)


def exact_key(request: ChatRequest, namespace: str, scope: str) -> str:
    data = request.model_dump(mode="json", exclude={"user"}, exclude_none=True, by_alias=True)
    return f"{scope}|{_digest(namespace, data)}"


def semantic_parts(
    request: ChatRequest, namespace: str, scope: str, embed: str
) -> tuple[str, str] | None:
    """(the partition an equivalent question must share, the text to compare), or None when
    the request cannot be compared by meaning (its last message is not a user's text)."""
    messages = request.messages
    last = messages[-1]
    if not isinstance(last, UserMessage):
        return None
    question = _text(last.content)
    if question is None:
        return None
    data = request.model_dump(
        mode="json", exclude={"user", "messages"}, exclude_none=True, by_alias=True
    )
    kept: list[Any]
    if embed == "conversation":
        kept = [m for m in messages if m.role in ("system", "developer")]
        compared = [m for m in messages if m.role in ("user", "assistant")]
        texts = [_text(m.content) for m in compared]
        if any(text is None for text in texts):
            return None
        question = "\n".join(text for text in texts if text)
    else:
        kept = list(messages[:-1])  # earlier turns must match exactly
    data["messages"] = [m.model_dump(mode="json", exclude_none=True, by_alias=True) for m in kept]
    return f"{scope}|{_digest(namespace, data)}", question


def _digest(namespace: str, data: Any) -> str:
    canonical = json.dumps(
        [VERSION, namespace, data], sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _text(content: Any) -> str | None:
    """A message's text; None when it holds anything but text (an image, a document)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if all(isinstance(part, TextPart) for part in content):
        return "".join(part.text for part in content)
    return None
