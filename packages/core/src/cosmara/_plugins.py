"""The plugin host: one pluggy manager per client, built-ins registered like any plugin.

Every plugin has a readable name (its entry point's, or its class's or module's), which is how
a failing observer is reported. Installed plugins left out (by ``COSMARA_PLUGINS``, or
``load_entry_points=False``) are remembered, so a model naming a provider one of them would
register says why it is unknown.
"""

from __future__ import annotations

import logging
import os
import types
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import pluggy

from cosmara import hookspecs
from cosmara._errors import ConfigurationError
from cosmara.hookspecs import ProviderFactory

if TYPE_CHECKING:
    from cosmara.pipeline import Stage

__all__ = ["PLUGINS_ENV", "Plugins", "ProviderKinds"]

PLUGINS_ENV = "COSMARA_PLUGINS"
ENTRY_POINT_GROUP = "cosmara"

logger = logging.getLogger("cosmara.plugins")


class ProviderKinds(dict[str, ProviderFactory]):
    """The registered provider kinds (kind -> factory), and why an installed one is missing:
    ``why_missing(kind)`` says so when an installed plugin was left out."""

    def __init__(
        self, found: dict[str, ProviderFactory], why_missing: Callable[[str], str | None]
    ) -> None:
        super().__init__(found)
        self.why_missing = why_missing


