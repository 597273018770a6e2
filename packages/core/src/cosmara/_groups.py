"""Virtual models: a group's candidates, filtered by what the request needs, ordered by its
strategy. ``auto``, ``fast``, ``cheap`` and ``best`` are built in; configuration adds more."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from types import MappingProxyType

from cosmara._catalog import Catalog
from cosmara._config import BUILTIN_GROUPS, GroupSettings
from cosmara._context import RequestContext
from cosmara._cost import estimate_cost
from cosmara._errors import ConfigurationError, MissingCredentialsError, RequestValidationError
from cosmara._health import HealthMonitor
from cosmara._messages import ChatRequest
from cosmara._meta import Route
from cosmara._routing import Plan, ProviderSet, Router, Target
from cosmara._rules import Rule
from cosmara._strategies import Candidates, Strategy
from cosmara._tokens import PromptSize, most_tokens

__all__ = ["GroupRouter"]

_REMEMBERED = 256
_NOTHING_RESTING: frozenset[str] = frozenset()


class GroupRouter:
    """Plans requests whose model names a group. Plans depend on the request and on live
    health, so they are made per call; a group's candidate list is made once per client."""

    def __init__(
        self,
        groups: dict[str, GroupSettings],
        *,
        aliases: Sequence[str],
        router: Router,
        catalog: Catalog,
        providers: ProviderSet,
        configured: Sequence[str],
        health: HealthMonitor,
        strategies: dict[str, Strategy],
        clock: Callable[[], datetime],
    ) -> None:
        # A configured alias or group of the same name wins over a built-in group.
        builtin = {name: g for name, g in BUILTIN_GROUPS.items() if name not in aliases}
        self._groups = {**builtin, **groups}
        self._router = router
        self._catalog = catalog
        self._providers = providers
        self._configured = set(configured)
        self._health = health
        self._strategies = strategies
        self._clock = clock
        self._candidates: dict[str, tuple[Target, ...]] = {}
        # Capable (and awake) candidates by group, needs and resting targets.
        self._ranked: dict[tuple[str, frozenset[str], frozenset[str]], Candidates] = {}
        # What strategies get as ``options``: the group's settings, read-only, made once.
        self._options = {
            name: MappingProxyType(group.model_dump()) for name, group in self._groups.items()
        }

    def __contains__(self, name: object) -> bool:
        return name in self._groups

    def route(
        self,
        model: str,
        fallbacks: Sequence[str],
        request: ChatRequest,
        context: RequestContext,
        *,
        needs: frozenset[str],
        size: PromptSize,
    ) -> Plan:
        """The plan for ``model`` then each fallback, where the model or a fallback is a group
        (a group's part of the plan depends on the request and on live health).

        Raises:
            as ``plan``, and as ``Router.plan`` for names that are not groups.
        """
        if model in self._groups:
            return self.plan(model, fallbacks, request, context, needs=needs, size=size)
        after = self._after(fallbacks, request, context, needs, size)
        try:
            first = self._router.plan(model)
        except MissingCredentialsError:
            if not after:
                raise
            strategy, reason, targets = "explicit", f"no key for {model!r}", after
        else:
            strategy, reason = first.route.strategy, first.route.reason
            targets = _joined(first.targets, after)
        route = Route(
            strategy=strategy,
            reason=f"{reason}; then {', '.join(fallbacks)}",
            candidates=tuple([t.id for t in targets]),
        )
        return Plan(route, targets)

    def plan(
        self,
        name: str,
        fallbacks: Sequence[str],
        request: ChatRequest,
        context: RequestContext,
        *,
        needs: frozenset[str],
        size: PromptSize,
    ) -> Plan:
        """The group's capable candidates in strategy order, then the call's fallbacks.

        Raises:
            ConfigurationError: the group names an unknown strategy.
            MissingCredentialsError: no candidate of the group has credentials.
            RequestValidationError: no candidate can serve what the request needs.
        """
        group = self._groups[name]
        if group.rules:
            now = self._clock()
            for number, rule in enumerate(group.rules, start=1):
                if rule.when.matches(context, now, size):
                    return self._by_rule(
                        name, number, rule, fallbacks, request, context, needs, size
                    )
        strategy = self._strategies.get(group.strategy)
        if strategy is None:
            known = ", ".join(sorted(self._strategies))
            raise ConfigurationError(
                f"group {name!r} uses unknown strategy {group.strategy!r}; known: {known}"
            )
        every = self._capable(name, needs)
        awake = self._awake(name, needs, every)
        able = _fitting(awake, request, size)
        total = len(self.candidates(name))
        ordered = strategy(able, request, context, self._health, self._options[name])
        ordered = ordered[: group.max_candidates]
        targets = _joined(ordered, self._after(fallbacks, request, context, needs, size))
        reason = (
            f"group {name!r}: {ordered[0].id}, {_chosen_as(group.strategy)} of {len(able)} "
            f"candidate{'' if len(able) == 1 else 's'}"
        )
        if needs:
            reason += f" able to take {_listed(needs)}"
        if len(able) < len(every):
            reason += _passed_over(len(every) - len(awake), len(awake) - len(able))
        if len(every) < total:
            reason += f" ({total} in the group)"
        route = Route(
            strategy=group.strategy, reason=reason, candidates=tuple(t.id for t in targets)
        )
        return Plan(route, targets)

    def _after(
        self,
        fallbacks: Sequence[str],
        request: ChatRequest,
        context: RequestContext,
        needs: frozenset[str],
        size: PromptSize,
    ) -> tuple[Target, ...]:
        """The targets of the fallbacks in order: a group's by its own plan, a model or an
        alias by the router's; names without credentials are passed over."""
        found: list[Target] = []
        for name in fallbacks:
            try:
                plan = (
                    self.plan(name, (), request, context, needs=needs, size=size)
                    if name in self._groups
                    else self._router.plan(name)
                )
            except MissingCredentialsError:
                continue  # as in the router's own plans: a fallback without a key is passed over
            found.extend(t for t in plan.targets if t not in found)
        return tuple(found)

    def every_target(self, names: Sequence[str]) -> tuple[Target, ...]:
        """Every target these names may be served by, in order, before any request: all of
        a group's candidates, a model's or an alias's targets. Names without credentials are
        passed over, as in plans.

        Raises:
            MissingCredentialsError: no name has a target with credentials.
            UnknownModelError: a name resolves to nothing.
        """
        found: list[Target] = []
        missing: MissingCredentialsError | None = None
        for name in names:
            try:
                targets = (
                    self.candidates(name)
                    if name in self._groups
                    else self._router.plan(name).targets
                )
            except MissingCredentialsError as error:
                missing = missing or error
                continue
            found.extend(t for t in targets if t not in found)
        if not found and missing is not None:
            raise missing
        return tuple(found)

    def _capable(self, name: str, needs: frozenset[str]) -> Candidates:
        """The group's candidates that can serve a request needing ``needs`` (remembered:
        a group has few distinct needs)."""
        key = (name, needs, _NOTHING_RESTING)
        able = self._ranked.get(key)
        if able is None:
            able = Candidates(
                t
                for t in self.candidates(name)
                # The catalog may not know a fine-tune or a local model: try it as capable.
                if t.info is None or needs <= t.info.capabilities
            )
            if not able:
                raise RequestValidationError(
                    f"no model in group {name!r} supports what the request needs: {_listed(needs)}"
                )
            self._remember(key, able)
        return able

    def _awake(self, name: str, needs: frozenset[str], able: Candidates) -> Candidates:
        """``able`` without the targets whose circuits are open and cooling down: those would
        only be skipped. All of them if every one is resting (the attempt loop then reports
        each open circuit)."""
        resting = self._health.resting()
        if not resting:
            return able
        key = (name, needs, resting)
        awake = self._ranked.get(key)
        if awake is None:
            awake = Candidates(t for t in able if t.id not in resting) or able
            self._remember(key, awake)
        return awake

    def _remember(self, key: tuple[str, frozenset[str], frozenset[str]], value: Candidates) -> None:
        if len(self._ranked) >= _REMEMBERED:  # breakers come and go: keep the memo bounded
            self._ranked.clear()
        self._ranked[key] = value

    def _by_rule(
        self,
        name: str,
        number: int,
        rule: Rule,
        fallbacks: Sequence[str],
        request: ChatRequest,
        context: RequestContext,
        needs: frozenset[str],
        size: PromptSize,
    ) -> Plan:
        if rule.use in self._groups and rule.use != name:
            inner = self.plan(rule.use, fallbacks, request, context, needs=needs, size=size)
            targets = inner.targets
        else:
            inner = self._router.plan(rule.use)
            targets = _joined(inner.targets, self._after(fallbacks, request, context, needs, size))
        if rule.max_cost_usd is not None:
            tokens = size()
            targets = tuple(
                t
                for t in targets
                if t.info is not None
                and estimate_cost(t.info, tokens, request.max_tokens).max_cost_usd
                <= rule.max_cost_usd
            )
            if not targets:
                raise RequestValidationError(
                    f"group {name!r} rule {number}: no candidate of {rule.use!r} stays within "
                    f"${rule.max_cost_usd} for this request"
                )
        reason = f"group {name!r} rule {number} matched: use {rule.use!r}; {inner.route.reason}"
        route = Route(strategy="rules", reason=reason, candidates=tuple(t.id for t in targets))
        return Plan(route, targets)

    def candidates(self, name: str) -> tuple[Target, ...]:
        """Every target the group may use, before per-request filtering and ordering."""
        found = self._candidates.get(name)
        if found is None:
            found = self._candidates[name] = self._available(name, self._groups[name])
        return found

    def _available(self, name: str, group: GroupSettings) -> tuple[Target, ...]:
        if group.models:
            targets = [self._router.target(model) for model in group.models]
            found = tuple(t for t in targets if t.provider.has_credentials)
        else:
            found = tuple(
                Target(self._providers.get(info.provider), info.model, info)
                for info in self._catalog
                if info.mode == "chat" and self._usable(info.provider)
            )
        if not found:
            raise MissingCredentialsError(
                f"group {name!r} has no candidate with credentials: configure a provider or set "
                "its API key variable"
            )
        return found

    def _usable(self, provider_name: str) -> bool:
        """A provider the built-in groups may send to: configured, or a hosted API whose key
        is set (a local server or a cloud needing more than a key must be configured)."""
        if provider_name not in self._providers:
            return False
        if provider_name in self._configured:
            return self._providers.get(provider_name).has_credentials
        provider = self._providers.get(provider_name)
        hosted = getattr(provider, "default_base_url", None) and getattr(
            provider, "requires_api_key", False
        )
        return bool(hosted) and provider.has_credentials


