"""Per-call time of ``cosmara_generic``: the openai SDK on the engine's transport, and ``Ask``.

Contenders, all against the same local Emulator (own process by default), one call at a time,
interleaved in rounds (order rotating) so machine noise hits all alike:

- ``httpx.Client.post`` straight to the emulator: one HTTP exchange, no SDK,
- ``openai.OpenAI().chat.completions.create`` straight to the emulator (the reference),
- ``cosmara_generic.OpenAI().chat.completions.create``: the same SDK, its HTTP client on
  Cosmara's transport, the engine then calling the emulator,
- ``Cosmara.chat``: the engine alone (what the transport adds the SDK to),
- ``Ask(...)(prompt)`` on the same engine.

The generic client pays the SDK's own per-call cost plus the engine's, where the reference pays
the SDK's plus one HTTP exchange; expected: generic client / openai SDK about 1.0-1.2, and
``Ask`` adds no measurable time over ``Cosmara.chat``. The decomposition printed at the end
separates what this package adds (the transport, with the SDK's own HTTP client layer on a
legacy ``httpx`` client) from what the engine costs over one HTTP exchange.

    uv run --group bench python benchmarks/generic_client.py [--calls 2000] [--batch 100]
"""

from __future__ import annotations

import argparse
import gc
import time
from collections.abc import Callable

from _common import (
    API_KEY,
    MESSAGES,
    MODEL,
    cosmara_client,
    emulator,
    machine_info,
    median,
    paired_diff,
    paired_ratio,
    quartiles,
    table,
    verdict,
    versions,
    write_json,
)

BARE = MODEL.split("/", 1)[1]
REFERENCE = "openai SDK -> emulator"
GENERIC = "cosmara_generic.OpenAI"
HTTPX = "httpx -> emulator"


def make_contenders(
    base_url: str,
) -> tuple[dict[str, Callable[[], object]], list[Callable[[], None]]]:
    import httpx
    import openai

    import cosmara_generic

    official = openai.OpenAI(base_url=base_url, api_key=API_KEY, max_retries=0)
    generic = cosmara_generic.OpenAI(base_url=base_url, api_key=API_KEY, load_entry_points=False)
    engine = cosmara_client(base_url)
    ask = cosmara_generic.Ask(MODEL, client=engine)
    raw = httpx.Client(base_url=base_url, headers={"authorization": f"Bearer {API_KEY}"})
    closers = [official.close, generic.close, engine.close, raw.close]
    body = {"model": BARE, "messages": MESSAGES}

    contenders: dict[str, Callable[[], object]] = {
        HTTPX: lambda: raw.post("/chat/completions", json=body).json()["choices"][0]["message"][
            "content"
        ],
        REFERENCE: lambda: (
            official.chat.completions.create(model=BARE, messages=MESSAGES)  # type: ignore[arg-type]
            .choices[0]
            .message.content
        ),
        GENERIC: lambda: (
            generic.chat.completions.create(model=BARE, messages=MESSAGES)  # type: ignore[arg-type]
            .choices[0]
            .message.content
        ),
        "Cosmara.chat": lambda: (
            engine.chat(model=MODEL, messages=MESSAGES).choices[0].message.content
        ),
        "Ask": lambda: ask("Hi"),
    }
    return contenders, closers


