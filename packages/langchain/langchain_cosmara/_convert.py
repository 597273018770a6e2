"""Translation between LangChain messages and Cosmara's OpenAI-shaped vocabulary, both ways.

Pure functions, no I/O: LangChain messages in (any content format LangChain accepts: strings,
OpenAI-style parts, v1 standard blocks, Anthropic-style ``tool_use`` history), and Cosmara's
``ChatResponse`` / ``ChatChunk`` out as ``AIMessage`` / ``AIMessageChunk``.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from typing import Any

from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    InvalidToolCall,
    ToolCall,
    convert_to_openai_messages,
)
from langchain_core.messages.ai import InputTokenDetails, OutputTokenDetails, UsageMetadata
from langchain_core.messages.tool import tool_call_chunk
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

from cosmara import ChatChunk, ChatResponse, CosmaraMeta, RequestValidationError, Usage
from cosmara._media import AUDIO_FORMATS, audio_format_of

__all__ = [
    "MODEL_PROVIDER",
    "chunk_to_generation",
    "final_chunk_to_generation",
    "response_to_result",
    "to_openai_messages",
    "usage_to_metadata",
]

# ``response_metadata["model_provider"]`` names the integration that produced the message;
# LangChain uses it to pick a translator for ``content_blocks``.
MODEL_PROVIDER = "cosmara"
# Parts this module translated itself are held in a block type LangChain does not know, so its
# converter passes them through untouched (it would give a nameless file a placeholder name).
_HELD = "cosmara_part"


def to_openai_messages(messages: Sequence[BaseMessage]) -> list[dict[str, Any]]:
    """LangChain messages as OpenAI Chat Completions message dicts.

    Documents and audio in any of LangChain's forms (v1 ``file`` / ``audio`` / ``text-plain``
    blocks by base64, URL or id, the older ``source_type`` blocks, Anthropic-style
    ``document`` blocks) become Cosmara's ``file`` and ``input_audio`` parts first; LangChain's
    own converter does the rest. Images and documents a tool returned stay in its tool
    message: the engine puts them where each provider takes them.

    Raises:
        RequestValidationError: audio whose type names no format Cosmara knows.
    """
    out: list[dict[str, Any]] = []
    prepared = [_with_media_parts(message) for message in messages]
    for message in convert_to_openai_messages(prepared, pass_through_unknown_blocks=True):
        if isinstance(message.get("content"), list):
            message["content"] = [_unheld(part) for part in message["content"]]
        if message.get("role") == "tool":
            message.pop("name", None)  # not part of Chat Completions' tool message
        if message.get("role") == "assistant" and isinstance(message.get("content"), list):
            # v1 content blocks repeat the tool calls (sent as ``tool_calls``) and may carry
            # reasoning; the assistant turn's content is its text.
            text = [part for part in message["content"] if part.get("type") == "text"]
            message["content"] = text or ("" if not message.get("tool_calls") else None)
        out.append(message)
    return out


def _with_media_parts(message: BaseMessage) -> BaseMessage:
    """``message`` with its document and audio blocks as Chat Completions parts."""
    if not isinstance(message.content, list):
        return message
    if not any(isinstance(block, dict) and _is_media(block) for block in message.content):
        return message
    content = [
        {"type": _HELD, "part": _media_part(block)}
        if isinstance(block, dict) and _is_media(block)
        else block
        for block in message.content
    ]
    return message.model_copy(update={"content": content})


def _unheld(part: Any) -> Any:
    return part["part"] if isinstance(part, dict) and part.get("type") == _HELD else part


def _is_media(block: dict[str, Any]) -> bool:
    kind = block.get("type")
    if kind == "file":
        return "file" not in block  # an OpenAI-shaped file part is already one
    return kind in ("audio", "text-plain", "document")


def _media_part(block: dict[str, Any]) -> dict[str, Any]:
    kind = block["type"]
    if kind == "document":  # Anthropic's block: its source says how the document comes
        return _anthropic_document(block)
    if kind == "text-plain":
        data = base64.b64encode(str(block.get("text", "")).encode()).decode()
        return _file_part(
            {**block, "base64": data, "mime_type": block.get("mime_type") or "text/plain"}
        )
    if kind == "audio":
        data = _base64_of(block)
        if data is None:  # by URL or id: a file whose type says it is audio
            return _file_part(block)
        mime = block.get("mime_type")
        format_ = audio_format_of(mime)
        if format_ is None:
            raise RequestValidationError(
                f"audio of type {mime or '(none given)'} names no format Cosmara knows; "
                f"give mime_type as one of {', '.join(sorted(AUDIO_FORMATS.values()))}"
            )
        return {"type": "input_audio", "input_audio": {"data": data, "format": format_}}
    return _file_part(block)


def _file_part(block: dict[str, Any]) -> dict[str, Any]:
    """A v1 (or ``source_type``) file block as a ``file`` part."""
    file: dict[str, Any] = {}
    data = _base64_of(block)
    mime = block.get("mime_type")
    if data is not None:
        file["file_data"] = f"data:{mime or 'application/octet-stream'};base64,{data}"
    elif block.get("url") or block.get("source_type") == "url":
        file["file_url"] = block.get("url")
    else:
        file["file_id"] = block.get("file_id") or block.get("id")
        if block.get("source_type") == "id":
            file["file_id"] = block.get("id")
    if mime and data is None:
        file["mime_type"] = mime
    filename = _filename(block)
    if filename:
        file["filename"] = filename
    return {"type": "file", "file": file}


def _base64_of(block: dict[str, Any]) -> str | None:
    if block.get("base64"):
        return str(block["base64"])
    if block.get("source_type") == "base64" and block.get("data"):
        return str(block["data"])
    return None


def _filename(block: dict[str, Any]) -> str | None:
    for holder in (block, block.get("extras") or {}, block.get("metadata") or {}):
        for key in ("filename", "name", "title"):
            value = holder.get(key)
            if isinstance(value, str) and value:
                return value
    return None


def _anthropic_document(block: dict[str, Any]) -> dict[str, Any]:
    source = block.get("source") or {}
    kind = source.get("type")
    extras = {k: v for k, v in block.items() if k not in ("type", "source", "title")}
    if kind == "base64":
        v1 = {"base64": source.get("data"), "mime_type": source.get("media_type")}
    elif kind == "url":
        v1 = {"url": source.get("url"), "mime_type": "application/pdf"}
    elif kind == "text":
        return {
            **_media_part(
                {"type": "text-plain", "text": source.get("data", ""), "title": block.get("title")}
            ),
            **extras,
        }
    elif kind == "file":
        v1 = {"file_id": source.get("file_id")}
    else:
        raise RequestValidationError(
            f"an Anthropic document block with source {kind!r} cannot be sent"
        )
    return {**_file_part({**v1, "title": block.get("title")}), **extras}


def usage_to_metadata(usage: Usage) -> UsageMetadata:
    """OpenAI usage (with cached and reasoning details) as LangChain's ``UsageMetadata``."""
    input_details = InputTokenDetails(cache_read=usage.cached_tokens)
    if usage.cache_write_tokens:
        input_details["cache_creation"] = usage.cache_write_tokens
    return UsageMetadata(
        input_tokens=usage.prompt_tokens,
        output_tokens=usage.completion_tokens,
        total_tokens=usage.total_tokens or usage.prompt_tokens + usage.completion_tokens,
        input_token_details=input_details,
        output_token_details=OutputTokenDetails(reasoning=usage.reasoning_tokens),
    )


