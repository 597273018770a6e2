"""``/chat/completions`` and ``/embeddings``: the OpenAI bodies to engine requests and the
engine's answers back to OpenAI's JSON and stream events. Pure: no I/O.

Cosmara's vocabulary is OpenAI's, so a request body validates as it is and a response dumps
as it is; what is left is the wire detail: ``stream_options``, ``max_completion_tokens``,
base64 embeddings, and the fields the SDK requires on every object even where a provider's
answer had none to give.
"""

from __future__ import annotations

import base64
import sys
from array import array
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

import cosmara
from cosmara_generic._errors import error_reply
from cosmara_generic._reply import sse_data

__all__ = [
    "ChatStreamEncoder",
    "chat_request",
    "completion_body",
    "embedding_request",
    "embeddings_body",
    "validated",
]

_M = TypeVar("_M", bound=BaseModel)
# What the provider sent, no more: absent fields become the SDK's defaults, not Cosmara's.
_DUMP: dict[str, Any] = {"mode": "json", "exclude_unset": True, "exclude": {"cosmara"}}


def validated(model: type[_M], data: dict[str, Any]) -> _M:
    """``data`` as a ``model``; a ``RequestValidationError`` naming each problem if not."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in item['loc']) or 'request'}: {item['msg']}"
            for item in error.errors(include_url=False)
        )
        raise cosmara.RequestValidationError(f"invalid {model.__name__}: {problems}") from None


def chat_request(body: dict[str, Any]) -> tuple[cosmara.ChatRequest, bool, bool]:
    """The engine request of a Chat Completions body, whether to stream, and whether the
    caller asked for the usage chunk (``stream_options.include_usage``)."""
    stream = bool(body.pop("stream", False))
    options = body.pop("stream_options", None) or {}
    if "max_completion_tokens" in body and "max_tokens" not in body:
        # One limit in Cosmara's vocabulary; each provider sends it under its own name.
        body["max_tokens"] = body.pop("max_completion_tokens")
    request = validated(cosmara.ChatRequest, body)
    return request, stream, bool(options.get("include_usage"))


def completion_body(response: cosmara.ChatResponse) -> dict[str, Any]:
    """A ``chat.completion`` object."""
    body = response.model_dump(**_DUMP)
    _required(body, response, "chat.completion")
    for choice in body["choices"]:
        choice.setdefault("index", 0)
        choice.setdefault("finish_reason", "stop")
        choice["message"].setdefault("role", "assistant")
        choice["message"].setdefault("content", None)
    return body


class ChatStreamEncoder:
    """Engine chunks to ``chat.completion.chunk`` events, ``data: [DONE]`` at the end.

    The engine always has the provider report usage (it prices the call with it); its final
    usage chunk reaches the caller only when ``include_usage`` asked for it, as with OpenAI.
    """

    def __init__(self, include_usage: bool) -> None:
        self.include_usage = include_usage
        self._service_tier: str | None = None

    def open(self) -> bytes:
        return b""

    def feed(self, chunk: cosmara.ChatChunk) -> bytes:
        if chunk.cosmara is not None and not chunk.choices:
            if not self.include_usage:
                return b""
            body = chunk.model_dump(**_DUMP)
            if self._service_tier is not None:
                body.setdefault("service_tier", self._service_tier)
        else:
            body = chunk.model_dump(**_DUMP)
            self._service_tier = self._service_tier or getattr(chunk, "service_tier", None)
            for choice in body["choices"]:
                choice.setdefault("index", 0)
                choice.setdefault("finish_reason", None)
        _required(body, chunk, "chat.completion.chunk")
        return sse_data(body)

    def close(self) -> bytes:
        return b"data: [DONE]\n\n"

    def fail(self, error: cosmara.CosmaraError) -> bytes:
        """A failure after the first token: an ``error`` event, which the SDK raises as
        ``openai.APIError`` with this body, as it does for OpenAI's own stream errors."""
        return sse_data({"error": error_reply(error).body["error"]})


def _required(body: dict[str, Any], source: Any, kind: str) -> None:
    body.setdefault("id", source.id)
    body.setdefault("object", kind)
    body.setdefault("created", source.created)
    body.setdefault("model", source.model)


def embedding_request(body: dict[str, Any]) -> tuple[cosmara.EmbeddingRequest, bool]:
    """The engine request of an embeddings body, and whether vectors go back as base64 (the
    SDK asks for base64 unless told otherwise, and decodes it itself)."""
    request = validated(cosmara.EmbeddingRequest, body)
    return request, request.encoding_format == "base64"


def embeddings_body(response: cosmara.EmbeddingResponse, as_base64: bool) -> dict[str, Any]:
    body = response.model_dump(**_DUMP)
    body.setdefault("object", "list")
    body.setdefault("model", response.model)
    for item, embedding in zip(body["data"], response.data, strict=True):
        item.setdefault("object", "embedding")
        item.setdefault("index", embedding.index)
        if as_base64:
            item["embedding"] = _base64(embedding.embedding)
    return body


def _base64(vector: list[float]) -> str:
    """OpenAI's base64 encoding: little-endian float32."""
    floats = array("f", vector)
    if sys.byteorder == "big":
        floats.byteswap()
    return base64.b64encode(floats.tobytes()).decode("ascii")
