"""Anthropic Messages API (``POST /v1/messages``), translated to and from OpenAI's vocabulary.

Requests: system and developer messages are lifted into the top-level ``system``; consecutive
turns of one role are merged (Anthropic wants user and assistant turns to alternate); tool
results become a user turn of ``tool_result`` blocks (with the images and documents a tool
returned inside them); images (http(s) URLs and base64 ``data:`` URIs) become ``image`` blocks,
PDF data URIs ``document`` blocks. ``file`` parts become ``document`` blocks: a PDF inline
(``base64`` source) or by URL (``url`` source), a text file as a ``text`` source, a file id as a
``file`` source (the Files API beta, whose ``anthropic-beta`` header is then added); ``filename``
becomes the document's ``title``. Audio is refused before sending. ``max_tokens`` is required by
the API and defaults to 4096; ``stop`` becomes ``stop_sequences``; ``user`` becomes
``metadata.user_id``. Unknown request fields (``top_k``, ``thinking``, ``output_config``,
``metadata``, ``service_tier``...) are passed through untouched; OpenAI-only ones
(``logit_bias``, ``seed``, penalties, ``stream_options``...) are dropped.

``reasoning_effort`` becomes an extended-thinking budget: ``minimal`` 1024 tokens (the API's
minimum), ``low`` 2048, ``medium`` 8192, ``high`` 16384; ``none`` leaves thinking off. Anthropic's
``max_tokens`` counts thinking, like OpenAI's ``max_completion_tokens``: without an explicit
``max_tokens`` it becomes budget + 4096; with one, the budget is capped below it.

Responses: ``thinking`` blocks become ``reasoning_content``; the block's signature is kept on the
assistant message as ``thinking_signature`` (and every thinking/redacted block, verbatim, as
``thinking_blocks``) so the thinking goes back as a signed block when the message is replayed in a
later request. Usage is normalised to OpenAI's accounting: ``prompt_tokens`` = ``input_tokens`` +
``cache_read_input_tokens`` + ``cache_creation_input_tokens`` (reads in
``prompt_tokens_details.cached_tokens``, writes in ``cache_write_tokens``); ``completion_tokens``
= ``output_tokens``, which already includes thinking (Anthropic reports no separate count).

Structured output (``response_format`` json_schema / json_object) is a forced tool named
``structured_output`` whose input comes back as the JSON text of ``message.content`` with
finish reason ``stop``.

Settings: ``api_key`` (or ``ANTHROPIC_API_KEY``), ``base_url`` (or ``ANTHROPIC_BASE_URL``),
``anthropic_version`` (default ``2023-06-01``) and ``beta`` (a beta name or list of them: sent as
the ``anthropic-beta`` header, and the request goes to ``/v1/messages?beta=true`` as the SDK's beta
client does).
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar

import pydantic_core
from pydantic import ValidationError

from cosmara._errors import (
    AuthenticationError,
    ContentFilteredError,
    ContextWindowExceededError,
    NotFoundError,
    PermissionDeniedError,
    ProviderError,
    ProviderUnavailableError,
    RateLimitError,
    RequestValidationError,
)
from cosmara._media import is_text_mime, parse_data_url
from cosmara._messages import (
    AssistantMessage,
    ChatRequest,
    DeveloperMessage,
    FilePart,
    ImagePart,
    NamedToolChoice,
    SystemMessage,
    TextPart,
    ToolMessage,
    UserMessage,
)
from cosmara._response import ChatResponse, Choice, PromptTokensDetails, Usage
from cosmara._sse import SSEEvent
from cosmara._stream import ChatChunk, ChunkChoice, Delta, FunctionDelta, ToolCallDelta
from cosmara.providers._base import HttpProvider, HttpRequest, HttpResponse, SSEStreamDecoder
from cosmara.providers._parts import refuse

__all__ = ["AnthropicProvider", "AnthropicStreamDecoder"]

API_VERSION = "2023-06-01"
DEFAULT_MAX_TOKENS = 4096
STRUCTURED_TOOL = "structured_output"

# reasoning_effort -> thinking budget_tokens (1024 is the API's minimum budget).
THINKING_BUDGETS: Mapping[str, int] = {"minimal": 1024, "low": 2048, "medium": 8192, "high": 16384}
_MIN_BUDGET = 1024

FINISH_REASONS: Mapping[str, str] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}

# Error ``type``s of an Anthropic error body, and the HTTP status each stands for (stream errors
# arrive inside a 200 response, so the type is all there is).
_ERROR_STATUS: Mapping[str, int] = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "billing_error": 402,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "timeout_error": 504,
    "overloaded_error": 529,
}

# OpenAI request fields Anthropic has no counterpart for: dropped rather than rejected upstream.
_DROPPED = frozenset(
    {
        "stream_options",
        "logit_bias",
        "logprobs",
        "top_logprobs",
        "frequency_penalty",
        "presence_penalty",
        "prediction",
        "modalities",
        "audio",
        "store",
        "max_completion_tokens",
        "web_search_options",
    }
)
_IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
FILES_BETA = "files-api-2025-04-14"  # documents by file_id go through Anthropic's Files API
_RATE_LIMIT_KINDS = ("requests", "tokens", "input-tokens", "output-tokens")


class AnthropicProvider(HttpProvider):
    kind = "anthropic"
    default_base_url: ClassVar[str | None] = "https://api.anthropic.com"
    base_url_env: ClassVar[str | None] = "ANTHROPIC_BASE_URL"
    api_key_env: ClassVar[str | None] = "ANTHROPIC_API_KEY"
    settings_fields: ClassVar[frozenset[str]] = frozenset({"beta", "anthropic_version"})

    error_codes: ClassVar[Mapping[str, type[ProviderError]]] = {
        **HttpProvider.error_codes,
        "authentication_error": AuthenticationError,
        "permission_error": PermissionDeniedError,
        "not_found_error": NotFoundError,
        "rate_limit_error": RateLimitError,
        "overloaded_error": ProviderUnavailableError,
        "api_error": ProviderUnavailableError,
    }
    error_phrases: ClassVar[Mapping[str, type[ProviderError]]] = {
        **HttpProvider.error_phrases,
        "prompt is too long": ContextWindowExceededError,
        "exceed context limit": ContextWindowExceededError,
        "content filtering policy": ContentFilteredError,
    }

    # --- request ----------------------------------------------------------------------------
    def _betas(self, request: ChatRequest | None = None) -> list[str]:
        beta = getattr(self.settings, "beta", None)
        betas = [] if not beta else [beta] if isinstance(beta, str) else [str(b) for b in beta]
        if request is not None and FILES_BETA not in betas and _uses_file_ids(request):
            betas.append(FILES_BETA)
        return betas

    def headers(self, request: ChatRequest | None = None) -> dict[str, str]:
        version = getattr(self.settings, "anthropic_version", None) or API_VERSION
        headers = {
            "content-type": "application/json",
            "accept": "application/json",
            "anthropic-version": str(version),
        }
        key = self.api_key
        if key:
            headers["x-api-key"] = key
        betas = self._betas(request)
        if betas:
            headers["anthropic-beta"] = ",".join(betas)
        headers.update(self.settings.header_values)
        return headers

    def chat_url(self, model: str) -> str:
        base = self.base_url
        return f"{base}/messages" if base.endswith("/v1") else f"{base}/v1/messages"

    def chat_request(self, request: ChatRequest, model: str, *, stream: bool) -> HttpRequest:
        body = self.chat_body(request, model, stream=stream)
        params = {"beta": "true"} if self._betas(request) else None
        return HttpRequest(
            "POST", self.chat_url(model), self.headers(request), pydantic_core.to_json(body), params
        )

    def chat_body(self, request: ChatRequest, model: str, *, stream: bool) -> dict[str, Any]:
        if request.n is not None and request.n > 1:
            raise RequestValidationError("Anthropic returns one choice per request: n must be 1")
        if request.temperature is not None and request.temperature > 1:
            raise RequestValidationError(
                f"Anthropic's temperature ranges from 0 to 1, got {request.temperature}"
            )
        extra = {k: v for k, v in (request.model_extra or {}).items() if k not in _DROPPED}
        system, messages = _messages(request, self.name)
        body: dict[str, Any] = {"model": model, "messages": messages}
        if system is not None:
            body["system"] = system

        max_tokens = request.max_tokens
        if max_tokens is None:
            legacy = (request.model_extra or {}).get("max_completion_tokens")
            max_tokens = legacy if isinstance(legacy, int) else None
        thinking = extra.pop("thinking", None)
        budget = THINKING_BUDGETS.get(request.reasoning_effort or "")
        if thinking is None and budget is not None:
            if max_tokens is None:
                max_tokens = budget + DEFAULT_MAX_TOKENS
            elif max_tokens <= budget:
                if max_tokens <= _MIN_BUDGET:
                    raise RequestValidationError(
                        f"reasoning_effort needs max_tokens above {_MIN_BUDGET} on Anthropic "
                        f"(the minimum thinking budget), got {max_tokens}"
                    )
                budget = max_tokens - 1
            thinking = {"type": "enabled", "budget_tokens": budget}
        body["max_tokens"] = max_tokens if max_tokens is not None else DEFAULT_MAX_TOKENS
        if thinking is not None:
            body["thinking"] = thinking

        tools, tool_choice = _tools(request)
        if tools:
            body["tools"] = tools
            if tool_choice is not None:
                body["tool_choice"] = tool_choice
        if request.temperature is not None:
            body["temperature"] = request.temperature
        if request.top_p is not None:
            body["top_p"] = request.top_p
        if request.stop:
            body["stop_sequences"] = (
                [request.stop] if isinstance(request.stop, str) else request.stop
            )
        if request.user and "metadata" not in extra:
            body["metadata"] = {"user_id": request.user}
        body.update(extra)
        if stream:
            body["stream"] = True
        return body

    # --- responses --------------------------------------------------------------------------
    def parse_chat(self, response: HttpResponse, model: str) -> ChatResponse:
        data = self.decode_object(response.body, model)
        if data.get("type") == "error":
            raise self._body_error(data, model, response.status)
        blocks = data.get("content")
        if not isinstance(blocks, list):
            raise self.invalid(response.body, model, "no 'content' list in the message")
        texts: list[str] = []
        thinking: list[str] = []
        thinking_blocks: list[dict[str, Any]] = []
        calls: list[dict[str, Any]] = []
        structured: str | None = None
        for block in blocks:
            kind = block.get("type") if isinstance(block, dict) else None
            if kind == "text":
                texts.append(block.get("text") or "")
            elif kind == "thinking":
                thinking.append(block.get("thinking") or "")
                thinking_blocks.append(block)
            elif kind == "redacted_thinking":
                thinking_blocks.append(block)
            elif kind == "tool_use":
                arguments = json.dumps(block.get("input") or {}, ensure_ascii=False)
                if block.get("name") == STRUCTURED_TOOL:
                    structured = arguments
                    continue
                calls.append(
                    {
                        "id": block.get("id", ""),
                        "type": "function",
                        "function": {"name": block.get("name", ""), "arguments": arguments},
                    }
                )
        finish = _finish_reason(data.get("stop_reason"))
        content: str | None = "".join(texts)
        if structured is not None:
            content = structured
            if finish == "tool_calls" and not calls:
                finish = "stop"
        elif calls and not content:
            content = None
        message: dict[str, Any] = {"role": "assistant", "content": content}
        if calls:
            message["tool_calls"] = calls
        if thinking:
            message["reasoning_content"] = "".join(thinking)
        if thinking_blocks:
            message["thinking_blocks"] = thinking_blocks
            signatures = [b["signature"] for b in thinking_blocks if b.get("signature")]
            if len(signatures) == 1:
                message["thinking_signature"] = signatures[0]
        try:
            return ChatResponse(
                id=str(data.get("id") or ""),
                created=int(time.time()),
                model=str(data.get("model") or model),
                choices=[
                    Choice(
                        index=0,
                        message=AssistantMessage.model_validate(message),
                        finish_reason=finish,
                    )
                ],
                usage=usage_from(data.get("usage")),
            )
        except ValidationError as error:
            raise self.invalid(response.body, model, error.errors()[0]["msg"]) from None

    def stream_decoder(self, model: str) -> AnthropicStreamDecoder:
        return AnthropicStreamDecoder(self, model)

    def _body_error(self, data: dict[str, Any], model: str, status: int | None) -> ProviderError:
        """An error object found in a 200 body or inside a stream."""
        error = data.get("error") if isinstance(data.get("error"), dict) else {}
        assert isinstance(error, dict)
        code = str(error.get("type") or "") or None
        message = str(error.get("message") or code or "unknown error")
        if not status or status < 400:
            status = _ERROR_STATUS.get(code or "", 500)
        return self.make_error(status, message, code=code, model=model, body=data)

    # --- errors -----------------------------------------------------------------------------
    def parse_error(self, response: HttpResponse, model: str) -> ProviderError:
        """Status, then ``error.type`` and message; ``x-should-retry`` decides retrying."""
        error = super().parse_error(response, model)
        if error.request_id is None and isinstance(error.body, dict):
            error.request_id = error.body.get("request_id")
        should_retry = response.headers.get("x-should-retry")
        if should_retry in ("true", "false") and error.code not in self.permanent_codes:
            error.retryable = should_retry == "true"
        return error

    def retry_after(self, response: HttpResponse) -> float | None:
        """``retry-after``; else, on a 429, when the exhausted ``anthropic-ratelimit-*`` resets."""
        wait = super().retry_after(response)
        if wait is not None or response.status != 429:
            return wait
        resets = []
        for kind in _RATE_LIMIT_KINDS:
            remaining = response.headers.get(f"anthropic-ratelimit-{kind}-remaining")
            reset = response.headers.get(f"anthropic-ratelimit-{kind}-reset")
            if remaining == "0" and reset:
                try:
                    moment = datetime.fromisoformat(reset.replace("Z", "+00:00"))
                except ValueError:
                    continue
                resets.append(moment.timestamp())
        if not resets:
            return None
        return max(max(resets) - time.time(), 0.0)


def usage_from(raw: Any) -> Usage | None:
    """Anthropic usage in OpenAI's accounting (prompt includes cache reads and writes)."""
    if not isinstance(raw, dict):
        return None
    fresh = int(raw.get("input_tokens") or 0)
    read = int(raw.get("cache_read_input_tokens") or 0)
    written = int(raw.get("cache_creation_input_tokens") or 0)
    output = int(raw.get("output_tokens") or 0)
    prompt = fresh + read + written
    fields: dict[str, Any] = {
        "prompt_tokens": prompt,
        "completion_tokens": output,
        "total_tokens": prompt + output,
        "prompt_tokens_details": PromptTokensDetails(
            cached_tokens=read, cache_write_tokens=written
        ),
    }
    if isinstance(raw.get("cache_creation"), dict):
        fields["cache_creation"] = raw["cache_creation"]  # the 5-minute / 1-hour split
    return Usage.model_validate(fields)