def cosmara_metadata(meta: CosmaraMeta | None) -> dict[str, Any]:
    """What Cosmara adds, under one key so it never collides with LangChain's own keys."""
    if meta is None:
        return {}
    return {"cosmara": meta.model_dump(exclude={"context"}, mode="json")}


def _model_name(served: str, meta: CosmaraMeta | None) -> str:
    """``provider/model`` as Cosmara names models, with the exact model the provider reported
    (a dated snapshot such as ``openai/gpt-4o-2024-08-06``)."""
    if meta is None:
        return served
    return f"{meta.provider}/{served or meta.model}"


def response_to_result(response: ChatResponse) -> ChatResult:
    """A Cosmara ``ChatResponse`` as a LangChain ``ChatResult`` (one generation per choice)."""
    base_metadata: dict[str, Any] = {
        "id": response.id,
        "model_name": _model_name(response.model, response.cosmara),
        "model_provider": MODEL_PROVIDER,
        "system_fingerprint": response.system_fingerprint,
        **cosmara_metadata(response.cosmara),
    }
    usage = usage_to_metadata(response.usage) if response.usage is not None else None
    generations = []
    for choice in response.choices:
        message = choice.message
        tool_calls, invalid = _parse_tool_calls(message.tool_calls or ())
        additional: dict[str, Any] = {}
        if message.refusal:
            additional["refusal"] = message.refusal
        if message.reasoning_content:
            additional["reasoning_content"] = message.reasoning_content
        content = message.content
        if isinstance(content, list):
            content = "".join(part.text for part in content)
        ai = AIMessage(
            content=content or "",
            id=response.id or None,
            tool_calls=tool_calls,
            invalid_tool_calls=invalid,
            additional_kwargs=additional,
            usage_metadata=usage,
            response_metadata={**base_metadata, "finish_reason": choice.finish_reason},
        )
        generations.append(
            ChatGeneration(message=ai, generation_info={"finish_reason": choice.finish_reason})
        )
    llm_output = {"model_name": base_metadata["model_name"], **cosmara_metadata(response.cosmara)}
    return ChatResult(generations=generations, llm_output=llm_output)


