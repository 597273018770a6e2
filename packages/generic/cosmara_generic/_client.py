"""``OpenAI`` / ``AsyncOpenAI``: the openai SDK's own clients, on a Cosmara transport.

They are ``openai.OpenAI`` / ``openai.AsyncOpenAI`` instances: every resource, type, helper
(``parse``, ``.stream()``, ``with_raw_response``), exception and library check is the SDK's.
Only their HTTP client differs: an ``httpx.Client`` whose transport hands each request to a
Cosmara engine (``CosmaraTransport``). ``http_client`` / ``async_http_client`` give the same
transport to an SDK client someone already builds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx
import openai
from openai import NOT_GIVEN, NotGiven
from pydantic import ValidationError

import cosmara
from cosmara.providers import OpenAIProvider
from cosmara_generic._transport import AsyncCosmaraTransport, CosmaraTransport

__all__ = ["AsyncOpenAI", "OpenAI", "async_http_client", "http_client"]

# What the SDK sends as its key: the transport drops it, a provider never sees it.
_SDK_KEY = "cosmara"
_COSMARA_DEFAULTS = ("fallbacks", "org", "team", "user", "tags", "metadata")


def http_client(engine: cosmara.Cosmara, **defaults: Any) -> httpx.Client:
    """An ``httpx.Client`` answering the OpenAI API from ``engine``, for an SDK client:
    ``openai.OpenAI(http_client=cosmara_generic.http_client(engine))``.

    ``defaults`` are ``CosmaraTransport``'s (``max_retries``, ``fallbacks``, ``team``, ...).
    The client has no timeout of its own, so the engine's configured timeouts apply unless
    the SDK is given one. The engine stays open when the client closes.
    """
    return httpx.Client(
        transport=CosmaraTransport(engine, **defaults), timeout=None, trust_env=False
    )


def async_http_client(engine: cosmara.Cosmara, **defaults: Any) -> httpx.AsyncClient:
    """The async ``http_client``, for ``openai.AsyncOpenAI(http_client=...)``."""
    transport = AsyncCosmaraTransport(engine, **defaults)
    return httpx.AsyncClient(transport=transport, timeout=None, trust_env=False)


class _Cosmara:
    """What ``OpenAI`` and ``AsyncOpenAI`` add to the SDK's clients: building (or taking) the
    engine, and ``with_options`` for Cosmara's defaults. Shared; the clients are thin."""

    _transport_type: type[CosmaraTransport] | type[AsyncCosmaraTransport]
    _http_type: type[httpx.Client] | type[httpx.AsyncClient]
    _client: httpx.Client | httpx.AsyncClient

    def __init__(
        self,
        *,
        max_retries: int | None = None,
        timeout: Any = None,
        config: cosmara.CosmaraConfig | Mapping[str, Any] | str | Path | None = None,
        client: cosmara.Cosmara | None = None,
        fallbacks: Sequence[str] | None = None,
        org: str | None = None,
        team: str | None = None,
        user: str | None = None,
        tags: Mapping[str, str] | Sequence[str] | None = None,
        metadata: Mapping[str, Any] | None = None,
        load_entry_points: bool = True,
        **options: Any,
    ) -> None:
        cosmara_options: dict[str, Any] = {"client": client, "config": config}
        cosmara_options["max_retries"] = max_retries
        cosmara_options.update(fallbacks=fallbacks, org=org, team=team, user=user, tags=tags)
        cosmara_options.update(metadata=metadata, load_entry_points=load_entry_points)
        options = self._setup(options, cosmara_options)
        # The SDK's own client class comes next in the method resolution order.
        super().__init__(timeout=timeout, **options)  # type: ignore[call-arg]

    @property
    def engine(self) -> cosmara.Cosmara:
        """The Cosmara engine this client's requests go to."""
        return self._cosmara_transport.engine

    @property
    def _cosmara_transport(self) -> CosmaraTransport | AsyncCosmaraTransport:
        return self._client._transport  # type: ignore[return-value]

    def _http(self, transport: CosmaraTransport | AsyncCosmaraTransport) -> Any:
        return self._http_type(transport=transport, timeout=None, trust_env=False)  # type: ignore[arg-type]

    def _setup(self, options: dict[str, Any], cosmara_options: dict[str, Any]) -> dict[str, Any]:
        """The SDK's keyword arguments, with an HTTP client on a Cosmara transport."""
        given = options.pop("http_client", None)
        if given is not None:
            if not isinstance(getattr(given, "_transport", None), self._transport_type):
                raise openai.OpenAIError(
                    "cosmara_generic clients bring their own HTTP client; to use yours, give "
                    "openai.OpenAI(http_client=cosmara_generic.http_client(engine)) instead"
                )
            if cosmara_options["client"] is not None or cosmara_options["config"] is not None:
                raise openai.OpenAIError("give either http_client= or client= / config=")
            # Our own transport: a copy (with_options), or a caller's http_client(engine).
            # The SDK's copy passes its own max_retries (0), never Cosmara's defaults.
            http = given
            changes = {k: cosmara_options[k] for k in _COSMARA_DEFAULTS if cosmara_options[k]}
            if changes:
                http = self._http(given._transport.with_defaults(**changes))
        else:
            endpoint = {key: options.get(key) for key in _ENDPOINT_OPTIONS}
            endpoint["default_headers"] = options.pop("default_headers", None)
            engine, owned = _engine(
                endpoint,
                client=cosmara_options.pop("client"),
                config=cosmara_options.pop("config"),
                load_entry_points=cosmara_options.pop("load_entry_points"),
            )
            http = self._http(self._transport_type(engine, close_engine=owned, **cosmara_options))
        options.update(api_key=_SDK_KEY, http_client=http, max_retries=0)
        return options

    def _copy_options(self, options: dict[str, Any]) -> dict[str, Any]:
        """``with_options``: Cosmara's defaults and ``max_retries`` go to a transport on the
        same engine; endpoint options (``api_key``, ``base_url``, ...) to a new engine with
        this one's configuration, owned by the copy."""
        changes = {key: options.pop(key) for key in _COSMARA_DEFAULTS if key in options}
        retries = options.pop("max_retries", NOT_GIVEN)
        if not isinstance(retries, NotGiven):
            changes["max_retries"] = retries
        endpoint = {
            key: options[key]
            for key in _ENDPOINT_OPTIONS
            if options.get(key) is not None and not isinstance(options[key], NotGiven)
        }
        current = self._cosmara_transport
        transport = current
        if endpoint:
            options.pop("api_key", None)  # the SDK's key stays the placeholder
            engine, _ = _engine(endpoint, config=current.engine.config, load_entry_points=False)
            transport = self._transport_type(
                engine, close_engine=True, **{**current.defaults, **changes}
            )
        elif changes:
            transport = current.with_defaults(**changes)
        if transport is not current:
            options["http_client"] = self._http(transport)
        return options


