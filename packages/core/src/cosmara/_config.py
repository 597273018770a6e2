"""One typed configuration for every surface: a dict, a ``cosmara.toml`` file, or the environment.

Strings may reference environment variables as ``${NAME}`` (or ``${NAME:-default}``). An API key
given as exactly ``"${NAME}"`` stays a reference and is read when needed, so it never lands in a
dump or a pickle.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    ValidationError,
    field_validator,
    model_serializer,
    model_validator,
)

from cosmara._errors import ConfigurationError
from cosmara._health import BreakerPolicy
from cosmara._retry import RetryPolicy
from cosmara._rules import Rule
from cosmara._secrets import Secret
from cosmara._timeouts import Timeouts

__all__ = ["BUILTIN_GROUPS", "CosmaraConfig", "GroupSettings", "ProviderSettings"]

_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
# Settings under such keys hold credentials: they become Secrets whatever provider reads them.
_SECRET_KEY = re.compile(r"(^|_)(key|token|secret|password)$")
CONFIG_ENV = "COSMARA_CONFIG"


class ProviderSettings(BaseModel):
    """How to reach one provider. Unknown keys are kept for provider-specific options."""

    model_config = ConfigDict(defer_build=True, extra="allow")

    type: str | None = Field(
        default=None, description="Registered provider kind; defaults to the entry's own name"
    )
    api_key: Secret | None = None
    base_url: str | None = None
    timeout: Timeouts | None = None
    headers: dict[str, str] = Field(default_factory=dict, repr=False)
    max_connections: int | None = Field(
        default=None,
        ge=1,
        description="most requests in flight to this provider at once (its own pool; default: "
        "the client's max_connections); more wait up to the pool timeout, then fail over",
    )

    @field_validator("timeout", mode="before")
    @classmethod
    def _timeout(cls, value: Any) -> Any:
        return None if value is None else Timeouts.coerce(value)

    @model_validator(mode="before")
    @classmethod
    def _credentials_are_secrets(cls, data: Any) -> Any:
        # Provider-specific credentials (azure_ad_token, ...) get the same care as api_key.
        if not isinstance(data, Mapping):
            return data
        return {
            key: Secret.coerce(value)
            if isinstance(value, str) and _SECRET_KEY.search(str(key))
            else value
            for key, value in data.items()
        }

    @model_serializer(mode="wrap")
    def _dump_extra_secrets_masked(self, handler: SerializerFunctionWrapHandler) -> Any:
        # Extra settings that hold credentials (azure_ad_token, ...) are Secrets too; dump them
        # the way typed ones are dumped: as their ${ENV} reference or a mask.
        extra = self.__pydantic_extra__ or {}
        secrets = {key: value.dumped() for key, value in extra.items() if isinstance(value, Secret)}
        return handler(self.model_copy(update=secrets) if secrets else self)


class GroupSettings(BaseModel):
    """A virtual model: candidates and the strategy that orders them for each request."""

    model_config = ConfigDict(extra="forbid")

    models: list[str] = Field(
        default_factory=list,
        description="provider/model names; empty means every catalog chat model you have keys for",
    )
    strategy: str = "balanced"
    max_candidates: int = Field(default=3, ge=1, description="the first plus its fallbacks")
    weights: dict[str, Annotated[float, Field(ge=0)]] = Field(
        default_factory=dict, description="for 'weighted': a share of traffic per model"
    )
    balance: dict[str, float] = Field(
        default_factory=dict, description="for 'balanced': cost, quality, latency weights"
    )
    rules: list[Rule] = Field(
        default_factory=list,
        description="checked in order; the first match decides, else the group's own models",
    )


BUILTIN_GROUPS = {
    "auto": GroupSettings(strategy="balanced"),
    "fast": GroupSettings(strategy="latency"),
    "cheap": GroupSettings(strategy="cost"),
    "best": GroupSettings(strategy="quality"),
}


class CosmaraConfig(BaseModel):
    """Everything a ``Cosmara`` client is configured with."""

    model_config = ConfigDict(defer_build=True, extra="forbid")

    providers: dict[str, ProviderSettings] = Field(default_factory=dict)
    aliases: dict[str, str | list[str]] = Field(
        default_factory=dict, description="Name -> model, or ordered list of models tried in turn"
    )
    groups: dict[str, GroupSettings] = Field(
        default_factory=dict, description="Virtual models; auto, fast, cheap and best are built in"
    )
    models: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="Catalog overrides and additions by 'provider/model'"
    )
    litellm_prices: str | None = Field(
        default=None, description="Path of a LiteLLM model_prices_and_context_window.json to import"
    )
    timeout: Timeouts = Field(
        default_factory=lambda: Timeouts.coerce(60.0),
        description="Seconds, a preset (quick, standard, extended) or the parts",
    )
    model_timeouts: dict[str, Timeouts] = Field(
        default_factory=dict, description="Per 'provider/model' timeouts, in the same forms"
    )
    retry: RetryPolicy = Field(default_factory=RetryPolicy)
    breaker: BreakerPolicy = Field(default_factory=BreakerPolicy)
    max_connections: int = Field(default=100, ge=1)
    default_model: str | None = None
    fallbacks: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Name as callers write it (model, alias or group) -> models tried after "
        "it, in order, and after a call's own fallbacks; e.g. a smaller model to downgrade to",
    )
    content_filter_fallbacks: list[str] = Field(
        default_factory=list,
        description="Models tried next when a provider's content policy refuses a request",
    )
    fallback_message: str | None = Field(
        default=None, description="Answer given when every target failed (else the error)"
    )
    default_provider: str | None = Field(
        default=None, description="Provider for bare model names the catalog does not know"
    )

    @field_validator("timeout", mode="before")
    @classmethod
    def _timeout(cls, value: Any) -> Any:
        return Timeouts.coerce(value)

    @field_validator("model_timeouts", mode="before")
    @classmethod
    def _model_timeouts(cls, value: Any) -> Any:
        return {model: Timeouts.coerce(spec) for model, spec in dict(value).items()}

    @classmethod
    def load(
        cls, source: CosmaraConfig | Mapping[str, Any] | str | Path | None = None
    ) -> CosmaraConfig:
        """Build from a config object, a dict, a TOML path, or ``$COSMARA_CONFIG`` when None.

        Raises:
            ConfigurationError: the file is missing or unreadable, a referenced variable is
                unset, or a value has the wrong type.
        """
        if isinstance(source, CosmaraConfig):
            return source
        if source is None:
            path = os.environ.get(CONFIG_ENV)
            source = Path(path) if path else {}
        raw = _read_toml(Path(source)) if isinstance(source, (str, Path)) else dict(source)
        try:
            return cls.model_validate(_interpolate(raw))
        except ValidationError as error:
            raise ConfigurationError(f"invalid Cosmara configuration: {error}") from None

    def merged(
        self,
        *,
        providers: Mapping[str, Mapping[str, Any]] | None = None,
        aliases: Mapping[str, str | list[str]] | None = None,
        timeout: float | str | Timeouts | None = None,
    ) -> CosmaraConfig:
        """A copy with these entries added or replaced (keyword arguments to ``Cosmara``)."""
        if not (providers or aliases or timeout is not None):
            return self
        data = self.model_dump(exclude={"providers"})
        added = _interpolate(dict(providers or {}), in_providers=True)
        data["providers"] = {**self.providers, **added}
        data["aliases"] = {**self.aliases, **(aliases or {})}
        if timeout is not None:
            data["timeout"] = timeout
        try:
            return type(self).model_validate(data)
        except ValidationError as error:
            raise ConfigurationError(f"invalid Cosmara configuration: {error}") from None


def _read_toml(path: Path) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on Python 3.10 only
        try:
            import tomli as tomllib
        except ImportError:
            raise ConfigurationError(
                "reading cosmara.toml on Python 3.10 needs tomli: pip install 'cosmara[toml]'"
            ) from None
    try:
        with path.open("rb") as file:
            data: dict[str, Any] = tomllib.load(file)
            return data
    except FileNotFoundError:
        raise ConfigurationError(f"configuration file not found: {path}") from None
    except OSError as error:
        raise ConfigurationError(f"cannot read configuration file {path}: {error}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ConfigurationError(f"{path} is not valid TOML: {error}") from None


def _interpolate(value: Any, key: str = "", *, in_providers: bool = False) -> Any:
    """Substitute ``${ENV}`` references, except whole references in provider credentials:
    those stay references (``ProviderSettings`` turns them into Secrets read at use)."""
    if isinstance(value, Mapping):
        return {
            k: _interpolate(v, str(k), in_providers=in_providers or k == "providers")
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_interpolate(item, key, in_providers=in_providers) for item in value]
    if not isinstance(value, str):
        return value
    if (
        in_providers
        and _SECRET_KEY.search(key)
        and _REFERENCE.fullmatch(value)
        and ":-" not in value
    ):
        return value
    return _substitute(value)


def _substitute(value: str) -> str:
    if "${" not in value:
        return value

    def substitute(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        # As in shells and compose files, ":-" also replaces a variable that is set but empty.
        value = os.environ.get(name)
        found = (value or default) if default is not None else value
        if found is None:
            raise ConfigurationError(f"configuration references ${{{name}}}, which is not set")
        return found

    return _REFERENCE.sub(substitute, value)
