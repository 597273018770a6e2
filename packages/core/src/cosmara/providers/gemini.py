"""Google Gemini API (``generativelanguage.googleapis.com``, v1beta) as a native provider.

Wire mapping, in both directions:

- ``POST {base}/v1beta/models/{model}:generateContent``; streamed requests go to
  ``:streamGenerateContent?alt=sse``. The stream decoder also reads the JSON-array stream that
  ``:streamGenerateContent`` sends without ``alt=sse`` (detected from the first byte).
- Embeddings: ``:batchEmbedContents``, ``dimensions`` -> ``outputDimensionality``.
- The key (``GEMINI_API_KEY``, else ``GOOGLE_API_KEY``) goes in the ``x-goog-api-key`` header,
  never in the URL.
- System and developer messages -> ``systemInstruction``; ``assistant`` -> role ``model``;
  tool results -> ``functionResponse`` parts (named after the call they answer, found by
  ``tool_call_id`` in the earlier assistant turn) in one ``user`` turn.
- Images: ``data:`` URIs -> ``inlineData``; other URLs -> ``fileData``. ``file`` parts (PDFs,
  text, audio, any type Gemini reads) the same way: inline data -> ``inlineData``, a URL or a
  file id (a Files API URI) -> ``fileData`` with its ``mimeType``; ``input_audio`` ->
  ``inlineData`` with Gemini's audio MIME type. Images and files a tool returned follow the
  ``functionResponse`` parts in the same ``user`` turn.
- Gemini gives function calls no id (except where it sends ``id``, which is kept): the id is
  synthesised as ``call_<index>_<name>``, stable between streamed and unstreamed answers, and
  not sent back. A call's ``thoughtSignature`` is kept as ``thought_signature`` on the
  ``ToolCall`` (and on the first delta of a streamed call) and sent back on its
  ``functionCall`` part; a signature on a text part is kept as ``thought_signature`` on the
  message. ``thought: true`` parts -> ``reasoning_content`` (never sent back).
- ``reasoning_effort`` -> ``generationConfig.thinkingConfig`` (with ``includeThoughts``): for
  gemini-3 models ``thinkingLevel`` (none/minimal -> ``minimal``, low, medium, high as named);
  for earlier models ``thinkingBudget`` (none 0, minimal 512, low 1024, medium 8192,
  high 24576 tokens).
- Usage in OpenAI accounting: prompt = ``promptTokenCount`` (+ ``toolUsePromptTokenCount``),
  cached = ``cachedContentTokenCount``; completion = ``candidatesTokenCount`` +
  ``thoughtsTokenCount``, reasoning = ``thoughtsTokenCount``.
"""

from __future__ import annotations

import json
import mimetypes
import re
from collections.abc import Mapping
from typing import Any, ClassVar

import pydantic_core

