"""OpenAI-compatible endpoints: any server that speaks Chat Completions, by ``base_url``.

Each named vendor is only its address, its key variable and its small departures from
OpenAI; the translation is OpenAI's.
"""

from __future__ import annotations

import os
from typing import Any, ClassVar

from cosmara._messages import FilePart
from cosmara._response import Usage
from cosmara._stream import ChatChunk
from cosmara.providers.openai import OpenAIProvider, OpenAIStreamDecoder

__all__ = [
    "DeepSeekProvider",
    "GroqProvider",
    "HuggingFaceRouterProvider",
    "MistralProvider",
    "OllamaOpenAIProvider",
    "OpenAICompatibleProvider",
    "OpenRouterProvider",
    "TogetherProvider",
    "VLLMProvider",
]


class OpenAICompatibleProvider(OpenAIProvider):
    """Any Chat Completions server; configure ``base_url`` (and ``api_key`` if it wants one)."""

    kind = "openai_compatible"
    default_base_url: ClassVar[str | None] = None
    base_url_env: ClassVar[str | None] = None
    api_key_env: ClassVar[str | None] = None
    organization_env: ClassVar[str | None] = None
    project_env: ClassVar[str | None] = None
    requires_api_key = False
    max_tokens_field: ClassVar[str] = "max_tokens"
    # Documents and audio pass through as they are: the server decides what it takes.
    file_types: ClassVar[frozenset[str] | None] = None
    audio_formats: ClassVar[frozenset[str] | None] = None


class GroqProvider(OpenAICompatibleProvider):
    kind = "groq"
    default_base_url = "https://api.groq.com/openai/v1"
    api_key_env = "GROQ_API_KEY"
    requires_api_key = True

    def stream_decoder(self, model: str) -> OpenAIStreamDecoder:
        return _GroqStreamDecoder(self, model)


class _GroqStreamDecoder(OpenAIStreamDecoder):
    def normalise(self, chunk: ChatChunk) -> ChatChunk:
        # Groq reports stream usage in its own x_groq object on the last content chunk.
        extra = chunk.model_extra or {}
        usage = (
            extra.get("x_groq", {}).get("usage") if isinstance(extra.get("x_groq"), dict) else None
        )
        if chunk.usage is None and usage:
            chunk.usage = Usage.model_validate(usage)
        return chunk


class TogetherProvider(OpenAICompatibleProvider):
    kind = "together"
    default_base_url = "https://api.together.xyz/v1"
    api_key_env = "TOGETHER_API_KEY"
    requires_api_key = True


class MistralProvider(OpenAICompatibleProvider):
    kind = "mistral"
    default_base_url = "https://api.mistral.ai/v1"
    api_key_env = "MISTRAL_API_KEY"
    requires_api_key = True
    # Mistral always sends usage on its last chunk and rejects the stream_options field.
    sends_stream_options = False


class DeepSeekProvider(OpenAICompatibleProvider):
    kind = "deepseek"
    default_base_url = "https://api.deepseek.com/v1"
    api_key_env = "DEEPSEEK_API_KEY"
    requires_api_key = True


class OpenRouterProvider(OpenAICompatibleProvider):
    kind = "openrouter"
    default_base_url = "https://openrouter.ai/api/v1"
    api_key_env = "OPENROUTER_API_KEY"
    requires_api_key = True

    def file_part(self, part: FilePart, wire: dict[str, Any], where: str) -> dict[str, Any]:
        # OpenRouter takes a file's URL in file_data, where OpenAI takes only data: URLs.
        file = part.file
        if file.file_url is None:
            return super().file_part(part, wire, where)
        fields: dict[str, Any] = {"file_data": file.file_url}
        if file.filename:
            fields["filename"] = file.filename
        return {"type": "file", "file": fields}


class HuggingFaceRouterProvider(OpenAICompatibleProvider):
    """The Hugging Face inference router; ``model`` may carry a ``:provider`` suffix."""

    kind = "huggingface"
    default_base_url = "https://router.huggingface.co/v1"
    api_key_env = "HF_TOKEN"
    requires_api_key = True


class OllamaOpenAIProvider(OpenAICompatibleProvider):
    """A local Ollama server through its OpenAI-compatible ``/v1`` endpoint; no key needed.

    ``ollama/...`` is Ollama's native API; this is ``ollama_openai/...``, priced like it.
    """

    kind = "ollama_openai"

    @property
    def catalog_names(self) -> tuple[str, ...]:
        return (*super().catalog_names, "ollama")

    default_base_url = "http://localhost:11434/v1"

    @property
    def base_url(self) -> str:
        host = os.environ.get("OLLAMA_HOST")
        if self.settings.base_url or not host:
            return super().base_url
        host = host if "://" in host else f"http://{host}"
        return f"{host.rstrip('/')}/v1"


class VLLMProvider(OpenAICompatibleProvider):
    """A vLLM server (``vllm serve``); the key is optional, as vLLM's ``--api-key`` is."""

    kind = "vllm"
    default_base_url = "http://localhost:8000/v1"
    base_url_env = "VLLM_BASE_URL"
    api_key_env = "VLLM_API_KEY"
