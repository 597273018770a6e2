"""The route step: from the model a caller named to the ordered targets the engine will try.

Names resolve in this order: a configured alias (one model or an ordered list), an explicit
``provider/model`` whose prefix is a configured or registered provider, then a bare model name
looked up in the catalog (the first provider offering it that has credentials wins). Routing
strategies and virtual groups (``auto``, ``cheap``, ...) plug in here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

from cosmara._catalog import Catalog, ModelInfo
from cosmara._config import CosmaraConfig, ProviderSettings
from cosmara._errors import ConfigurationError, MissingCredentialsError, UnknownModelError
from cosmara._meta import Route
from cosmara._plugins import ProviderKinds
from cosmara.hookspecs import ProviderFactory
from cosmara.providers._base import HttpProvider, Provider

__all__ = ["Plan", "ProviderSet", "Router", "Target"]

_REMEMBERED_PLANS = 512
_INTERNAL_SETTINGS = frozenset({"base_url_credentials"})  # set by ProviderSettings itself


@dataclass(frozen=True)
class Target:
    """One provider and the model name it is asked for."""

    provider: Provider
    model: str
    info: ModelInfo | None
    id: str = field(init=False)  # "provider/model": read on every routing decision

    def __post_init__(self) -> None:
        object.__setattr__(self, "id", f"{self.provider.name}/{self.model}")


@dataclass(frozen=True)
class Plan:
    route: Route
    targets: tuple[Target, ...]

    @cached_property
    def windows(self) -> dict[str, int]:
        """Context windows the catalog knows, by target id (computed once per plan)."""
        return {
            t.id: t.info.context_window for t in self.targets if t.info and t.info.context_window
        }


class ProviderSet:
    """Provider instances by name, created on first use from configuration and registered kinds."""

    def __init__(self, config: CosmaraConfig, factories: dict[str, ProviderFactory]) -> None:
        self._settings = config.providers
        self._limits = config.limits
        self._factories = factories
        self._instances: dict[str, Provider] = {}

    def names(self) -> set[str]:
        return set(self._settings) | set(self._factories)

    def why_missing(self, kind: str) -> str | None:
        """Why no plugin registers ``kind``, when an installed one was left out."""
        factories = self._factories
        return factories.why_missing(kind) if isinstance(factories, ProviderKinds) else None

    def __contains__(self, name: object) -> bool:
        return name in self._settings or name in self._factories

    def get(self, name: str) -> Provider:
        provider = self._instances.get(name)
        if provider is None:
            provider = self._instances[name] = self._create(name)
        return provider

    def check(self) -> None:
        """Create every configured provider now, so a mistake in its settings (an unknown
        kind, a misspelt option) is a configuration error before any request.

        Raises:
            ConfigurationError: as above.
        """
        for name in self._settings:
            self.get(name)

    def _create(self, name: str) -> Provider:
        settings = self._settings.get(name) or ProviderSettings()
        kind = settings.type or name
        factory = self._factories.get(kind)
        if factory is None:
            known = ", ".join(sorted(self._factories))
            why = self.why_missing(kind)
            raise ConfigurationError(
                f"provider {name!r} has unknown type {kind!r}; known: {known}"
                + (f"; {why}" if why else "")
            )
        provider = factory(name, settings)
        if not isinstance(provider, Provider):
            raise ConfigurationError(f"the factory for {kind!r} did not return a Provider")
        unknown = set(settings.model_extra or ()) - provider.settings_fields - _INTERNAL_SETTINGS
        if unknown:
            known = ", ".join(sorted({*ProviderSettings.model_fields, *provider.settings_fields}))
            raise ConfigurationError(
                f"providers.{name}: unknown setting(s) {', '.join(sorted(unknown))} for a "
                f"{kind!r} provider; known: {known}"
            )
        provider.limits = self._limits
        return provider


class Router:
    def __init__(self, config: CosmaraConfig, catalog: Catalog, providers: ProviderSet) -> None:
        self._aliases = config.aliases
        self._default_provider = config.default_provider
        self._catalog = catalog
        self._providers = providers
        self._plans: dict[tuple[str, tuple[str, ...]], Plan] = {}

    def plan(self, model: str, fallbacks: Sequence[str] = ()) -> Plan:
        """Ordered targets for ``model`` then each fallback, skipping ones without credentials.

        Plans are remembered (a bounded memo) unless a target was skipped for lack of
        credentials, so a key set later is picked up on the next call.

        Raises:
            UnknownModelError: a name resolves to no provider or catalog entry.
            MissingCredentialsError: no target has credentials.
        """
        key = (model, tuple(fallbacks))
        plan = self._plans.get(key)
        if plan is None:
            plan, complete = self._build(model, key[1])
            if complete:
                if len(self._plans) >= _REMEMBERED_PLANS:
                    self._plans.clear()
                self._plans[key] = plan
        return plan

    def _build(self, model: str, fallbacks: tuple[str, ...]) -> tuple[Plan, bool]:
        strategy, reason, names = self._expand(model)
        for fallback in fallbacks:
            names.extend(self._expand(fallback)[2])
        targets: list[Target] = []
        skipped: list[Target] = []
        for index, name in enumerate(names):
            target, how = self._resolve(name)
            if index == 0 and strategy == "explicit" and how == "catalog":
                strategy, reason = "catalog", f"bare name {model!r} resolved to {target.id}"
            if any(t.id == target.id for t in targets):
                continue
            (targets if target.provider.has_credentials else skipped).append(target)
        if not targets:
            missing = skipped[0].provider
            hint = missing.credentials_hint if isinstance(missing, HttpProvider) else ""
            raise MissingCredentialsError(f"no API key for provider {missing.name!r}: {hint}")
        if skipped:
            reason += "; skipped without credentials: " + ", ".join(t.id for t in skipped)
        route = Route(strategy=strategy, reason=reason, candidates=tuple(t.id for t in targets))
        return Plan(route, tuple(targets)), not skipped

    def target(self, name: str) -> Target:
        """The target one ``provider/model`` (or catalog) name resolves to.

        Raises:
            UnknownModelError: the name resolves to no provider or catalog entry.
        """
        return self._resolve(name)[0]

    def _expand(self, name: str) -> tuple[str, str, list[str]]:
        alias = self._aliases.get(name)
        if alias is None:
            return "explicit", f"{name!r} as requested", [name]
        members = [alias] if isinstance(alias, str) else list(alias)
        return "alias", f"alias {name!r} -> {', '.join(members)}", members

    def _resolve(self, name: str) -> tuple[Target, str]:
        prefix, sep, model = name.partition("/")
        if sep and model and prefix in self._providers:
            provider = self._providers.get(prefix)
            info = self._catalog.price_entry(provider.catalog_names, model)
            return Target(provider, model, info), "explicit"
        offers = [info for info in self._catalog.find(name) if info.provider in self._providers]
        default = self._default_provider
        if not offers and default is not None and default in self._providers:
            return Target(self._providers.get(default), name, None), "default provider"
        if not offers:
            raise UnknownModelError(self._unknown(name, prefix if sep else None))
        chosen = next(
            (info for info in offers if self._providers.get(info.provider).has_credentials),
            offers[0],
        )
        return Target(self._providers.get(chosen.provider), chosen.model, chosen), "catalog"

    def _unknown(self, name: str, prefix: str | None) -> str:
        providers = ", ".join(sorted(self._providers.names()))
        if prefix is not None:
            why = self._providers.why_missing(prefix)
            return (
                f"unknown provider {prefix!r} in model {name!r}; "
                f"use 'provider/model' with one of: {providers}" + (f"; {why}" if why else "")
            )
        return f"unknown model {name!r}: name it as 'provider/model' (providers: {providers})"
