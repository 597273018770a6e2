"""The events stage: ``cosmara_request_start`` on the way out, and exactly one of
``cosmara_response`` / ``cosmara_error`` on the way back, after every other stage has settled
the answer (its cost saved, its budget). The same outcome goes to the ``track_cost()`` blocks
open in the caller's context."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cosmara._tracking import record
from cosmara.pipeline._call import Call, Outcome
from cosmara.pipeline._stage import Stage

if TYPE_CHECKING:
    from cosmara._plugins import Plugins

__all__ = ["Events"]


class Events(Stage):
    name = "events"

    def __init__(self, plugins: Plugins) -> None:
        self._plugins = plugins

    def before(self, call: Call) -> None:
        self._plugins.emit("cosmara_request_start", request=call.request, context=call.context)

    def after(self, call: Call, outcome: Outcome) -> None:
        if outcome.cancelled:
            return  # the caller left: there is nobody to tell, and no answer to report
        record(outcome.response, outcome.error)
        if outcome.error is not None:  # also when the answer of last resort stood in for it
            self._plugins.emit(
                "cosmara_error", request=call.request, error=outcome.error, context=call.context
            )
        elif outcome.response is not None:
            self._plugins.emit(
                "cosmara_response",
                request=call.request,
                response=outcome.response,
                context=call.context,
            )
