"""Ollama's native API: ``POST /api/chat`` (NDJSON stream) and ``POST /api/embed``.

Translation notes (documented behaviour, not guesses at the caller's intent):

- ``stream`` is always sent: Ollama streams when it is omitted, so a non-streamed call sends
  ``"stream": false``.
- ``temperature``, ``top_p``, ``max_tokens`` (as ``num_predict``), ``stop`` and ``seed`` go in
  ``options``; an ``options`` dict passed as an extra request field is merged into it, and the
  extra fields ``keep_alive`` and ``think`` are sent as they are.
- ``reasoning_effort`` becomes ``think``: ``"none"`` turns thinking off (``false``); for
  ``gpt-oss`` models ``low``/``medium``/``high`` are sent as the level (``minimal`` as ``low``),
  other models get ``true``. ``message.thinking`` comes back as ``reasoning_content`` and is
  sent back as ``thinking`` when the assistant turn is in a later request's history.
- ``response_format`` ``json_schema`` becomes ``format: <schema>``, ``json_object`` ``"json"``.
- Ollama has no ``tool_choice``: ``"none"`` leaves the tools out, a named choice sends only that
  tool, ``"auto"``/``"required"`` send them all (Ollama cannot force a call).
- Images must be ``data:`` URIs (their base64 goes in the message's ``images`` list); Ollama
  cannot fetch URLs, so an ``http(s)`` image is a ``RequestValidationError``.
- Tool-call arguments arrive as JSON objects and usually without an id: an id missing from
  the response is synthesised from the response's timestamp, the call's position, name and
  arguments, so the same bytes always give the same id. Tool results are sent back with the
  ``tool_name`` of the call they answer.
- ``done_reason`` ``stop`` is ``"tool_calls"`` when the answer holds tool calls, ``length`` is
  ``"length"``. Usage is ``prompt_eval_count``/``eval_count`` (thinking tokens are part of
  ``eval_count``; Ollama does not report them separately).
- A model without tool support answers 400 ``"... does not support tools"``: that is a
  ``BadRequestError`` with code ``tools_unsupported`` (``thinking_unsupported`` likewise).
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import datetime, timezone
from typing import Any, ClassVar

import pydantic_core

from cosmara._embeddings import Embedding, EmbeddingRequest, EmbeddingResponse, EmbeddingUsage
from cosmara._errors import (
    InvalidResponseError,
    ProviderUnavailableError,
    RequestValidationError,
)
from cosmara._messages import (
    AssistantMessage,
    ChatRequest,
    DeveloperMessage,
    FunctionCall,
    ImagePart,
    NamedToolChoice,
    SystemMessage,
    TextPart,
    ToolCall,
    ToolMessage,
    UserMessage,
)
from cosmara._response import ChatResponse, Choice, Usage
from cosmara._sse import LineSplitter
from cosmara._stream import ChatChunk, ChunkChoice, Delta, FunctionDelta, ToolCallDelta
from cosmara.providers._base import HttpProvider, HttpRequest, HttpResponse
from cosmara.providers._parts import refuse, split_tool_content

__all__ = ["OllamaProvider", "OllamaStreamDecoder"]

_PASSTHROUGH = ("keep_alive", "think")
_UNSUPPORTED_PHRASES = {
    "does not support tools": "tools_unsupported",
    "does not support thinking": "thinking_unsupported",
}


class OllamaProvider(HttpProvider):
    kind = "ollama"
    default_base_url: ClassVar[str | None] = "http://localhost:11434"
    # Only ollama.com's cloud API wants a key; a local server needs none.
    api_key_env: ClassVar[str | None] = "OLLAMA_API_KEY"
    requires_api_key = False

    @property
    def base_url(self) -> str:
        host = os.environ.get("OLLAMA_HOST")
        if self.settings.base_url or not host:
            return super().base_url
        host = host if "://" in host else f"http://{host}"
        return host.rstrip("/")

    def headers(self) -> dict[str, str]:
        headers = {"content-type": "application/json", "accept": "application/x-ndjson"}
        key = self.api_key
        if key:
            headers["authorization"] = f"Bearer {key}"
        headers.update(self.settings.header_values)
        return headers

    # --- request ----------------------------------------------------------------------------
    def chat_request(self, request: ChatRequest, model: str, *, stream: bool) -> HttpRequest:
        body = self.chat_body(request, model, stream=stream)
        return HttpRequest(
            "POST", f"{self.base_url}/api/chat", self.headers(), pydantic_core.to_json(body)
        )

    def chat_body(self, request: ChatRequest, model: str, *, stream: bool) -> dict[str, Any]:
        if request.n is not None and request.n > 1:
            raise RequestValidationError("Ollama returns one choice per request; n must be 1")
        body: dict[str, Any] = {
            "model": model,
            "messages": self._messages(request),
            "stream": stream,
        }
        tools = self._tools(request)
        if tools:
            body["tools"] = tools
        response_format = request.response_format
        if response_format is not None and response_format.type == "json_object":
            body["format"] = "json"
        elif response_format is not None and response_format.json_schema is not None:
            body["format"] = response_format.json_schema.schema_
        options: dict[str, Any] = {}
        if request.temperature is not None:
            options["temperature"] = request.temperature
        if request.top_p is not None:
            options["top_p"] = request.top_p
        if request.max_tokens is not None:
            options["num_predict"] = request.max_tokens
        if request.stop is not None:
            options["stop"] = [request.stop] if isinstance(request.stop, str) else request.stop
        if request.seed is not None:
            options["seed"] = request.seed
        extra = request.model_extra or {}
        if isinstance(extra.get("options"), dict):
            options.update(extra["options"])
        if options:
            body["options"] = options
        if request.reasoning_effort is not None:
            body["think"] = _think(request.reasoning_effort, model)
        for key in _PASSTHROUGH:
            if key in extra:
                body[key] = extra[key]
        return body

    def _messages(self, request: ChatRequest) -> list[dict[str, Any]]:
        names: dict[str, str] = {}  # tool-call id -> function name, for tool results
        messages: list[dict[str, Any]] = []
        for message in request.messages:
            if isinstance(message, SystemMessage | DeveloperMessage):
                messages.append({"role": "system", "content": _text(message.content)})
            elif isinstance(message, UserMessage):
                messages.append(_user_message(message, self.name))
            elif isinstance(message, AssistantMessage):
                messages.append(_assistant_message(message, names))
            elif isinstance(message, ToolMessage):
                texts, media = split_tool_content(message)
                entry: dict[str, Any] = {"role": "tool", "content": _text(texts)}
                images = [_image_data(part, self.name, "a tool result") for part in media]
                if images:
                    entry["images"] = images
                name = names.get(message.tool_call_id)
                if name:
                    entry["tool_name"] = name
                messages.append(entry)
        return messages

    def _tools(self, request: ChatRequest) -> list[dict[str, Any]]:
        if not request.tools or request.tool_choice == "none":
            return []
        tools = request.tools
        if isinstance(request.tool_choice, NamedToolChoice):
            wanted = request.tool_choice.function.name
            tools = [tool for tool in tools if tool.function.name == wanted]
        return [tool.model_dump(exclude_none=True, by_alias=True) for tool in tools]

    # --- responses --------------------------------------------------------------------------
    def parse_chat(self, response: HttpResponse, model: str) -> ChatResponse:
        data = self._decode(response.body, model)
        message = data.get("message") or {}
        calls = _tool_calls(message.get("tool_calls"), data.get("created_at"))
        content = message.get("content")
        return ChatResponse(
            id="",
            created=_created(data.get("created_at")),
            model=str(data.get("model") or model),
            choices=[
                Choice(
                    index=0,
                    message=AssistantMessage(
                        content=content if content or not calls else None,
                        tool_calls=calls or None,
                        reasoning_content=message.get("thinking") or None,
                    ),
                    finish_reason=_finish_reason(data.get("done_reason"), bool(calls)),
                )
            ],
            usage=_usage(data),
        )

    def stream_decoder(self, model: str) -> OllamaStreamDecoder:
        return OllamaStreamDecoder(self, model)

    def _decode(self, body: bytes, model: str, *, in_stream: bool = False) -> dict[str, Any]:
        data = self.decode_object(body, model)
        if "error" in data:
            message = str(data["error"])
            if in_stream:  # the model runner failed after the 200: the server's fault
                raise ProviderUnavailableError(
                    message,
                    provider=self.name,
                    model=model,
                    provider_message=message,
                    code=_code(message),
                    body=data,
                )
            raise self.make_error(None, message, code=_code(message), model=model, body=data)
        return data

    # --- embeddings -------------------------------------------------------------------------
    def embed_request(self, request: EmbeddingRequest, model: str) -> HttpRequest:
        body: dict[str, Any] = {"model": model, "input": request.input}
        if request.dimensions is not None:
            body["dimensions"] = request.dimensions
        headers = {**self.headers(), "accept": "application/json"}
        return HttpRequest(
            "POST", f"{self.base_url}/api/embed", headers, pydantic_core.to_json(body)
        )

    def parse_embed(self, response: HttpResponse, model: str) -> EmbeddingResponse:
        data = self._decode(response.body, model)
        vectors = data.get("embeddings")
        if not isinstance(vectors, list):
            raise InvalidResponseError(
                "unexpected embedding body: no 'embeddings' list",
                provider=self.name,
                model=model,
                body=data,
            )
        tokens = int(data.get("prompt_eval_count") or 0)
        return EmbeddingResponse(
            data=[Embedding(index=i, embedding=vector) for i, vector in enumerate(vectors)],
            model=str(data.get("model") or model),
            usage=EmbeddingUsage(prompt_tokens=tokens, total_tokens=tokens),
        )

    # --- errors -----------------------------------------------------------------------------
    def error_details(self, response: HttpResponse) -> tuple[str, str | None, Any]:
        message, code, body = super().error_details(response)
        return message, code or _code(message), body


class OllamaStreamDecoder:
    """NDJSON: one JSON object a line; the last has ``done: true``, the reason and the counts."""

    def __init__(self, provider: OllamaProvider, model: str) -> None:
        self._provider = provider
        self._model = model
        self._lines = LineSplitter()
        self._done = False
        self._started = False
        self._calls = 0
        self._has_calls = False

    def feed(self, data: bytes) -> list[ChatChunk]:
        return [chunk for line in self._lines.feed(data) for chunk in self._line(line)]

    def close(self) -> list[ChatChunk]:
        chunks = self._line(self._lines.close())
        if not self._done:
            raise self._provider.incomplete_stream(self._model)
        return chunks

    def _line(self, line: bytes) -> list[ChatChunk]:
        if not line.strip():
            return []
        data = self._provider._decode(line, self._model, in_stream=True)
        message = data.get("message") or {}
        created = _created(data.get("created_at"))
        model = str(data.get("model") or self._model)
        calls = _tool_calls(message.get("tool_calls"), data.get("created_at"), start=self._calls)
        deltas = [
            ToolCallDelta(
                index=self._calls + position,
                id=call.id,
                type="function",
                function=FunctionDelta(name=call.function.name, arguments=call.function.arguments),
            )
            for position, call in enumerate(calls)
        ]
        self._calls += len(calls)
        self._has_calls = self._has_calls or bool(calls)
        delta = Delta(
            role=None if self._started else "assistant",
            content=message.get("content") or None,
            reasoning_content=message.get("thinking") or None,
            tool_calls=deltas or None,
        )
        chunks = []
        finish = None
        if data.get("done"):
            self._done = True
            finish = _finish_reason(data.get("done_reason"), self._has_calls)
        if (
            delta.content
            or delta.reasoning_content
            or delta.tool_calls
            or finish
            or not self._started
        ):
            chunks.append(
                ChatChunk(
                    created=created,
                    model=model,
                    choices=[ChunkChoice(index=0, delta=delta, finish_reason=finish)],
                )
            )
            self._started = True
        if data.get("done"):
            chunks.append(ChatChunk(created=created, model=model, choices=[], usage=_usage(data)))
        return chunks


def _think(effort: str, model: str) -> bool | str:
    if effort == "none":
        return False
    if model.split("/")[-1].startswith("gpt-oss"):
        return "low" if effort == "minimal" else effort
    return True


def _text(content: str | list[TextPart]) -> str:
    return content if isinstance(content, str) else "\n".join(part.text for part in content)


def _user_message(message: UserMessage, provider: str) -> dict[str, Any]:
    if isinstance(message.content, str):
        return {"role": "user", "content": message.content}
    texts: list[str] = []
    images: list[str] = []
    for part in message.content:
        if isinstance(part, TextPart):
            texts.append(part.text)
        else:
            images.append(_image_data(part, provider, "a user message"))
    entry: dict[str, Any] = {"role": "user", "content": "\n".join(texts)}
    if images:
        entry["images"] = images
    return entry


def _image_data(part: Any, provider: str, where: str) -> str:
    """An image part's base64 data, for a message's ``images``: the only media Ollama takes."""
    if not isinstance(part, ImagePart):
        raise refuse(provider, part, "Ollama's chat takes text and images only", where=where)
    url = part.image_url.url
    header, comma, data = url.partition(",")
    if not (url.startswith("data:") and comma and header.endswith(";base64")):
        raise RequestValidationError("Ollama takes images only as base64 data: URIs, not URLs")
    return data


def _assistant_message(message: AssistantMessage, names: dict[str, str]) -> dict[str, Any]:
    content = message.content
    entry: dict[str, Any] = {
        "role": "assistant",
        "content": "" if content is None else _text(content),
    }
    if message.reasoning_content:
        entry["thinking"] = message.reasoning_content
    calls = []
    for call in message.tool_calls or ():
        names[call.id] = call.function.name
        try:
            arguments = json.loads(call.function.arguments or "{}")
        except ValueError:
            raise RequestValidationError(
                f"tool call {call.id!r} has arguments that are not JSON; Ollama needs an object"
            ) from None
        calls.append({"function": {"name": call.function.name, "arguments": arguments}})
    if calls:
        entry["tool_calls"] = calls
    return entry


def _tool_calls(raw: Any, created_at: Any, *, start: int = 0) -> list[ToolCall]:
    calls = []
    for position, item in enumerate(raw or ()):
        function = item.get("function") or {}
        name = str(function.get("name") or "")
        arguments = function.get("arguments")
        text = (
            arguments
            if isinstance(arguments, str)
            else json.dumps(arguments if arguments is not None else {}, separators=(",", ":"))
        )
        call_id = item.get("id") or _synthetic_id(created_at, start + position, name, text)
        calls.append(ToolCall(id=str(call_id), function=FunctionCall(name=name, arguments=text)))
    return calls


def _synthetic_id(created_at: Any, index: int, name: str, arguments: str) -> str:
    seed = f"{created_at}|{index}|{name}|{arguments}".encode()
    return f"call_{hashlib.sha256(seed).hexdigest()[:24]}"


def _finish_reason(reason: Any, has_calls: bool) -> str:
    if reason == "length":
        return "length"
    return "tool_calls" if has_calls else "stop"


def _usage(data: dict[str, Any]) -> Usage | None:
    if "prompt_eval_count" not in data and "eval_count" not in data:
        return None
    prompt = int(data.get("prompt_eval_count") or 0)
    completion = int(data.get("eval_count") or 0)
    return Usage(
        prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion
    )


def _created(value: Any) -> int:
    if not isinstance(value, str) or len(value) < 19:
        return 0
    try:
        moment = datetime.strptime(value[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)
    except ValueError:
        return 0
    return int(moment.timestamp())


def _code(message: str) -> str | None:
    lowered = message.lower()
    return next((code for phrase, code in _UNSUPPORTED_PHRASES.items() if phrase in lowered), None)
