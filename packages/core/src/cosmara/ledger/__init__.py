"""The usage ledger: one row per request (cache hits and refusals too), kept in the shared
state store, read back by period and grouping, exported as CSV and JSON lines."""

from cosmara.ledger._ledger import GROUPINGS, Ledger, Summary, summarize
from cosmara.ledger._row import LedgerRow, Outcome, SavedReason
from cosmara.ledger._settings import LedgerSettings

__all__ = [
    "GROUPINGS",
    "Ledger",
    "LedgerRow",
    "LedgerSettings",
    "Outcome",
    "SavedReason",
    "Summary",
    "summarize",
]
