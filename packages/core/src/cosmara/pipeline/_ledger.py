"""The ledger stage: one row per request, whatever happened to it (answered, answered from the
cache, refused, failed, abandoned), queued on the way back once every inner stage settled and
written with the call's other writes (``Call.batch``)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from cosmara._catalog import Catalog
from cosmara._cost import cost_of_usage
from cosmara._errors import CosmaraError, RequestRefusedError
from cosmara._response import ChatResponse, Usage
from cosmara.ledger import Ledger, LedgerSettings
from cosmara.ledger._row import Outcome as RowOutcome
from cosmara.ledger._row import SavedReason
from cosmara.pipeline._call import Call, Outcome
from cosmara.pipeline._settle import response_text
from cosmara.pipeline._stage import Stage

__all__ = ["LedgerStage"]


class LedgerStage(Stage):
    name = "ledger"

    def __init__(
        self,
        ledger: Ledger,
        settings: LedgerSettings,
        catalog: Catalog,
        now: Callable[[], float],
        groups: Callable[[str], bool],
    ) -> None:
        self._ledger = ledger
        self._settings = settings
        self._catalog = catalog
        self._now = now
        self._is_group = groups  # whether a name is a group or an alias: routing chose for it

    def before(self, call: Call) -> None:
        call.notes[self] = (self._now(), call.model)

    def after(self, call: Call, outcome: Outcome) -> None:
        row = self._row(call, outcome)
        if row is not None:  # written with the call's other way-back writes, in one go
            self._ledger.queue(row, call.batch(self._ledger.store))

    def _row(self, call: Call, outcome: Outcome) -> dict[str, Any] | None:
        """The fields of the call's ``LedgerRow`` (built from checked values, so they are
        written as they are rather than validated again on the hot path)."""
        noted = call.notes.get(self)
        if noted is None:
            return None
        started, requested = noted
        response, error = outcome.response, outcome.error
        meta = getattr(response, "cosmara", None)
        usage, cost = outcome.spent()  # a stream cut or abandoned part way was paid for too
        attempts = meta.attempts if meta is not None else getattr(error, "attempts", [])
        saved, reason = self._saved(requested, meta, usage)
        context = call.context
        return dict(
            id=uuid.uuid4().hex,
            time=started,
            org=context.org,
            team=context.team,
            user=context.user,
            key=_key(context.metadata),
            tags=dict(context.tags),
            kind=call.kind,
            stream=call.stream,
            requested_model=requested,
            provider=meta.provider if meta is not None else None,
            model=meta.model if meta is not None else None,
            input_tokens=usage.prompt_tokens if usage else 0,
            cached_tokens=usage.cached_tokens if isinstance(usage, Usage) else 0,
            output_tokens=usage.completion_tokens if isinstance(usage, Usage) else 0,
            reasoning_tokens=usage.reasoning_tokens if isinstance(usage, Usage) else 0,
            cost_usd=cost,
            saved_usd=saved,
            saved_reason=reason,
            latency_ms=meta.latency_ms if meta is not None else round(call.elapsed_ms, 3),
            attempts=sum(1 for a in attempts if a.error not in _SKIPS),
            outcome=_outcome(outcome),
            error=type(error).__name__ if error is not None else None,
            prompt=self._prompt(call) if self._settings.record_text else None,
            answer=_answer(response) if self._settings.record_text else None,
        )

    def _saved(
        self, requested: str, meta: Any, usage: Usage | None
    ) -> tuple[float, SavedReason | None]:
        """What the request did not pay, and why, so each saving can be checked row by row."""
        if meta is None:
            return 0.0, None
        if meta.cache == "hit":
            return meta.cost_saved_usd or 0.0, "cache"
        if getattr(meta, "downgraded_from", None) and meta.cost_saved_usd:
            return meta.cost_saved_usd, "downgrade"
        baseline = self._settings.baseline_model
        if baseline and usage is not None and self._is_group(requested):
            info = self._catalog.get(baseline)
            if info is not None and isinstance(usage, Usage) and meta.cost_usd is not None:
                difference = cost_of_usage(info, usage) - meta.cost_usd
                if difference > 0:
                    return round(difference, 12), "routing"
        return 0.0, None

    @staticmethod
    def _prompt(call: Call) -> str | None:
        request = call.request
        if call.kind == "embed":
            return "\n".join(request.input)
        parts = []
        for message in request.messages:
            content = message.content
            if isinstance(content, str):
                parts.append(f"{message.role}: {content}")
        return "\n".join(parts)


_SKIPS = frozenset({"CircuitOpen", "ContextWindowExceeded", "UnsupportedCapability"})


def _outcome(outcome: Outcome) -> RowOutcome:
    if outcome.cancelled:
        return "cancelled"
    error: CosmaraError | None = outcome.error
    if error is not None:
        if outcome.response is not None:
            return "fallback_message"
        return "blocked" if isinstance(error, RequestRefusedError) else "error"
    return "cached" if outcome.served == "cache" else "ok"


def _key(metadata: dict[str, Any]) -> str | None:
    """The virtual key a gateway put in the request's metadata, if any."""
    key = metadata.get("key")
    return key if isinstance(key, str) else None


def _answer(response: Any) -> str | None:
    if isinstance(response, ChatResponse) and response.choices:
        return response_text(response.choices[0].message)
    return None
