"""Cohere's native v2 API: ``POST /v2/chat`` (JSON and SSE) and ``POST /v2/embed``.

Translation notes:

* ``system``/``developer`` messages become Cohere ``system`` messages; tool results are
  ``role: "tool"`` messages with ``tool_call_id`` and ``content``.
* The assistant's ``tool_plan`` (Cohere's text before its tool calls) is kept as an extra field
  on the message (``message.model_extra["tool_plan"]``; ``delta.tool_plan`` when streaming) and
  sent back when that message appears in a later request. Thinking content blocks become
  ``reasoning_content`` and are sent back as a ``thinking`` content block.
* ``tool_choice``: ``"required"`` -> ``REQUIRED``, ``"none"`` -> ``NONE``; a named tool is sent
  as the only tool with ``REQUIRED`` (Cohere cannot name one). ``strict`` tools set
  ``strict_tools``. ``parallel_tool_calls`` has no Cohere equivalent and is not sent.
* ``response_format`` json_object / json_schema -> ``{"type": "json_object", "json_schema": ...}``.
* ``top_p`` -> ``p``, ``stop`` -> ``stop_sequences``, ``reasoning_effort`` -> ``thinking``.
  Other unknown request fields (``k``, ``documents``, ``safety_mode``, ...) are sent verbatim.
* Usage comes from ``usage.tokens`` (``billed_units`` is kept as an extra field on the usage);
  ``usage.cached_tokens`` becomes ``prompt_tokens_details.cached_tokens``.
* Embeddings: ``input_type`` defaults to ``"search_document"`` (pass ``input_type=
  "search_query"`` for queries), ``embedding_types`` defaults to ``["float"]``; ask for
  ``embedding_types=["int8"]`` (or uint8, binary, ubinary) to get those values as the vectors.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, ClassVar

import pydantic_core
from pydantic import ValidationError

from cosmara._embeddings import Embedding, EmbeddingRequest, EmbeddingResponse, EmbeddingUsage
from cosmara._errors import (
    AuthenticationError,
    ContextWindowExceededError,
    PermissionDeniedError,
    ProviderError,
    ProviderUnavailableError,
    RequestValidationError,
)
from cosmara._messages import (
    AssistantMessage,
    ChatRequest,
    DeveloperMessage,
    ImagePart,
    Message,
    NamedToolChoice,
    SystemMessage,
    TextPart,
    Tool,
    ToolCall,
    ToolMessage,
    UserMessage,
)
from cosmara._response import ChatResponse, Choice, PromptTokensDetails, Usage
from cosmara._sse import SSEEvent
from cosmara._stream import ChatChunk, ChunkChoice, Delta, FunctionDelta, ToolCallDelta
from cosmara.providers._base import HttpProvider, HttpRequest, HttpResponse, SSEStreamDecoder
from cosmara.providers._parts import refuse, split_tool_content

__all__ = ["CohereProvider", "CohereStreamDecoder"]

# Cohere finish reasons -> OpenAI's. ERROR and TIMEOUT are raised instead (see _finish_reason).
_FINISH_REASONS = {
    "COMPLETE": "stop",
    "STOP_SEQUENCE": "stop",
    "MAX_TOKENS": "length",
    "TOOL_CALL": "tool_calls",
    "ERROR_TOXIC": "content_filter",
}
_FAILED_FINISH = frozenset({"ERROR", "TIMEOUT", "ERROR_LIMIT"})

# ChatRequest fields translated here; every other (unknown) field is sent verbatim.
_HANDLED = frozenset(
    {
        "model",
        "messages",
        "tools",
        "tool_choice",
        "parallel_tool_calls",
        "response_format",
        "temperature",
        "top_p",
        "max_tokens",
        "stop",
        "seed",
        "n",
        "reasoning_effort",
        "user",
        "stream",
        "stream_options",
    }
)
_EMBED_HANDLED = frozenset(
    {"model", "input", "dimensions", "encoding_format", "user", "input_type", "embedding_types"}
)
# Which of Cohere's embedding types become the float vectors, in order of preference.
_VECTOR_TYPES = ("float", "int8", "uint8", "binary", "ubinary")


class CohereProvider(HttpProvider):
    kind = "cohere"
    default_base_url: ClassVar[str | None] = "https://api.cohere.com"
    base_url_env: ClassVar[str | None] = "CO_API_URL"
    api_key_env: ClassVar[str | None] = "CO_API_KEY"
    fallback_api_key_env: ClassVar[str] = "COHERE_API_KEY"

    # Cohere-specific statuses: 498 invalid token, 402 payment required.
    extra_statuses: ClassVar[Mapping[int, type[ProviderError]]] = {
        498: AuthenticationError,
        402: PermissionDeniedError,
    }

    @property
    def credentials_hint(self) -> str:
        return (
            f"set {self.api_key_env} (or {self.fallback_api_key_env}) "
            f"or configure providers.{self.name}.api_key"
        )

    def headers(self, *, stream: bool = False) -> dict[str, str]:
        headers = {
            "content-type": "application/json",
            "accept": "text/event-stream" if stream else "application/json",
        }
        key = self.api_key
        if key:
            headers["authorization"] = f"Bearer {key}"
        headers.update(self.settings.header_values)
        return headers

    # --- chat request -------------------------------------------------------------------------
    def chat_request(self, request: ChatRequest, model: str, *, stream: bool) -> HttpRequest:
        body = self.chat_body(request, model, stream=stream)
        return HttpRequest(
            "POST",
            f"{self.base_url}/v2/chat",
            self.headers(stream=stream),
            pydantic_core.to_json(body),
        )

    def chat_body(self, request: ChatRequest, model: str, *, stream: bool) -> dict[str, Any]:
        if request.n is not None and request.n > 1:
            raise RequestValidationError("Cohere returns one choice per request: n must be 1")
        body: dict[str, Any] = {
            "model": model,
            "messages": [_message(message, self.name) for message in request.messages],
        }
        tools = request.tools
        choice = request.tool_choice
        if isinstance(choice, NamedToolChoice):
            # Cohere cannot force one named tool: offer only that tool and require a call.
            tools = [t for t in tools or () if t.function.name == choice.function.name]
            body["tool_choice"] = "REQUIRED"
        elif choice == "required":
            body["tool_choice"] = "REQUIRED"
        elif choice == "none":
            body["tool_choice"] = "NONE"
        if tools:
            body["tools"] = [_tool(tool) for tool in tools]
            if any(tool.function.strict for tool in tools):
                body["strict_tools"] = True
            # Keep tools before tool_choice, as Cohere's own SDK sends them.
            if "tool_choice" in body:
                body["tool_choice"] = body.pop("tool_choice")
        fmt = request.response_format
        if fmt is not None and fmt.type != "text":
            native: dict[str, Any] = {"type": "json_object"}
            if fmt.type == "json_schema" and fmt.json_schema is not None:
                native["json_schema"] = fmt.json_schema.schema_
            body["response_format"] = native
        if request.max_tokens is not None:
            body["max_tokens"] = request.max_tokens
        if request.stop is not None:
            body["stop_sequences"] = (
                [request.stop] if isinstance(request.stop, str) else request.stop
            )
        if request.temperature is not None:
            body["temperature"] = request.temperature
        if request.top_p is not None:
            body["p"] = request.top_p
        if request.seed is not None:
            body["seed"] = request.seed
        if request.reasoning_effort is not None:
            enabled = request.reasoning_effort != "none"
            body["thinking"] = {"type": "enabled" if enabled else "disabled"}
        for key, value in (request.model_extra or {}).items():
            if key not in _HANDLED and value is not None:
                body[key] = value
        body["stream"] = stream
        return body

    # --- chat responses -----------------------------------------------------------------------
    def parse_chat(self, response: HttpResponse, model: str) -> ChatResponse:
        data = self.decode_object(response.body, model)
        message = data.get("message")
        if not isinstance(message, dict):
            raise self.invalid(response.body, model, "no 'message' in the response")
        finish = self._finish_reason(data.get("finish_reason"), model, data)
        text, thinking = _content_text(message.get("content"))
        try:
            calls = [ToolCall.model_validate(call) for call in message.get("tool_calls") or ()]
        except ValidationError as error:
            raise self.invalid(response.body, model, str(error.errors()[0]["msg"])) from None
        extras = {
            key: message[key]
            for key in ("tool_plan", "citations")
            if message.get(key) not in (None, "", [])
        }
        assistant = AssistantMessage(
            content=text or (None if calls else ""),
            tool_calls=calls or None,
            reasoning_content=thinking or None,
            **extras,
        )
        choice_extra = {"logprobs": data["logprobs"]} if data.get("logprobs") else {}
        return ChatResponse(
            id=str(data.get("id") or ""),
            model=model,
            choices=[Choice(index=0, message=assistant, finish_reason=finish, **choice_extra)],
            usage=_usage(data.get("usage")),
        )

    def stream_decoder(self, model: str) -> CohereStreamDecoder:
        return CohereStreamDecoder(self, model)

    def _finish_reason(self, reason: Any, model: str, body: Any) -> str | None:
        if reason is None:
            return None
        name = str(reason)
        if name in _FAILED_FINISH:
            detail = body.get("error") if isinstance(body, dict) else None
            message = str(detail or f"Cohere ended the generation with finish_reason {name}")
            error_class: type[ProviderError] = (
                ContextWindowExceededError if name == "ERROR_LIMIT" else ProviderUnavailableError
            )
            raise error_class(
                message,
                provider=self.name,
                model=model,
                provider_message=message,
                code=name,
                body=body,
            )
        return _FINISH_REASONS.get(name, name.lower())

    # --- embeddings ---------------------------------------------------------------------------
    def embed_request(self, request: EmbeddingRequest, model: str) -> HttpRequest:
        extra = request.model_extra or {}
        types = extra.get("embedding_types") or ["float"]
        body: dict[str, Any] = {
            "model": model,
            "texts": request.input,
            "input_type": extra.get("input_type") or "search_document",
            "embedding_types": [types] if isinstance(types, str) else list(types),
        }
        if request.dimensions is not None:
            body["output_dimension"] = request.dimensions
        for key, value in extra.items():
            if key not in _EMBED_HANDLED and value is not None:
                body[key] = value
        return HttpRequest(
            "POST", f"{self.base_url}/v2/embed", self.headers(), pydantic_core.to_json(body)
        )

    def parse_embed(self, response: HttpResponse, model: str) -> EmbeddingResponse:
        data = self.decode_object(response.body, model)
        embeddings = data.get("embeddings")
        kind = "float"
        if isinstance(embeddings, dict):  # response_type "embeddings_by_type"
            kind = next((k for k in _VECTOR_TYPES if embeddings.get(k) is not None), "")
            if not kind:
                raise self.invalid(response.body, model, "no numeric embeddings in the response")
            vectors = embeddings[kind]
        else:  # response_type "embeddings_floats"
            vectors = embeddings
        if not isinstance(vectors, list):
            raise self.invalid(response.body, model, "no 'embeddings' in the response")
        meta = data.get("meta") if isinstance(data.get("meta"), dict) else {}
        billed = (meta or {}).get("billed_units") or {}
        tokens = int(billed.get("input_tokens") or 0)
        try:
            items = [
                Embedding(index=index, embedding=vector) for index, vector in enumerate(vectors)
            ]
        except ValidationError as error:
            raise self.invalid(response.body, model, str(error.errors()[0]["msg"])) from None
        extra: dict[str, Any] = {
            "id": data.get("id"),
            "embedding_type": kind,
            "billed_units": billed or None,
        }
        return EmbeddingResponse(
            data=items,
            model=model,
            usage=EmbeddingUsage(prompt_tokens=tokens, total_tokens=tokens),
            **extra,
        )

    # --- errors -------------------------------------------------------------------------------
    def parse_error(self, response: HttpResponse, model: str) -> ProviderError:
        message, code, body = self.error_details(response)
        request_id = (
            body.get("id") if isinstance(body, dict) and isinstance(body.get("id"), str) else None
        )
        return self.make_error(
            response.status,
            message,
            code=code,
            model=model,
            body=body,
            retry_after=self.retry_after(response),
            request_id=request_id or self.request_id(response.headers),
        )

    def make_error(
        self,
        status: int | None,
        message: str,
        *,
        code: str | None = None,
        model: str | None = None,
        **extra: Any,
    ) -> ProviderError:
        error = super().make_error(status, message, code=code, model=model, **extra)
        special = self.extra_statuses.get(status or 0)
        if special is None:
            return error
        return special(
            message,
            provider=self.name,
            model=model,
            status_code=status,
            provider_message=message,
            code=code,
            **extra,
        )

    def request_id(self, headers: Mapping[str, str]) -> str | None:
        return super().request_id(headers) or headers.get("x-debug-trace-id")


class CohereStreamDecoder(SSEStreamDecoder["CohereProvider"]):
    """Cohere v2 SSE: message-start, content-*, tool-plan-delta, tool-call-*, message-end.

    Citation events and unknown event types are ignored. ``message-end`` gives the finish
    reason (a chunk with it) and the usage (a following chunk with ``choices=[]``).
    """

    def __init__(self, provider: CohereProvider, model: str) -> None:
        super().__init__(provider, model)
        self._id = ""
        self._blocks: dict[int, str] = {}  # content index -> "text" / "thinking"
        self._calls: dict[int, int] = {}  # Cohere tool-call index -> our index

    def _chunk(self, delta: Delta, finish_reason: str | None = None) -> ChatChunk:
        return ChatChunk(
            id=self._id,
            model=self._model,
            choices=[ChunkChoice(index=0, delta=delta, finish_reason=finish_reason)],
        )

    def _chunks(self, events: list[SSEEvent]) -> list[ChatChunk]:
        chunks: list[ChatChunk] = []
        for event in events:
            if event.data.strip() == "[DONE]":
                continue
            try:
                data = json.loads(event.data)
            except ValueError:
                raise self._provider.invalid(
                    event.data.encode(), self._model, "a stream event is not JSON"
                ) from None
            if not isinstance(data, dict):
                continue
            kind = data.get("type") or event.event
            chunks.extend(self._event(str(kind), data))
        return chunks

    def _event(self, kind: str, data: dict[str, Any]) -> list[ChatChunk]:
        message = _path(data, "delta", "message")
        if kind == "message-start":
            self._id = str(data.get("id") or "")
            return [self._chunk(Delta(role="assistant", content=""))]
        if kind in ("content-start", "content-delta"):
            content = message.get("content") if isinstance(message, dict) else None
            if not isinstance(content, dict):
                return []
            index = int(data.get("index") or 0)
            if kind == "content-start":
                self._blocks[index] = str(content.get("type") or "text")
            thinking = content.get("thinking")
            if thinking or self._blocks.get(index) == "thinking":
                text = thinking or content.get("text") or ""
                return [self._chunk(Delta(reasoning_content=text))] if text else []
            text = content.get("text") or ""
            return [self._chunk(Delta(content=text))] if text else []
        if kind == "tool-plan-delta":
            plan = message.get("tool_plan") if isinstance(message, dict) else None
            return [self._chunk(Delta.model_validate({"tool_plan": plan}))] if plan else []
        if kind in ("tool-call-start", "tool-call-delta"):
            call = message.get("tool_calls") if isinstance(message, dict) else None
            if not isinstance(call, dict):
                return []
            function = call.get("function") or {}
            cohere_index = int(data.get("index") or 0)
            if kind == "tool-call-start":
                index = self._calls.setdefault(cohere_index, len(self._calls))
                delta = ToolCallDelta(
                    index=index,
                    id=call.get("id"),
                    type="function",
                    function=FunctionDelta(
                        name=function.get("name"), arguments=function.get("arguments") or ""
                    ),
                )
            else:
                index = self._calls.setdefault(cohere_index, len(self._calls))
                arguments = function.get("arguments")
                if not arguments:
                    return []
                delta = ToolCallDelta(index=index, function=FunctionDelta(arguments=arguments))
            return [self._chunk(Delta(tool_calls=[delta]))]
        if kind == "message-end":
            raw_end = data.get("delta")
            end: dict[str, Any] = raw_end if isinstance(raw_end, dict) else {}
            if end.get("error"):
                raise self._provider.make_error(
                    None, str(end["error"]), code=end.get("finish_reason"), model=self._model
                )
            finish = self._provider._finish_reason(
                end.get("finish_reason") or "COMPLETE", self._model, end
            )
            self._finished = True
            chunks = [self._chunk(Delta(), finish_reason=finish)]
            usage = _usage(end.get("usage"))
            if usage is not None:
                chunks.append(ChatChunk(id=self._id, model=self._model, choices=[], usage=usage))
            return chunks
        if kind == "error":
            message_text = str(data.get("message") or data.get("error") or "stream error")
            status = data.get("status_code") or data.get("http_status")
            raise self._provider.make_error(
                int(status) if isinstance(status, int) else None,
                message_text,
                model=self._model,
                body=data,
            )
        return []  # content-end, tool-call-end, citation-*, debug and unknown events


def _path(data: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _content_text(content: Any) -> tuple[str, str]:
    """(text, thinking) joined from a v2 message's content blocks (or a plain string)."""
    if isinstance(content, str):
        return content, ""
    text, thinking = [], []
    for block in content or ():
        if not isinstance(block, dict):
            continue
        if block.get("type") == "thinking":
            thinking.append(str(block.get("thinking") or ""))
        elif block.get("type", "text") == "text":
            text.append(str(block.get("text") or ""))
    return "".join(text), "".join(thinking)


