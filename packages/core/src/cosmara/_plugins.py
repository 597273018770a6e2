"""The plugin host: one pluggy manager per client, built-ins registered like any plugin."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import pluggy

from cosmara import hookspecs
from cosmara._errors import ConfigurationError
from cosmara.hookspecs import ProviderFactory

if TYPE_CHECKING:
    from cosmara.pipeline import Stage

__all__ = ["PLUGINS_ENV", "Plugins"]

PLUGINS_ENV = "COSMARA_PLUGINS"
ENTRY_POINT_GROUP = "cosmara"

logger = logging.getLogger("cosmara.plugins")


class Plugins:
    """Registers plugins and dispatches their hooks, isolating observers from the request.

    ``COSMARA_PLUGINS`` restricts which installed plugins load: unset loads all, a
    comma-separated list loads only those entry-point names, ``none`` (or empty) loads none.
    """

    def __init__(self, plugins: Iterable[object] = (), *, load_entry_points: bool = True) -> None:
        from cosmara import providers

        self.manager = pluggy.PluginManager("cosmara")
        self.manager.add_hookspecs(hookspecs)
        self.manager.register(providers, name="cosmara.builtin")
        if load_entry_points:
            self._load_entry_points()
        for plugin in plugins:
            self.register(plugin)

    def register(self, plugin: object, name: str | None = None) -> None:
        self.manager.register(plugin, name=name)

    def unregister(self, plugin: object) -> None:
        self.manager.unregister(plugin)

    def names(self) -> list[str]:
        return [name for name, _ in self.manager.list_name_plugin()]

    def provider_factories(self) -> dict[str, ProviderFactory]:
        """Every registered provider kind. Two plugins claiming one kind is an error."""
        factories: dict[str, ProviderFactory] = {}

        def register(kind: str, factory: ProviderFactory) -> None:
            if kind in factories and factories[kind] is not factory:
                raise ConfigurationError(f"two plugins register the provider kind {kind!r}")
            factories[kind] = factory

        self.manager.hook.cosmara_register_providers(register=register)
        return factories

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
                logger.exception("cosmara plugin %r failed in %s", impl.plugin_name, event)

    def _load_entry_points(self) -> None:
        from importlib.metadata import entry_points

        wanted = os.environ.get(PLUGINS_ENV)
        allowed = None if wanted is None else {n.strip() for n in wanted.split(",") if n.strip()}
        for entry_point in entry_points(group=ENTRY_POINT_GROUP):
            if allowed is not None and entry_point.name not in allowed:
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
