"""The model catalog: prices, context windows, capabilities and quality, per ``provider/model``.

Shipped as ``cosmara/data/models.json`` (prices per million tokens, dated), overridable from
configuration, and extendable from LiteLLM's ``model_prices_and_context_window.json``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cosmara._errors import ConfigurationError

__all__ = ["Catalog", "ModelInfo", "load_litellm_prices"]

_DATED_SUFFIX = re.compile(r"-\d{4}-?\d{2}-?\d{2}$")

Capability = Literal[
    "tools",
    "parallel_tools",
    "vision",
    "documents",
    "audio_input",
    "json_mode",
    "json_schema",
    "streaming",
    "reasoning",
    "prompt_caching",
    "embeddings",
]


class ModelInfo(BaseModel):
    """What the catalog knows of one model. Prices are USD per million tokens."""

    model_config = ConfigDict(defer_build=True, frozen=True, extra="ignore")

    provider: str
    model: str
    mode: Literal["chat", "embedding"] = "chat"
    input: float = Field(ge=0)
    cached_input: float | None = Field(default=None, ge=0)
    cache_write: float | None = Field(default=None, ge=0)
    output: float = Field(default=0.0, ge=0)
    reasoning: float | None = Field(default=None, ge=0)
    context_window: int | None = Field(default=None, ge=1)
    max_output_tokens: int | None = Field(default=None, ge=1)
    capabilities: frozenset[Capability] = frozenset()
    quality: int | None = Field(default=None, ge=0, le=100)
    aliases: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        return f"{self.provider}/{self.model}"

    def supports(self, capability: Capability) -> bool:
        return capability in self.capabilities


class Catalog:
    """Lookup of ``ModelInfo`` by ``provider/model``, by bare model name, or by a dated alias."""

    def __init__(self, models: Iterable[ModelInfo] = ()) -> None:
        self._entries: dict[str, ModelInfo] = {}
        self._by_id: dict[str, ModelInfo] = {}  # entries and their dated aliases
        self._by_bare_name: dict[str, list[ModelInfo]] = {}
        for info in models:
            self.add(info)

    @classmethod
    def builtin(cls) -> Catalog:
        """The catalog shipped with Cosmara."""
        from importlib import resources

        text = resources.files("cosmara").joinpath("data/models.json").read_text("utf-8")
        return cls.from_json(json.loads(text))

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Catalog:
        """Build from the shipped format: ``{"models": {"provider/model": {...}}}``."""
        return cls(_entry_to_info(key, entry) for key, entry in data["models"].items())

    def add(self, info: ModelInfo) -> None:
        """Add or replace an entry (later additions win, so overrides go last)."""
        previous = self._entries.get(info.id)
        if previous is not None:
            for name in (previous.model, *previous.aliases):
                self._by_bare_name[name].remove(previous)
                if self._by_id.get(f"{previous.provider}/{name}") is previous:
                    del self._by_id[f"{previous.provider}/{name}"]
        self._entries[info.id] = info
        for name in (info.model, *info.aliases):
            self._by_bare_name.setdefault(name, []).append(info)
            alias_id = f"{info.provider}/{name}"
            if alias_id == info.id or alias_id not in self._entries:
                self._by_id[alias_id] = info

    def override(self, model_id: str, fields: Mapping[str, Any]) -> None:
        """Change or add an entry from configuration (``[models."provider/model"]``).

        Raises:
            ConfigurationError: an unknown field (a typo would otherwise be ignored) or an
                invalid value.
        """
        unknown = set(fields) - set(ModelInfo.model_fields) - {"provider", "model"}
        if unknown:
            known = ", ".join(sorted(set(ModelInfo.model_fields) - {"provider", "model"}))
            raise ConfigurationError(
                f"models.{model_id!r}: unknown field(s) {', '.join(sorted(unknown))}; "
                f"known: {known}"
            )
        current = self._by_id.get(model_id)
        base = current.model_dump() if current is not None else {}
        try:
            info = _entry_to_info(model_id, {**base, **fields})
        except ValidationError as error:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors()
            )
            raise ConfigurationError(f"models.{model_id!r}: {problems}") from None
        self.add(info)

    def get(self, model_id: str) -> ModelInfo | None:
        """Entry for ``provider/model`` (or a dated alias of it), or None."""
        return self._by_id.get(model_id)

    def price_entry(self, providers: tuple[str, ...], *models: str) -> ModelInfo | None:
        """The first entry for any of ``providers`` (a configured name, then its kind) and any of
        ``models`` in order; a dated snapshot name (``gpt-4o-2024-08-06``) falls back to its model.
        """
        for model in models:
            for name in (model, _DATED_SUFFIX.sub("", model)):
                for provider in providers:
                    info = self._by_id.get(f"{provider}/{name}")
                    if info is not None:
                        return info
        return None

    def find(self, bare_name: str) -> list[ModelInfo]:
        """Every entry whose model name or alias is ``bare_name``, in insertion order."""
        return list(self._by_bare_name.get(bare_name, ()))

    def __contains__(self, model_id: object) -> bool:
        return model_id in self._by_id

    def __iter__(self) -> Iterator[ModelInfo]:
        return iter(self._entries.values())

    def __len__(self) -> int:
        return len(self._entries)


def _entry_to_info(model_id: str, entry: Mapping[str, Any]) -> ModelInfo:
    provider, sep, model = model_id.partition("/")
    if not (provider and sep and model):
        raise ConfigurationError(f"catalog key {model_id!r} must be 'provider/model'")
    return ModelInfo.model_validate({**entry, "provider": provider, "model": model})


# LiteLLM's provider names for the providers Cosmara ships.
_LITELLM_PROVIDERS = {
    "openai": "openai",
    "text-completion-openai": "openai",
    "azure": "azure",
    "anthropic": "anthropic",
    "gemini": "gemini",
    "cohere": "cohere",
    "cohere_chat": "cohere",
    "mistral": "mistral",
    "groq": "groq",
    "together_ai": "together",
    "deepseek": "deepseek",
    "openrouter": "openrouter",
    "ollama": "ollama",
    "ollama_chat": "ollama",
    "huggingface": "huggingface",
    "bedrock": "bedrock",
    "bedrock_converse": "bedrock",
}

_LITELLM_CAPABILITIES: dict[str, Capability] = {
    "supports_function_calling": "tools",
    "supports_parallel_function_calling": "parallel_tools",
    "supports_vision": "vision",
    "supports_pdf_input": "documents",
    "supports_audio_input": "audio_input",
    "supports_response_schema": "json_schema",
    "supports_reasoning": "reasoning",
    "supports_prompt_caching": "prompt_caching",
}


def load_litellm_prices(source: str | Path | Mapping[str, Any]) -> list[ModelInfo]:
    """Read LiteLLM's ``model_prices_and_context_window.json`` (a path or the parsed dict).

    Entries for providers Cosmara does not ship, and modes other than chat and embedding,
    are skipped. Per-token prices become per-million-token prices.
    """
    if isinstance(source, (str, Path)):
        try:
            data = json.loads(Path(source).read_text("utf-8"))
        except (OSError, ValueError) as error:
            raise ConfigurationError(f"cannot read LiteLLM prices from {source}: {error}") from None
    else:
        data = source
    infos: list[ModelInfo] = []
    for key, entry in data.items():
        if key == "sample_spec" or not isinstance(entry, Mapping):
            continue
        provider = _LITELLM_PROVIDERS.get(str(entry.get("litellm_provider", "")))
        mode = entry.get("mode", "chat")
        if provider is None or mode not in ("chat", "embedding"):
            continue
        model = key
        for prefix in (f"{entry['litellm_provider']}/", f"{provider}/"):
            if model.startswith(prefix):
                model = model[len(prefix) :]
                break
        capabilities: set[Capability] = {
            capability for flag, capability in _LITELLM_CAPABILITIES.items() if entry.get(flag)
        }
        if mode == "embedding":
            capabilities.add("embeddings")
        else:
            capabilities.add("streaming")
            if "json_schema" in capabilities:
                capabilities.add("json_mode")
        per_million = _per_million_reader(entry)
        infos.append(
            ModelInfo(
                provider=provider,
                model=model,
                mode=mode,
                input=per_million("input_cost_per_token") or 0.0,
                cached_input=per_million("cache_read_input_token_cost"),
                cache_write=per_million("cache_creation_input_token_cost"),
                output=per_million("output_cost_per_token") or 0.0,
                reasoning=per_million("output_cost_per_reasoning_token"),
                context_window=entry.get("max_input_tokens") or entry.get("max_tokens"),
                max_output_tokens=entry.get("max_output_tokens") if mode == "chat" else None,
                capabilities=frozenset(capabilities),
            )
        )
    return infos


def _per_million_reader(entry: Mapping[str, Any]) -> Callable[[str], float | None]:
    def per_million(field: str) -> float | None:
        value = entry.get(field)
        return None if value is None else round(float(value) * 1_000_000, 6)

    return per_million