def _parse_tool_calls(calls: Sequence[Any]) -> tuple[list[ToolCall], list[InvalidToolCall]]:
    parsed: list[ToolCall] = []
    invalid: list[InvalidToolCall] = []
    for call in calls:
        arguments = call.function.arguments or "{}"
        try:
            args = json.loads(arguments)
        except ValueError as error:
            args, problem = None, str(error)
        else:
            problem = None if isinstance(args, dict) else "arguments are not a JSON object"
        if problem is None:
            parsed.append(
                ToolCall(name=call.function.name, args=args, id=call.id, type="tool_call")
            )
        else:
            invalid.append(
                InvalidToolCall(
                    name=call.function.name,
                    args=arguments,
                    id=call.id,
                    error=problem,
                    type="invalid_tool_call",
                )
            )
    return parsed, invalid


def chunk_to_generation(chunk: ChatChunk) -> ChatGenerationChunk | None:
    """A content chunk (first choice only: LangChain streams one generation) or None."""
    for choice in chunk.choices:
        if choice.index != 0:
            continue
        delta = choice.delta
        additional: dict[str, Any] = {}
        if delta.reasoning_content:
            additional["reasoning_content"] = delta.reasoning_content
        if delta.refusal:
            additional["refusal"] = delta.refusal
        calls = [
            tool_call_chunk(
                name=call.function.name if call.function else None,
                args=call.function.arguments if call.function else None,
                id=call.id,
                index=call.index,
            )
            for call in delta.tool_calls or ()
        ]
        # Each response_metadata key goes on one chunk only: merging chunks concatenates strings.
        metadata = {"finish_reason": choice.finish_reason} if choice.finish_reason else {}
        message = AIMessageChunk(
            content=delta.content or "",
            id=chunk.id or None,
            tool_call_chunks=calls,
            additional_kwargs=additional,
            response_metadata=metadata,
        )
        return ChatGenerationChunk(message=message, generation_info=metadata or None)
    return None


def final_chunk_to_generation(chunk: ChatChunk, *, include_usage: bool) -> ChatGenerationChunk:
    """The engine's closing chunk (no choices): usage, model name and Cosmara metadata, once."""
    metadata: dict[str, Any] = {
        "model_name": _model_name(chunk.model, chunk.cosmara),
        "model_provider": MODEL_PROVIDER,
        "system_fingerprint": chunk.system_fingerprint,
        **cosmara_metadata(chunk.cosmara),
    }
    usage = usage_to_metadata(chunk.usage) if include_usage and chunk.usage is not None else None
    message = AIMessageChunk(
        content="",
        id=chunk.id or None,
        usage_metadata=usage,
        response_metadata=metadata,
        chunk_position="last",
    )
    return ChatGenerationChunk(message=message)
