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
from typing import Annotated, Any, Literal
from urllib.parse import unquote

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
from cosmara._headers import checked_headers, is_secret_name
from cosmara._health import BreakerPolicy
from cosmara._limits import Limits
from cosmara._retry import RetryPolicy
from cosmara._rules import Rule
from cosmara._secrets import Secret
from cosmara._timeouts import Timeouts
from cosmara._urls import split_base_url
from cosmara.budgets._settings import BudgetOptions, BudgetRule
from cosmara.cache._settings import CacheSettings
from cosmara.ledger._settings import LedgerSettings
from cosmara.ratelimits._settings import RateLimitRule
from cosmara.state._settings import StateSettings

__all__ = ["BUILTIN_GROUPS", "CosmaraConfig", "GroupSettings", "ProviderSettings"]

_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
CONFIG_ENV = "COSMARA_CONFIG"


class ProviderSettings(BaseModel):
    """How to reach one provider. Other keys are provider-specific options, checked against
    what the provider's kind declares when a client is built.

    Credentials are ``Secret``s wherever they are given: ``api_key``, any option named like a
    key, token, secret or password, header values named like credentials (``Authorization``,
    ``x-api-key``, ...), and a ``user:password@`` in ``base_url``, which is taken out of the URL
    and sent as HTTP Basic authentication.
    """

    model_config = ConfigDict(defer_build=True, extra="allow", hide_input_in_errors=True)

    type: str | None = Field(
        default=None, description="Registered provider kind; defaults to the entry's own name"
    )
    api_key: Secret | None = None
    base_url: str | None = None
    timeout: Timeouts | None = None
    headers: dict[str, str | Secret] = Field(default_factory=dict, repr=False)
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

    @field_validator("headers", mode="before")
    @classmethod
    def _headers(cls, value: Any) -> Any:
        if isinstance(value, Mapping) and any(isinstance(v, Secret) for v in value.values()):
            return value  # already checked (a copy of validated settings)
        headers = checked_headers(value, "headers")
        return {
            name: Secret.coerce(text) if is_secret_name(name) else text
            for name, text in headers.items()
        }

    @model_validator(mode="before")
    @classmethod
    def _credentials_are_secrets(cls, data: Any) -> Any:
        # Provider-specific credentials (azure_ad_token, ...) get the same care as api_key,
        # and credentials written into base_url leave it.
        if not isinstance(data, Mapping):
            return data
        data = {
            key: _secret(str(key), value)
            if isinstance(value, str) and is_secret_name(str(key))
            else value
            for key, value in data.items()
        }
        if isinstance(data.get("base_url"), str):
            url, userinfo = split_base_url(data["base_url"])
            data["base_url"] = url
            if userinfo is not None:
                data["base_url_credentials"] = Secret(userinfo)
        return data

    @property
    def header_values(self) -> dict[str, str]:
        """The configured headers as sent: secrets read, ``base_url`` credentials as Basic auth."""
        values = {
            name: value.get() or "" if isinstance(value, Secret) else value
            for name, value in self.headers.items()
        }
        userinfo = (self.model_extra or {}).get("base_url_credentials")
        if isinstance(userinfo, Secret) and userinfo.get():
            import base64

            token = base64.b64encode(unquote(userinfo.get() or "").encode()).decode("ascii")
            values.setdefault("authorization", f"Basic {token}")
        return values

    @model_serializer(mode="wrap")
    def _dump_extra_secrets_masked(self, handler: SerializerFunctionWrapHandler) -> Any:
        # Extra settings that hold credentials (azure_ad_token, ...) are Secrets too; dump them
        # the way typed ones are dumped: as their ${ENV} reference or a mask.
        extra = self.__pydantic_extra__ or {}
        secrets = {key: value.dumped() for key, value in extra.items() if isinstance(value, Secret)}
        return handler(self.model_copy(update=secrets) if secrets else self)


def _secret(key: str, value: str) -> Secret:
    try:
        return Secret.coerce(value)
    except ValueError as error:
        raise ValueError(f"{key}: {error}") from None


class GroupSettings(BaseModel):
    """A virtual model: candidates and the strategy that orders them for each request."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    models: list[str] = Field(
        default_factory=list,
        description="provider/model names; empty means every catalog chat model you have keys for",
    )
    strategy: str = "balanced"
    max_candidates: int = Field(default=3, ge=1, description="the first plus its fallbacks")
    weights: dict[str, Annotated[float, Field(ge=0, allow_inf_nan=False)]] = Field(
        default_factory=dict, description="for 'weighted': a share of traffic per model"
    )
    balance: dict[str, Annotated[float, Field(ge=0, allow_inf_nan=False)]] = Field(
        default_factory=dict, description="for 'balanced': cost, quality, latency weights"
    )
    rules: list[Rule] = Field(
        default_factory=list,
        description="checked in order; the first match decides, else the group's own models",
    )

    @field_validator("balance")
    @classmethod
    def _balance_names(cls, balance: dict[str, float]) -> dict[str, float]:
        unknown = set(balance) - {"cost", "quality", "latency"}
        if unknown:
            names = ", ".join(sorted(unknown))
            raise ValueError(f"unknown balance weight(s) {names}; use cost, quality, latency")
        return balance


BUILTIN_GROUPS = {
    "auto": GroupSettings(strategy="balanced"),
    "fast": GroupSettings(strategy="latency"),
    "cheap": GroupSettings(strategy="cost"),
    "best": GroupSettings(strategy="quality"),
}


class CosmaraConfig(BaseModel):
    """Everything a ``Cosmara`` client is configured with."""

    model_config = ConfigDict(defer_build=True, extra="forbid", hide_input_in_errors=True)

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
    limits: Limits = Field(
        default_factory=Limits, description="Bounds on response bodies, stream events, errors"
    )
    state: StateSettings = Field(
        default_factory=StateSettings,
        description="Where shared state lives (cache, budgets, limits, ledger): memory, SQLite, "
        "Redis",
    )
    cache: CacheSettings = Field(default_factory=CacheSettings)
    ledger: LedgerSettings = Field(default_factory=LedgerSettings)
    budgets: dict[str, BudgetRule] = Field(
        default_factory=dict, description="Budgets by name: who may spend how much, per period"
    )
    budget: BudgetOptions = Field(default_factory=BudgetOptions)
    rate_limits: dict[str, RateLimitRule] = Field(
        default_factory=dict, description="Rate limits by name: requests, tokens, dollars"
    )
    async_transport: Literal["auto", "aiohttp", "httpx"] = Field(
        default="auto", description="What async calls go through; auto: aiohttp if installed"
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
        if isinstance(source, (str, Path)):
            raw = _read_toml(Path(source))
        elif isinstance(source, Mapping):
            raw = dict(source)
        else:
            raise ConfigurationError(
                "the configuration must be a CosmaraConfig, a mapping or a path of a "
                f"cosmara.toml, not {type(source).__name__}"
            )
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
        if not isinstance(providers or {}, Mapping) or not isinstance(aliases or {}, Mapping):
            raise ConfigurationError("providers and aliases must be mappings")
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
    if in_providers and is_secret_name(key) and _REFERENCE.fullmatch(value) and ":-" not in value:
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
