"""Helpers every provider uses to translate documents, audio and tool-result media.

Refusals name the provider and the part, and are raised while the request is being built, so
a part a provider cannot take never costs a request.
"""

from __future__ import annotations

import re
from typing import Any

from cosmara._errors import RequestValidationError
from cosmara._messages import (
    ChatRequest,
    FilePart,
    ImagePart,
    InputAudioPart,
    TextPart,
    ToolMessage,
    UserMessage,
)

__all__ = ["describe", "document_name", "has_media", "refuse", "split_tool_content"]

_NAME_DISALLOWED = re.compile(r"[^A-Za-z0-9\s\-()\[\]]+")
_SPACES = re.compile(r"\s+")


def describe(part: Any) -> str:
    """How a refusal names a part: ``a 'file' part (application/pdf, by URL)``."""
    if isinstance(part, FilePart):
        file = part.file
        how = "by id" if file.file_id is not None else "by URL" if file.file_url else "inline"
        return f"a 'file' part ({file.media_type or 'of unknown type'}, {how})"
    if isinstance(part, InputAudioPart):
        return f"an 'input_audio' part ({part.input_audio.format})"
    if isinstance(part, ImagePart):
        return "an 'image_url' part"
    return f"a {getattr(part, 'type', type(part).__name__)!r} part"


def refuse(provider: str, part: Any, why: str, *, where: str = "") -> RequestValidationError:
    """The error for a part ``provider`` cannot take, raised before anything is sent."""
    place = f" in {where}" if where else ""
    return RequestValidationError(f"{provider} cannot take {describe(part)}{place}: {why}")


def has_media(request: ChatRequest) -> bool:
    """Whether a request carries documents or audio, or media in a tool result: the parts
    that need more than a plain copy of the message."""
    for message in request.messages:
        content = message.content
        if not isinstance(content, list):
            continue
        if isinstance(message, UserMessage):
            media: Any = (FilePart, InputAudioPart)
        elif isinstance(message, ToolMessage):
            media = (ImagePart, FilePart)
        else:
            continue
        if any(isinstance(part, media) for part in content):
            return True
    return False


def split_tool_content(
    message: ToolMessage,
) -> tuple[list[TextPart], list[ImagePart | FilePart]]:
    """A tool result's text parts and its media parts, each in order."""
    if isinstance(message.content, str):
        return [TextPart(text=message.content)], []
    texts = [part for part in message.content if isinstance(part, TextPart)]
    media = [part for part in message.content if not isinstance(part, TextPart)]
    return texts, media


def document_name(filename: str | None, used: set[str]) -> str:
    """A document name Bedrock accepts, unique within the request: letters, digits, single
    spaces, hyphens, parentheses and square brackets, at most 200 characters. The file's
    extension is dropped (the format field says it)."""
    stem = (filename or "").rsplit("/", 1)[-1]
    if "." in stem:
        stem = stem.rsplit(".", 1)[0]
    name = _SPACES.sub(" ", _NAME_DISALLOWED.sub("-", stem)).strip(" -")[:190] or "document"
    unique, number = name, 2
    while unique in used:
        unique = f"{name}-{number}"
        number += 1
    used.add(unique)
    return unique
