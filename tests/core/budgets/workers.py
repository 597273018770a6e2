"""What the child processes of test_processes.py run:
``python -m tests.core.budgets.workers CONFIG_JSON MODE [MAX_TOKENS]``.

A child builds a Cosmara client from the configuration (its providers point at the parent's
emulator, its state at the parent's SQLite file or Redis server), prints ``ready``, waits for a
line on stdin so every child starts together, then sends 50 requests at once (asyncio tasks
or threads, by MODE) and prints one JSON line: how each ended, and the cost each answer
reported in ``resp.cosmara.cost_usd``.
"""

from __future__ import annotations

import asyncio
import json
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import cosmara
from cosmara import Cosmara

REQUESTS = 50
MODEL = "openai/gpt-4o-mini"
PROMPT = [{"role": "user", "content": "How much will this cost?"}]
TEAM = "shared"


def _ended(outcome: Any) -> tuple[str, float]:
    if isinstance(outcome, cosmara.BudgetExceededError):
        return "budget", 0.0
    if isinstance(outcome, cosmara.RateLimitExceededError):
        return "rate_limit", 0.0
    if isinstance(outcome, BaseException):
        return type(outcome).__name__, 0.0
    return "answered", outcome.cosmara.cost_usd


def main() -> None:
    config, mode = json.loads(sys.argv[1]), sys.argv[2]
    max_tokens = int(sys.argv[3]) if len(sys.argv) > 3 else None
    client = Cosmara(config, load_entry_points=False)
    asked = {"model": MODEL, "messages": PROMPT, "team": TEAM, "max_tokens": max_tokens}
    print("ready", flush=True)
    sys.stdin.readline()
    if mode == "async":

        async def together() -> list[Any]:
            calls = [client.achat(**asked) for _ in range(REQUESTS)]
            return await asyncio.gather(*calls, return_exceptions=True)

        outcomes = asyncio.run(together())
    else:

        def one(_: int) -> Any:
            try:
                return client.chat(**asked)
            except cosmara.CosmaraError as error:
                return error

        with ThreadPoolExecutor(REQUESTS) as pool:
            outcomes = list(pool.map(one, range(REQUESTS)))
    client.close()
    ended = [_ended(outcome) for outcome in outcomes]
    print(json.dumps({"ended": [how for how, _ in ended], "costs": [c for _, c in ended]}))


if __name__ == "__main__":
    main()
