"""Azure OpenAI: OpenAI's wire format behind deployment URLs, ``api-version`` and ``api-key``."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import ClassVar

from cosmara._secrets import Secret
from cosmara.providers.openai import OpenAIProvider

__all__ = ["AzureOpenAIProvider"]

DEFAULT_API_VERSION = "2024-10-21"


class AzureOpenAIProvider(OpenAIProvider):
    """Settings: ``base_url`` (the resource endpoint, or ``AZURE_OPENAI_ENDPOINT``),
    ``api_version`` (or ``OPENAI_API_VERSION``), ``deployments`` mapping model names to
    deployment names (a model without an entry is its own deployment), and either an API key
    (``AZURE_OPENAI_API_KEY``) or ``azure_ad_token`` for Entra ID.
    """

    kind = "azure"
    organization_env: ClassVar[str | None] = None
    project_env: ClassVar[str | None] = None
    settings_fields: ClassVar[frozenset[str]] = frozenset(
        {"azure_ad_token", "deployments", "api_version"}
    )
    api_key_env = "AZURE_OPENAI_API_KEY"
    base_url_env = "AZURE_OPENAI_ENDPOINT"
    max_tokens_field: ClassVar[str] = "max_tokens"

    @property
    def has_credentials(self) -> bool:
        return bool(self.api_key or self._ad_token())

    def _ad_token(self) -> str | None:
        token = getattr(self.settings, "azure_ad_token", None)
        return token.get() if isinstance(token, Secret) else None

    def deployment(self, model: str) -> str:
        deployments: dict[str, str] = getattr(self.settings, "deployments", None) or {}
        return deployments.get(model, model)

    def headers(self) -> dict[str, str]:
        headers = {"content-type": "application/json", "accept": "application/json"}
        token = self._ad_token()
        if token:
            headers["authorization"] = f"Bearer {token}"
        elif self.api_key:
            headers["api-key"] = self.api_key
        headers.update(self.settings.header_values)
        return headers

    def params(self) -> dict[str, str]:
        version = getattr(self.settings, "api_version", None) or os.environ.get(
            "OPENAI_API_VERSION", DEFAULT_API_VERSION
        )
        return {"api-version": str(version)}

    def request_id(self, headers: Mapping[str, str]) -> str | None:
        return super().request_id(headers) or headers.get("apim-request-id")

    def chat_url(self, model: str) -> str:
        return f"{self.base_url}/openai/deployments/{self.deployment(model)}/chat/completions"

    def embed_url(self, model: str) -> str:
        return f"{self.base_url}/openai/deployments/{self.deployment(model)}/embeddings"
