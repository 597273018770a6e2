"""Budgets: hierarchical spend control per org, team, user, key, tag, model or provider, per
period, with graduated actions, reserved before each request and settled after it."""

from typing import TYPE_CHECKING

from cosmara._lazy import lazy_exports
from cosmara.budgets._settings import BudgetOptions, BudgetRule, Level, Period, Threshold

if TYPE_CHECKING:
    from cosmara.budgets._alerts import BudgetAlert, Webhook
    from cosmara.budgets._budgets import Applied, Budgets, BudgetStatus
    from cosmara.budgets._periods import Span, span_of

# A configuration loads the settings; the rest loads when a client first uses it.
_LAZY = {
    "BudgetAlert": "cosmara.budgets._alerts",
    "Webhook": "cosmara.budgets._alerts",
    "Applied": "cosmara.budgets._budgets",
    "Budgets": "cosmara.budgets._budgets",
    "BudgetStatus": "cosmara.budgets._budgets",
    "Span": "cosmara.budgets._periods",
    "span_of": "cosmara.budgets._periods",
}

__getattr__ = lazy_exports(__name__, _LAZY)

__all__ = [
    "Applied",
    "BudgetAlert",
    "BudgetOptions",
    "BudgetRule",
    "BudgetStatus",
    "Budgets",
    "Level",
    "Period",
    "Span",
    "Threshold",
    "Webhook",
    "span_of",
]
