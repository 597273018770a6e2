"""``CosmaraEmbeddings``: LangChain embeddings on the Cosmara engine, sync and async, batched."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from langchain_core.embeddings import Embeddings
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SecretStr, field_validator

from cosmara import Cosmara, CosmaraConfig
from langchain_cosmara._client import build_client, coerce_config

__all__ = ["CosmaraEmbeddings"]


class CosmaraEmbeddings(BaseModel, Embeddings):
    """Embeddings through Cosmara: ``CosmaraEmbeddings(model="openai/text-embedding-3-small")``.

    Texts are sent in batches of ``chunk_size``; the async methods send the batches
    concurrently. Keys and configuration work as for ``ChatCosmara``; ``user``, ``team``,
    ``org``, ``tags`` and ``metadata`` label each request for Cosmara's accounting.

    Raises the typed errors of ``cosmara`` (``ProviderError`` and its subclasses, ...).
    """

    model: str = "openai/text-embedding-3-small"
    dimensions: int | None = None
    chunk_size: int = Field(default=1000, ge=1)
    """Texts per request."""
    timeout: float | None = None
    max_retries: int | None = None
    """Retries of a failing target; ``None`` keeps the engine's retry policy."""
    api_key: SecretStr | None = None
    base_url: str | None = None
    config: CosmaraConfig | Path | str | None = None
    client: Cosmara | None = Field(default=None, exclude=True)
    user: str | None = None
    team: str | None = None
    org: str | None = None
    tags: list[str] | None = None
    metadata: dict[str, Any] | None = None

    model_config = ConfigDict(arbitrary_types_allowed=True, extra="forbid")

    _client: Cosmara | None = PrivateAttr(default=None)

    @field_validator("config", mode="before")
    @classmethod
    def _config_as_object(cls, value: Any) -> Any:
        return coerce_config(value)

    def _cosmara(self) -> Cosmara:
        if self.client is not None:
            return self.client
        if self._client is None:
            self._client = build_client(
                self.config, model=self.model, api_key=self.api_key, base_url=self.base_url
            )
        return self._client

    def __getstate__(self) -> dict[Any, Any]:
        # As ChatCosmara: no connection pools and no literal key in a pickle.
        state = super().__getstate__()
        fields = {**state["__dict__"], "api_key": None}
        private = {**(state.get("__pydantic_private__") or {}), "_client": None}
        return {**state, "__dict__": fields, "__pydantic_private__": private}

    def __deepcopy__(self, memo: dict[int, Any] | None = None) -> CosmaraEmbeddings:
        memo = {} if memo is None else memo
        if self.client is not None:
            memo[id(self.client)] = self.client
        if self._client is not None:
            memo[id(self._client)] = None
        return super().__deepcopy__(memo)

    def _args(self, batch: list[str]) -> dict[str, Any]:
        args: dict[str, Any] = {
            "model": self.model,
            "input": batch,
            "dimensions": self.dimensions,
            "timeout": self.timeout,
            "max_retries": self.max_retries,
            "user": self.user,
            "team": self.team,
            "org": self.org,
            "tags": self.tags,
            "metadata": self.metadata,
        }
        return {key: value for key, value in args.items() if value is not None}

    def _batches(self, texts: list[str]) -> list[list[str]]:
        return [texts[i : i + self.chunk_size] for i in range(0, len(texts), self.chunk_size)]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """One vector per text, in order."""
        client = self._cosmara()
        return [
            vector
            for batch in self._batches(list(texts))
            for vector in client.embed(**self._args(batch)).vectors
        ]

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        """One vector per text, in order; batches are sent concurrently."""
        client = self._cosmara()
        responses = await asyncio.gather(
            *(client.aembed(**self._args(batch)) for batch in self._batches(list(texts)))
        )
        return [vector for response in responses for vector in response.vectors]

    async def aembed_query(self, text: str) -> list[float]:
        return (await self.aembed_documents([text]))[0]
