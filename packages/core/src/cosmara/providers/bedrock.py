"""AWS Bedrock's Converse and ConverseStream APIs, signed with SigV4 (no botocore).

``POST {endpoint}/model/{modelId}/converse`` answers JSON; ``/converse-stream`` answers an
``application/vnd.amazon.eventstream`` of JSON events (``messageStart``, ``contentBlockStart``,
``contentBlockDelta``, ``contentBlockStop``, ``messageStop``, ``metadata``) or exception
frames. Credentials come from the settings (``aws_access_key_id``, ``aws_secret_access_key``,
``aws_session_token``) or the standard ``AWS_*`` variables; the region from ``region`` or
``AWS_REGION`` / ``AWS_DEFAULT_REGION``. A Bedrock API key (``api_key`` or
``AWS_BEARER_TOKEN_BEDROCK``) is sent as a bearer token instead of signing.

Documents (``file`` parts) become ``document`` blocks (``format`` from the file's type: pdf,
csv, doc, docx, xls, xlsx, html, txt, md; ``name`` from its filename, made to Converse's
character rules and unique in the request; ``source.bytes``, or ``source.s3Location`` for an
``s3://`` URL or id); ``input_audio`` and audio files become ``audio`` blocks; image files
``image`` blocks. A tool's images and documents go inside its ``toolResult``. Files by http(s)
URL or by another provider's file id are refused before sending.

Structured output has no native Converse mechanism for every model, so it is a forced tool
whose input is the answer; that input comes back as JSON text content with finish "stop".
Bedrock embeddings use InvokeModel with per-model bodies and are not offered yet.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import Any, ClassVar
from urllib.parse import quote

import pydantic_core

from cosmara._errors import (
    AuthenticationError,
    ContentFilteredError,
    ContextWindowExceededError,
    InvalidResponseError,
    MissingCredentialsError,
    NotFoundError,
    PermissionDeniedError,
    ProviderError,
    ProviderUnavailableError,
    RateLimitError,
    RequestTimeoutError,
    RequestValidationError,
)
from cosmara._media import audio_format_of, parse_data_url
from cosmara._messages import (
    AssistantMessage,
    ChatRequest,
    ContentPart,
    DeveloperMessage,
    FilePart,
    ImagePart,
    InputAudioPart,
    NamedToolChoice,
    SystemMessage,
    TextPart,
    ToolMessage,
    UserMessage,
)
from cosmara._response import (
    ChatResponse,
    Choice,
    CompletionTokensDetails,
    PromptTokensDetails,
    Usage,
)
from cosmara._stream import ChatChunk, ChunkChoice, Delta, FunctionDelta, ToolCallDelta
from cosmara.providers._base import HttpProvider, HttpRequest, HttpResponse
from cosmara.providers._eventstream import EventStreamDecoder, EventStreamError
from cosmara.providers._parts import document_name, refuse, split_tool_content
from cosmara.providers._sigv4 import Credentials, sign_headers

__all__ = ["BedrockProvider", "BedrockStreamDecoder"]

STRUCTURED_TOOL = "cosmara_structured_output"  # the forced tool that carries a JSON answer

_FINISH = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "guardrail_intervened": "content_filter",
    "content_filtered": "content_filter",
}
_IMAGE_FORMATS = {
    "image/png": "png",
    "image/jpeg": "jpeg",
    "image/jpg": "jpeg",
    "image/gif": "gif",
    "image/webp": "webp",
}
_DATA_URI = re.compile(r"^data:(?P<mime>[\w.+-]+/[\w.+-]+);base64,(?P<data>.*)$", re.DOTALL)
_DOCUMENT_FORMATS = {
    "application/pdf": "pdf",
    "text/csv": "csv",
    "application/msword": "doc",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.ms-excel": "xls",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "text/html": "html",
    "text/plain": "txt",
    "text/markdown": "md",
}
# AudioBlock formats Converse lists that input_audio can name (it has no aiff).
_AUDIO_FORMATS = frozenset({"mp3", "opus", "wav", "aac", "flac", "ogg", "m4a", "webm"})
# Settings keys Converse takes as they are (the request's unknown fields pass through too).
_PASSTHROUGH = (
    "additionalModelRequestFields",
    "additionalModelResponseFieldPaths",
    "guardrailConfig",
    "performanceConfig",
    "promptVariables",
    "requestMetadata",
)
# Anthropic extended thinking budgets for reasoning_effort (Converse has no generic knob).
_THINKING_BUDGET = {"low": 1024, "medium": 4096, "high": 16384}
# HTTP status each exception stands for, used for exception frames inside a stream.
_EXCEPTION_STATUS = {
    "ThrottlingException": 429,
    "ServiceQuotaExceededException": 429,
    "AccessDeniedException": 403,
    "ResourceNotFoundException": 404,
    "ValidationException": 400,
    "ModelTimeoutException": 408,
    "ModelErrorException": 424,
    "ModelStreamErrorException": 424,
    "InternalServerException": 500,
    "ServiceUnavailableException": 503,
    "ModelNotReadyException": 429,
}


def _stop_reason(reason: str | None) -> str:
    return _FINISH.get(reason or "", "stop")


def _usage(data: Mapping[str, Any] | None) -> Usage | None:
    """Converse's ``inputTokens`` excludes cache reads and writes; OpenAI's prompt includes them."""
    if not data:
        return None
    cached = int(data.get("cacheReadInputTokens") or 0)
    written = int(data.get("cacheWriteInputTokens") or 0)
    prompt = int(data.get("inputTokens") or 0) + cached + written
    completion = int(data.get("outputTokens") or 0)
    return Usage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=prompt + completion,
        prompt_tokens_details=PromptTokensDetails(cached_tokens=cached, cache_write_tokens=written),
        completion_tokens_details=CompletionTokensDetails(reasoning_tokens=0),
    )


class BedrockProvider(HttpProvider):
    kind = "bedrock"
    api_key_env: ClassVar[str | None] = "AWS_BEARER_TOKEN_BEDROCK"
    settings_fields: ClassVar[frozenset[str]] = frozenset(
        {"region", "aws_access_key_id", "aws_secret_access_key", "aws_session_token", *_PASSTHROUGH}
    )
    signing_service: ClassVar[str] = "bedrock"

    error_codes: ClassVar[Mapping[str, type[ProviderError]]] = {
        "ThrottlingException": RateLimitError,
        "ServiceQuotaExceededException": RateLimitError,
        "AccessDeniedException": PermissionDeniedError,
        "UnrecognizedClientException": AuthenticationError,
        "InvalidSignatureException": AuthenticationError,
        "IncompleteSignatureException": AuthenticationError,
        "MissingAuthenticationTokenException": AuthenticationError,
        "ExpiredTokenException": AuthenticationError,
        "InvalidClientTokenId": AuthenticationError,
        "ResourceNotFoundException": NotFoundError,
        "ServiceUnavailableException": ProviderUnavailableError,
        "ModelNotReadyException": ProviderUnavailableError,
        "InternalServerException": ProviderUnavailableError,
        "ModelErrorException": ProviderUnavailableError,
        "ModelStreamErrorException": ProviderUnavailableError,
        "ModelTimeoutException": RequestTimeoutError,
    }
    error_phrases: ClassVar[Mapping[str, type[ProviderError]]] = {
        **HttpProvider.error_phrases,
        "input is too long": ContextWindowExceededError,
        "prompt is too long": ContextWindowExceededError,
        "too many input tokens": ContextWindowExceededError,
        "blocked by guardrail": ContentFilteredError,
    }
    permanent_codes: ClassVar[frozenset[str]] = frozenset({"ServiceQuotaExceededException"})

    def __init__(self, name: str, settings: Any) -> None:
        super().__init__(name, settings)
        # The signing clock; replace it to sign deterministically (tests, cassette generation).
        self.now: Callable[[], datetime] = lambda: datetime.now(timezone.utc)

    # --- settings ---------------------------------------------------------------------------
    def _setting(self, key: str) -> str | None:
        value = (self.settings.model_extra or {}).get(key)
        if value is None:
            return None
        getter = getattr(value, "get", None)  # credentials-like keys arrive as Secret
        return getter() if callable(getter) else str(value)

    @property
    def region(self) -> str | None:
        return (
            self._setting("region")
            or os.environ.get("AWS_REGION")
            or os.environ.get("AWS_DEFAULT_REGION")
        )

    @property
    def credentials(self) -> Credentials | None:
        key_id = self._setting("aws_access_key_id") or os.environ.get("AWS_ACCESS_KEY_ID")
        secret = self._setting("aws_secret_access_key") or os.environ.get("AWS_SECRET_ACCESS_KEY")
        if not (key_id and secret):
            return None
        token = self._setting("aws_session_token") or os.environ.get("AWS_SESSION_TOKEN")
        return Credentials(key_id, secret, token or None)

    @property
    def has_credentials(self) -> bool:
        return bool(self.region) and (bool(self.api_key) or self.credentials is not None)

    @property
    def credentials_hint(self) -> str:
        return (
            "set AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary "
            "credentials) and AWS_REGION, or configure "
            f"providers.{self.name}.aws_access_key_id, aws_secret_access_key and region"
        )

    @property
    def base_url(self) -> str:
        if self.settings.base_url:
            return self.settings.base_url.rstrip("/")
        region = self.region
        if not region:
            raise MissingCredentialsError(
                f"provider {self.name!r} needs an AWS region: {self.credentials_hint}"
            )
        return f"https://bedrock-runtime.{region}.amazonaws.com"

    # --- request ----------------------------------------------------------------------------
    def chat_url(self, model: str, *, stream: bool) -> str:
        # The model id is one path segment: ':' and '/' (ARNs) are percent-encoded.
        action = "converse-stream" if stream else "converse"
        return f"{self.base_url}/model/{quote(model, safe='')}/{action}"

    def chat_request(self, request: ChatRequest, model: str, *, stream: bool) -> HttpRequest:
        body = pydantic_core.to_json(self.chat_body(request, model))
        url = self.chat_url(model, stream=stream)
        accept = "application/vnd.amazon.eventstream" if stream else "application/json"
        return HttpRequest("POST", url, self.sign("POST", url, body, accept=accept), body)

    def sign(self, method: str, url: str, body: bytes, *, accept: str) -> dict[str, str]:
        """The request headers, signed with SigV4 (or carrying the Bedrock API key)."""
        headers = {"content-type": "application/json", "accept": accept}
        bearer = self.api_key
        credentials = None if bearer else self.credentials
        region = self.region
        if not region or (credentials is None and not bearer):
            raise MissingCredentialsError(
                f"no AWS credentials for provider {self.name!r}: {self.credentials_hint}"
            )
        if bearer:
            headers["authorization"] = f"Bearer {bearer}"
        elif credentials is not None:
            headers = sign_headers(
                method,
                url,
                headers,
                body,
                credentials=credentials,
                region=region,
                service=self.signing_service,
                when=self.now(),
            )
        # Extra configured headers are sent unsigned, so a proxy may still rewrite them.
        return {**self.settings.header_values, **headers}

    def chat_body(self, request: ChatRequest, model: str) -> dict[str, Any]:
        if request.n not in (None, 1):
            raise RequestValidationError("Bedrock Converse returns one choice: n must be 1")
        system, messages = self._messages(request)
        body: dict[str, Any] = {"messages": messages}
        if system:
            body["system"] = system
        inference: dict[str, Any] = {}
        if request.max_tokens is not None:
            inference["maxTokens"] = request.max_tokens
        if request.temperature is not None:
            inference["temperature"] = request.temperature
        if request.top_p is not None:
            inference["topP"] = request.top_p
        if request.stop:
            inference["stopSequences"] = (
                [request.stop] if isinstance(request.stop, str) else list(request.stop)
            )
        if inference:
            body["inferenceConfig"] = inference
        tool_config = self._tool_config(request, messages)
        if tool_config:
            body["toolConfig"] = tool_config
        extra = {**(request.model_extra or {})}
        for key in _PASSTHROUGH:
            value = extra.get(key, (self.settings.model_extra or {}).get(key))
            if value is not None:
                body[key] = value
        if request.reasoning_effort in _THINKING_BUDGET and "anthropic." in model:
            fields = {**body.get("additionalModelRequestFields", {})}
            fields.setdefault(
                "thinking",
                {"type": "enabled", "budget_tokens": _THINKING_BUDGET[request.reasoning_effort]},
            )
            body["additionalModelRequestFields"] = fields
        return body

    def _messages(self, request: ChatRequest) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        system: list[dict[str, Any]] = []
        turns: list[dict[str, Any]] = []

        names: set[str] = set()  # document names, unique in a request

        def add(role: str, blocks: list[dict[str, Any]]) -> None:
            if turns and turns[-1]["role"] == role:  # Converse wants roles to alternate
                turns[-1]["content"].extend(blocks)
            else:
                turns.append({"role": role, "content": blocks})

        for message in request.messages:
            if isinstance(message, SystemMessage | DeveloperMessage):
                text = _text(message.content)
                if text:
                    system.append({"text": text})
            elif isinstance(message, UserMessage):
                blocks = _user_blocks(message.content, self.name, names)
                if not blocks:
                    raise RequestValidationError("a user message needs text or an image")
                add("user", blocks)
            elif isinstance(message, ToolMessage):
                texts, media = split_tool_content(message)
                text = _text(texts)
                blocks = [_media_block(part, self.name, "a tool result", names) for part in media]
                if text or not blocks:  # Converse rejects an empty text block beside media
                    blocks.insert(0, {"text": text})
                result = {"toolUseId": message.tool_call_id, "content": blocks}
                status = (message.model_extra or {}).get("status")
                if status in ("success", "error"):
                    result["status"] = status
                add("user", [{"toolResult": result}])
            elif isinstance(message, AssistantMessage):
                blocks = _assistant_blocks(message)
                if blocks:
                    add("assistant", blocks)
        if not turns:
            raise RequestValidationError("Bedrock Converse needs at least one user message")
        return system, turns

    def _tool_config(
        self, request: ChatRequest, messages: list[dict[str, Any]]
    ) -> dict[str, Any] | None:
        tools = [
            {
                "toolSpec": {
                    "name": tool.function.name,
                    **(
                        {"description": tool.function.description}
                        if tool.function.description
                        else {}
                    ),
                    "inputSchema": {"json": tool.function.parameters},
                }
            }
            for tool in request.tools or ()
        ]
        if any(tool["toolSpec"]["name"] == STRUCTURED_TOOL for tool in tools):
            raise RequestValidationError(f"the tool name {STRUCTURED_TOOL!r} is reserved")
        choice: dict[str, Any] | None = None
        if isinstance(request.tool_choice, NamedToolChoice):
            choice = {"tool": {"name": request.tool_choice.function.name}}
        elif request.tool_choice == "required":
            choice = {"any": {}}
        elif request.tool_choice == "auto":
            choice = {"auto": {}}
        fmt = request.response_format
        if fmt is not None and fmt.type != "text":
            if tools:
                raise RequestValidationError(
                    "Bedrock structured output uses a forced tool: it cannot be combined "
                    "with the request's own tools"
                )
            if fmt.json_schema is not None:
                schema = fmt.json_schema.schema_
                description = fmt.json_schema.description or fmt.json_schema.name
            else:
                schema, description = {"type": "object"}, "a JSON object"
            tools = [
                {
                    "toolSpec": {
                        "name": STRUCTURED_TOOL,
                        "description": f"Give the final answer as this tool's input: {description}",
                        "inputSchema": {"json": schema},
                    }
                }
            ]
            choice = {"tool": {"name": STRUCTURED_TOOL}}
        if not tools:
            return None
        if request.tool_choice == "none":
            # Converse cannot forbid tool use; it needs the tools only when the history uses them.
            if not _history_uses_tools(messages):
                return None
            choice = None
        return {"tools": tools, **({"toolChoice": choice} if choice else {})}

    # --- responses --------------------------------------------------------------------------
    def parse_chat(self, response: HttpResponse, model: str) -> ChatResponse:
        try:
            data = json.loads(response.body)
            blocks = data["output"]["message"]["content"]
        except (ValueError, KeyError, TypeError):
            raise InvalidResponseError(
                "unexpected Converse response body",
                provider=self.name,
                model=model,
                body=response.body[:2000].decode("utf-8", errors="replace"),
            ) from None
        texts: list[str] = []
        reasoning: list[str] = []
        signature: str | None = None
        calls: list[dict[str, Any]] = []
        structured: str | None = None
        for block in blocks or ():
            if "text" in block:
                texts.append(block["text"])
            elif "toolUse" in block:
                use = block["toolUse"]
                arguments = json.dumps(use.get("input", {}), ensure_ascii=False)
                if use.get("name") == STRUCTURED_TOOL:
                    structured = arguments
                else:
                    calls.append(
                        {
                            "id": use["toolUseId"],
                            "type": "function",
                            "function": {"name": use["name"], "arguments": arguments},
                        }
                    )
            elif "reasoningContent" in block:
                text_block = block["reasoningContent"].get("reasoningText") or {}
                reasoning.append(text_block.get("text", ""))
                signature = text_block.get("signature") or signature
        finish = _stop_reason(data.get("stopReason"))
        if structured is not None:
            texts, finish = [structured], ("stop" if finish == "tool_calls" else finish)
        message: dict[str, Any] = {
            "role": "assistant",
            "content": "".join(texts) if texts or not calls else None,
            "tool_calls": calls or None,
            "reasoning_content": "".join(reasoning) or None,
        }
        if signature:
            message["reasoning_signature"] = signature
        return ChatResponse(
            id=self.request_id(response.headers) or "",
            created=_created(response.headers),
            model=model,
            choices=[
                Choice(message=AssistantMessage.model_validate(message), finish_reason=finish)
            ],
            usage=_usage(data.get("usage")),
        )

    def stream_decoder(self, model: str) -> BedrockStreamDecoder:
        return BedrockStreamDecoder(self, model)

    # --- errors -----------------------------------------------------------------------------
    def error_details(self, response: HttpResponse) -> tuple[str, str | None, Any]:
        message, code, body = super().error_details(response)
        if isinstance(body, dict) and isinstance(body.get("Message"), str):
            message = body["Message"]
        header = response.headers.get("x-amzn-errortype") or response.headers.get(
            "x-amzn-ErrorType"
        )
        if header:
            code = header.split(":", 1)[0]
        elif isinstance(body, dict) and isinstance(body.get("__type"), str):
            code = body["__type"].rsplit("#", 1)[-1]
        return message, code, body

    def stream_error(self, kind: str, message: str, model: str, body: Any) -> ProviderError:
        """The typed error for an exception frame (``throttlingException``...)."""
        code = kind[:1].upper() + kind[1:]
        return self.make_error(
            _EXCEPTION_STATUS.get(code, 500), message, code=code, model=model, body=body
        )

    def request_id(self, headers: Mapping[str, str]) -> str | None:
        return headers.get("x-amzn-requestid") or super().request_id(headers)


def _created(headers: Mapping[str, str]) -> int:
    value = headers.get("date")
    if not value:
        return 0
    import email.utils

    try:
        return int(email.utils.parsedate_to_datetime(value).timestamp())
    except (TypeError, ValueError):
        return 0


def _text(content: str | list[TextPart]) -> str:
    return content if isinstance(content, str) else "".join(part.text for part in content)


def _user_blocks(
    content: str | list[ContentPart], provider: str, names: set[str]
) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"text": content}] if content else []
    blocks: list[dict[str, Any]] = []
    for part in content:
        if isinstance(part, TextPart):
            if part.text:
                blocks.append({"text": part.text})
            continue
        blocks.append(_media_block(part, provider, "a user message", names))
    return blocks


def _media_block(part: Any, provider: str, where: str, names: set[str]) -> dict[str, Any]:
    if isinstance(part, ImagePart):
        return _image_block(part)
    if isinstance(part, InputAudioPart):
        audio = part.input_audio
        if audio.format not in _AUDIO_FORMATS:
            raise refuse(provider, part, "Converse has no aiff audio format", where=where)
        source = {"bytes": _checked_base64(audio.data, "the audio")}
        return {"audio": {"format": audio.format, "source": source}}
    assert isinstance(part, FilePart)
    file = part.file
    mime = file.media_type
    source = _file_source(part, provider, where)
    if mime in _IMAGE_FORMATS:
        return {"image": {"format": _IMAGE_FORMATS[mime], "source": source}}
    audio_format = audio_format_of(mime)
    if audio_format is not None:
        if where == "a tool result" or audio_format not in _AUDIO_FORMATS:
            raise refuse(provider, part, "Converse takes no such audio here", where=where)
        return {"audio": {"format": audio_format, "source": source}}
    document_format = _DOCUMENT_FORMATS.get(mime or "")
    if document_format is None:
        raise refuse(
            provider,
            part,
            "Converse reads pdf, csv, doc, docx, xls, xlsx, html, txt and md documents",
            where=where,
        )
    name = document_name(file.filename, names)
    return {"document": {"format": document_format, "name": name, "source": source}}


def _file_source(part: FilePart, provider: str, where: str) -> dict[str, Any]:
    """Converse's source union: the bytes (base64 in JSON), or an S3 object."""
    file = part.file
    if file.file_data is not None:
        parsed = parse_data_url(file.file_data)
        assert parsed is not None  # the vocabulary checked it
        return {"bytes": _checked_base64(parsed.data, "the file's data: URL")}
    location = file.file_url if file.file_url is not None else file.file_id
    if location is None or not location.startswith("s3://"):
        raise refuse(
            provider, part, "Converse takes files inline or from an s3:// location", where=where
        )
    return {"s3Location": {"uri": location}}


