"""Hugging Face Text Generation Inference (TGI): its OpenAI-compatible Messages API.

``base_url`` is required: a TGI server's root (``http://localhost:8080``; a trailing ``/v1``
is accepted too), an Inference Endpoint URL, or HF serverless inference
``https://router.huggingface.co/hf-inference``, where the model is part of the path
(``.../hf-inference/models/{model}/v1/chat/completions``). ``HF_TOKEN`` is sent as a bearer
token when set; a local server needs none.

TGI's departures from OpenAI, handled here:

- Older servers answer ``"object": "text_completion"`` (also on stream chunks) and end with
  ``finish_reason`` ``"eos_token"`` or ``"stop_sequence"``: these become ``"stop"``, or
  ``"tool_calls"`` when the answer is a tool call.
- Tool calls carry ``"id": 0`` (numbers, the same for every call) and ``arguments`` as a JSON
  object with ``"description": null`` beside the name: arguments become JSON text, and ids are
  made unique per response (``call_<n>`` for calls after the first that repeat an id). When
  ``tool_choice`` is ``auto`` and the model chooses not to call a tool, TGI answers with a
  call to its own ``notify_error``/``no_tool`` function: that is returned as text content.
  Streamed tool-call deltas get an id on their first fragment if TGI sent none, and repeated
  names/ids on later fragments are dropped.
- Structured output uses TGI's grammar: ``response_format`` ``json_schema`` is sent as
  ``{"type": "json", "value": <schema>}`` and ``json_object`` as ``{"type": "json", "value":
  {"type": "object"}}``.
- Error bodies may be ``text/plain`` (422 validation errors, the legacy api-inference host's
  404 ``Not Found``): the text is the ``provider_message``.
- Embeddings use the feature-extraction task, not ``/v1/embeddings``: ``POST {base}/pipeline/
  feature-extraction/{model}`` on HF serverless inference, the endpoint root elsewhere (a TEI
  server or Inference Endpoint), with ``{"inputs": [...]}``. The answer is a float array per
  input; when a model returns one vector per token instead (``[input][token][dim]``), the
  tokens are mean-pooled into one vector per input. No usage is reported.
- Cost: a TGI model is priced under ``tgi/`` in the catalog, else under ``huggingface/`` (the
  HF router's per-token price, an estimate for a self-hosted server).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, ClassVar

import pydantic_core
from pydantic import ValidationError

from cosmara._embeddings import Embedding, EmbeddingRequest, EmbeddingResponse
from cosmara._errors import (
    ContextWindowExceededError,
    InvalidResponseError,
    ProviderError,
    ProviderUnavailableError,
)
from cosmara._messages import ChatRequest
from cosmara._response import ChatResponse
from cosmara._sse import SSEEvent
from cosmara._stream import ChatChunk
from cosmara.providers._base import HttpRequest, HttpResponse
from cosmara.providers.compatible import OpenAICompatibleProvider
from cosmara.providers.openai import OpenAIStreamDecoder

__all__ = ["TGIProvider", "TGIStreamDecoder"]

_NO_TOOL = {"notify_error": "error", "no_tool": "content"}
_STOP_REASONS = {"eos_token", "stop_sequence", "stop", "end_turn"}


class TGIProvider(OpenAICompatibleProvider):
    kind = "tgi"
    default_base_url: ClassVar[str | None] = None
    api_key_env: ClassVar[str | None] = "HF_TOKEN"
    key_hosts: ClassVar[tuple[str, ...]] = ("huggingface.co", "huggingface.cloud")
    requires_api_key = False
    # TGI's Messages API takes text and image_url parts only.
    takes_files: ClassVar[bool] = False
    takes_audio: ClassVar[bool] = False

    # TGI's validation error when the prompt plus max_tokens exceed the model's window.
    error_phrases: ClassVar[Mapping[str, type[ProviderError]]] = {
        **OpenAICompatibleProvider.error_phrases,
        "`inputs` tokens + `max_new_tokens` must be": ContextWindowExceededError,
    }

    @property
    def catalog_names(self) -> tuple[str, ...]:
        # Hugging Face's hosted inference bills at its router prices; a self-hosted server
        # has no per-token price unless configuration gives it one.
        names = super().catalog_names
        return (*names, "huggingface") if "huggingface.co" in self.base_url else names

    @property
    def server_url(self) -> str:
        return self.base_url.removesuffix("/v1")

    def _serverless(self) -> bool:
        return self.server_url.endswith("/hf-inference")

    # --- request ----------------------------------------------------------------------------
    def chat_url(self, model: str) -> str:
        if self._serverless():
            return f"{self.server_url}/models/{model}/v1/chat/completions"
        return f"{self.server_url}/v1/chat/completions"

    def chat_body(self, request: ChatRequest, model: str, *, stream: bool) -> dict[str, Any]:
        body = super().chat_body(request, model, stream=stream)
        response_format = request.response_format
        if response_format is not None:
            if response_format.type == "json_schema" and response_format.json_schema is not None:
                body["response_format"] = {
                    "type": "json",
                    "value": response_format.json_schema.schema_,
                }
            elif response_format.type == "json_object":
                body["response_format"] = {"type": "json", "value": {"type": "object"}}
            else:
                body.pop("response_format", None)
        return body

    # --- responses --------------------------------------------------------------------------
    def parse_chat(self, response: HttpResponse, model: str) -> ChatResponse:
        try:
            data = json.loads(response.body)
        except ValueError:
            data = None
        if isinstance(data, dict) and isinstance(data.get("choices"), list):
            data = _normalise(data, chunk=False)
            try:
                return ChatResponse.model_validate(data)
            except ValidationError as error:
                raise self.invalid_body(response.body, model, error) from None
        return super().parse_chat(response, model)

    def stream_decoder(self, model: str) -> TGIStreamDecoder:
        return TGIStreamDecoder(self, model)

    # --- errors -----------------------------------------------------------------------------
    def error_details(self, response: HttpResponse) -> tuple[str, str | None, Any]:
        """TGI's JSON errors are ``{"error": "...", "error_type": "validation"}``."""
        message, code, body = super().error_details(response)
        if code is None and isinstance(body, dict) and isinstance(body.get("error_type"), str):
            code = body["error_type"]
        return message, code, body

    def retry_after(self, response: HttpResponse) -> float | None:
        """A loading model's 503 says ``estimated_time`` (seconds) instead of Retry-After."""
        wait = super().retry_after(response)
        if wait is None and response.status == 503:
            try:
                body = json.loads(response.body)
            except ValueError:
                return None
            estimate = body.get("estimated_time") if isinstance(body, dict) else None
            if isinstance(estimate, int | float) and estimate >= 0:
                wait = float(estimate)
        return wait

    # --- embeddings -------------------------------------------------------------------------
    def embed_url(self, model: str) -> str:
        if self._serverless():
            return f"{self.server_url}/pipeline/feature-extraction/{model}"
        return self.server_url

    def embed_request(self, request: EmbeddingRequest, model: str) -> HttpRequest:
        headers = {**self.headers(), "accept": "application/json"}
        body = {"inputs": request.input}
        return HttpRequest("POST", self.embed_url(model), headers, pydantic_core.to_json(body))

    def parse_embed(self, response: HttpResponse, model: str) -> EmbeddingResponse:
        try:
            data = json.loads(response.body)
        except ValueError:
            data = None
        vectors = _pooled(data)
        if vectors is None:
            if isinstance(data, dict) and "error" in data:
                message, code, _ = self.error_details(response)
                raise self.make_error(None, message, code=code, model=model, body=data)
            raise InvalidResponseError(
                "unexpected feature-extraction body: not an array of float vectors",
                provider=self.name,
                model=model,
                body=response.body[:2000].decode("utf-8", errors="replace"),
            )
        return EmbeddingResponse(
            data=[Embedding(index=i, embedding=vector) for i, vector in enumerate(vectors)],
            model=model,
        )


