"""The pipeline a request walks, one stage per module, run by thin sync and async drivers.

``Stage``, ``Call`` and ``Outcome`` are the interface plugins implement and see
(``cosmara_register_stages``); the rest is the engine's own composition.
"""

from cosmara.pipeline._call import Call, Outcome
from cosmara.pipeline._events import Events
from cosmara.pipeline._pipeline import Pipeline
from cosmara.pipeline._route import Route
from cosmara.pipeline._send import Attempts
from cosmara.pipeline._settle import Settle, final_chunk, replay
from cosmara.pipeline._stage import Stage
from cosmara.pipeline._validate import Validate

__all__ = [
    "Attempts",
    "Call",
    "Events",
    "Outcome",
    "Pipeline",
    "Route",
    "Settle",
    "Stage",
    "Validate",
    "final_chunk",
    "replay",
]