def _finish_reason(reason: Any) -> str | None:
    if not reason:
        return None
    return FINISH_REASONS.get(str(reason), str(reason))


# --- request translation ------------------------------------------------------------------
def _text_blocks(content: str | list[TextPart]) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    return [
        {"type": "text", "text": part.text, **(part.model_extra or {})}
        for part in content
        if part.text or part.model_extra
    ]


def _image_block(part: ImagePart) -> dict[str, Any]:
    url = part.image_url.url
    extra = {k: v for k, v in (part.model_extra or {}).items()}
    if url.startswith(("http://", "https://")):
        return {"type": "image", "source": {"type": "url", "url": url}, **extra}
    if url.startswith("data:"):
        header, comma, data = url[5:].partition(",")
        media_type, _, encoding = header.partition(";")
        if not comma or encoding != "base64":
            raise RequestValidationError("Anthropic needs image data URIs encoded as base64")
        if media_type == "application/pdf":
            source = {"type": "base64", "media_type": media_type, "data": data}
            return {"type": "document", "source": source, **extra}
        if media_type not in _IMAGE_TYPES:
            raise RequestValidationError(
                f"Anthropic accepts JPEG, PNG, GIF and WebP images, not {media_type or '?'}"
            )
        source = {"type": "base64", "media_type": media_type, "data": data}
        return {"type": "image", "source": source, **extra}
    raise RequestValidationError("image_url must be an http(s) URL or a base64 data URI")