class TGIStreamDecoder(OpenAIStreamDecoder):
    """OpenAI's SSE decoding, with TGI's chunk shapes made OpenAI's first."""

    def __init__(self, provider: TGIProvider, model: str) -> None:
        super().__init__(provider, model)
        self._seen_calls: dict[int, str] = {}
        self._has_calls = False

    def _chunks(self, events: list[SSEEvent]) -> list[ChatChunk]:
        fixed = []
        for event in events:
            if event.data == "[DONE]":
                fixed.append(event)
                continue
            try:
                data = json.loads(event.data)
            except ValueError:
                fixed.append(event)
                continue
            if isinstance(data, dict) and isinstance(data.get("choices"), list):
                data = self._fix_chunk(_normalise(data, chunk=True))
                event = SSEEvent(data=json.dumps(data), event=event.event, id=event.id)
            elif isinstance(data, dict) and "error" in data:
                raise self._stream_error(data)
            elif isinstance(data, dict):
                continue  # not a chunk and not an error: an event type we do not know
            fixed.append(event)
        return super()._chunks(fixed)

    def _stream_error(self, data: dict[str, Any]) -> ProviderError:
        """An error event after the 200: generation failures are the server's, retryable."""
        message = str(data["error"])
        kind = data.get("error_type")
        code = kind if isinstance(kind, str) else None
        if code in ("generation", "overloaded"):
            return ProviderUnavailableError(
                message,
                provider=self._provider.name,
                model=self._model,
                provider_message=message,
                code=code,
                body=data,
            )
        return self._provider.make_error(None, message, code=code, model=self._model, body=data)

    def _fix_chunk(self, data: dict[str, Any]) -> dict[str, Any]:
        for choice in data["choices"]:
            delta = choice.get("delta") or {}
            calls = delta.get("tool_calls")
            if isinstance(calls, dict):  # TGI 2.x sent one call as an object
                calls = delta["tool_calls"] = [calls]
            for call in calls or ():
                self._has_calls = True
                index = int(call.get("index") or 0)
                call["index"] = index
                function = call.get("function") or {}
                function.pop("description", None)
                if index in self._seen_calls:
                    call.pop("id", None)
                    call.pop("type", None)
                    function.pop("name", None)
                else:
                    given = call.get("id")
                    call["id"] = str(given) if given not in (None, "") else f"call_{index}"
                    if given in (0, "0") and index:
                        call["id"] = f"call_{index}"
                    call["type"] = "function"
                    self._seen_calls[index] = call["id"]
            reason = choice.get("finish_reason")
            if reason in _STOP_REASONS:
                choice["finish_reason"] = "tool_calls" if self._has_calls else "stop"
        return data