_ENDPOINT_OPTIONS = ("api_key", "base_url", "organization", "project")


def _engine(
    endpoint: dict[str, Any],
    *,
    client: cosmara.Cosmara | None = None,
    config: Any = None,
    load_entry_points: bool = True,
) -> tuple[cosmara.Cosmara, bool]:
    """The engine a new client uses, and whether the client built it (and so closes it)."""
    given = {
        key: value for key, value in endpoint.items() if value and not isinstance(value, NotGiven)
    }
    if client is not None:
        if given:
            raise openai.OpenAIError(
                f"{', '.join(sorted(given))} configure the engine a client builds; with "
                "client=, set them in that engine's providers instead"
            )
        return client, False
    try:
        engine_config = cosmara.CosmaraConfig.load(config)
        configured = engine_config.providers.get("openai")
        settings = _openai_settings(
            api_key=given.get("api_key"),
            base_url=given.get("base_url"),
            organization=given.get("organization"),
            project=given.get("project"),
            default_headers=given.get("default_headers"),
            as_headers=configured is not None and configured.type not in (None, "openai"),
        )
        if settings:
            # Merged into the configuration's own openai entry: a key given here keeps the
            # configured base_url, and the other way round.
            current = engine_config.providers.get("openai")
            entry = cosmara.ProviderSettings.model_validate({**dict(current or {}), **settings})
            providers = {**engine_config.providers, "openai": entry}
            engine_config = engine_config.model_copy(update={"providers": providers})
        if engine_config.default_provider is None and _own_endpoint(engine_config):
            # With an endpoint of its own, the SDK sends every model name there; so do we.
            engine_config = engine_config.model_copy(update={"default_provider": "openai"})
        engine = cosmara.Cosmara(engine_config, load_entry_points=load_entry_points)
    except cosmara.CosmaraError as error:
        raise openai.OpenAIError(str(error)) from error
    except ValidationError as error:
        # Where, never what: the values may be keys.
        where = ", ".join(".".join(map(str, item["loc"])) for item in error.errors())
        raise openai.OpenAIError(f"invalid openai provider settings: {where}") from None
    return engine, True


