"""The hooks a Cosmara plugin can implement (pluggy project ``cosmara``).

A plugin is any object or module with functions marked ``@cosmara.hookimpl``, registered on a
client (``Cosmara(plugins=[...])``) or installed as a package with an entry point in the
``cosmara`` group. Every hook is called with keyword arguments; implement only the arguments
you need. Event hooks are observers: an exception in one is logged and never breaks a request.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from cosmara._context import RequestContext
    from cosmara._errors import CosmaraError, ProviderError
    from cosmara._meta import Attempt

__all__ = ["ProviderFactory", "hookimpl", "hookspec"]

hookspec = pluggy.HookspecMarker("cosmara")
hookimpl = pluggy.HookimplMarker("cosmara")

ProviderFactory = Callable[[str, Any], Any]
"""``factory(name, settings) -> Provider``; a Provider subclass itself is such a factory."""


@hookspec
def cosmara_register_providers(register: Callable[[str, ProviderFactory], None]) -> None:
    """Register provider kinds: ``register("echo", EchoProvider)``.

    The kind is the prefix of model names (``echo/any-model``) unless configuration names the
    provider differently (``[providers.mine] type = "echo"``). Built-in providers register
    through this same hook.
    """


@hookspec
def cosmara_register_strategies(register: Callable[[str, Callable[..., Any]], None]) -> None:
    """Register routing strategies: ``register("mine", order)``, where
    ``order(candidates, request, context, health, options) -> list`` returns the candidates
    (``Target``s) in the order to try them. Groups name a strategy in configuration."""


@hookspec
def cosmara_register_stages(register: Callable[..., None]) -> None:
    """Add pipeline stages: ``register(stage)`` places a ``cosmara.Stage`` just before the
    attempts; ``register(stage, before="cache")`` or ``register(stage, after="route")`` before
    or after a named stage (``events``, ``route``, ``cache``, ``budget``, ... see
    ``Cosmara.stages``). A stage may answer, refuse or change a request on its way out, and
    sees how every call ended on its way back; its exceptions are not isolated like an
    observer's: a stage that raises on the way out refuses the request."""


@hookspec
def cosmara_register_embedders(register: Callable[[str, Callable[[Any], Any]], None]) -> None:
    """Register embedders for semantic cache namespaces: ``register("mine", factory)``, where
    ``factory(client)`` returns an object with ``name``, ``dimensions``, ``embed(texts)`` and
    ``aembed(texts)`` (see ``cosmara.semantic.Embedder``). A namespace names it as
    ``embedder = "mine"``."""


@hookspec
def cosmara_register_verifiers(register: Callable[[str, Any], None]) -> None:
    """Register verifiers for semantic cache namespaces: ``register("mine", verifier)``, an
    object whose ``agrees(question, cached_question)`` says whether a cached answer may answer
    (see ``cosmara.semantic.Verifier``). A namespace names it as ``verifier = "mine"``."""


@hookspec
def cosmara_request_start(request: Any, context: RequestContext) -> None:
    """A request passed validation and is about to be planned and sent."""


@hookspec
def cosmara_response(request: Any, response: Any, context: RequestContext) -> None:
    """A request succeeded; ``response.cosmara`` holds its cost and attempts."""


@hookspec
def cosmara_error(request: Any, error: CosmaraError, context: RequestContext) -> None:
    """A request failed for good. Usually a ``ProviderError`` whose ``attempts`` lists every
    try (a stream that failed after content reached the caller also carries
    ``partial_text``, ``usage`` and ``cost_usd``: what was streamed, and what it cost); else
    the error Cosmara stopped the request with after announcing it (``ClientClosedError``, a
    ``RequestValidationError`` for a request that could not be encoded)."""


@hookspec
def cosmara_cache_hit(
    request: Any, response: Any, namespace: str, similarity: float | None, context: RequestContext
) -> None:
    """A request was answered from the cache (``similarity`` None for an exact hit);
    ``response.cosmara.cost_saved_usd`` is what the provider would have charged."""


@hookspec
def cosmara_cache_store(
    request: Any, response: Any, namespace: str, context: RequestContext
) -> None:
    """A provider's answer was stored in the cache."""


@hookspec
def cosmara_budget_alert(alert: Any, context: RequestContext) -> None:
    """A budget reached an alert threshold (once per threshold per period, across every
    process sharing the state store): ``alert`` is a ``cosmara.budgets.BudgetAlert``."""


@hookspec
def cosmara_breaker(target: str, old_state: str, new_state: str) -> None:
    """A target's circuit breaker moved: ``closed``, ``open`` or ``half_open``."""


@hookspec
def cosmara_fallback(
    request: Any, failed: Attempt, error: ProviderError, next_target: str, context: RequestContext
) -> None:
    """A target failed and the engine moves on to ``next_target`` ('provider/model')."""