def _fitting(able: Candidates, request: ChatRequest, size: Callable[[], int]) -> Candidates:
    """``able`` without the candidates whose context window cannot hold the prompt plus
    max_tokens (all of them if none can: the attempt loop then says so for each). The prompt
    is counted only when a bound says it might not fit."""
    smallest = able.smallest_window
    reserve = request.max_tokens or 0
    if smallest is None or most_tokens(request) + reserve <= smallest:
        return able
    needed = size() + reserve
    fitting = Candidates(
        t
        for t, window in zip(able, able.windows, strict=True)
        if window is None or needed <= window
    )
    return fitting or able


_CHOSEN_AS = {
    "cost": "the cheapest",
    "quality": "the highest quality",
    "latency": "the fastest",
    "balanced": "the best balance of cost, quality and latency",
    "weighted": "drawn by weight",
    "sticky": "kept for this user or conversation",
}


def _chosen_as(strategy: str) -> str:
    """How the strategy picked the first target, in words."""
    return _CHOSEN_AS.get(strategy, f"first by the {strategy!r} strategy")


def _passed_over(resting: int, too_small: int) -> str:
    reasons = [
        f"{count} {why if count == 1 else plural}"
        for count, why, plural in (
            (resting, "whose circuit is open", "whose circuits are open"),
            (too_small, "too small for this prompt", "too small for this prompt"),
        )
        if count
    ]
    return f", passing over {' and '.join(reasons)}"


def _joined(first: Sequence[Target], then: Sequence[Target]) -> tuple[Target, ...]:
    return (*first, *(t for t in then if t not in first))


def _listed(needs: frozenset[str]) -> str:
    return ", ".join(sorted(needs))