def _usage(usage: Any) -> Usage | None:
    if not isinstance(usage, dict):
        return None
    tokens = usage.get("tokens") or usage.get("billed_units") or {}
    prompt = int(tokens.get("input_tokens") or 0)
    completion = int(tokens.get("output_tokens") or 0)
    cached = int(usage.get("cached_tokens") or 0)
    extra: dict[str, Any] = {}
    if usage.get("billed_units") is not None:
        extra["billed_units"] = usage["billed_units"]
    return Usage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=prompt + completion,
        prompt_tokens_details=PromptTokensDetails(cached_tokens=cached) if cached else None,
        **extra,
    )


def _text_parts(content: str | list[TextPart]) -> str | list[dict[str, Any]]:
    if isinstance(content, str):
        return content
    return [{"type": "text", "text": part.text} for part in content]


def _message(message: Message, provider: str) -> dict[str, Any]:
    if isinstance(message, (SystemMessage, DeveloperMessage)):
        return {"role": "system", "content": _text_parts(message.content)}
    if isinstance(message, UserMessage):
        if isinstance(message.content, str):
            return {"role": "user", "content": message.content}
        parts: list[dict[str, Any]] = []
        for part in message.content:
            if isinstance(part, ImagePart):
                image: dict[str, Any] = {"url": part.image_url.url}
                if part.image_url.detail is not None:
                    image["detail"] = part.image_url.detail
                parts.append({"type": "image_url", "image_url": image})
            elif isinstance(part, TextPart):
                parts.append({"type": "text", "text": part.text})
            else:
                raise refuse(
                    provider,
                    part,
                    "Cohere's chat takes text and images only",
                    where="a user message",
                )
        return {"role": "user", "content": parts}
    if isinstance(message, ToolMessage):
        texts, media = split_tool_content(message)
        if media:
            raise refuse(
                provider, media[0], "Cohere's tool results are text", where="a tool result"
            )
        content = message.content if isinstance(message.content, str) else texts
        return {
            "role": "tool",
            "tool_call_id": message.tool_call_id,
            "content": _text_parts(content),
        }
    return _assistant(message)


