"""The concurrency proof: four processes of 50 concurrent requests each, sharing one budget,
one rate limit and one ledger through a SQLite file or a Redis server.

- the settled spend never passes a hard limit;
- the ledger has a row for each of the 200 requests, and its total is what the answers said
  they cost (``resp.cosmara.cost_usd``), as is the budget's spend;
- a process killed with requests in flight holds its reservations until their lease ends;
- a rate limit lets through what it allows, give or take one request.

The children are ``python -m tests.core.budgets.workers`` processes (see workers.py); two wait
with asyncio tasks, two with threads.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

import cosmara
from cosmara import Cosmara
from cosmara.testing import Emulator, FakeClock, Fault
from tests.core.budgets import workers

ROOT = Path(__file__).resolve().parents[3]
MODES = ["async", "async", "threads", "threads"]
LEASE = 60.0


def _config(emulator: Emulator, state: dict[str, str], **more: Any) -> dict[str, Any]:
    return {
        "providers": {"openai": {"base_url": emulator.base_url, "api_key": "sk-processes"}},
        "state": state,
        "ledger": {"enabled": True},
        "budget": {"lease_seconds": LEASE},
        **more,
    }


def _start(config: dict[str, Any], mode: str, max_tokens: int | None) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "tests.core.budgets.workers", json.dumps(config), mode]
    if max_tokens is not None:
        command.append(str(max_tokens))
    child = subprocess.Popen(
        command, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "ready", "the worker did not start"
    return child


def _run_all(config: dict[str, Any], max_tokens: int | None = 16) -> tuple[Counter[str], float]:
    """Start four children, let them go at once; how the 200 requests ended, and the sum of
    what the answers cost."""
    children = [_start(config, mode, max_tokens) for mode in MODES]
    for child in children:
        assert child.stdin is not None
        child.stdin.write("go\n")
        child.stdin.flush()
    ended: Counter[str] = Counter()
    cost = 0.0
    for child in children:
        out, _ = child.communicate(timeout=120)
        assert child.returncode == 0, f"a worker failed: {out}"
        result = json.loads(out)
        ended.update(result["ended"])
        cost += sum(result["costs"])
    return ended, cost


def _wait_for_requests(emulator: Emulator, count: int) -> None:
    deadline = time.monotonic() + 30
    while emulator.request_count < count:
        assert time.monotonic() < deadline, f"{emulator.request_count} of {count} requests came"
        time.sleep(0.02)  # polling for the requests to arrive, not timing anything


def _one_answer_cost(emulator: Emulator, max_tokens: int | None) -> float:
    with Cosmara(_config(emulator, {"backend": "memory"}), load_entry_points=False) as client:
        response = client.chat(model=workers.MODEL, messages=workers.PROMPT, max_tokens=max_tokens)
    emulator.reset()
    assert response.cosmara is not None
    assert response.cosmara.cost_usd
    return response.cosmara.cost_usd


@pytest.mark.parametrize("max_tokens", [16, None], ids=["max_tokens", "no_max_tokens"])
def test_a_hard_budget_holds_across_processes(
    emulator: Emulator, shared_backend: dict[str, str], max_tokens: int | None
) -> None:
    one = _one_answer_cost(emulator, max_tokens)
    if max_tokens is not None:
        limit = 60 * one  # room for at most 60 of the 200 answers
    else:
        # Without max_tokens each request holds the model's whole output (16,384 tokens) while
        # in flight: room for two at a time, whatever they turn out to cost.
        info = Cosmara(load_entry_points=False).catalog.get(workers.MODEL)
        assert info is not None
        limit = 2.5 * cosmara.estimate_cost(info, 0, None).max_cost_usd
    budgets = {"team": {"level": "team", "match": workers.TEAM, "amount_usd": limit}}
    config = _config(emulator, shared_backend, budgets=budgets)
    ended, cost = _run_all(config, max_tokens)

    assert sum(ended.values()) == 4 * workers.REQUESTS
    assert set(ended) <= {"answered", "budget"}, ended
    assert ended["answered"] > 0
    assert ended["budget"] > 0
    assert emulator.request_count == ended["answered"]  # a refused request is never sent
    assert cost <= limit
    with Cosmara(config, load_entry_points=False) as reader:
        status = reader.budgets.status("team")
        assert status.reserved_usd == 0
        assert status.spent_usd == pytest.approx(cost, rel=1e-9)
        assert reader.ledger is not None
        rows = reader.ledger.rows()
        assert len(rows) == 4 * workers.REQUESTS
        assert Counter(row.outcome for row in rows) == {
            "ok": ended["answered"],
            "blocked": ended["budget"],
        }
        assert reader.ledger.total().cost_usd == pytest.approx(cost, rel=1e-9)


def test_a_killed_process_gives_its_reservations_back_after_the_lease(
    emulator: Emulator, shared_backend: dict[str, str]
) -> None:
    budgets = {"team": {"level": "team", "match": workers.TEAM, "amount_usd": 10.0}}
    config = _config(emulator, shared_backend, budgets=budgets)
    emulator.add_fault(Fault(delay=30.0))  # the answers never come in time
    child = _start(config, "async", 16)
    assert child.stdin is not None
    child.stdin.write("go\n")
    child.stdin.flush()
    try:
        _wait_for_requests(emulator, workers.REQUESTS)
        with Cosmara(config, load_entry_points=False) as reader:
            held = reader.budgets.status("team").reserved_usd
        assert held > 0  # each request in flight holds its maximum cost
    finally:
        child.kill()  # SIGKILL: nothing settles
        child.wait()
    emulator.reset()

    def at(seconds_from_now: float) -> Cosmara:
        start = datetime.now(timezone.utc) + timedelta(seconds=seconds_from_now)
        return Cosmara(config, clock=FakeClock(start), load_entry_points=False)

    with at(0) as before_the_lease_ends:
        assert before_the_lease_ends.budgets.status("team").reserved_usd == pytest.approx(held)
    with at(LEASE + 1) as after_the_lease:
        status = after_the_lease.budgets.status("team")
        assert (status.reserved_usd, status.spent_usd) == (0, 0)
        after_the_lease.chat(model=workers.MODEL, messages=workers.PROMPT, team=workers.TEAM)
        rows = after_the_lease.ledger.rows()  # type: ignore[union-attr]
    assert len(rows) == 1  # the killed process wrote none: it finished nothing


def test_a_rate_limit_holds_across_processes(
    emulator: Emulator, shared_backend: dict[str, str]
) -> None:
    allowed = 30  # a day's worth at once; the refill over the test is a fraction of one
    limits = {"per-team": {"scope": "team", "requests_per_day": allowed}}
    ended, _ = _run_all(_config(emulator, shared_backend, rate_limits=limits))
    assert set(ended) <= {"answered", "rate_limit"}, ended
    assert abs(ended["answered"] - allowed) <= 1
    assert emulator.request_count == ended["answered"]
