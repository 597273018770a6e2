"""Budgets, rate limits and the ledger share the state stores' fixtures: a real redis-server
for the session, and how child processes open the same store."""

from tests.core.state.conftest import redis_url, shared_backend

__all__ = ["redis_url", "shared_backend"]
