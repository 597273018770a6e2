"""OpenAI Chat Completions and Embeddings, the wire format most vendors also speak."""

from __future__ import annotations

import os
import time
from typing import Any, ClassVar

import pydantic_core
from pydantic import ValidationError

from cosmara._embeddings import EmbeddingRequest, EmbeddingResponse
from cosmara._errors import InvalidResponseError, ProviderError
from cosmara._media import extension_for
from cosmara._messages import ChatRequest, FilePart, InputAudioPart, ToolMessage, UserMessage
from cosmara._response import ChatResponse
from cosmara._sse import SSEEvent
from cosmara._stream import ChatChunk
from cosmara.providers._base import (
    HttpProvider,
    HttpRequest,
    HttpResponse,
    SSEStreamDecoder,
    loads,
)
from cosmara.providers._parts import has_media, refuse

__all__ = ["OpenAIProvider", "OpenAIStreamDecoder"]

# Reasoning text from a response must not go back in a request's history: OpenAI rejects
# unknown message keys and DeepSeek rejects reasoning_content in input.
_REQUEST_EXCLUDE: Any = {"messages": {"__all__": {"reasoning_content", "reasoning"}}}
# Chat Completions takes only text in a tool message: media a tool returned goes to the model
# in a user message right after the run of tool messages, under this line per tool call.
_ATTACHED = "Attached in the next message."
_FROM_TOOL = "What tool call {id} returned:"