def _normalise(data: dict[str, Any], *, chunk: bool) -> dict[str, Any]:
    """TGI's older response shape made OpenAI's (non-streamed responses and stream chunks)."""
    if data.get("object") in ("text_completion", "", None):
        data["object"] = "chat.completion.chunk" if chunk else "chat.completion"
    if chunk:
        return data
    for choice in data["choices"]:
        message = choice.get("message") or {}
        calls = message.get("tool_calls")
        if isinstance(calls, dict):
            calls = message["tool_calls"] = [calls]
        if calls and len(calls) == 1:
            function = calls[0].get("function") or {}
            field = _NO_TOOL.get(str(function.get("name")))
            if field is not None:
                arguments = function.get("arguments")
                if isinstance(arguments, str):
                    try:
                        arguments = json.loads(arguments)
                    except ValueError:
                        arguments = {field: arguments}
                text = arguments.get(field) if isinstance(arguments, dict) else None
                message["tool_calls"] = None
                message["content"] = (message.get("content") or "") + str(text or "")
                calls = None
        seen: set[str] = set()
        for position, call in enumerate(calls or ()):
            (call.get("function") or {}).pop("description", None)
            given = call.get("id")
            call_id = "" if given is None else str(given)
            if not call_id or call_id in seen:
                call_id = f"call_{position}"
            seen.add(call_id)
            call["id"] = call_id
        if choice.get("finish_reason") in _STOP_REASONS:
            choice["finish_reason"] = "tool_calls" if calls else "stop"
    return data


def _pooled(data: Any) -> list[list[float]] | None:
    """One vector per input: ``[input][dim]`` as is, ``[input][token][dim]`` mean-pooled."""
    if not isinstance(data, list) or not data:
        return None
    if all(isinstance(x, int | float) for x in data):  # a single input's vector
        return [[float(x) for x in data]]
    vectors = []
    for item in data:
        if not isinstance(item, list) or not item:
            return None
        if all(isinstance(x, int | float) for x in item):
            vectors.append([float(x) for x in item])
        elif all(isinstance(row, list) and row for row in item):
            width = len(item[0])
            if any(len(row) != width for row in item):
                return None
            vectors.append([sum(row[i] for row in item) / len(item) for i in range(width)])
        else:
            return None
    return vectors
