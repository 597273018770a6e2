"""Fault storm: many concurrent requests across three providers, one flaky and one down.

2,000 `achat` calls at concurrency 100 through an alias that tries a flaky provider (30% of
its requests answer 503), then a provider that is down (every request 503), then a steady one.
Reports: every request answered or given a typed error; requests sent to the down provider
after its circuit opened (must be zero); the latency a fallback adds. Local emulator only
(127.0.0.1), bounded request count, stops by itself.

    uv run --group bench python benchmarks/faults.py [--requests 2000] [--concurrency 100]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from typing import Any

import cosmara
from cosmara import Cosmara
from cosmara.testing import Emulator, Fault


async def storm(client: Cosmara, requests: int, concurrency: int) -> list[Any]:
    gate = asyncio.Semaphore(concurrency)

    async def one(index: int) -> Any:
        async with gate:
            try:
                return await client.achat(
                    model="assistant", messages=[{"role": "user", "content": f"question {index}"}]
                )
            except cosmara.CosmaraError as error:
                return error

    return await asyncio.gather(*(one(i) for i in range(requests)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=100)
    args = parser.parse_args()

    with Emulator(max_requests=args.requests * 4) as emulator:
        emulator.add_fault(Fault(status=503, match_model="flaky-model", probability=0.3))
        emulator.add_fault(Fault(status=503, match_model="down-model"))
        providers = {
            name: {"type": "openai_compatible", "base_url": emulator.base_url}
            for name in ("flaky", "down", "steady")
        }
        opened: list[float] = []

        class BreakerWatch:
            @cosmara.hookimpl
            def cosmara_breaker(self, target: str, new_state: str) -> None:
                if target == "down/down-model" and new_state == "open":
                    opened.append(time.perf_counter())

        config = {
            "providers": providers,
            "aliases": {
                "assistant": ["flaky/flaky-model", "down/down-model", "steady/steady-model"]
            },
            "breaker": {"cooldown_seconds": 600},  # stays open for the whole run
            # Fallbacks alone: retries would add their backoff waits to the latency measured.
            "retry": {"max_retries": 0},
        }
        client = Cosmara(config, plugins=[BreakerWatch()], load_entry_points=False)
        started = time.perf_counter()
        results = asyncio.run(storm(client, args.requests, args.concurrency))
        elapsed = time.perf_counter() - started

    answered = [r for r in results if isinstance(r, cosmara.ChatResponse)]
    errors = [r for r in results if isinstance(r, cosmara.CosmaraError)]
    typed = all(isinstance(e, cosmara.ProviderError) for e in errors)
    sent_to_down = [
        a
        for r in answered
        for a in r.cosmara.attempts
        if a.provider == "down" and a.error != "CircuitOpen"
    ]
    skipped_down = sum(
        1
        for r in answered
        for a in r.cosmara.attempts
        if a.provider == "down" and a.error == "CircuitOpen"
    )
    # What a fallback costs a caller: the time its failed attempts took before the answer
    # (queueing at this concurrency is in both sides of any end-to-end comparison, not here).
    fallback_cost = [
        sum(a.latency_ms for a in r.cosmara.attempts if a.error not in (None, "CircuitOpen"))
        for r in answered
        if len(r.cosmara.attempts) > 1
    ]
    by_provider: dict[str, int] = {}
    for response in answered:
        by_provider[response.cosmara.provider] = by_provider.get(response.cosmara.provider, 0) + 1

    rows = [
        ("answered", f"{len(answered)} ({_counts(by_provider)})"),
        ("typed errors", f"{len(errors)} (all ProviderError subclasses: {typed})"),
        # A circuit is checked before each send: these were admitted before it opened (the
        # first failures, plus those already in flight at this concurrency).
        ("requests sent to the down provider", str(len(sent_to_down))),
        ("down provider skipped while open (no request)", str(skipped_down)),
    ]
    if fallback_cost:
        rows.append(("requests that fell back", str(len(fallback_cost))))
        paid = [cost for cost in fallback_cost if cost > 0] or [0.0]
        rows.append(("of those, after a real failed request", str(len(paid))))
        rows.append(("time the failed requests took (median)", f"{statistics.median(paid):.2f} ms"))
    print(f"## fault storm: {args.requests} calls, concurrency {args.concurrency}, {elapsed:.1f} s")
    print()
    print("| measure | value |")
    print("|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")
    verdict = len(answered) + len(errors) == args.requests and typed and bool(opened)
    print()
    print(f"every request answered or typed: {verdict}; breaker opened: {bool(opened)}")


def _counts(by_provider: dict[str, int]) -> str:
    return ", ".join(f"{name} {count}" for name, count in sorted(by_provider.items()))


if __name__ == "__main__":
    main()
