"""The usage ledger: one row per request (cache hits and refusals too), kept in the shared
state store, read back by period and grouping, exported as CSV and JSON lines, and reported on
as a table or a self-contained HTML page (``UsageReport``, ``cosmara usage``)."""

from typing import TYPE_CHECKING

from cosmara._lazy import lazy_exports
from cosmara.ledger._settings import LedgerSettings

if TYPE_CHECKING:
    from cosmara.ledger._ledger import GROUPINGS, Ledger, Summary, summarize
    from cosmara.ledger._report import SAVED_KINDS, BudgetUse, Series, UsageReport
    from cosmara.ledger._row import LedgerRow, Outcome, SavedReason

# Every configuration imports this package for its settings; the ledger loads when a client
# turns it on, the report when something reports.
_LAZY = {
    **{name: "cosmara.ledger._ledger" for name in ("GROUPINGS", "Ledger", "Summary", "summarize")},
    **{name: "cosmara.ledger._row" for name in ("LedgerRow", "Outcome", "SavedReason")},
    **{
        name: "cosmara.ledger._report"
        for name in ("SAVED_KINDS", "BudgetUse", "Series", "UsageReport")
    },
}


__getattr__ = lazy_exports(__name__, _LAZY)


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