def _file_block(part: FilePart, provider: str, where: str) -> dict[str, Any]:
    """A ``file`` part as a ``document`` block (an ``image`` block if the file is an image)."""
    file = part.file
    media_type = file.media_type
    extra = dict(part.model_extra or {})
    if media_type in _IMAGE_TYPES:
        kind = "image"
    elif media_type is None or media_type == "application/pdf" or is_text_mime(media_type):
        kind = "document"
        if file.filename and "title" not in extra:
            extra["title"] = file.filename
    else:
        raise refuse(provider, part, "Anthropic reads PDF, plain-text and image files", where=where)
    source: dict[str, Any]
    if file.file_id is not None:
        source = {"type": "file", "file_id": file.file_id}
    elif file.file_url is not None:
        if not file.file_url.startswith(("http://", "https://")):
            raise refuse(provider, part, "Anthropic fetches only http(s) URLs", where=where)
        if kind == "document" and media_type not in (None, "application/pdf"):
            raise refuse(provider, part, "Anthropic fetches only PDF documents", where=where)
        source = {"type": "url", "url": file.file_url}
    else:
        parsed = parse_data_url(file.file_data or "")
        assert parsed is not None  # the vocabulary checked it
        if kind == "document" and parsed.mime != "application/pdf":
            source = {
                "type": "text",
                "media_type": "text/plain",
                "data": _decoded_text(parsed.data),
            }
            if not source["data"]:
                raise refuse(provider, part, "the text file is not UTF-8 text", where=where)
        else:
            source = {"type": "base64", "media_type": parsed.mime, "data": parsed.data}
    return {"type": kind, "source": source, **extra}