from cosmara._embeddings import Embedding, EmbeddingRequest, EmbeddingResponse, EmbeddingUsage
from cosmara._errors import (
    AuthenticationError,
    ContentFilteredError,
    ContextWindowExceededError,
    InvalidResponseError,
    PermissionDeniedError,
    ProviderConnectionError,
    ProviderError,
    RateLimitError,
    RequestValidationError,
)
from cosmara._messages import (
    AssistantMessage,
    ChatRequest,
    DeveloperMessage,
    FilePart,
    ImagePart,
    InputAudioPart,
    NamedToolChoice,
    SystemMessage,
    TextPart,
    ToolCall,
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
from cosmara._sse import SSEDecoder
from cosmara._stream import ChatChunk, ChunkChoice, Delta, ToolCallDelta
from cosmara.providers._base import HttpProvider, HttpRequest, HttpResponse
from cosmara.providers._parts import refuse, split_tool_content

__all__ = ["GeminiProvider", "GeminiStreamDecoder"]

API_VERSION = "v1beta"

_FILTERED = frozenset(
    {"SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY"}
)
_FINISH = {"MAX_TOKENS": "length"}

# Thinking budgets (tokens) for models before gemini-3, which take a budget, not a level.
_THINKING_BUDGET = {"none": 0, "minimal": 512, "low": 1024, "medium": 8192, "high": 24576}
_THINKING_LEVEL = {
    "none": "minimal",
    "minimal": "minimal",
    "low": "low",
    "medium": "medium",
    "high": "high",
}

# Keys of Gemini's OpenAPI-subset ``Schema``; a tool schema using others is sent as
# ``parametersJsonSchema`` (full JSON Schema) instead of ``parameters``.
_SCHEMA_KEYS = frozenset(
    {
        "type",
        "format",
        "title",
        "description",
        "nullable",
        "enum",
        "maxItems",
        "minItems",
        "properties",
        "required",
        "minProperties",
        "maxProperties",
        "minLength",
        "maxLength",
        "pattern",
        "example",
        "anyOf",
        "propertyOrdering",
        "default",
        "items",
        "minimum",
        "maximum",
    }
)

# Request extras that are Gemini's own top-level fields, passed through untouched.
_PASSTHROUGH = ("safetySettings", "cachedContent", "labels", "serviceTier")

_DATA_URI = re.compile(
    r"^data:(?P<mime>[\w.+-]+/[\w.+-]+)?(?P<params>(;[^,;]+)*),(?P<data>.*)$", re.S
)
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)s\s*$")


def _synthetic_id(index: int, name: str) -> str:
    return f"call_{index}_{name}"


def _is_synthetic(call_id: str, name: str) -> bool:
    return re.fullmatch(rf"call_\d+_{re.escape(name)}", call_id) is not None


def _text_of(content: str | list[TextPart]) -> str:
    return content if isinstance(content, str) else "".join(part.text for part in content)


# input_audio formats Gemini documents, with the MIME types it names them by.
_AUDIO_MIME = {
    "wav": "audio/wav",
    "mp3": "audio/mp3",
    "aiff": "audio/aiff",
    "aac": "audio/aac",
    "ogg": "audio/ogg",
    "flac": "audio/flac",
}