def _own_endpoint(config: cosmara.CosmaraConfig) -> bool:
    """Whether the engine's ``openai`` provider has a base URL other than OpenAI's: given here,
    configured, or from ``OPENAI_BASE_URL`` as the engine itself reads it (this package reads
    no variable of its own, so every surface sees the environment alike).

    Raises:
        cosmara.ConfigurationError: ``OPENAI_BASE_URL`` is not a usable URL.
    """
    settings = config.providers.get("openai") or cosmara.ProviderSettings()
    if settings.type not in (None, "openai"):
        return settings.base_url is not None
    provider = OpenAIProvider("openai", settings)
    return provider.base_url != OpenAIProvider.default_base_url


def _openai_settings(
    *,
    api_key: Any,
    base_url: Any,
    organization: Any,
    project: Any,
    default_headers: Mapping[str, str] | None,
    as_headers: bool,
) -> dict[str, Any]:
    """The ``openai`` provider's settings for the SDK's options. ``organization`` and
    ``project`` are that provider's own settings (the engine sends them as the SDK does, and
    reads ``OPENAI_ORG_ID`` / ``OPENAI_PROJECT_ID`` when they are not given); for an entry of
    another kind, the SDK's headers."""
    settings: dict[str, Any] = {}
    if api_key:
        settings["api_key"] = api_key
    if base_url:
        settings["base_url"] = str(base_url)
    headers = dict(default_headers or {})
    for option, value, header in (
        ("organization", organization, "OpenAI-Organization"),
        ("project", project, "OpenAI-Project"),
    ):
        if value and as_headers:
            headers[header] = value
        elif value:
            settings[option] = value
    if headers:
        settings["headers"] = headers
    return settings


class OpenAI(_Cosmara, openai.OpenAI):
    """``openai.OpenAI`` on a Cosmara engine: change the import, keep the code.

    Takes the SDK's arguments, plus Cosmara's:

    Args:
        api_key, base_url, organization, project, default_headers: configure Cosmara's
            ``openai`` provider, as they configure the SDK (``OPENAI_API_KEY`` and
            the engine reads ``OPENAI_BASE_URL``, ``OPENAI_ORG_ID`` and ``OPENAI_PROJECT_ID``
            as everywhere else). With a base URL other than OpenAI's, a bare model name the
            catalog does not know goes to that endpoint, as with the SDK.
        timeout: per request, as the SDK's; ``None`` (the default) leaves the engine's
            configured timeouts.
        max_retries: the engine's retries of a failing target (``None``: its retry policy).
            The SDK itself never retries: the engine already has.
        config: a Cosmara configuration (dict, ``CosmaraConfig`` or ``cosmara.toml`` path).
        client: a ready ``cosmara.Cosmara`` to use instead of building one (not closed here);
            or ``http_client=cosmara_generic.http_client(engine, ...)`` for its transport.
        fallbacks, org, team, user, tags, metadata: Cosmara defaults for every call.
        load_entry_points: load installed Cosmara plugins into the engine it builds.

    Raises:
        openai.OpenAIError: the Cosmara configuration is invalid.
    """

    _transport_type = CosmaraTransport
    _http_type = httpx.Client

    def copy(self, **options: Any) -> OpenAI:  # type: ignore[override]
        """As the SDK's ``with_options``, plus Cosmara's defaults (``team``, ``fallbacks``,
        ...); ``max_retries`` sets the engine's retries."""
        return super().copy(**self._copy_options(options))

    with_options = copy


class AsyncOpenAI(_Cosmara, openai.AsyncOpenAI):
    """``openai.AsyncOpenAI`` on a Cosmara engine; the same arguments as ``OpenAI``."""

    _transport_type = AsyncCosmaraTransport
    _http_type = httpx.AsyncClient

    def copy(self, **options: Any) -> AsyncOpenAI:  # type: ignore[override]
        """As ``OpenAI.copy``."""
        return super().copy(**self._copy_options(options))

    with_options = copy
