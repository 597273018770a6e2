"""Route planning: a group of 50 candidates with rules and live health, per request.

The group has four rules that do not match the measured request (team, tags, metadata and
an estimated-size rule, so the prompt is counted), then its strategy ranks the capable
candidates. Health is fed first: every target has an EWMA latency and five breakers are open.
The request carries a tool, so capability filtering runs too. No network: planning is pure.

Reference, measured in the same run: validating the same request into a ``ChatRequest``, the
one step every call pays before planning.

    uv run python benchmarks/routing.py [--calls 20000] [--rounds 5] [--strategy balanced]
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import median, quartiles, table

from cosmara import ChatRequest, Cosmara, RequestContext
from cosmara._strategies import needed_capabilities
from cosmara._tokens import PromptSize

CANDIDATES = 50
TARGET_US = 20.0
STRATEGIES = ("balanced", "cost", "quality", "latency", "weighted", "sticky")
REQUEST = {
    "model": "pool",
    "messages": [
        {"role": "system", "content": "You answer questions about orders."},
        {"role": "user", "content": "Where is order 1234? It was due yesterday."},
    ],
    "tools": [
        {
            "type": "function",
            "function": {
                "name": "order_status",
                "description": "Look up an order",
                "parameters": {"type": "object", "properties": {"id": {"type": "string"}}},
            },
        }
    ],
    "max_tokens": 300,
}


def client_for(strategy: str) -> Cosmara:
    names = [f"bench/model-{n:02d}" for n in range(CANDIDATES)]
    models = {
        name: {
            "mode": "chat",
            "input": 0.1 + (n * 37 % 50) / 10,
            "output": 0.4 + (n * 37 % 50) / 2.5,
            "context_window": 128_000 if n % 3 else 32_000,
            "quality": 50 + n * 53 % 46,
            # Every fifth model cannot call tools: the request's tool filters those out.
            "capabilities": ["streaming"] if n % 5 == 0 else ["tools", "streaming"],
        }
        for n, name in enumerate(names)
    }
    rules = [
        {"when": {"team": ["research"]}, "use": "bench/model-01"},
        {"when": {"tags": {"tier": "batch"}}, "use": "bench/model-02"},
        {"when": {"metadata": {"priority": "low"}}, "use": "bench/model-03"},
        {"when": {"min_prompt_tokens": 50_000}, "use": "bench/model-04"},
    ]
    config = {
        "providers": {
            "bench": {"type": "openai_compatible", "base_url": "http://127.0.0.1:9/v1"},
        },
        "models": models,
        "groups": {
            "pool": {
                "models": names,
                "strategy": strategy,
                "rules": rules,
                "weights": {name: 1 + n % 4 for n, name in enumerate(names)},
            }
        },
        "breaker": {"consecutive_failures": 1, "cooldown_seconds": 3600},
    }
    client = Cosmara(config, load_entry_points=False)
    for n, name in enumerate(names):
        for sample in range(5):
            client._health.record(name, ok=True, latency_ms=200 + (n * 29 % 50) * 10 + sample)
        if n % 10 == 7:
            client._health.record(name, ok=False, latency_ms=5.0, error="ProviderUnavailableError")
    return client


def plan_for(client: Cosmara, request: ChatRequest, context: RequestContext) -> Any:
    """What the engine does to plan one request to a group (validation aside): what the
    request needs, a fresh prompt-size memo, and the group's plan."""
    size = PromptSize(client._tokens, request)
    return client._groups.route(
        "pool", (), request, context, needs=needed_capabilities(request), size=size
    )


def timed(function: Callable[[], Any], calls: int) -> list[float]:
    """Microseconds per call, each call timed alone."""
    samples = []
    clock = time.perf_counter_ns
    for _ in range(calls):
        started = clock()
        function()
        samples.append((clock() - started) / 1000)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--strategy", choices=STRATEGIES, action="append")
    args = parser.parse_args()

    context = RequestContext.build(team="support", user="user-42", tags={"tier": "interactive"})
    request = ChatRequest.model_validate(REQUEST)
    routes: dict[str, Callable[[], Any]] = {
        "validation": lambda: ChatRequest.model_validate(REQUEST)
    }
    first_choice = {}
    for strategy in args.strategy or STRATEGIES:
        client = client_for(strategy)
        route = partial(plan_for, client, request, context)
        plan = route()
        assert len(client._groups.candidates("pool")) == CANDIDATES
        assert all(t.info and "tools" in t.info.capabilities for t in plan.targets)
        first_choice[strategy] = plan.targets[0].id
        routes[strategy] = route

    # Rounds interleave the measurements, so a slow spell on this shared machine lands on
    # every row alike instead of on whichever ran during it.
    samples: dict[str, list[float]] = {name: [] for name in routes}
    per_round = max(args.calls // args.rounds, 1)
    gc.disable()  # collections would land in random samples; the loop allocates little
    try:
        for _ in range(args.rounds):
            for name, route in routes.items():
                timed(route, 200)  # warm-up
                samples[name].extend(timed(route, per_round))
    finally:
        gc.enable()

    validation = median(samples.pop("validation"))
    rows = []
    for strategy, values in samples.items():
        low, high = quartiles(values)
        rows.append(
            (
                strategy,
                f"{median(values):.1f}",
                f"{low:.1f}-{high:.1f}",
                f"{median(values) / validation:.2f}x",
                first_choice[strategy],
            )
        )
    print(f"## route planning: group of {CANDIDATES} candidates, 4 rules, live health")
    print()
    print(f"reference: ChatRequest validation of the same request, median {validation:.1f} us")
    print()
    headers = ("strategy", "median us", "IQR us", "vs validation", "first choice")
    print(table(headers, rows))
    meeting = [row[0] for row in rows if float(row[1]) < TARGET_US]
    print()
    print(f"under {TARGET_US:.0f} us: {', '.join(meeting) or 'none'} ({len(meeting)}/{len(rows)})")


if __name__ == "__main__":
    main()