class Plugins:
    """Registers plugins and dispatches their hooks, isolating observers from the request.

    ``COSMARA_PLUGINS`` restricts which installed plugins load: unset loads all, a
    comma-separated list loads only those entry-point names, ``none`` (or empty) loads none.
    A name no installed plugin has is logged as a warning (logger ``cosmara.plugins``).
    """

    def __init__(self, plugins: Iterable[object] = (), *, load_entry_points: bool = True) -> None:
        from cosmara import providers

        self.manager = pluggy.PluginManager("cosmara")
        self.manager.add_hookspecs(hookspecs)
        self.manager.register(providers, name="cosmara.builtin")
        self._labels: dict[str, str] = {}  # plugin name -> how logs name it
        self._load_entry_points = load_entry_points
        self._left_out: dict[str, str] = {}  # installed, not loaded: entry point -> package
        self._unknown_wanted: list[str] = []  # COSMARA_PLUGINS names nothing installed has
        if load_entry_points:
            self._load_installed()
        for plugin in plugins:
            self.register(plugin)

    def register(self, plugin: object, name: str | None = None) -> None:
        """Register ``plugin`` under ``name``, else a readable name of its own: its class's
        (``CostLogger``, then ``CostLogger#2`` for a second instance) or its module's.

        Raises:
            ValueError: the plugin, or a plugin of that name, is already registered.
        """
        self.manager.register(plugin, name=name or self._name_for(plugin))

    def _name_for(self, plugin: object) -> str:
        if isinstance(plugin, types.ModuleType):
            return plugin.__name__
        base = type(plugin).__name__
        name, number = base, 1
        while self.manager.has_plugin(name):
            number += 1
            name = f"{base}#{number}"
        return name

    def unregister(self, plugin: object) -> None:
        self.manager.unregister(plugin)

    def names(self) -> list[str]:
        return [name for name, _ in self.manager.list_name_plugin()]

    def provider_factories(self) -> ProviderKinds:
        """Every registered provider kind. Two plugins claiming one kind is an error."""
        factories: dict[str, ProviderFactory] = {}

        def register(kind: str, factory: ProviderFactory) -> None:
            if kind in factories and factories[kind] is not factory:
                raise ConfigurationError(f"two plugins register the provider kind {kind!r}")
            factories[kind] = factory

        self.manager.hook.cosmara_register_providers(register=register)
        return ProviderKinds(factories, self.why_missing)

    def why_missing(self, kind: str) -> str | None:
        """Why the provider ``kind`` may be missing: an installed plugin of that name left
        out (by ``COSMARA_PLUGINS`` or ``load_entry_points=False``), or ``COSMARA_PLUGINS``
        naming plugins that are not installed; None when neither applies."""
        if self._load_entry_points:
            left_out, setting = self._left_out, f"{PLUGINS_ENV}={os.environ.get(PLUGINS_ENV)}"
        else:
            left_out, setting = _installed(), "Cosmara(load_entry_points=False)"
        reasons = []
        if kind in left_out:
            reasons.append(
                f"plugin {kind!r} ({left_out[kind]}) is installed but {setting} leaves it out"
            )
        elif left_out:
            listed = ", ".join(f"{name} ({package})" for name, package in sorted(left_out.items()))
            reasons.append(f"installed plugins left out by {setting}: {listed}")
        if self._unknown_wanted:
            names = ", ".join(repr(name) for name in self._unknown_wanted)
            reasons.append(f"{PLUGINS_ENV} names {names}, which no installed plugin is called")
        return "; ".join(reasons) or None

    def embedders(self) -> dict[str, Any]:
        """Embedder factories registered by plugins, by name."""
        return self._named("cosmara_register_embedders", "embedder")

    def verifiers(self) -> dict[str, Any]:
        """Verifiers registered by plugins, by name."""
        return self._named("cosmara_register_verifiers", "verifier")

    def _named(self, hook: str, what: str) -> dict[str, Any]:
        found: dict[str, Any] = {}

        def register(name: str, value: Any) -> None:
            if name in found and found[name] is not value:
                raise ConfigurationError(f"two plugins register the {what} {name!r}")
            found[name] = value

        getattr(self.manager.hook, hook)(register=register)
        return found

    def strategies(self) -> dict[str, Any]:
        """Routing strategies registered by plugins (built-in ones are added by the engine)."""
        found: dict[str, Any] = {}

        def register(name: str, strategy: Any) -> None:
            if name in found and found[name] is not strategy:
                raise ConfigurationError(f"two plugins register the routing strategy {name!r}")
            found[name] = strategy

        self.manager.hook.cosmara_register_strategies(register=register)
        return found

    def placed_stages(self, builtin: Sequence[Stage]) -> list[Stage]:
        """The built-in stages with the plugins' inserted where they asked.

        Raises:
            ConfigurationError: a stage without a name, a name taken twice, or a place that
                names no stage.
        """
        from cosmara.pipeline import Stage  # the pipeline uses the plugins: not at import

        stages = list(builtin)

        def register(stage: Stage, *, before: str | None = None, after: str | None = None) -> None:
            if not isinstance(stage, Stage) or not stage.name:
                raise ConfigurationError(f"{stage!r} is not a named cosmara.Stage")
            if any(s.name == stage.name for s in stages):
                raise ConfigurationError(f"two stages are named {stage.name!r}")
            if before is not None and after is not None:
                raise ConfigurationError("a stage goes before one stage or after one, not both")
            anchor = before or after
            if anchor is None or (before == "attempts"):
                stages.append(stage)  # the attempts come last: just before them
                return
            if after == "validate":
                stages.insert(0, stage)
                return
            names = [s.name for s in stages]
            if anchor not in names:
                raise ConfigurationError(
                    f"stage {stage.name!r} asks for a place near {anchor!r}, which is not a "
                    f"stage; stages: {', '.join(names)}"
                )
            stages.insert(names.index(anchor) + (1 if after else 0), stage)

        self.manager.hook.cosmara_register_stages(register=register)
        return stages

    def has_observers(self, event: str) -> bool:
        return bool(getattr(self.manager.hook, event).get_hookimpls())

    def emit(self, event: str, **kwargs: Any) -> None:
        """Call each observer of ``event``; one that raises is logged and the rest still run."""
        for impl in getattr(self.manager.hook, event).get_hookimpls():
            try:
                impl.function(**{name: kwargs[name] for name in impl.argnames})
            except Exception:
                name = impl.plugin_name
                logger.exception(
                    "cosmara plugin %r failed in %s", self._labels.get(name, name), event
                )

    def _load_installed(self) -> None:
        from importlib.metadata import entry_points

        wanted = os.environ.get(PLUGINS_ENV)
        allowed = None if wanted is None else {n.strip() for n in wanted.split(",") if n.strip()}
        installed = set()
        for entry_point in entry_points(group=ENTRY_POINT_GROUP):
            installed.add(entry_point.name)
            package = _package(entry_point)
            if allowed is not None and entry_point.name not in allowed:
                self._left_out[entry_point.name] = package
                continue
            if self.manager.get_plugin(entry_point.name) is not None:
                continue
            try:
                plugin = entry_point.load()
            except Exception as error:
                raise ConfigurationError(
                    f"cannot load Cosmara plugin {entry_point.name!r}: {error}"
                ) from error
            self.manager.register(plugin, name=entry_point.name)
            self._labels[entry_point.name] = f"{entry_point.name} ({package})"
        self._unknown_wanted = sorted((allowed or set()) - installed - {"none"})
        if self._unknown_wanted:
            logger.warning(
                "%s names %s, which no installed plugin is called (installed: %s)",
                PLUGINS_ENV,
                ", ".join(repr(name) for name in self._unknown_wanted),
                ", ".join(sorted(installed)) or "none",
            )


def _package(entry_point: Any) -> str:
    """The distribution that installed ``entry_point`` (its entry point name if unknown)."""
    dist = getattr(entry_point, "dist", None)
    return str(getattr(dist, "name", None) or entry_point.name)


def _installed() -> dict[str, str]:
    """Every installed plugin: entry point name -> its package."""
    from importlib.metadata import entry_points

    return {ep.name: _package(ep) for ep in entry_points(group=ENTRY_POINT_GROUP)}
