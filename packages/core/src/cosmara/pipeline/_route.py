"""The route stage: from the model, alias or group the request names to the targets the
attempts will try, in order, and the ones not worth a request. Each plan is logged at DEBUG
(logger ``cosmara.route``): the route's strategy and reason, the targets, the unfit ones."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from cosmara._errors import BadRequestError, ContextWindowExceededError, ProviderError
from cosmara._groups import GroupRouter
from cosmara._messages import ChatRequest
from cosmara._routing import Plan, Router, Target
from cosmara._strategies import needed_capabilities
from cosmara._tokens import PromptSize, TokenCounter, most_tokens
from cosmara.pipeline._call import Call
from cosmara.pipeline._stage import Stage

__all__ = ["Route"]

logger = logging.getLogger("cosmara.route")


class Route(Stage):
    """Plans ``call.model`` (then the call's fallbacks, then the configured chain for that
    name): a group by its rules and strategy, anything else by the router.

    Raises (from ``before``): ``UnknownModelError``, ``MissingCredentialsError``, or
    ``RequestValidationError`` when no candidate of a group can serve the request.
    """

    name = "route"

    def __init__(
        self,
        router: Router,
        groups: GroupRouter,
        tokens: TokenCounter,
        configured_fallbacks: Mapping[str, list[str]],
    ) -> None:
        self._router = router
        self._groups = groups
        self._tokens = tokens
        self._configured = configured_fallbacks

    def before(self, call: Call) -> None:
        self.plan(call)

    def plan(self, call: Call) -> Plan:
        """Plan (or plan again, after a stage changed the model) and note the unfit targets."""
        request = call.request
        fallbacks = call.fallbacks + tuple(self._configured.get(request.model, ()))
        if not isinstance(request, ChatRequest):
            call.plan, call.unfit = self._router.plan(request.model, fallbacks), {}
            if logger.isEnabledFor(logging.DEBUG):
                _log_plan(call.plan, {})
            return call.plan
        groups = self._groups
        needs = needed_capabilities(request)
        size = PromptSize(self._tokens, request)
        if request.model in groups or any(name in groups for name in fallbacks):
            plan = groups.route(
                request.model, fallbacks, request, call.context, needs=needs, size=size
            )
        else:
            plan = self._router.plan(request.model, fallbacks)
        call.plan, call.unfit = plan, _unfit(request, plan, needs, size)
        if logger.isEnabledFor(logging.DEBUG):
            _log_plan(plan, call.unfit)
        return plan


def _log_plan(plan: Plan, unfit: Mapping[str, ProviderError]) -> None:
    route = plan.route
    targets = ", ".join(target.id for target in plan.targets)
    logger.debug("route (%s): %s; targets: %s", route.strategy, route.reason, targets)
    for target, why in unfit.items():
        logger.debug("%s unfit, will not be sent: %s", target, why.code)


def _unfit(
    request: ChatRequest, plan: Plan, needs: frozenset[str], size: PromptSize
) -> dict[str, ProviderError]:
    """Targets not worth a request, with why: the prompt plus max_tokens already exceeds
    their context window, or the catalog says an alternative cannot do what the request needs
    (tools, images, a JSON schema). The first target is the one the caller (or the routing
    strategy) chose, so a capability gap in the catalog never blocks it."""
    unfit: dict[str, ProviderError] = {}
    if needs:
        for target in plan.targets[1:]:
            if target.info is not None and not needs <= target.info.capabilities:
                unfit[target.id] = _incapable(target, needs - target.info.capabilities)
    windows = plan.windows
    if not windows:
        return unfit
    reserve = request.max_tokens or 0
    # A bound first, without counting: most prompts stop here.
    if most_tokens(request) + reserve <= min(windows.values()):
        return unfit
    needed = size() + reserve
    for target in plan.targets:
        window = windows.get(target.id)
        if window is not None and needed > window:
            unfit.setdefault(target.id, _too_long(target, window))
    return unfit


def _incapable(target: Target, missing: frozenset[str]) -> ProviderError:
    return BadRequestError(
        f"not sent: the catalog lists no {', '.join(sorted(missing))} support for {target.id}",
        provider=target.provider.name,
        model=target.model,
        code="UnsupportedCapability",
    )


def _too_long(target: Target, window: int) -> ProviderError:
    return ContextWindowExceededError(
        f"not sent: the prompt and max_tokens exceed the {window}-token context window",
        provider=target.provider.name,
        model=target.model,
        code="ContextWindowExceeded",
    )
