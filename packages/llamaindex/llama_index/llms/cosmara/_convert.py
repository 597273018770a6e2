"""Translation between LlamaIndex's chat types and Cosmara's OpenAI-shaped vocabulary.

Pure functions, no I/O: LlamaIndex ``ChatMessage`` lists become the ``messages`` list a
``cosmara.ChatRequest`` validates, and Cosmara responses and stream chunks become LlamaIndex
``ChatResponse`` objects (text, thinking and ``ToolCallBlock`` blocks, usage and Cosmara metadata).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cosmara import AssistantMessage, RequestValidationError, ToolCall
from cosmara import ChatResponse as CoreResponse
from cosmara._media import AUDIO_FORMATS, guess_mime
from llama_index.core.base.llms.types import (
    AudioBlock,
    ChatMessage,
    ChatResponse,
    ContentBlock,
    DocumentBlock,
    ImageBlock,
    MessageRole,
    TextBlock,
    ThinkingBlock,
    ToolCallBlock,
)

__all__ = [
    "to_cosmara_message",
    "to_cosmara_messages",
    "to_llama_message",
    "to_llama_response",
    "usage_kwargs",
]

# LlamaIndex has roles OpenAI's vocabulary lacks; these are their OpenAI equivalents.
_ROLES = {
    MessageRole.SYSTEM: "system",
    MessageRole.DEVELOPER: "developer",
    MessageRole.USER: "user",
    MessageRole.ASSISTANT: "assistant",
    MessageRole.TOOL: "tool",
    MessageRole.FUNCTION: "tool",
    MessageRole.CHATBOT: "assistant",
    MessageRole.MODEL: "assistant",
}


def to_cosmara_messages(messages: Sequence[ChatMessage]) -> list[dict[str, Any]]:
    """LlamaIndex messages as Chat Completions message dicts."""
    return [to_cosmara_message(message) for message in messages]


def to_cosmara_message(message: ChatMessage) -> dict[str, Any]:
    """One LlamaIndex message as a Chat Completions message dict.

    Images, documents (``DocumentBlock``) and audio (``AudioBlock``) become ``image_url``,
    ``file`` and ``input_audio`` parts (a document or audio given by URL: a ``file`` part with
    ``file_url``, which the engine's providers fetch or refuse; nothing is downloaded here).

    Raises:
        RequestValidationError: a block the vocabulary cannot carry (video), a document or
            audio whose type is unknown, so it is refused here rather than silently dropped.
    """
    role = _ROLES.get(MessageRole(message.role), "user")
    parts: list[dict[str, Any]] = []
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    for block in message.blocks:
        if isinstance(block, TextBlock):
            texts.append(block.text)
            parts.append({"type": "text", "text": block.text})
        elif isinstance(block, ImageBlock):
            parts.append({"type": "image_url", "image_url": _image_url(block)})
        elif isinstance(block, DocumentBlock):
            parts.append(_document_part(block))
        elif isinstance(block, AudioBlock):
            parts.append(_audio_part(block))
        elif isinstance(block, ToolCallBlock):
            calls.append(_block_to_call(block))
        elif isinstance(block, ThinkingBlock):
            continue  # reasoning is output only; no provider accepts it back as input text
        else:
            raise RequestValidationError(
                f"Cosmara cannot send a {type(block).__name__} in a chat message "
                "(text, images, documents, audio and tool calls are supported)"
            )
    if not calls and role == "assistant":
        calls = [_legacy_call(call) for call in message.additional_kwargs.get("tool_calls") or ()]
    text = "".join(texts)
    result: dict[str, Any] = {"role": role}
    if role in ("user", "tool") and len(parts) != len(texts):
        result["content"] = parts  # media need the list form; plain text stays a string
    elif role == "assistant" and calls and not text:
        result["content"] = None
    else:
        result["content"] = text
    if calls:
        result["tool_calls"] = calls
    if role == "tool":
        result["tool_call_id"] = str(message.additional_kwargs.get("tool_call_id", ""))
    return result


def _image_url(block: ImageBlock) -> dict[str, Any]:
    if block.url:
        url = str(block.url)
    else:
        data = block.resolve_image(as_base64=True).read().decode("ascii")
        url = f"data:{block.image_mimetype or 'image/png'};base64,{data}"
    image: dict[str, Any] = {"url": url}
    if block.detail in ("auto", "low", "high"):
        image["detail"] = block.detail
    return image


# LlamaIndex names an untitled document this; it is not the file's name.
_UNTITLED = "input_document"


def _document_part(block: DocumentBlock) -> dict[str, Any]:
    name = block.title if block.title and block.title != _UNTITLED else None
    if name is None and block.path:
        name = Path(str(block.path)).name
    mime = block.document_mimetype or guess_mime(name) or guess_mime(block.url)
    file: dict[str, Any]
    if block.url and not block.data and not block.path:
        file = {"file_url": str(block.url)}
        if mime:
            file["mime_type"] = mime
    else:
        if mime is None:
            raise RequestValidationError(
                "a DocumentBlock needs document_mimetype (or a title or path with a known "
                "extension) to be sent"
            )
        data = base64.b64encode(block.resolve_document().read()).decode("ascii")
        file = {"file_data": f"data:{mime};base64,{data}"}
    if name:
        file["filename"] = name
    return {"type": "file", "file": file}


def _audio_part(block: AudioBlock) -> dict[str, Any]:
    format_ = (block.format or "").lower() or None
    if block.url and not block.audio and not block.path:
        file: dict[str, Any] = {"file_url": str(block.url)}
        if format_ in AUDIO_FORMATS:
            file["mime_type"] = AUDIO_FORMATS[format_]
        return {"type": "file", "file": file}
    if format_ not in AUDIO_FORMATS:
        raise RequestValidationError(
            f"an AudioBlock of format {format_ or '(unknown)'} cannot be sent; "
            f"known formats: {', '.join(sorted(AUDIO_FORMATS))}"
        )
    data = block.resolve_audio(as_base64=True).read().decode("ascii")
    return {"type": "input_audio", "input_audio": {"data": data, "format": format_}}


def _block_to_call(block: ToolCallBlock) -> dict[str, Any]:
    arguments = block.tool_kwargs
    return {
        "id": block.tool_call_id or "",
        "type": "function",
        "function": {
            "name": block.tool_name,
            "arguments": arguments if isinstance(arguments, str) else json.dumps(arguments),
        },
    }


def _legacy_call(call: Any) -> dict[str, Any]:
    """A tool call kept in ``additional_kwargs`` (an object, or a dict after a memory reload)."""
    if isinstance(call, dict):
        return ToolCall.model_validate(call).model_dump(exclude_none=True)
    return {
        "id": call.id,
        "type": "function",
        "function": {"name": call.function.name, "arguments": call.function.arguments or ""},
    }


def to_llama_message(message: AssistantMessage) -> ChatMessage:
    """A Cosmara assistant message as a LlamaIndex message with thinking, text and tool blocks.

    Tool calls are also listed in ``additional_kwargs["tool_calls"]``: LlamaIndex's structured
    output streaming and token counting still look for them there.
    """
    blocks: list[ContentBlock] = []
    if message.reasoning_content:
        blocks.append(ThinkingBlock(content=message.reasoning_content))
    content = message.content
    text = content if isinstance(content, str) else "".join(p.text for p in content or ())
    if text or not message.tool_calls:
        blocks.append(TextBlock(text=text))
    extra: dict[str, Any] = {}
    if message.tool_calls:
        for call in message.tool_calls:
            blocks.append(
                ToolCallBlock(
                    tool_call_id=call.id,
                    tool_name=call.function.name,
                    tool_kwargs=call.function.arguments,
                )
            )
        extra["tool_calls"] = list(message.tool_calls)
    return ChatMessage(role=MessageRole.ASSISTANT, blocks=blocks, additional_kwargs=extra)


def usage_kwargs(usage: Any, meta: Any) -> dict[str, Any]:
    """Token counts (the keys LlamaIndex's token counting reads) and Cosmara's account."""
    kwargs: dict[str, Any] = {}
    if usage is not None:
        kwargs["prompt_tokens"] = usage.prompt_tokens
        kwargs["completion_tokens"] = usage.completion_tokens
        kwargs["total_tokens"] = usage.total_tokens
    if meta is not None:
        kwargs["provider"] = meta.provider
        kwargs["model"] = meta.model
        kwargs["cost_usd"] = meta.cost_usd
        kwargs["latency_ms"] = meta.latency_ms
        kwargs["attempts"] = [attempt.model_dump() for attempt in meta.attempts]
        kwargs["route"] = meta.route.model_dump()
    return kwargs


def to_llama_response(response: CoreResponse) -> ChatResponse:
    """A Cosmara chat response as a LlamaIndex one; ``raw`` is the Cosmara response itself."""
    return ChatResponse(
        message=to_llama_message(response.choices[0].message),
        raw=response,
        additional_kwargs=usage_kwargs(response.usage, response.cosmara),
    )
