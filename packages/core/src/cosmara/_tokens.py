"""Fast prompt-size estimates: a character heuristic, or tiktoken when it is installed.

Estimates feed cost previews, budget reservations and context-window checks. They must never
touch the network, so tiktoken is used only if its encoding is already available locally.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable, Sequence

from cosmara._media import audio_seconds, data_url_head, decoded_size, is_text_mime
from cosmara._messages import (
    AssistantMessage,
    ChatRequest,
    FileData,
    FilePart,
    ImagePart,
    InputAudioPart,
    Message,
    TextPart,
    Tool,
)

__all__ = ["PromptSize", "TokenCounter", "most_tokens"]

_CHARS_PER_TOKEN = 4
_PER_MESSAGE_OVERHEAD = 4  # role and delimiters, as OpenAI's chat format spends them
_PER_REPLY_PRIMING = 3
_IMAGE_TOKENS = {"low": 85, "high": 765, "auto": 765, None: 765}
_IMAGE_BOUND = 4000
# A page of a document costs its text and, for PDFs, an image of the page: Anthropic puts it
# at 1,500-3,000 tokens. Without counting pages, a binary document is taken as one page per
# 32 kB (a text page with its fonts), and never less than one page.
_PAGE_TOKENS = 2000
_DOCUMENT_BYTES_PER_TOKEN = 16
# Gemini's documented rate for audio; OpenAI's audio models spend fewer.
_AUDIO_TOKENS_PER_SECOND = 32


class TokenCounter:
    """Counts tokens in messages and tools. One per client; the tiktoken probe runs once."""

    def __init__(self, *, use_tiktoken: bool = True) -> None:
        self._encode: Callable[[str], int] | None = None
        self._probed = not use_tiktoken

    def count_text(self, text: str) -> int:
        return self._counter()(text)

    def count_messages(
        self, messages: Sequence[Message], tools: Sequence[Tool] | None = None
    ) -> int:
        count = self._counter()
        total = _PER_REPLY_PRIMING
        for message in messages:
            total += _PER_MESSAGE_OVERHEAD
            content = message.content
            if isinstance(content, str):
                total += count(content)
            elif content is not None:
                for part in content:
                    if isinstance(part, TextPart):
                        total += count(part.text)
                    elif isinstance(part, ImagePart):
                        total += _IMAGE_TOKENS.get(part.image_url.detail, 765)
                    elif isinstance(part, FilePart):
                        total += _file_tokens(part.file, bound=False)
                    elif isinstance(part, InputAudioPart):
                        total += _audio_tokens(part)
            # Not getattr(): a miss on a pydantic model is a raised and caught AttributeError.
            calls = message.tool_calls if isinstance(message, AssistantMessage) else None
            for call in calls or ():
                total += count(call.function.name) + count(call.function.arguments)
        for tool in tools or ():
            total += count(tool.model_dump_json(exclude_none=True))
        return total

    def _counter(self) -> Callable[[str], int]:
        return self._encoder() or _by_characters

    def _encoder(self) -> Callable[[str], int] | None:
        if not self._probed:
            self._probed = True
            self._encode = _load_tiktoken()
        return self._encode


class PromptSize:
    """One request's prompt tokens, counted on first use and then remembered: group rules,
    the group's context-window check, a rule's cost cap and the engine's own window check may
    each ask, and counting a long prompt with tiktoken is not free."""

    __slots__ = ("_counter", "_request", "_tokens")

    def __init__(self, counter: TokenCounter, request: ChatRequest) -> None:
        self._counter = counter
        self._request = request
        self._tokens: int | None = None

    def __call__(self) -> int:
        if self._tokens is None:
            request = self._request
            self._tokens = self._counter.count_messages(request.messages, request.tools)
        return self._tokens


def most_tokens(request: ChatRequest) -> int:
    """A bound on the prompt's tokens without counting them: one per character (tokenizers
    split a character in two only for rare symbols), an image as 4,000, a text file one per
    byte, another document one per 4 bytes (at least 4,000), audio by its length, plus each
    message's overhead. A file given by id or URL has no size in the request and counts as
    4,000. Tool schemas are left out: they rarely matter next to a context window."""
    total = _PER_REPLY_PRIMING
    for message in request.messages:
        total += _PER_MESSAGE_OVERHEAD
        content = message.content
        if isinstance(content, str):
            total += len(content)
        elif content is not None:
            for part in content:
                if isinstance(part, TextPart):
                    total += len(part.text)
                elif isinstance(part, FilePart):
                    total += _file_tokens(part.file, bound=True)
                elif isinstance(part, InputAudioPart):
                    total += _audio_tokens(part)
                else:
                    total += _IMAGE_BOUND
    return total


def _file_tokens(file: FileData, *, bound: bool) -> int:
    """A file's tokens from its type and size; base64 is never counted as text."""
    media_type = file.media_type or ""
    if media_type.startswith("image/"):
        return _IMAGE_BOUND if bound else _IMAGE_TOKENS[None]
    head = data_url_head(file.file_data) if file.file_data is not None else None
    if head is None:  # by id or URL: the size is not in the request
        return _IMAGE_BOUND if bound else _PAGE_TOKENS
    size = decoded_size(file.file_data or "", head[1])
    if media_type.startswith("audio/"):
        return max(1, round(size / 16_000 * _AUDIO_TOKENS_PER_SECOND))
    if is_text_mime(media_type):
        return size if bound else _by_characters_count(size)
    if bound:
        return max(_IMAGE_BOUND, size // 4)
    return max(_PAGE_TOKENS, size // _DOCUMENT_BYTES_PER_TOKEN)


def _audio_tokens(part: InputAudioPart) -> int:
    audio = part.input_audio
    return max(1, round(audio_seconds(audio.data, audio.format) * _AUDIO_TOKENS_PER_SECOND))


def _by_characters_count(characters: int) -> int:
    return (characters + _CHARS_PER_TOKEN - 1) // _CHARS_PER_TOKEN


def _by_characters(text: str) -> int:
    return _by_characters_count(len(text))


_O200K_URL = "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken"


def _load_tiktoken() -> Callable[[str], int] | None:
    """tiktoken's o200k encoding, only if its file is already in tiktoken's local cache.

    ``get_encoding`` downloads the file when it is missing; an estimate must never wait on
    the network, so without a cached copy the heuristic is used.
    """
    if importlib.util.find_spec("tiktoken") is None or not _tiktoken_file_cached(_O200K_URL):
        return None
    try:
        import tiktoken

        encoding = tiktoken.get_encoding("o200k_base")
    except Exception:  # a corrupt cache or an incompatible tiktoken: the heuristic will do
        return None
    return lambda text: len(encoding.encode(text, disallowed_special=()))


def _tiktoken_file_cached(url: str) -> bool:
    # Mirrors tiktoken.load.read_file_cached: files live under sha1(url) in its cache folder.
    import hashlib
    import tempfile

    if "TIKTOKEN_CACHE_DIR" in os.environ:
        folder = os.environ["TIKTOKEN_CACHE_DIR"]
    elif "DATA_GYM_CACHE_DIR" in os.environ:
        folder = os.environ["DATA_GYM_CACHE_DIR"]
    else:
        folder = os.path.join(tempfile.gettempdir(), "data-gym-cache")
    if not folder:
        return False
    return os.path.exists(os.path.join(folder, hashlib.sha1(url.encode()).hexdigest()))
