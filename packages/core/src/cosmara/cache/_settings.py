"""``[cache]``: which answers are kept, for whom, how long, and how a question is matched."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["CacheSettings", "NamespaceSettings", "Scope"]

Scope = Literal["global", "org", "team", "user"]


class NamespaceSettings(BaseModel):
    """One namespace of the cache: its own entries, lifetime, bound and matching.

    ``exact`` answers a request identical in everything that changes the answer; ``semantic``
    also an equivalent question (same model, parameters, system prompt, earlier turns, tools,
    response format and scope), when the embeddings' similarity passes ``threshold`` and the
    verifier agrees.
    """

    model_config = ConfigDict(defer_build=True, extra="forbid")

    type: Literal["exact", "semantic"] = "exact"
    ttl: float | None = Field(default=3600.0, gt=0, description="seconds; None: no expiry")
    scope: Scope = Field(
        default="org", description="who may share an entry: everyone, an org, a team, a user"
    )
    max_entries: int | None = Field(
        default=10_000, ge=1, description="least recently used entries go past it"
    )
    models: list[str] = Field(
        default_factory=list,
        description="the models, aliases or groups cached (shell patterns: 'openai/*'); "
        "empty: every one",
    )
    threshold: float = Field(
        default=0.92,
        gt=0,
        le=1,
        description="semantic: the least cosine similarity that may answer (calibrate it: "
        "'cosmara cache calibrate')",
    )
    embedder: str = Field(
        default="local",
        description="semantic: 'local' (all-MiniLM-L6-v2, cosmara[local]), an embedding model "
        "the engine serves ('openai/text-embedding-3-small'), or a plugin's embedder",
    )
    verifier: str = Field(
        default="builtin",
        description="semantic: 'builtin' (numbers, negations, names must match), 'none', or a "
        "plugin's verifier",
    )
    embed: Literal["last_user", "conversation"] = Field(
        default="last_user",
        description="semantic: what is compared: the last user message (earlier turns must "
        "then match exactly), or every user and assistant message",
    )


class CacheSettings(BaseModel):
    """``enabled`` turns the cache on; calls use ``namespace`` unless they name another
    (``cache_namespace=``)."""

    model_config = ConfigDict(defer_build=True, extra="forbid")

    enabled: bool = False
    namespace: str = "default"
    namespaces: dict[str, NamespaceSettings] = Field(
        default_factory=lambda: {"default": NamespaceSettings()}
    )

    @model_validator(mode="after")
    def _default_exists(self) -> CacheSettings:
        if self.namespace not in self.namespaces:
            names = ", ".join(sorted(self.namespaces)) or "none"
            raise ValueError(
                f"cache.namespace {self.namespace!r} is not among cache.namespaces ({names})"
            )
        return self
