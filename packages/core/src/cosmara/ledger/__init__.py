"""The usage ledger: one row per request (cache hits and refusals too), kept in the shared
state store, read back by period and grouping, exported as CSV and JSON lines, and reported on
as a table or a self-contained HTML page (``UsageReport``, ``cosmara usage``)."""

from typing import TYPE_CHECKING, Any

from cosmara.ledger._ledger import GROUPINGS, Ledger, Summary, summarize
from cosmara.ledger._row import LedgerRow, Outcome, SavedReason
from cosmara.ledger._settings import LedgerSettings

if TYPE_CHECKING:
    from cosmara.ledger._report import SAVED_KINDS, BudgetUse, Series, UsageReport

# The report loads when first named: every client imports this package for its settings, and
# only the reporting side needs the report.
_LAZY = {
    name: "cosmara.ledger._report" for name in ("SAVED_KINDS", "BudgetUse", "Series", "UsageReport")
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'cosmara.ledger' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "GROUPINGS",
    "SAVED_KINDS",
    "BudgetUse",
    "Ledger",
    "LedgerRow",
    "LedgerSettings",
    "Outcome",
    "SavedReason",
    "Series",
    "Summary",
    "UsageReport",
    "summarize",
]