class GeminiProvider(HttpProvider):
    """Settings: ``api_key`` (or ``GEMINI_API_KEY`` / ``GOOGLE_API_KEY``), ``base_url``."""

    kind = "gemini"
    default_base_url: ClassVar[str | None] = "https://generativelanguage.googleapis.com"
    base_url_env: ClassVar[str | None] = "GEMINI_BASE_URL"
    api_key_env: ClassVar[str | None] = "GEMINI_API_KEY"
    fallback_api_key_env: ClassVar[str] = "GOOGLE_API_KEY"

    error_codes: ClassVar[Mapping[str, type[ProviderError]]] = {
        **HttpProvider.error_codes,
        "API_KEY_INVALID": AuthenticationError,
        "API_KEY_EXPIRED": AuthenticationError,
        "UNAUTHENTICATED": AuthenticationError,
        "PERMISSION_DENIED": PermissionDeniedError,
        "RESOURCE_EXHAUSTED": RateLimitError,
    }
    error_phrases: ClassVar[Mapping[str, type[ProviderError]]] = {
        **HttpProvider.error_phrases,
        "exceeds the maximum number of tokens": ContextWindowExceededError,
    }

    @property
    def credentials_hint(self) -> str:
        return (
            f"set {self.api_key_env} (or {self.fallback_api_key_env}) "
            f"or configure providers.{self.name}.api_key"
        )

    # --- request ----------------------------------------------------------------------------
    def headers(self) -> dict[str, str]:
        headers = {"content-type": "application/json", "accept": "application/json"}
        key = self.api_key
        if key:
            headers["x-goog-api-key"] = key
        headers.update(self.settings.header_values)
        return headers

    def model_url(self, model: str, method: str) -> str:
        base = self.base_url
        if not re.search(r"/v1(beta\d*|alpha\d*)?$", base):
            base = f"{base}/{API_VERSION}"
        return f"{base}/models/{model.removeprefix('models/')}:{method}"

    def chat_request(self, request: ChatRequest, model: str, *, stream: bool) -> HttpRequest:
        body = self.chat_body(request, model)
        if stream:
            url, params = self.model_url(model, "streamGenerateContent"), {"alt": "sse"}
        else:
            url, params = self.model_url(model, "generateContent"), None
        return HttpRequest("POST", url, self.headers(), pydantic_core.to_json(body), params)

    def chat_body(self, request: ChatRequest, model: str) -> dict[str, Any]:
        system: list[dict[str, Any]] = []
        contents: list[dict[str, Any]] = []
        names: dict[str, str] = {}  # tool_call_id -> function name, from earlier turns
        for message in request.messages:
            if isinstance(message, SystemMessage | DeveloperMessage):
                system.append({"text": _text_of(message.content)})
            elif isinstance(message, UserMessage):
                contents.append({"role": "user", "parts": self._user_parts(message)})
            elif isinstance(message, AssistantMessage):
                parts = self._model_parts(message, names)
                if parts:
                    contents.append({"role": "model", "parts": parts})
            elif isinstance(message, ToolMessage):
                part = self._function_response(message, names)
                media = [
                    self._media_part(item, "a tool result")
                    for item in split_tool_content(message)[1]
                ]
                previous = contents[-1] if contents else None
                if previous is not None and "_media" in previous:
                    previous["parts"].append(part)
                    previous["_media"].extend(media)
                else:
                    contents.append({"role": "user", "parts": [part], "_media": media})
        for content in contents:
            # A tool's images and files go after the turn's function responses.
            content["parts"].extend(content.pop("_media", ()))
        if not contents:
            raise RequestValidationError("Gemini needs at least one user or assistant message")
        body: dict[str, Any] = {"contents": contents}
        if system:
            body["systemInstruction"] = {"parts": system}
        if request.tools:
            body["tools"] = [
                {"functionDeclarations": [self._declaration(tool) for tool in request.tools]}
            ]
        if request.tool_choice is not None:
            body["toolConfig"] = {"functionCallingConfig": self._calling_config(request)}
        config = self._generation_config(request, model)
        if config:
            body["generationConfig"] = config
        extra = request.model_extra or {}
        for key in _PASSTHROUGH:
            if key in extra:
                body[key] = extra[key]
        return body

    def _user_parts(self, message: UserMessage) -> list[dict[str, Any]]:
        if isinstance(message.content, str):
            return [{"text": message.content}]
        parts: list[dict[str, Any]] = []
        for part in message.content:
            if isinstance(part, TextPart):
                parts.append({"text": part.text})
            else:
                parts.append(self._media_part(part, "a user message"))
        if not parts:
            raise RequestValidationError("a user message for Gemini needs at least one part")
        return parts

    def _media_part(self, part: Any, where: str) -> dict[str, Any]:
        if isinstance(part, ImagePart):
            return self._image_part(part.image_url.url)
        if isinstance(part, InputAudioPart):
            mime = _AUDIO_MIME.get(part.input_audio.format)
            if mime is None:
                known = ", ".join(sorted(_AUDIO_MIME))
                raise refuse(self.name, part, f"Gemini takes {known} audio", where=where)
            return {"inlineData": {"mimeType": mime, "data": part.input_audio.data}}
        assert isinstance(part, FilePart)
        file = part.file
        if file.file_data is not None:
            return self._image_part(file.file_data)  # a data: URL, whatever its type
        mime = file.media_type
        if mime is None:
            raise refuse(
                self.name,
                part,
                "Gemini needs the file's type: give mime_type, or a filename or URL that "
                "ends in a known extension",
                where=where,
            )
        uri = file.file_url if file.file_url is not None else file.file_id
        return {"fileData": {"mimeType": mime, "fileUri": uri}}

    @staticmethod
    def _image_part(url: str) -> dict[str, Any]:
        if url.startswith("data:"):
            match = _DATA_URI.match(url)
            if match is None or ";base64" not in match.group("params") or not match.group("mime"):
                raise RequestValidationError(
                    "Gemini takes data: URIs only as base64 with a MIME type "
                    "(data:<mime>;base64,<data>)"
                )
            return {"inlineData": {"mimeType": match.group("mime"), "data": match.group("data")}}
        file_data: dict[str, Any] = {"fileUri": url}
        mime, _ = mimetypes.guess_type(url.split("?", 1)[0])
        if mime:
            file_data["mimeType"] = mime
        return {"fileData": file_data}

    @staticmethod
    def _model_parts(message: AssistantMessage, names: dict[str, str]) -> list[dict[str, Any]]:
        parts: list[dict[str, Any]] = []
        text = _text_of(message.content) if message.content is not None else ""
        if text:
            part: dict[str, Any] = {"text": text}
            signature = (message.model_extra or {}).get("thought_signature")
            if isinstance(signature, str) and signature:
                part["thoughtSignature"] = signature
            parts.append(part)
        for call in message.tool_calls or ():
            name = call.function.name
            names[call.id] = name
            try:
                args = json.loads(call.function.arguments) if call.function.arguments else {}
            except ValueError:
                raise RequestValidationError(
                    f"tool call {call.id!r} has arguments that are not JSON"
                ) from None
            if not isinstance(args, dict):
                raise RequestValidationError(
                    f"tool call {call.id!r}: Gemini needs arguments that are a JSON object"
                )
            function_call: dict[str, Any] = {"name": name, "args": args}
            if not _is_synthetic(call.id, name):
                function_call["id"] = call.id
            call_part: dict[str, Any] = {"functionCall": function_call}
            signature = (call.model_extra or {}).get("thought_signature")
            if isinstance(signature, str) and signature:
                call_part["thoughtSignature"] = signature
            parts.append(call_part)
        return parts

    @staticmethod
    def _function_response(message: ToolMessage, names: dict[str, str]) -> dict[str, Any]:
        name = names.get(message.tool_call_id)
        if name is None:
            raise RequestValidationError(
                f"tool message answers tool_call_id {message.tool_call_id!r}, which no earlier "
                "assistant message called; Gemini needs the function's name"
            )
        text = _text_of(split_tool_content(message)[0])
        response: dict[str, Any] = {"name": name, "response": {"output": text}}
        if not _is_synthetic(message.tool_call_id, name):
            response["id"] = message.tool_call_id
        return {"functionResponse": response}

    @staticmethod
    def _declaration(tool: Any) -> dict[str, Any]:
        function = tool.function
        declaration: dict[str, Any] = {"name": function.name}
        if function.description:
            declaration["description"] = function.description
        schema = function.parameters
        if _fits_schema_subset(schema):
            declaration["parameters"] = schema
        else:
            declaration["parametersJsonSchema"] = schema
        return declaration

    @staticmethod
    def _calling_config(request: ChatRequest) -> dict[str, Any]:
        choice = request.tool_choice
        if isinstance(choice, NamedToolChoice):
            return {"mode": "ANY", "allowedFunctionNames": [choice.function.name]}
        return {"mode": {"auto": "AUTO", "required": "ANY", "none": "NONE"}[str(choice)]}

    @staticmethod
    def _generation_config(request: ChatRequest, model: str) -> dict[str, Any]:
        config: dict[str, Any] = {}
        if request.temperature is not None:
            config["temperature"] = request.temperature
        if request.top_p is not None:
            config["topP"] = request.top_p
        extra = request.model_extra or {}
        if extra.get("top_k") is not None:
            config["topK"] = extra["top_k"]
        if request.max_tokens is not None:
            config["maxOutputTokens"] = request.max_tokens
        if request.stop is not None:
            config["stopSequences"] = (
                [request.stop] if isinstance(request.stop, str) else request.stop
            )
        if request.seed is not None:
            config["seed"] = request.seed
        if request.n is not None:
            config["candidateCount"] = request.n
        response_format = request.response_format
        if response_format is not None and response_format.type != "text":
            config["responseMimeType"] = "application/json"
            if response_format.json_schema is not None:
                config["responseJsonSchema"] = response_format.json_schema.schema_
        effort = request.reasoning_effort
        if effort is not None:
            name = model.removeprefix("models/")
            thinking: dict[str, Any]
            if name.startswith("gemini-3"):
                thinking = {"thinkingLevel": _THINKING_LEVEL[effort]}
            else:
                thinking = {"thinkingBudget": _THINKING_BUDGET[effort]}
            if effort != "none":
                thinking["includeThoughts"] = True
            config["thinkingConfig"] = thinking
        own = extra.get("generationConfig")
        if isinstance(own, dict):
            config.update(own)
        return config

    # --- responses --------------------------------------------------------------------------
    def parse_chat(self, response: HttpResponse, model: str) -> ChatResponse:
        data = self._decode(response.body, model)
        self.check_blocked(data, model)
        candidates = data.get("candidates")
        if not isinstance(candidates, list) or not candidates:
            raise InvalidResponseError(
                "Gemini answered without candidates",
                provider=self.name,
                model=model,
                body=response.body[:2000].decode("utf-8", errors="replace"),
            )
        choices = [
            self._choice(candidate, position) for position, candidate in enumerate(candidates)
        ]
        return ChatResponse(
            id=str(data.get("responseId") or ""),
            model=str(data.get("modelVersion") or model),
            choices=choices,
            usage=usage_from(data.get("usageMetadata")),
        )

    def _choice(self, candidate: dict[str, Any], position: int) -> Choice:
        text: list[str] = []
        reasoning: list[str] = []
        calls: list[ToolCall] = []
        signature: str | None = None
        for part in (candidate.get("content") or {}).get("parts") or ():
            if "functionCall" in part:
                calls.append(ToolCall.model_validate(_tool_call(part, len(calls))))
            elif "text" in part:
                (reasoning if part.get("thought") else text).append(part["text"])
                if part.get("thoughtSignature") and not part.get("thought") and signature is None:
                    signature = part["thoughtSignature"]
        message: dict[str, Any] = {
            "content": "".join(text) or (None if calls else ""),
            "tool_calls": calls or None,
            "reasoning_content": "".join(reasoning) or None,
        }
        if signature:
            message["thought_signature"] = signature
        return Choice(
            index=int(candidate.get("index", position)),
            message=AssistantMessage.model_validate(message),
            finish_reason=finish_reason(candidate.get("finishReason"), bool(calls)),
        )

    def _decode(self, body: bytes, model: str) -> dict[str, Any]:
        data = self.decode_object(body, model)
        if isinstance(data.get("error"), dict):
            raise self.error_from_body(data, model)
        return data

    def check_blocked(self, data: dict[str, Any], model: str) -> None:
        feedback = data.get("promptFeedback") or {}
        reason = feedback.get("blockReason") if isinstance(feedback, dict) else None
        if reason and not data.get("candidates"):
            message = feedback.get("blockReasonMessage") or f"prompt blocked by Gemini: {reason}"
            raise ContentFilteredError(
                str(message),
                provider=self.name,
                model=model,
                status_code=200,
                provider_message=str(message),
                code=str(reason),
                body=data,
            )

    def stream_decoder(self, model: str) -> GeminiStreamDecoder:
        return GeminiStreamDecoder(self, model)

    # --- embeddings -------------------------------------------------------------------------
    def embed_request(self, request: EmbeddingRequest, model: str) -> HttpRequest:
        name = model.removeprefix("models/")
        extra = request.model_extra or {}
        task = extra.get("task_type") or extra.get("taskType")
        requests = []
        for text in request.input:
            item: dict[str, Any] = {
                "model": f"models/{name}",
                "content": {"parts": [{"text": text}]},
            }
            if task:
                item["taskType"] = task
            if request.dimensions is not None:
                item["outputDimensionality"] = request.dimensions
            requests.append(item)
        return HttpRequest(
            "POST",
            self.model_url(name, "batchEmbedContents"),
            self.headers(),
            pydantic_core.to_json({"requests": requests}),
        )

    def parse_embed(self, response: HttpResponse, model: str) -> EmbeddingResponse:
        data = self._decode(response.body, model)
        embeddings = data.get("embeddings")
        if not isinstance(embeddings, list):
            raise InvalidResponseError(
                "Gemini answered without embeddings", provider=self.name, model=model
            )
        usage = None
        metadata = data.get("usageMetadata")
        if isinstance(metadata, dict) and metadata.get("promptTokenCount") is not None:
            tokens = int(metadata["promptTokenCount"])
            usage = EmbeddingUsage(prompt_tokens=tokens, total_tokens=tokens)
        return EmbeddingResponse(
            data=[
                Embedding(index=index, embedding=item.get("values") or [])
                for index, item in enumerate(embeddings)
            ],
            model=model,
            usage=usage,
        )

    # --- errors -----------------------------------------------------------------------------
    def error_details(self, response: HttpResponse) -> tuple[str, str | None, Any]:
        """Google's ``{"error": {code, message, status, details}}``; code = the ErrorInfo
        reason (``API_KEY_INVALID``) when given, else the status (``RESOURCE_EXHAUSTED``)."""
        text = response.body.decode("utf-8", errors="replace").strip()
        if text.startswith("data:"):  # an error framed as an SSE event
            text = "\n".join(
                line[5:].strip() for line in text.splitlines() if line.startswith("data:")
            )
        try:
            body: Any = json.loads(text)
        except ValueError:
            return text or f"HTTP {response.status}", None, text
        if isinstance(body, list) and body and isinstance(body[0], dict):
            body = body[0]  # the JSON-array stream wraps an error in an array
        error = body.get("error") if isinstance(body, dict) else None
        if not isinstance(error, dict):
            return super().error_details(
                HttpResponse(response.status, response.headers, text.encode())
            )
        message = str(error.get("message") or text)
        return message, _error_code(error), body

    def error_from_body(self, body: dict[str, Any], model: str) -> ProviderError:
        """The typed error for an error object inside a 200 body or a stream."""
        error = body["error"]
        status = error.get("code") if isinstance(error.get("code"), int) else None
        return self.make_error(
            status,
            str(error.get("message") or "Gemini reported an error"),
            code=_error_code(error),
            model=model,
            body=body,
            retry_after=_retry_delay(error),
        )

    def retry_after(self, response: HttpResponse) -> float | None:
        wait = super().retry_after(response)
        if wait is None and response.status in (429, 503):
            _, _, body = self.error_details(response)
            error = body.get("error") if isinstance(body, dict) else None
            if isinstance(error, dict):
                wait = _retry_delay(error)
        return wait


