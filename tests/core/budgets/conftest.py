"""Budgets, rate limits and the ledger share the state stores' fixture for how a child process
opens the same store (the session's redis-server comes from tests/core/conftest.py)."""

from tests.core.state.conftest import shared_backend

__all__ = ["shared_backend"]