def _checked_base64(data: str, what: str) -> str:
    data = data.strip()
    try:
        base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise RequestValidationError(f"{what} is not valid base64") from None
    return data


def _image_block(part: ImagePart) -> dict[str, Any]:
    match = _DATA_URI.match(part.image_url.url)
    if match is None:
        raise RequestValidationError("Bedrock Converse takes images as base64 data: URIs, not URLs")
    image_format = _IMAGE_FORMATS.get(match["mime"].lower())
    if image_format is None:
        raise RequestValidationError(
            f"Bedrock Converse does not accept {match['mime']} images (png, jpeg, gif or webp only)"
        )
    source = {"bytes": _checked_base64(match["data"], "the image data: URI")}
    return {"image": {"format": image_format, "source": source}}


def _assistant_blocks(message: AssistantMessage) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    signature = (message.model_extra or {}).get("reasoning_signature")
    if message.reasoning_content and signature:
        # Anthropic's thinking must go back, signed, before the tool calls it led to.
        blocks.append(
            {
                "reasoningContent": {
                    "reasoningText": {"text": message.reasoning_content, "signature": signature}
                }
            }
        )
    if message.content:
        text = _text(message.content)
        if text:
            blocks.append({"text": text})
    for call in message.tool_calls or ():
        try:
            arguments = json.loads(call.function.arguments or "{}")
        except ValueError:
            raise RequestValidationError(
                f"tool call {call.id!r} has arguments that are not JSON"
            ) from None
        if not isinstance(arguments, dict):
            raise RequestValidationError(f"tool call {call.id!r} arguments must be a JSON object")
        blocks.append(
            {"toolUse": {"toolUseId": call.id, "name": call.function.name, "input": arguments}}
        )
    return blocks