def run(
    contenders: dict[str, Callable[[], object]], rounds: int, batch: int, warmup: int
) -> dict[str, dict[str, list[float]]]:
    for name, call in contenders.items():
        for _ in range(warmup):
            result = call()
        if result != "Echo: Hi":
            raise RuntimeError(f"{name} returned {result!r}")
    names = list(contenders)
    samples: dict[str, dict[str, list[float]]] = {
        n: {"per_call": [], "round_median": []} for n in names
    }
    clock = time.perf_counter_ns
    for round_no in range(rounds):
        shift = round_no % len(names)
        for name in names[shift:] + names[:shift]:
            call, times = contenders[name], []
            gc.collect()
            for _ in range(batch):
                start = clock()
                call()
                times.append((clock() - start) / 1000)
            samples[name]["per_call"].extend(times)
            samples[name]["round_median"].append(median(times))
    return samples


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=2000, help="calls per contender")
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--inproc", action="store_true", help="emulator in this process")
    parser.add_argument("--json")
    args = parser.parse_args()
    rounds = max(1, args.calls // args.batch)

    with emulator(args.inproc) as base_url:
        contenders, closers = make_contenders(base_url)
        try:
            samples = run(contenders, rounds, args.batch, args.warmup)
        finally:
            for close in closers:
                close()

    reference = samples[REFERENCE]["round_median"]
    core = samples["Cosmara.chat"]["round_median"]
    rows, results = [], {"machine": machine_info(), "rounds": rounds, "batch": args.batch}
    results["contenders"] = {}
    for name, data in samples.items():
        q1, q3 = quartiles(data["per_call"])
        vs_sdk = paired_ratio(data["round_median"], reference)
        vs_core = paired_ratio(data["round_median"], core)
        results["contenders"][name] = {
            "median_us": median(data["per_call"]),
            "p25_us": q1,
            "p75_us": q3,
            "ratio_vs_openai_sdk": vs_sdk,
            "ratio_vs_cosmara_chat": vs_core,
        }
        rows.append(
            [name, len(data["per_call"]), median(data["per_call"]), q1, q3, vs_sdk, vs_core]
        )
    print(f"\n## cosmara_generic: {rounds} interleaved rounds of {args.batch} calls\n")
    headers = [
        "contender",
        "calls",
        "median µs/call",
        "p25",
        "p75",
        "ratio vs openai SDK",
        "ratio vs Cosmara.chat",
    ]
    print(table(headers, rows))

    vs_sdk = paired_ratio(samples[GENERIC]["round_median"], reference)
    print(
        f"\ntarget: {GENERIC} / openai SDK in about 1.0-1.2 (the SDK's own cost, plus the "
        f"engine's over one HTTP exchange): {vs_sdk:.2f} -> {verdict(vs_sdk <= 1.2)}"
    )
    added = paired_diff(samples["Ask"]["round_median"], core)
    noise = (quartiles(core)[1] - quartiles(core)[0]) if len(core) >= 4 else float("nan")
    print(
        f"target: Ask adds no measurable time over Cosmara.chat: {added:+.1f} µs "
        f"(round-median IQR of Cosmara.chat {noise:.1f} µs) "
        f"-> {verdict(abs(added) <= max(noise, 5.0))}"
    )
    # What each layer adds, from paired round medians: the SDK over one HTTP exchange, the
    # engine over one HTTP exchange, and what is left: this package's transport plus the SDK's
    # own HTTP client layer (a legacy httpx client here, its httpx2 one in the reference), which
    # the reference hides inside its exchange.
    exchange = samples[HTTPX]["round_median"]
    sdk_cost = paired_diff(reference, exchange)
    engine_cost = paired_diff(core, exchange)
    transport_cost = paired_diff(samples[GENERIC]["round_median"], core) - sdk_cost
    print(
        f"\nper call: the SDK adds {sdk_cost:.0f} µs to one HTTP exchange, the engine "
        f"{engine_cost:.0f} µs; the transport with the SDK's httpx client layer "
        f"{transport_cost:.0f} µs"
    )
    results["targets"] = {
        "generic_over_openai_sdk": vs_sdk,
        "ask_added_us": added,
        "sdk_over_exchange_us": sdk_cost,
        "engine_over_exchange_us": engine_cost,
        "transport_us": transport_cost,
    }
    results["versions"] = versions("cosmara", "cosmara-generic", "openai", "httpx", "pydantic")
    write_json(args.json, results)
    return results


if __name__ == "__main__":
    main()
