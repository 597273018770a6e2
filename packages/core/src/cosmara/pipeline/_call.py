"""One request in flight, as the stages see it, and how it ended."""

from __future__ import annotations

from dataclasses import dataclass, field
from time import perf_counter
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from cosmara._context import RequestContext
    from cosmara._errors import CosmaraError, ProviderError
    from cosmara._response import Usage
    from cosmara._retry import RetryPolicy
    from cosmara._routing import Plan
    from cosmara._timeouts import Timeouts
    from cosmara.state import Batch, StateStore

__all__ = ["Call", "Outcome"]


@dataclass(eq=False)
class Call:
    """A request on its way through the pipeline.

    Stages read it and may change it before any provider is called: ``request`` (a PII mask,
    a smaller ``max_tokens``), ``model`` (a downgrade: the route stage plans whatever it names
    when it runs), ``context``. ``notes`` is where a stage keeps its own per-call state (keyed
    by the stage) between its way out and its way back.
    """

    kind: Literal["chat", "embed"]
    request: Any  # ChatRequest or EmbeddingRequest
    context: RequestContext
    stream: bool
    fallbacks: tuple[str, ...]  # the call's own; configured chains are added when planning
    timeout: Timeouts | None  # given for this call; else per model, provider, client
    retry: RetryPolicy
    fallback_message: str | None = None  # the answer of last resort when every target failed
    headers: dict[str, str] | None = None  # the call's extra_headers, sent to HTTP providers
    query: dict[str, str] | None = None  # the call's extra_query parameters
    deadline: float | None = None  # the clock's monotonic time the whole call must end by
    options: dict[str, Any] = field(default_factory=dict)  # per-call stage options (cache=...)
    plan: Plan | None = None  # set by the route stage
    unfit: dict[str, ProviderError] = field(default_factory=dict)  # targets not worth a request
    notes: dict[object, Any] = field(default_factory=dict)
    started: float = field(default_factory=perf_counter)
    writes: Batch | None = None  # the way back's writes, run together once every stage settled

    def batch(self, store: StateStore) -> Batch:
        """The batch a stage queues its way-back writes on (a settlement, a ledger row): the
        pipeline runs it once, after the last stage, in one round trip to ``store``."""
        if self.writes is None:
            self.writes = store.batch()
        return self.writes

    @property
    def model(self) -> str:
        """The model, alias or group the request names now."""
        return str(self.request.model)

    @property
    def elapsed_ms(self) -> float:
        return (perf_counter() - self.started) * 1000


@dataclass(eq=False)
class Outcome:
    """How a call ended, as the stages see it on the way back.

    ``response`` is the answer (its ``cosmara`` metadata filled); ``error`` the failure. Both
    are set when every target failed and the answer of last resort stood in; ``cancelled``
    when the caller stopped first (a stream closed early, a task cancelled); a stream abandoned
    once a provider had it still cost something, so ``usage`` and ``cost_usd`` say what (the
    prompt and what was streamed). ``served`` says where the answer came from: ``"provider"``,
    or the name of the stage that answered.
    """

    response: Any = None
    error: CosmaraError | None = None
    cancelled: bool = False
    served: str = "provider"
    usage: Usage | None = None
    cost_usd: float | None = None

    def spent(self) -> tuple[Any, float]:
        """What the call used (a chat or embeddings ``usage``, or None) and cost: the answer's,
        a stream's cut or abandoned part way, or nothing."""
        if self.cancelled:
            return self.usage, self.cost_usd or 0.0
        if self.response is not None and self.error is None:
            meta = getattr(self.response, "cosmara", None)
            cost = meta.cost_usd if meta is not None else None
            return getattr(self.response, "usage", None), cost or 0.0
        return getattr(self.error, "usage", None), getattr(self.error, "cost_usd", None) or 0.0

    @property
    def answered(self) -> bool:
        """A complete answer from a provider (or a stage), not a stand-in for a failure."""
        return self.response is not None and self.error is None and not self.cancelled
