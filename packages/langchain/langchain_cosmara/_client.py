"""Building the Cosmara client a LangChain object talks to, from its fields.

The client is created on first use and never pickled (its connection pools cannot be), so
models and embeddings can be copied, pickled and sent to other processes freely.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from cosmara import Cosmara, CosmaraConfig

__all__ = ["ConfigInput", "build_client", "coerce_config", "config_fingerprint"]

ConfigInput = CosmaraConfig | str | Path | None


def coerce_config(value: Any) -> Any:
    """A config dict becomes a ``CosmaraConfig`` at once: its keys turn into masked Secrets,
    so they never show in the model's repr, dumps or pickles."""
    if isinstance(value, Mapping):
        return CosmaraConfig.load(value)
    return value


def build_client(
    config: ConfigInput,
    *,
    model: str | None,
    api_key: SecretStr | None,
    base_url: str | None,
) -> Cosmara:
    """A client from ``config``; ``api_key``/``base_url`` configure the model's provider.

    ``ChatCosmara(model="openai/gpt-4o-mini", api_key=...)`` is the one-line migration from
    ``ChatOpenAI``: the key and URL belong to the provider the model name (else the
    configuration's ``default_model``) starts with, ``openai`` when it names none. Everything
    else, the environment included, is read by the engine as on every other surface.
    """
    providers: dict[str, dict[str, Any]] = {}
    if api_key is not None or base_url is not None:
        config = CosmaraConfig.load(config)
        provider, sep, _ = (model or config.default_model or "").partition("/")
        name = provider if sep else "openai"
        settings: dict[str, Any] = {}
        if api_key is not None:
            settings["api_key"] = api_key.get_secret_value()
        if base_url is not None:
            settings["base_url"] = base_url
        providers[name] = settings
    return Cosmara(config, providers=providers or None)


def config_fingerprint(config: ConfigInput) -> Any:
    """The configuration as it may appear in identifying params: a path, or a dump with every
    credential masked (``Secret`` dumps as its ``${ENV}`` reference or a mask)."""
    if isinstance(config, CosmaraConfig):
        return config.model_dump(mode="json")
    return None if config is None else str(config)