class OpenAIProvider(HttpProvider):
    """Settings: ``api_key`` (or ``OPENAI_API_KEY``), ``base_url`` (or ``OPENAI_BASE_URL``),
    ``organization`` and ``project`` (or ``OPENAI_ORG_ID`` / ``OPENAI_PROJECT_ID``), sent as
    OpenAI's ``OpenAI-Organization`` / ``OpenAI-Project`` headers."""

    kind = "openai"
    default_base_url: ClassVar[str | None] = "https://api.openai.com/v1"
    base_url_env: ClassVar[str | None] = "OPENAI_BASE_URL"
    api_key_env: ClassVar[str | None] = "OPENAI_API_KEY"
    settings_fields: ClassVar[frozenset[str]] = frozenset({"organization", "project"})
    # The SDK's variables; like the key, read only for the provider's own host.
    organization_env: ClassVar[str | None] = "OPENAI_ORG_ID"
    project_env: ClassVar[str | None] = "OPENAI_PROJECT_ID"
    # OpenAI deprecated max_tokens; reasoning models accept only max_completion_tokens.
    max_tokens_field: ClassVar[str] = "max_completion_tokens"
    sends_stream_options: ClassVar[bool] = True
    # What Chat Completions takes beyond text and images, as OpenAI documents it: PDFs only,
    # inline or by file id (no file URLs), and wav or mp3 audio. None lets anything through.
    takes_files: ClassVar[bool] = True
    takes_audio: ClassVar[bool] = True
    file_types: ClassVar[frozenset[str] | None] = frozenset({"application/pdf"})
    audio_formats: ClassVar[frozenset[str] | None] = frozenset({"wav", "mp3"})

    # --- request ----------------------------------------------------------------------------
    def headers(self) -> dict[str, str]:
        headers = {"content-type": "application/json", "accept": "application/json"}
        key = self.api_key
        if key:
            headers["authorization"] = f"Bearer {key}"
        for name, setting, variable in (
            ("openai-organization", "organization", self.organization_env),
            ("openai-project", "project", self.project_env),
        ):
            value = self._account(setting, variable)
            if value:
                headers[name] = value
        headers.update(self.settings.header_values)
        return headers

    def _account(self, setting: str, variable: str | None) -> str | None:
        value = (self.settings.model_extra or {}).get(setting)
        if value is None and variable and self.sends_environment_key:
            value = os.environ.get(variable, "").strip() or None
        return None if value is None else str(value)

    def chat_url(self, model: str) -> str:
        return f"{self.base_url}/chat/completions"

    def chat_body(self, request: ChatRequest, model: str, *, stream: bool) -> dict[str, Any]:
        body = request.model_dump(exclude_none=True, by_alias=True, exclude=_REQUEST_EXCLUDE)
        body["model"] = model
        if "max_tokens" in body and self.max_tokens_field != "max_tokens":
            body[self.max_tokens_field] = body.pop("max_tokens")
        if has_media(request):
            body["messages"] = self.media_messages(request, body["messages"])
        if stream:
            body["stream"] = True
            if self.sends_stream_options:
                body["stream_options"] = {**body.get("stream_options", {}), "include_usage": True}
        return body

    def chat_request(self, request: ChatRequest, model: str, *, stream: bool) -> HttpRequest:
        body = self.chat_body(request, model, stream=stream)
        return HttpRequest(
            "POST", self.chat_url(model), self.headers(), pydantic_core.to_json(body), self.params()
        )

    def params(self) -> dict[str, str] | None:
        return None

    # --- documents, audio and tool-result media ---------------------------------------------
    def media_messages(
        self, request: ChatRequest, dumped: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """The dumped messages with each file and audio part checked and put in wire form,
        and the media of a run of tool results moved to one user message after the run."""
        out: list[dict[str, Any]] = []
        attachments: list[dict[str, Any]] = []
        for message, wire in zip(request.messages, dumped, strict=True):
            if not isinstance(message, ToolMessage) and attachments:
                out.append({"role": "user", "content": attachments})
                attachments = []
            if isinstance(message, UserMessage) and isinstance(message.content, list):
                wire["content"] = [
                    self.media_part(part, part_wire, "a user message")
                    for part, part_wire in zip(message.content, wire["content"], strict=True)
                ]
            elif isinstance(message, ToolMessage) and isinstance(message.content, list):
                texts, media = [], []
                for part, part_wire in zip(message.content, wire["content"], strict=True):
                    if part_wire.get("type") == "text":
                        texts.append(part_wire)
                    else:
                        media.append(self.media_part(part, part_wire, "a tool result"))
                if media:
                    wire["content"] = texts or _ATTACHED
                    heading = {"type": "text", "text": _FROM_TOOL.format(id=message.tool_call_id)}
                    attachments.extend([heading, *media])
            out.append(wire)
        if attachments:
            out.append({"role": "user", "content": attachments})
        return out

    def media_part(self, part: Any, wire: dict[str, Any], where: str) -> dict[str, Any]:
        """One content part as Chat Completions takes it (text and images as they are)."""
        if isinstance(part, FilePart):
            return self.file_part(part, wire, where)
        if isinstance(part, InputAudioPart):
            if not self.takes_audio:
                raise refuse(self.name, part, "this endpoint takes no audio", where=where)
            formats = self.audio_formats
            if formats is not None and part.input_audio.format not in formats:
                raise refuse(
                    self.name, part, f"audio must be {' or '.join(sorted(formats))}", where=where
                )
        return wire

    def file_part(self, part: FilePart, wire: dict[str, Any], where: str) -> dict[str, Any]:
        if not self.takes_files:
            raise refuse(self.name, part, "this endpoint takes no files", where=where)
        file = part.file
        if file.file_url is not None:
            raise refuse(
                self.name,
                part,
                "Chat Completions takes files inline (file_data) or by file_id, not by URL",
                where=where,
            )
        media_type = file.media_type
        if self.file_types is not None and media_type and media_type not in self.file_types:
            raise refuse(
                self.name,
                part,
                f"Chat Completions takes only {', '.join(sorted(self.file_types))} files",
                where=where,
            )
        fields = {k: v for k, v in wire["file"].items() if k != "mime_type"}
        if file.file_data is not None and not file.filename:
            # OpenAI wants a name with inline data; the extension tells it the type.
            extension = extension_for(media_type)
            fields["filename"] = f"document.{extension}" if extension else "document"
        return {**wire, "file": fields}

    # --- responses --------------------------------------------------------------------------
    def parse_chat(self, response: HttpResponse, model: str) -> ChatResponse:
        try:
            return ChatResponse.model_validate_json(response.body)
        except ValidationError as error:
            raise self.invalid_body(response.body, model, error) from None

    def stream_decoder(self, model: str) -> OpenAIStreamDecoder:
        return OpenAIStreamDecoder(self, model)

    def invalid_body(self, body: bytes, model: str, error: ValidationError) -> ProviderError:
        """A 200 whose body is an error object becomes that typed error (its numeric code as
        the status when it has one); else the body is invalid."""
        decoded = loads(body)
        if isinstance(decoded, dict) and "error" in decoded:
            message, code, _ = self.error_details(HttpResponse(200, {}, body))
            status = decoded["error"].get("code") if isinstance(decoded["error"], dict) else None
            numeric = (
                isinstance(status, int) and not isinstance(status, bool) and 400 <= status < 600
            )
            return self.make_error(
                status if numeric else None,
                message,
                code=code,
                model=model,
                body=decoded,
            )
        return InvalidResponseError(
            f"unexpected response body: {error.errors()[0]['msg']}",
            provider=self.name,
            model=model,
            body=body[:2000].decode("utf-8", errors="replace"),
        )

    # --- embeddings -------------------------------------------------------------------------
    def embed_request(self, request: EmbeddingRequest, model: str) -> HttpRequest:
        body = request.model_dump(exclude_none=True)
        body["model"] = model
        return HttpRequest(
            "POST",
            self.embed_url(model),
            self.headers(),
            pydantic_core.to_json(body),
            self.params(),
        )

    def embed_url(self, model: str) -> str:
        return f"{self.base_url}/embeddings"

    def parse_embed(self, response: HttpResponse, model: str) -> EmbeddingResponse:
        try:
            return EmbeddingResponse.model_validate_json(response.body)
        except ValidationError as error:
            raise self.invalid_body(response.body, model, error) from None

    def retry_after(self, response: HttpResponse) -> float | None:
        wait = super().retry_after(response)
        if wait is None and response.status == 429:
            # OpenRouter sends no Retry-After, only the reset time in epoch milliseconds.
            reset = response.headers.get("x-ratelimit-reset")
            if reset and reset.isdigit() and len(reset) >= 13:
                wait = max(int(reset) / 1000 - time.time(), 0.0)
        return wait


class OpenAIStreamDecoder(SSEStreamDecoder["OpenAIProvider"]):
    """SSE events of ``chat.completion.chunk`` objects, ending with ``data: [DONE]`` (a
    chunk with a finish reason also marks the answer complete)."""

    def _chunks(self, events: list[SSEEvent]) -> list[ChatChunk]:
        chunks = []
        for event in events:
            if event.data == "[DONE]":
                self._finished = True
                continue
            try:
                chunk = ChatChunk.model_validate_json(event.data)
            except ValidationError as error:
                raise self._provider.invalid_body(event.data.encode(), self._model, error) from None
            for choice in chunk.choices:
                if choice.finish_reason:
                    self._finished = True
            chunks.append(self.normalise(chunk))
        return chunks

    def normalise(self, chunk: ChatChunk) -> ChatChunk:
        """Hook for vendors whose chunks depart from OpenAI's; OpenAI's pass as they are."""
        return chunk