def _error_code(error: Mapping[str, Any]) -> str | None:
    for detail in error.get("details") or ():
        if isinstance(detail, dict) and detail.get("reason"):
            return str(detail["reason"])
    status = error.get("status") or error.get("code")
    return str(status) if status is not None else None


def _retry_delay(error: Mapping[str, Any]) -> float | None:
    """Seconds from a ``google.rpc.RetryInfo`` detail (``"retryDelay": "37s"``)."""
    for detail in error.get("details") or ():
        if isinstance(detail, dict) and str(detail.get("@type", "")).endswith("RetryInfo"):
            match = _DURATION.match(str(detail.get("retryDelay", "")))
            if match:
                return float(match.group(1))
    return None


def _fits_schema_subset(schema: Any) -> bool:
    if isinstance(schema, list):
        return all(_fits_schema_subset(item) for item in schema)
    if not isinstance(schema, dict):
        return True
    for key, value in schema.items():
        if key not in _SCHEMA_KEYS:
            return False
        if key == "properties" and isinstance(value, dict):
            if not all(_fits_schema_subset(item) for item in value.values()):
                return False
        elif key in ("items", "anyOf") and not _fits_schema_subset(value):
            return False
    return True


def _tool_call(part: dict[str, Any], index: int) -> dict[str, Any]:
    function_call = part["functionCall"]
    name = str(function_call.get("name") or "")
    call: dict[str, Any] = {
        "id": str(function_call.get("id") or _synthetic_id(index, name)),
        "type": "function",
        "function": {
            "name": name,
            "arguments": json.dumps(function_call.get("args") or {}, ensure_ascii=False),
        },
    }
    if part.get("thoughtSignature"):
        call["thought_signature"] = part["thoughtSignature"]
    return call


