"""What Cosmara knows about files and audio: ``data:`` URLs, MIME types, formats and sizes.

One place for it, so the vocabulary's validation, token estimates, routing needs and every
provider's translation read a file's type and a ``data:`` URL the same way. Nothing here
decodes a whole payload: a request may carry megabytes of base64, and sizes are worked out
from its length.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import NamedTuple

__all__ = [
    "AUDIO_FORMATS",
    "DataURL",
    "audio_format_of",
    "audio_seconds",
    "data_url_head",
    "decoded_size",
    "extension_for",
    "guess_mime",
    "is_text_mime",
    "parse_data_url",
]

# data:<type>/<subtype>[;param=value]...;base64,<payload>; the header is short, so only the
# first characters of a (possibly huge) URL are ever matched.
_DATA_URL_HEAD = re.compile(
    r"data:(?P<mime>[A-Za-z0-9][\w.+-]*/[\w.+-]+)(?:;[\w.+-]+=[^;,]*)*;base64,", re.ASCII
)
_HEAD_LIMIT = 512

# Extensions of the files people send models, and their registered MIME types. A table of our
# own rather than ``mimetypes``: that module reads the machine's /etc/mime.types, so the same
# file name could mean different types on different machines.
_BY_EXTENSION = {
    "pdf": "application/pdf",
    "txt": "text/plain",
    "text": "text/plain",
    "md": "text/markdown",
    "markdown": "text/markdown",
    "csv": "text/csv",
    "tsv": "text/tab-separated-values",
    "htm": "text/html",
    "html": "text/html",
    "xml": "application/xml",
    "json": "application/json",
    "rtf": "application/rtf",
    "doc": "application/msword",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xls": "application/vnd.ms-excel",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "gif": "image/gif",
    "webp": "image/webp",
    "heic": "image/heic",
    "wav": "audio/wav",
    "mp3": "audio/mpeg",
    "flac": "audio/flac",
    "aac": "audio/aac",
    "ogg": "audio/ogg",
    "oga": "audio/ogg",
    "opus": "audio/opus",
    "m4a": "audio/mp4",
    "weba": "audio/webm",
    "aif": "audio/aiff",
    "aiff": "audio/aiff",
    "mp4": "video/mp4",
    "mov": "video/quicktime",
    "webm": "video/webm",
}

# ``input_audio.format`` values and the MIME type each stands for. OpenAI documents wav and mp3;
# Gemini and Bedrock take the others.
AUDIO_FORMATS = {
    "wav": "audio/wav",
    "mp3": "audio/mpeg",
    "flac": "audio/flac",
    "aac": "audio/aac",
    "ogg": "audio/ogg",
    "opus": "audio/opus",
    "m4a": "audio/mp4",
    "webm": "audio/webm",
    "aiff": "audio/aiff",
}
# Other names the same audio types go by (browsers, LangChain's "audio/mp3", RFC 2361's wave).
_AUDIO_ALIASES = {
    "audio/mp3": "mp3",
    "audio/mpeg3": "mp3",
    "audio/x-mpeg": "mp3",
    "audio/x-wav": "wav",
    "audio/wave": "wav",
    "audio/vnd.wave": "wav",
    "audio/x-flac": "flac",
    "audio/x-aac": "aac",
    "audio/x-m4a": "m4a",
    "audio/m4a": "m4a",
    "audio/x-aiff": "aiff",
}
_TEXT_APPLICATIONS = frozenset({"application/json", "application/xml", "application/rtf"})

# Audio without a header to read its rate from is assumed to be 128 kbit/s (16 kB a second),
# the usual MP3 rate; compressed formats are rarely denser than that.
_DEFAULT_AUDIO_BYTES_PER_SECOND = 16_000


class DataURL(NamedTuple):
    """A base64 ``data:`` URL taken apart: its MIME type (lower case) and its payload."""

    mime: str
    data: str


def data_url_head(url: str) -> tuple[str, int] | None:
    """(MIME type, where the payload starts) of a base64 ``data:`` URL, or None if ``url`` is
    not one (a URL without ``;base64`` or without a MIME type is not one either). Reads only
    the header: the payload is neither copied nor decoded."""
    match = _DATA_URL_HEAD.match(url, 0, min(len(url), _HEAD_LIMIT))
    return None if match is None else (match["mime"].lower(), match.end())


def parse_data_url(url: str) -> DataURL | None:
    """``data:<mime>[;params];base64,<payload>`` taken apart, or None if ``url`` is not one."""
    head = data_url_head(url)
    return None if head is None else DataURL(head[0], url[head[1] :])


def guess_mime(name: str | None) -> str | None:
    """The MIME type a file name's or URL's extension stands for, if it is a known one."""
    if not name:
        return None
    path = name.split("?", 1)[0].split("#", 1)[0]
    stem, dot, extension = path.rpartition(".")
    if not dot or not stem or "/" in extension:
        return None
    return _BY_EXTENSION.get(extension.lower())


def extension_for(mime: str | None) -> str | None:
    """The usual extension of a MIME type (``application/pdf`` -> ``pdf``), if known."""
    for extension, known in _BY_EXTENSION.items():
        if known == mime:
            return extension
    return None


def is_text_mime(mime: str | None) -> bool:
    """Whether a file of this type is text a model reads as it is (text/*, JSON, XML)."""
    if not mime:
        return False
    return mime.startswith("text/") or mime in _TEXT_APPLICATIONS


def audio_format_of(mime: str | None) -> str | None:
    """The ``input_audio.format`` for an audio MIME type (``audio/mpeg`` -> ``mp3``), or None."""
    if not mime:
        return None
    mime = mime.lower().split(";", 1)[0].strip()
    for format_, known in AUDIO_FORMATS.items():
        if known == mime:
            return format_
    return _AUDIO_ALIASES.get(mime)


def decoded_size(data: str, start: int = 0) -> int:
    """How many bytes the base64 payload ``data[start:]`` decodes to, from its length alone
    (``start`` spares copying the payload out of a ``data:`` URL)."""
    length = len(data) - start
    padding = 2 if data.endswith("==") else 1 if data.endswith("=") else 0
    return max(length * 3 // 4 - padding, 0)


def audio_seconds(data: str, format_: str) -> float:
    """About how long a base64 audio payload plays. A WAV header gives its byte rate (only
    its first 48 characters are decoded); other formats are taken to be 128 kbit/s."""
    size = decoded_size(data)
    rate = _DEFAULT_AUDIO_BYTES_PER_SECOND
    if format_ == "wav":
        try:
            header = base64.b64decode(data[:48], validate=False)
        except (binascii.Error, ValueError):
            header = b""
        if len(header) >= 32 and header[:4] == b"RIFF" and header[8:12] == b"WAVE":
            byte_rate = int.from_bytes(header[28:32], "little")
            if byte_rate > 0:
                rate = byte_rate
                size = max(size - 44, 0)  # the canonical header is not sound
    return size / rate