def _decoded_text(data: str) -> str:
    try:
        return base64.b64decode(data, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return ""


def _media_block(part: Any, provider: str, where: str) -> dict[str, Any]:
    if isinstance(part, ImagePart):
        return _image_block(part)
    if isinstance(part, FilePart):
        return _file_block(part, provider, where)
    raise refuse(provider, part, "Anthropic takes no audio", where=where)


def _user_content(message: UserMessage, provider: str) -> str | list[dict[str, Any]]:
    if isinstance(message.content, str):
        return message.content
    blocks: list[dict[str, Any]] = []
    for part in message.content:
        if isinstance(part, TextPart):
            blocks.extend(_text_blocks([part]))
        else:
            blocks.append(_media_block(part, provider, "a user message"))
    return blocks


def _uses_file_ids(request: ChatRequest) -> bool:
    return any(
        isinstance(part, FilePart) and part.file.file_id is not None
        for message in request.messages
        if isinstance(message.content, list)
        for part in message.content
    )


def _assistant_content(message: AssistantMessage) -> str | list[dict[str, Any]]:
    extra = message.model_extra or {}
    blocks: list[dict[str, Any]] = []
    saved = extra.get("thinking_blocks")
    if isinstance(saved, list) and saved:
        blocks.extend(dict(block) for block in saved if isinstance(block, dict))
    elif message.reasoning_content and extra.get("thinking_signature"):
        blocks.append(
            {
                "type": "thinking",
                "thinking": message.reasoning_content,
                "signature": str(extra["thinking_signature"]),
            }
        )
    if message.content:
        blocks.extend(_text_blocks(message.content))
    elif message.refusal:
        blocks.append({"type": "text", "text": message.refusal})
    for call in message.tool_calls or ():
        try:
            arguments = json.loads(call.function.arguments) if call.function.arguments else {}
        except ValueError:
            raise RequestValidationError(
                f"tool call {call.id!r} has arguments that are not JSON; Anthropic needs an object"
            ) from None
        if not isinstance(arguments, dict):
            raise RequestValidationError(
                f"tool call {call.id!r} arguments must be a JSON object for Anthropic"
            )
        blocks.append(
            {"type": "tool_use", "id": call.id, "name": call.function.name, "input": arguments}
        )
    if len(blocks) == 1 and blocks[0]["type"] == "text" and isinstance(message.content, str):
        return message.content
    return blocks


def _tool_result(message: ToolMessage, provider: str) -> dict[str, Any]:
    content: Any = message.content
    if not isinstance(content, str):
        content = [
            block
            for part in content
            for block in (
                _text_blocks([part])
                if isinstance(part, TextPart)
                else [_media_block(part, provider, "a tool result")]
            )
        ]
    block: dict[str, Any] = {
        "type": "tool_result",
        "tool_use_id": message.tool_call_id,
        "content": content,
    }
    for key in ("is_error", "cache_control"):
        value = (message.model_extra or {}).get(key)
        if value is not None:
            block[key] = value
    return block


def _messages(request: ChatRequest, provider: str) -> tuple[Any, list[dict[str, Any]]]:
    """(system, messages): system turns lifted out, same-role turns merged, tools as users."""
    system: list[dict[str, Any]] = []
    turns: list[dict[str, Any]] = []

    def add(role: str, content: str | list[dict[str, Any]]) -> None:
        if not content:
            return
        if turns and turns[-1]["role"] == role:
            previous = turns[-1]["content"]
            if isinstance(previous, str):
                previous = [{"type": "text", "text": previous}]
            if isinstance(content, str):
                content = [{"type": "text", "text": content}]
            turns[-1]["content"] = [*previous, *content]
        else:
            turns.append({"role": role, "content": content})

    for message in request.messages:
        if isinstance(message, SystemMessage | DeveloperMessage):
            system.extend(_text_blocks(message.content))
        elif isinstance(message, UserMessage):
            add("user", _user_content(message, provider))
        elif isinstance(message, AssistantMessage):
            add("assistant", _assistant_content(message))
        else:
            add("user", [_tool_result(message, provider)])
    if not turns:
        raise RequestValidationError("Anthropic needs at least one user or assistant message")
    if not system:
        return None, turns
    if len(system) == 1 and set(system[0]) == {"type", "text"}:
        return system[0]["text"], turns
    return system, turns


def _tools(request: ChatRequest) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    tools: list[dict[str, Any]] = []
    for tool in request.tools or ():
        function = tool.function
        if function.name == STRUCTURED_TOOL and request.response_format is not None:
            raise RequestValidationError(
                f"tool name {STRUCTURED_TOOL!r} is reserved for structured output on Anthropic"
            )
        entry: dict[str, Any] = {"name": function.name}
        if function.description:
            entry["description"] = function.description
        entry["input_schema"] = function.parameters
        entry.update(tool.model_extra or {})
        tools.append(entry)

    choice: dict[str, Any] | None = None
    if isinstance(request.tool_choice, NamedToolChoice):
        choice = {"type": "tool", "name": request.tool_choice.function.name}
    elif request.tool_choice == "required":
        choice = {"type": "any"}
    elif request.tool_choice in ("auto", "none"):
        choice = {"type": request.tool_choice}

    response_format = request.response_format
    if response_format is not None and response_format.type != "text":
        if response_format.json_schema is not None:
            spec = response_format.json_schema
            schema = spec.schema_
            description = spec.description or f"Respond with the {spec.name} object."
        else:
            schema = {"type": "object"}
            description = "Respond with a JSON object."
        tools.append({"name": STRUCTURED_TOOL, "description": description, "input_schema": schema})
        choice = {"type": "tool", "name": STRUCTURED_TOOL}

    if request.parallel_tool_calls is False and tools:
        choice = choice or {"type": "auto"}
        if choice["type"] != "none":
            choice["disable_parallel_tool_use"] = True
    return tools, choice


# --- streaming ----------------------------------------------------------------------------
class AnthropicStreamDecoder(SSEStreamDecoder["AnthropicProvider"]):
    """SSE events ``message_start`` .. ``message_stop`` into OpenAI-shaped chunks."""

    def __init__(self, provider: AnthropicProvider, model: str) -> None:
        super().__init__(provider, model)
        self._id = ""
        self._served = model
        self._created = int(time.time())
        self._usage: dict[str, Any] = {}
        self._blocks: dict[int, dict[str, Any]] = {}  # block index -> state
        self._tool_count = 0

    def _chunk(self, delta: Delta, finish: str | None = None) -> ChatChunk:
        return ChatChunk(
            id=self._id,
            created=self._created,
            model=self._served,
            choices=[ChunkChoice(index=0, delta=delta, finish_reason=finish)],
        )

    def _chunks(self, events: list[SSEEvent]) -> list[ChatChunk]:
        chunks: list[ChatChunk] = []
        for event in events:
            data = self._provider.decode_object(event.data, self._model)
            kind = data.get("type") or event.event
            if kind == "error" or event.event == "error":
                raise self._provider._body_error(data, self._model, None)
            handler = getattr(self, f"_on_{kind}", None)
            if handler is not None:
                chunks.extend(handler(data))
        return chunks

    def _on_message_start(self, data: dict[str, Any]) -> list[ChatChunk]:
        message = data.get("message") or {}
        self._id = str(message.get("id") or "")
        self._served = str(message.get("model") or self._model)
        self._usage.update(message.get("usage") or {})
        return [self._chunk(Delta(role="assistant", content=""))]

    def _on_content_block_start(self, data: dict[str, Any]) -> list[ChatChunk]:
        block = data.get("content_block") or {}
        kind = block.get("type")
        state: dict[str, Any] = {"type": kind, "arguments": False}
        self._blocks[int(data.get("index", 0))] = state
        if kind == "text" and block.get("text"):
            return [self._chunk(Delta(content=block["text"]))]
        if kind == "thinking":
            state["thinking"] = [block.get("thinking") or ""]
            state["signature"] = [block.get("signature") or ""]
            if block.get("thinking"):
                return [self._chunk(Delta(reasoning_content=block["thinking"]))]
            return []
        if kind == "redacted_thinking":
            delta = Delta.model_validate({"thinking_blocks": [block]})
            return [self._chunk(delta)]
        if kind == "tool_use":
            if block.get("name") == STRUCTURED_TOOL:
                state["type"] = "structured"
                return []
            state["tool"] = self._tool_count
            self._tool_count += 1
            call = ToolCallDelta(
                index=state["tool"],
                id=str(block.get("id") or ""),
                type="function",
                function=FunctionDelta(name=str(block.get("name") or ""), arguments=""),
            )
            return [self._chunk(Delta(tool_calls=[call]))]
        return []

    def _on_content_block_delta(self, data: dict[str, Any]) -> list[ChatChunk]:
        state = self._blocks.get(int(data.get("index", 0)), {"type": None})
        delta = data.get("delta") or {}
        kind = delta.get("type")
        if kind == "text_delta" and delta.get("text"):
            return [self._chunk(Delta(content=delta["text"]))]
        if kind == "thinking_delta" and delta.get("thinking"):
            state.setdefault("thinking", []).append(delta["thinking"])
            return [self._chunk(Delta(reasoning_content=delta["thinking"]))]
        if kind == "signature_delta" and delta.get("signature"):
            state.setdefault("signature", []).append(delta["signature"])
            return [self._chunk(Delta.model_validate({"thinking_signature": delta["signature"]}))]
        if kind == "input_json_delta" and delta.get("partial_json"):
            fragment = delta["partial_json"]
            state["arguments"] = True
            if state["type"] == "structured":
                return [self._chunk(Delta(content=fragment))]
            if "tool" in state:
                call = ToolCallDelta(
                    index=state["tool"], function=FunctionDelta(arguments=fragment)
                )
                return [self._chunk(Delta(tool_calls=[call]))]
        return []

    def _on_content_block_stop(self, data: dict[str, Any]) -> list[ChatChunk]:
        state = self._blocks.get(int(data.get("index", 0)))
        if state is None or state["arguments"]:
            return []
        if state["type"] == "thinking":
            # The whole signed block, as a non-streamed answer keeps it (``thinking_blocks``).
            block = {
                "type": "thinking",
                "thinking": "".join(state.get("thinking", ())),
                "signature": "".join(state.get("signature", ())),
            }
            return [self._chunk(Delta.model_validate({"thinking_blocks": [block]}))]
        # A tool called without arguments streams no JSON at all: its input is {}.
        if state["type"] == "structured":
            return [self._chunk(Delta(content="{}"))]
        if "tool" in state:
            call = ToolCallDelta(index=state["tool"], function=FunctionDelta(arguments="{}"))
            return [self._chunk(Delta(tool_calls=[call]))]
        return []

    def _on_message_delta(self, data: dict[str, Any]) -> list[ChatChunk]:
        self._usage.update({k: v for k, v in (data.get("usage") or {}).items() if v is not None})
        reason = (data.get("delta") or {}).get("stop_reason")
        if not reason:
            return []
        finish = _finish_reason(reason)
        if (
            finish == "tool_calls"
            and self._tool_count == 0
            and any(b["type"] == "structured" for b in self._blocks.values())
        ):
            finish = "stop"
        return self._finish(finish)

    def _on_message_stop(self, data: dict[str, Any]) -> list[ChatChunk]:
        # A message_delta always carries the stop reason first; never end without a finish.
        return [] if self._finished else self._finish("stop")

    def _finish(self, finish: str | None) -> list[ChatChunk]:
        self._finished = True
        usage_chunk = ChatChunk(
            id=self._id,
            created=self._created,
            model=self._served,
            choices=[],
            usage=usage_from(self._usage),
        )
        return [self._chunk(Delta(), finish), usage_chunk]