def finish_reason(reason: Any, has_calls: bool) -> str | None:
    """Gemini's ``finishReason`` in OpenAI's terms."""
    if not reason:
        return None
    if reason in _FILTERED:
        return "content_filter"
    if reason in _FINISH:
        return _FINISH[reason]
    return "tool_calls" if has_calls else "stop"


def usage_from(metadata: Any) -> Usage | None:
    if not isinstance(metadata, dict):
        return None
    prompt = int(metadata.get("promptTokenCount") or 0) + int(
        metadata.get("toolUsePromptTokenCount") or 0
    )
    cached = int(metadata.get("cachedContentTokenCount") or 0)
    thoughts = int(metadata.get("thoughtsTokenCount") or 0)
    completion = int(metadata.get("candidatesTokenCount") or 0) + thoughts
    return Usage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=prompt + completion,
        prompt_tokens_details=PromptTokensDetails(cached_tokens=cached),
        completion_tokens_details=CompletionTokensDetails(reasoning_tokens=thoughts),
    )


class _JSONArraySplitter:
    """Top-level objects of a streamed JSON array (``[{...},\\n{...}]``), as they complete."""

    _SPECIAL = re.compile(rb'[{}\[\]"\\]')
    _IN_STRING = re.compile(rb'["\\]')

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._scan = 0  # where scanning resumes
        self._depth = 0
        self._in_string = False
        self._start = -1
        self.closed = False

    def feed(self, data: bytes) -> list[bytes]:
        buffer = self._buffer
        buffer += data  # in place: a long item arriving in pieces is not copied each time
        items: list[bytes] = []
        position = self._scan
        while position < len(buffer):
            if self._in_string:
                match = self._IN_STRING.search(buffer, position)
                if match is None:
                    position = len(buffer)
                    break
                if match.group() == b"\\":
                    if match.end() >= len(buffer):
                        position = match.start()  # wait for the escaped byte
                        break
                    position = match.end() + 1
                    continue
                self._in_string = False
                position = match.end()
                continue
            match = self._SPECIAL.search(buffer, position)
            if match is None:
                position = len(buffer)
                break
            char = match.group()
            position = match.end()
            if char == b'"':
                self._in_string = True
            elif char in (b"{", b"["):
                self._depth += 1
                if char == b"{" and self._start < 0 and self._depth <= 2:
                    self._start = match.start()
            elif char in (b"}", b"]"):
                self._depth -= 1
                if char == b"}" and self._start >= 0 and self._depth <= 1:
                    items.append(bytes(buffer[self._start : position]))
                    self._start = -1
                elif char == b"]" and self._depth == 0:
                    self.closed = True
        if self._start >= 0:
            del buffer[: self._start]
            position -= self._start
            self._start = 0
        else:
            buffer.clear()
            position = 0
        self._scan = position
        return items


