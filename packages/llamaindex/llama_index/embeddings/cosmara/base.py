"""``CosmaraEmbedding``: a LlamaIndex ``BaseEmbedding`` served by the Cosmara engine."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from cosmara import ConfigurationError, CosmaraConfig, ProviderSettings, RequestContext, Secret
from cosmara import Cosmara as CosmaraClient
from llama_index.core.base.embeddings.base import BaseEmbedding, Embedding
from llama_index.core.bridge.pydantic import Field, PrivateAttr

__all__ = ["CosmaraEmbedding"]


class CosmaraEmbedding(BaseEmbedding):
    """Embeddings through Cosmara: any provider's embedding model, with cost accounting.

    Args:
        model: ``provider/model`` of an embedding model (``model_name`` is accepted too).
        dimensions: output size, for models that can shorten their vectors.
        embed_batch_size: texts per request (LlamaIndex batches ``get_text_embedding_batch``).
        fallbacks, timeout, max_retries, config, api_key, client, org, team, user, tags,
            metadata: as for
            ``llama_index.llms.cosmara.Cosmara``.

    Raises:
        ConfigurationError: the configuration is invalid, or ``api_key`` cannot be placed.

    Calls raise Cosmara's typed errors unchanged.
    """

    model_name: str = Field(default="openai/text-embedding-3-small")
    dimensions: int | None = Field(default=None, gt=0)
    fallbacks: list[str] = Field(default_factory=list)
    timeout: float | None = Field(default=None, gt=0)
    max_retries: int | None = Field(default=None, ge=0)
    org: str | None = None
    team: str | None = None
    user: str | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    request_metadata: dict[str, Any] = Field(default_factory=dict)

    _client: CosmaraClient = PrivateAttr()

    def __init__(
        self,
        model: str | None = None,
        *,
        config: Mapping[str, Any] | str | Path | None = None,
        api_key: str | None = None,
        client: CosmaraClient | None = None,
        tags: Mapping[str, str] | Sequence[str] | None = None,
        metadata: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if model is not None:
            kwargs["model_name"] = model
        if metadata is not None:
            kwargs["request_metadata"] = dict(metadata)
        super().__init__(tags=labels(tags), **kwargs)
        self._client = engine_for(client, config, api_key, self.model_name)

    @classmethod
    def class_name(cls) -> str:
        return "CosmaraEmbedding"

    @property
    def client(self) -> CosmaraClient:
        """The Cosmara engine this embedding model calls."""
        return self._client

    def __setstate__(self, state: dict[str, Any]) -> None:
        rebuild(self, state)

    def _request(self, texts: list[str]) -> dict[str, Any]:
        request: dict[str, Any] = {"model": self.model_name, "input": texts}
        if self.dimensions is not None:
            request["dimensions"] = self.dimensions
        if self.fallbacks:
            request["fallbacks"] = self.fallbacks
        if self.timeout is not None:
            request["timeout"] = self.timeout
        if self.max_retries is not None:
            request["max_retries"] = self.max_retries
        for key in ("org", "team", "user"):
            value = getattr(self, key)
            if value is not None:
                request[key] = value
        if self.tags:
            request["tags"] = self.tags
        if self.request_metadata:
            request["metadata"] = self.request_metadata
        return request

    def _get_text_embeddings(self, texts: list[str]) -> list[Embedding]:
        return self._client.embed(**self._request(texts)).vectors

    async def _aget_text_embeddings(self, texts: list[str]) -> list[Embedding]:
        return (await self._client.aembed(**self._request(texts))).vectors

    def _get_text_embedding(self, text: str) -> Embedding:
        return self._get_text_embeddings([text])[0]

    async def _aget_text_embedding(self, text: str) -> Embedding:
        return (await self._aget_text_embeddings([text]))[0]

    def _get_query_embedding(self, query: str) -> Embedding:
        return self._get_text_embedding(query)

    async def _aget_query_embedding(self, query: str) -> Embedding:
        return await self._aget_text_embedding(query)


def labels(tags: Mapping[str, str] | Sequence[str] | None) -> dict[str, str]:
    """Tags as the engine stores them (bare labels get empty values), by the engine's rule."""
    return RequestContext.build(tags=tags).tags


def engine_for(
    client: CosmaraClient | None,
    config: Mapping[str, Any] | str | Path | None,
    api_key: str | None,
    model: str | None,
) -> CosmaraClient:
    """The ready ``client``, or one built from ``config`` and ``api_key`` (not both)."""
    if client is None:
        return build_client(config, api_key, model)
    if config is not None or api_key is not None:
        raise ConfigurationError("pass either a ready client or config/api_key, not both")
    return client


def rebuild(component: Any, state: dict[str, Any]) -> None:
    """Unpickle through ``__init__``, as LlamaIndex does, keeping the unpickled engine (which
    pickles its configuration without literal keys) instead of building a default one."""
    private = state.get("__pydantic_private__") or {}
    fields = {k: v for k, v in state["__dict__"].items() if k != "callback_manager"}
    component.__init__(client=private.get("_client"), **fields)


def build_client(
    config: Mapping[str, Any] | str | Path | None, api_key: str | None, model: str | None
) -> CosmaraClient:
    """An engine from ``config``, with ``api_key`` set on the provider ``model`` names.

    Raises:
        ConfigurationError: ``api_key`` given but ``model`` names no provider.
    """
    if api_key is None:
        return CosmaraClient(config)
    loaded = CosmaraConfig.load(config)
    provider, sep, _ = (model or loaded.default_model or "").partition("/")
    if not sep:
        raise ConfigurationError(
            "api_key needs model='provider/model' (or a default_model of that form) to know "
            "which provider it is for; for aliases, set keys per provider in config"
        )
    current = loaded.providers.get(provider) or ProviderSettings()
    # model_copy keeps the other settings (and other Secrets) as they are, unmasked.
    settings = current.model_copy(update={"api_key": Secret(api_key)})
    return CosmaraClient(
        loaded.model_copy(update={"providers": {**loaded.providers, provider: settings}})
    )