def _assistant(message: AssistantMessage) -> dict[str, Any]:
    out: dict[str, Any] = {"role": "assistant"}
    extra = message.model_extra or {}
    content = message.content
    if message.reasoning_content:
        blocks: list[dict[str, Any]] = [{"type": "thinking", "thinking": message.reasoning_content}]
        text = content if isinstance(content, str) else "".join(p.text for p in content or ())
        if text:
            blocks.append({"type": "text", "text": text})
        out["content"] = blocks
    elif content not in (None, "", []):
        assert content is not None
        out["content"] = _text_parts(content)
    if message.tool_calls:
        out["tool_calls"] = [
            {
                "id": call.id,
                "type": "function",
                "function": {"name": call.function.name, "arguments": call.function.arguments},
            }
            for call in message.tool_calls
        ]
        if extra.get("tool_plan"):
            out["tool_plan"] = extra["tool_plan"]
    elif "content" not in out:
        raise RequestValidationError("Cohere needs an assistant message with content or tool calls")
    return out


def _tool(tool: Tool) -> dict[str, Any]:
    function: dict[str, Any] = {"name": tool.function.name}
    if tool.function.description is not None:
        function["description"] = tool.function.description
    function["parameters"] = tool.function.parameters
    return {"type": "function", "function": function}