class GeminiStreamDecoder:
    """``alt=sse`` events or a streamed JSON array of ``GenerateContentResponse`` objects."""

    def __init__(self, provider: GeminiProvider, model: str) -> None:
        self._provider = provider
        self._model = model
        self._format: str | None = None  # "sse" or "json", from the first byte
        self._pending = b""
        self._sse = SSEDecoder()
        self._array = _JSONArraySplitter()
        self._usage: Usage | None = None
        self._id = ""
        self._served = ""
        self._calls: dict[int, int] = {}  # candidate -> tool calls so far
        self._open: set[int] = set()  # candidates seen without a finish reason yet
        self._finished = False

    def feed(self, data: bytes) -> list[ChatChunk]:
        if self._format is None:
            self._pending += data
            stripped = self._pending.lstrip()
            if not stripped:
                return []
            self._format = "json" if stripped[:1] in (b"[", b"{") else "sse"
            data, self._pending = self._pending, b""
        if self._format == "sse":
            return self._chunks(event.data for event in self._sse.feed(data))
        return self._chunks(item.decode("utf-8") for item in self._array.feed(data))

    def close(self) -> list[ChatChunk]:
        cut = ProviderConnectionError(
            "stream ended before Gemini finished its answer",
            provider=self._provider.name,
            model=self._model,
        )
        chunks: list[ChatChunk] = []
        if self._format == "sse":
            try:
                chunks = self._chunks(event.data for event in self._sse.close())
            except InvalidResponseError:
                raise cut from None  # a final event cut off in the middle of its JSON
        if not (self._finished and not self._open):
            raise cut
        if self._usage is not None:
            chunks.append(ChatChunk(id=self._id, model=self._served, choices=[], usage=self._usage))
        return chunks

    def _chunks(self, texts: Any) -> list[ChatChunk]:
        chunks = []
        for text in texts:
            if not text.strip():
                continue
            try:
                data = json.loads(text)
            except ValueError:
                raise InvalidResponseError(
                    "unexpected stream event: not JSON",
                    provider=self._provider.name,
                    model=self._model,
                    body=text[:2000],
                ) from None
            if not isinstance(data, dict):
                continue
            chunk = self._chunk(data)
            if chunk is not None:
                chunks.append(chunk)
        return chunks

    def _chunk(self, data: dict[str, Any]) -> ChatChunk | None:
        if isinstance(data.get("error"), dict):
            raise self._provider.error_from_body(data, self._model)
        self._provider.check_blocked(data, self._model)
        self._id = self._id or str(data.get("responseId") or "")
        self._served = self._served or str(data.get("modelVersion") or "")
        usage = usage_from(data.get("usageMetadata"))
        if usage is not None:
            self._usage = usage
        choices = []
        for position, candidate in enumerate(data.get("candidates") or ()):
            if not isinstance(candidate, dict):
                continue
            choice = self._choice(candidate, position)
            if choice is not None:
                choices.append(choice)
        if not choices:
            return None
        return ChatChunk(id=self._id, model=self._served, choices=choices)

    def _choice(self, candidate: dict[str, Any], position: int) -> ChunkChoice | None:
        index = int(candidate.get("index", position))
        text: list[str] = []
        reasoning: list[str] = []
        calls: list[ToolCallDelta] = []
        signature: str | None = None
        for part in (candidate.get("content") or {}).get("parts") or ():
            if "functionCall" in part:
                number = self._calls.get(index, 0)
                self._calls[index] = number + 1
                calls.append(
                    ToolCallDelta.model_validate({"index": number, **_tool_call(part, number)})
                )
            elif "text" in part:
                (reasoning if part.get("thought") else text).append(part["text"])
                if part.get("thoughtSignature") and not part.get("thought"):
                    signature = part["thoughtSignature"]
        reason = finish_reason(candidate.get("finishReason"), bool(self._calls.get(index)))
        if reason:
            self._finished = True
            self._open.discard(index)
        else:
            self._open.add(index)
        fields: dict[str, Any] = {
            "role": "assistant",
            "content": "".join(text) or None,
            "reasoning_content": "".join(reasoning) or None,
            "tool_calls": calls or None,
        }
        if signature:
            fields["thought_signature"] = signature
        if not (fields["content"] or fields["reasoning_content"] or calls or reason or signature):
            return None
        return ChunkChoice(index=index, delta=Delta.model_validate(fields), finish_reason=reason)