def _history_uses_tools(messages: list[dict[str, Any]]) -> bool:
    return any(
        "toolUse" in block or "toolResult" in block
        for message in messages
        for block in message["content"]
    )


class BedrockStreamDecoder:
    """ConverseStream's event-stream frames, turned into ``chat.completion.chunk`` chunks."""

    def __init__(self, provider: BedrockProvider, model: str) -> None:
        self._provider = provider
        self._model = model
        self._frames = EventStreamDecoder()
        self._tools: dict[int, int] = {}  # contentBlockIndex -> tool-call index
        self._structured: set[int] = set()  # blocks carrying the structured-output answer
        self._stopped = False

    def feed(self, data: bytes) -> list[ChatChunk]:
        try:
            frames = self._frames.feed(data)
        except EventStreamError as error:
            raise InvalidResponseError(
                f"malformed ConverseStream body: {error}",
                provider=self._provider.name,
                model=self._model,
            ) from None
        chunks: list[ChatChunk] = []
        for frame in frames:
            try:
                payload = json.loads(frame.payload) if frame.payload else {}
            except ValueError:
                payload = {"message": frame.payload.decode("utf-8", errors="replace")}
            kind = frame.header(":message-type") or "event"
            if kind == "exception":
                raise self._provider.stream_error(
                    frame.header(":exception-type") or "InternalServerException",
                    str(payload.get("message") or payload.get("Message") or ""),
                    self._model,
                    payload,
                )
            if kind == "error":
                raise self._provider.stream_error(
                    frame.header(":error-code") or "InternalServerException",
                    frame.header(":error-message") or "",
                    self._model,
                    payload,
                )
            chunk = self._chunk(frame.header(":event-type") or "", payload)
            if chunk is not None:
                chunks.append(chunk)
        return chunks

    def close(self) -> list[ChatChunk]:
        if not self._stopped or self._frames.pending:
            raise self._provider.incomplete_stream(self._model)
        return []

    def _make(self, delta: Delta, finish: str | None = None) -> ChatChunk:
        return ChatChunk(
            model=self._model, choices=[ChunkChoice(delta=delta, finish_reason=finish)]
        )

    def _chunk(self, event: str, payload: dict[str, Any]) -> ChatChunk | None:
        block = payload.get("contentBlockIndex", 0)
        if event == "messageStart":
            return self._make(Delta(role="assistant"))
        if event == "contentBlockStart":
            use = (payload.get("start") or {}).get("toolUse")
            if not use:
                return None
            if use.get("name") == STRUCTURED_TOOL:
                self._structured.add(block)
                return None
            index = self._tools[block] = len(self._tools)
            call = ToolCallDelta(
                index=index,
                id=use.get("toolUseId"),
                type="function",
                function=FunctionDelta(name=use.get("name"), arguments=""),
            )
            return self._make(Delta(tool_calls=[call]))
        if event == "contentBlockDelta":
            delta = payload.get("delta") or {}
            if "text" in delta:
                return self._make(Delta(content=delta["text"]))
            if "toolUse" in delta:
                fragment = delta["toolUse"].get("input", "")
                if block in self._structured:
                    return self._make(Delta(content=fragment))
                if block not in self._tools:
                    return None
                call = ToolCallDelta(
                    index=self._tools[block], function=FunctionDelta(arguments=fragment)
                )
                return self._make(Delta(tool_calls=[call]))
            reasoning = delta.get("reasoningContent")
            if isinstance(reasoning, dict):
                if reasoning.get("text"):
                    return self._make(Delta(reasoning_content=reasoning["text"]))
                if reasoning.get("signature"):
                    return self._make(
                        Delta.model_validate({"reasoning_signature": reasoning["signature"]})
                    )
            return None
        if event == "messageStop":
            self._stopped = True
            finish = _stop_reason(payload.get("stopReason"))
            if self._structured and finish == "tool_calls":
                finish = "stop"
            return self._make(Delta(), finish)
        if event == "metadata":
            usage = _usage(payload.get("usage"))
            return ChatChunk(model=self._model, choices=[], usage=usage) if usage else None
        return None  # contentBlockStop and events added later carry nothing to pass on
