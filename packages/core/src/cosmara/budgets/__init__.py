"""Budgets: hierarchical spend control per org, team, user, key, tag, model or provider, per
period, with graduated actions, reserved before each request and settled after it."""

from cosmara.budgets._alerts import BudgetAlert, Webhook
from cosmara.budgets._budgets import Applied, Budgets, BudgetStatus
from cosmara.budgets._periods import Span, span_of
from cosmara.budgets._settings import BudgetOptions, BudgetRule, Level, Period, Threshold

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
