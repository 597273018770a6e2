"""What a stage is: one job a request passes on its way to a provider, and again on its way back.

On the way out (``before``), in pipeline order, a stage may:

- let the request pass (return None),
- change it (assign to ``call.request``, ``call.context``, ...),
- refuse it (raise a ``CosmaraError``: ``RequestRefusedError`` or a subclass, say), or
- answer it (return a response: a cache hit), so no provider is called.

On the way back (``after``), in reverse order, every stage whose ``before`` ran sees the
``Outcome`` once, whatever happened (an answer, an error, a stream abandoned): that is where a
cache stores, a budget settles or releases, a ledger records and events fire. The async twins
default to the sync methods; a stage that does I/O (a Redis store) overrides them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from cosmara.pipeline._call import Call, Outcome

__all__ = ["Stage"]


class Stage:
    """Base class of the engine's stages and of the ones plugins add
    (``cosmara_register_stages``). Subclasses set ``name`` and override what they need."""

    name: ClassVar[str] = ""
    # Per-call keyword arguments this stage reads (``cache_ttl=...``): taken out of the call's
    # arguments into ``call.options`` instead of being sent to the provider.
    options: ClassVar[frozenset[str]] = frozenset()

    def check_options(self, options: Mapping[str, Any]) -> None:
        """Refuse a malformed per-call option of this stage while the call is validated: before
        any stage runs, and for a stream before its first iteration.

        Raises:
            RequestValidationError: naming the option.
        """

    def before(self, call: Call) -> Any:
        """On the way out: None to pass the request on, or the answer to return."""
        return None

    async def abefore(self, call: Call) -> Any:
        return self.before(call)

    def after(self, call: Call, outcome: Outcome) -> None:
        """On the way back, once per call whose ``before`` ran here."""

    async def aafter(self, call: Call, outcome: Outcome) -> None:
        self.after(call, outcome)

    def __repr__(self) -> str:
        return f"<stage {self.name or type(self).__name__}>"
