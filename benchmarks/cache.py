"""The cache: exact hits and misses through the whole ``client.chat`` call on each backend, a
semantic lookup at 100,000 entries, the local embedder, and a replayed workload.

1. Exact hit, whole ``client.chat`` call (validation, events, cache lookup, the answer), per
   backend: memory (target <= 30 us), SQLite (<= 150 us), Redis (<= one round trip + 100 us;
   the round trip is a raw redis-py PING measured in the same rounds).
2. A miss: a cache-enabled call whose answer is not stored yet (so it is looked up, sent to the
   emulator and stored) against the same call on a client without a cache, interleaved in
   rounds; the target is at most 10% more. The emulator runs in another process.
3. Semantic lookup excluding the embedding: a ``SemanticCache`` holding 100,000 entries in one
   partition (vectors fed directly, 384 dimensions, clustered like prompt embeddings), looked
   up with near-duplicates of stored questions: exact-key miss, the log followed, the index
   searched, the entry read and verified (target <= 5 ms). And ``LocalMiniLM`` on one short
   prompt.
4. A replayed workload: questions asked again, word for word and paraphrased, among others
   that differ in a detail, through a semantic namespace (the local embedder, the built-in
   verifier, the default threshold); hit rate, false hits (a hit answered with another
   question's answer), and the money saved, priced by the catalog.

    uv run python benchmarks/cache.py [--calls 2000] [--rounds 7] [--entries 100000]
    uv run python benchmarks/cache.py --skip semantic     # sections: exact, semantic, workload
"""

from __future__ import annotations

import argparse
import itertools
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    API_KEY,
    MODEL,
    emulator_process,
    machine_info,
    median,
    paired_ratio,
    table,
    verdict,
    write_json,
)
from state_stores import redis_server

from cosmara import Cosmara

MESSAGES = [{"role": "user", "content": "What is the capital of Australia?"}]


def per_call(action: Callable[[], Any], calls: int) -> float:
    """Microseconds per call of ``action`` over ``calls`` calls."""
    start = time.perf_counter()
    for _ in range(calls):
        action()
    return (time.perf_counter() - start) / calls * 1e6


def client(base_url: str, state: dict[str, Any] | None, **cache: Any) -> Cosmara:
    config: dict[str, Any] = {"providers": {"openai": {"base_url": base_url, "api_key": API_KEY}}}
    if state is not None:
        config["cache"] = {"enabled": True, **cache}
        config["state"] = state
    return Cosmara(config, load_entry_points=False, org="bench")


# --- 1 and 2: exact hits and misses -----------------------------------------------------------


def cpu_per_call(action: Callable[[], Any], calls: int) -> float:
    """This process's CPU microseconds per call: the work the cache adds here, whatever else
    the shared machine runs (waiting for the emulator, the disk or Redis is not in it)."""
    start = time.process_time()
    for _ in range(calls):
        action()
    return (time.process_time() - start) / calls * 1e6


def measure_backend(
    base_url: str, state: dict[str, Any], redis_url: str | None, args: Any
) -> dict[str, list[float]]:
    """Rounds of: hits, a PING (Redis), misses and the same calls without a cache (wall and
    CPU), interleaved so the machine's noise falls on all alike."""
    cached, plain = client(base_url, state), client(base_url, None)
    cached.chat(model=MODEL, messages=MESSAGES)  # the entry every hit reads
    ping = None
    if state["backend"] == "redis":
        import redis

        ping = redis.Redis.from_url(redis_url).ping
    counter = itertools.count()

    def hit() -> None:
        cached.chat(model=MODEL, messages=MESSAGES)

    def miss(engine: Cosmara = cached) -> None:
        text = f"Question number {next(counter)}?"  # never asked before: a miss, then stored
        engine.chat(model=MODEL, messages=[{"role": "user", "content": text}])

    def uncached() -> None:
        miss(plain)

    for _ in range(args.warmup):
        hit()
        miss()
        uncached()
    times: dict[str, list[float]] = {
        name: [] for name in ("hit", "ping", "miss", "plain", "cpu_miss", "cpu_plain")
    }
    for _ in range(args.rounds):
        times["hit"].append(per_call(hit, args.calls))
        if ping is not None:
            times["ping"].append(per_call(ping, args.calls))
        times["miss"].append(per_call(miss, args.miss_calls))
        times["plain"].append(per_call(uncached, args.miss_calls))
        times["cpu_miss"].append(cpu_per_call(miss, args.miss_calls))
        times["cpu_plain"].append(cpu_per_call(uncached, args.miss_calls))
    cached.close()
    plain.close()
    return times


def pipeline_floor(base_url: str, args: Any) -> float:
    """A client without a cache whose plugin stage answers a prebuilt response: what a call
    answered before the attempts costs with no cache logic at all (us per call)."""
    from cosmara import hookimpl
    from cosmara.pipeline import Stage

    with client(base_url, None) as probe:
        answer = probe.chat(model=MODEL, messages=MESSAGES)

    class Canned(Stage):
        name = "canned"

        def before(self, call: Any) -> Any:
            return answer

    class Plugin:
        @hookimpl
        def cosmara_register_stages(self, register: Callable[..., None]) -> None:
            register(Canned(), before="route")

    config = {"providers": {"openai": {"base_url": base_url, "api_key": API_KEY}}}
    with Cosmara(config, plugins=[Plugin()], load_entry_points=False, org="bench") as engine:
        call = lambda: engine.chat(model=MODEL, messages=MESSAGES)  # noqa: E731
        for _ in range(args.warmup):
            call()
        return median([per_call(call, args.calls) for _ in range(args.rounds)])


def exact_section(
    base_url: str, backends: dict[str, dict[str, Any]], redis_url: str | None, args: Any
) -> tuple[list[list[Any]], list[list[Any]], dict[str, Any]]:
    hit_rows, miss_rows, figures = [], [], {}
    targets = {"memory": 30.0, "sqlite": 150.0}
    floor = figures["pipeline_floor_us"] = pipeline_floor(base_url, args)
    hit_rows.append(["(no cache: a stage answering a prebuilt response)", floor, "", "", "", ""])
    for backend, state in backends.items():
        times = measure_backend(base_url, state, redis_url, args)
        hit_us, ping_us = median(times["hit"]), median(times["ping"]) if times["ping"] else None
        target = targets.get(backend) or (ping_us or 0) + 100
        hit_rows.append(
            [
                backend,
                hit_us,
                "n/a" if ping_us is None else ping_us,
                "n/a" if ping_us is None else hit_us - ping_us,
                f"<= {target:.0f} us",
                verdict(hit_us <= target),
            ]
        )
        ratio = paired_ratio(times["miss"], times["plain"])
        cpu_added = median(times["cpu_miss"]) - median(times["cpu_plain"])
        miss_rows.append(
            [
                backend,
                median(times["plain"]),
                median(times["miss"]),
                f"{(ratio - 1) * 100:+.1f}%",
                verdict(ratio <= 1.10),
                median(times["cpu_plain"]),
                cpu_added,
            ]
        )
        figures[backend] = {
            "hit_us": hit_us,
            "ping_us": ping_us,
            "miss_us": median(times["miss"]),
            "nocache_us": median(times["plain"]),
            "miss_ratio": ratio,
            "miss_cpu_added_us": cpu_added,
        }
    return hit_rows, miss_rows, figures


# --- 3: semantic lookup at 100,000 entries ----------------------------------------------------


NEAR_NOISE = 0.3  # a paraphrase: cosine ~0.96 to the stored question's vector


class Fixed:
    """An embedder that answers the vector it was handed: the lookup without the embedding."""

    name = "bench-fixed"
    dimensions = 384

    def __init__(self) -> None:
        self.next: Any = None

    def embed(self, texts: Any) -> Any:
        return self.next[None, :]

    async def aembed(self, texts: Any) -> Any:
        return self.embed(texts)


def semantic_section(entries: int, queries: int) -> tuple[list[list[Any]], dict[str, Any]]:
    import numpy as np
    from semantic_index import TOPICS, noise, unit
    from semantic_index import entries as clustered

    from cosmara import ChatResponse
    from cosmara.cache import Entry, NamespaceSettings, Probe, SemanticCache
    from cosmara.semantic import DetailVerifier
    from cosmara.state import MemoryStore

    rng = np.random.default_rng(7)
    topics = unit(rng.standard_normal((TOPICS, Fixed.dimensions)))
    vectors = clustered(rng, topics, entries)
    embedder = Fixed()
    settings = NamespaceSettings(type="semantic", ttl=None, max_entries=entries * 2)
    cache = SemanticCache("bench", settings, MemoryStore(), embedder, DetailVerifier())
    answer = ChatResponse.model_validate(
        {
            "id": "chatcmpl-1",
            "created": 1,
            "model": "gpt-4o-mini",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "An answer."},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 20, "completion_tokens": 5, "total_tokens": 25},
        }
    )
    started = time.perf_counter()
    for number, vector in enumerate(vectors):
        question = f"What does entry {number} say?"
        probe = Probe(f"*|{number:064x}", question, "P", vector)
        cache.store(probe, Entry(answer, 1e-5, "openai", "gpt-4o-mini", question), None)
    assert cache._index is not None
    cache._index.settle()  # the HNSW graph, built in the background past HNSW_FROM
    fill_s = time.perf_counter() - started
    picks = rng.integers(0, entries, queries)
    near = unit(vectors[picks] + noise(rng, queries, NEAR_NOISE))
    times, hits = [], 0
    for pick, vector in zip(picks, near, strict=True):
        embedder.next = vector
        probe = Probe(f"*|query-{pick}", f"What does entry {pick} say?", "P")
        start = time.perf_counter()
        hit = cache.lookup(probe)
        times.append((time.perf_counter() - start) * 1e6)
        hits += hit is not None
    lookup_us = median(times)
    rows = [
        [
            f"{entries:,}",
            f"{fill_s:.0f} s",
            lookup_us,
            f"{hits}/{queries}",
            "<= 5,000 us",
            verdict(lookup_us <= 5000),
        ]
    ]
    return rows, {
        "entries": entries,
        "fill_s": fill_s,
        "lookup_us": lookup_us,
        "hits": hits,
        "queries": queries,
    }


def embedder_row(repeats: int) -> tuple[list[list[Any]], dict[str, float]]:
    from cosmara.semantic import LocalMiniLM

    model = LocalMiniLM()
    prompt = ["How do I reset my password?"]
    for _ in range(10):
        model.embed(prompt)
    times = [per_call(lambda: model.embed(prompt), 1) for _ in range(repeats)]
    return [["LocalMiniLM, one short prompt (8 tokens)", median(times)]], {
        "embed_us": median(times)
    }


# --- 4: a replayed workload -------------------------------------------------------------------

# Groups of questions with one answer each: the first asks, the others repeat it word for word
# or paraphrase it. Groups next to each other differ in a detail (a number, a name, a negation,
# another question on the same topic): a hit across groups is a false hit.
GROUPS = [
    [
        "How do I reset my password?",
        "How do I reset my password?",
        "How can I reset my password?",
        "What's the way to reset my password?",
    ],
    ["How do I reset my username?", "How can I change my username?"],
    [
        "How can I cancel my subscription?",
        "How do I cancel my subscription?",
        "How can I cancel my subscription?",
    ],
    ["How can I pause my subscription?", "Is there a way to pause my subscription?"],
    [
        "What is the capital of Australia?",
        "Which city is the capital of Australia?",
        "What is the capital of Australia?",
    ],
    ["What is the capital of Austria?", "Which city is the capital of Austria?"],
    ["Convert 5 km to miles", "How many miles is 5 km?", "Convert 5 km to miles"],
    ["Convert 50 km to miles", "How many miles are 50 kilometers?"],
    [
        "Is ibuprofen safe with coffee?",
        "Can I take ibuprofen with coffee?",
        "Is ibuprofen safe with coffee?",
    ],
    ["Is ibuprofen not safe with alcohol?", "Is it dangerous to mix ibuprofen and alcohol?"],
    [
        "How do I read a CSV file in Python?",
        "How can I read a CSV file in Python?",
        "Read a CSV file in Python",
    ],
    ["How do I read a CSV file in Rust?", "How can I read a CSV file in Rust?"],
    ["What time does the store open on Sunday?", "When does the store open on Sunday?"],
    ["What time does the store open on Monday?", "When does the store open on Monday?"],
    ["How do I enable dark mode?", "How can I turn on dark mode?", "How do I enable dark mode?"],
    ["How do I disable dark mode?", "How can I turn off dark mode?"],
    ["What is your refund policy?", "What's your refund policy?", "What is your refund policy?"],
    ["How long does shipping to Canada take?", "How long does delivery to Canada take?"],
    ["How long does shipping to Mexico take?", "How long does delivery to Mexico take?"],
    [
        "Can I change my delivery address after ordering?",
        "Can I change the delivery address after I ordered?",
    ],
    ["How do I export my data?", "How can I export my data?", "How do I export my data?"],
    ["How do I delete my account?", "How can I delete my account?"],
    [
        "What payment methods do you accept?",
        "Which payment methods do you accept?",
        "What payment methods do you accept?",
    ],
    ["Do you offer a student discount?", "Is there a student discount?"],
    ["How do I add a team member?", "How can I add a member to my team?"],
    ["How do I remove a team member?", "How can I remove a member from my team?"],
]
USAGE = {"prompt_tokens": 900, "completion_tokens": 350}  # a support answer with context
WORKLOAD_MODEL = "openai/gpt-4o"


def workload_section() -> tuple[list[list[Any]], dict[str, Any]]:
    import random

    from cosmara.testing import Emulator

    asks = [(group, text) for group, texts in enumerate(GROUPS) for text in texts]
    first = {texts[0]: group for group, texts in enumerate(GROUPS)}
    # Each group's first question comes before its repeats: the order of a real queue.
    rng = random.Random(3)
    rng.shuffle(asks)
    asks.sort(key=lambda ask: ask[1] != GROUPS[ask[0]][0] if ask[1] in first else True)
    ordered, seen = [], set()
    pending = list(asks)
    while pending:
        for item in list(pending):
            group, text = item
            if text == GROUPS[group][0] or group in seen:
                ordered.append(item)
                seen.add(group)
                pending.remove(item)
    with Emulator(max_recorded=0) as emulator:
        namespace = {"type": "semantic", "scope": "global"}
        engine = client(emulator.base_url, {"backend": "memory"}, namespaces={"default": namespace})
        exact = semantic = false = 0
        saved = spent = 0.0
        answers: dict[str, int] = {}
        for group, text in ordered:
            emulator.reply(f"answer {group}", usage=USAGE)
            response = engine.chat(
                model=WORKLOAD_MODEL, messages=[{"role": "user", "content": text}]
            )
            emulator.reset()
            meta = response.cosmara
            assert meta is not None
            if meta.cache == "hit":
                exact += meta.cache_similarity is None
                semantic += meta.cache_similarity is not None
                false += response.text != f"answer {group}"
                saved += meta.cost_saved_usd or 0.0
            else:
                spent += meta.cost_usd or 0.0
            answers[text] = group
        engine.close()
    total = len(ordered)
    repeats = total - len(GROUPS)
    hits = exact + semantic
    rows = [
        [
            total,
            len(GROUPS),
            f"{hits} ({exact} exact, {semantic} semantic)",
            f"{hits / repeats:.0%} of {repeats}",
            false,
            f"${spent:.4f}",
            f"${saved:.4f}",
            f"{saved / (saved + spent):.0%}",
        ]
    ]
    return rows, {
        "requests": total,
        "groups": len(GROUPS),
        "exact_hits": exact,
        "semantic_hits": semantic,
        "false_hits": false,
        "spent_usd": spent,
        "saved_usd": saved,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000, help="hits per round")
    parser.add_argument("--miss-calls", type=int, default=300, help="misses per round")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--redis-url", help="an existing Redis; else one is started")
    parser.add_argument("--skip", nargs="*", default=[], choices=["exact", "semantic", "workload"])
    parser.add_argument("--json", help="write the figures here")
    args = parser.parse_args()
    figures: dict[str, Any] = {"machine": machine_info()}
    print(f"# benchmarks/cache.py  ({figures['machine']['date']})\n")
    if "exact" not in args.skip:
        with (
            emulator_process() as base_url,
            redis_server(args.redis_url) as redis_url,
            tempfile.TemporaryDirectory() as folder,
        ):
            backends: dict[str, dict[str, Any]] = {
                "memory": {"backend": "memory"},
                "sqlite": {"backend": "sqlite", "path": f"{folder}/state.db"},
            }
            if redis_url:
                backends["redis"] = {"backend": "redis", "url": redis_url}
            hit_rows, miss_rows, figures["exact"] = exact_section(
                base_url, backends, redis_url, args
            )
        print("Exact hit, whole client.chat call (median us per call):\n")
        print(table(["backend", "hit", "Redis PING", "hit - PING", "target", ""], hit_rows))
        print("\nA miss against the same call without a cache (median us per call):\n")
        headers = ["backend", "no cache", "miss (lookup, send, store)", "added", "<= +10%"]
        print(table([*headers, "CPU, no cache", "CPU added"], miss_rows))
    if "semantic" not in args.skip:
        rows, figures["semantic"] = semantic_section(args.entries, args.queries)
        print("\nSemantic lookup excluding the embedding, one partition (median us):\n")
        print(table(["entries", "fill", "lookup", "hits", "target", ""], rows))
        rows, figures["embedder"] = embedder_row(50)
        print("\n" + table(["embedder", "median us"], rows))
    if "workload" not in args.skip:
        rows, figures["workload"] = workload_section()
        tokens = f"{USAGE['prompt_tokens']} + {USAGE['completion_tokens']} tokens an answer"
        print(f"\nReplayed workload ({WORKLOAD_MODEL} at catalog prices, {tokens}):\n")
        print(
            table(
                [
                    "requests",
                    "distinct questions",
                    "hits",
                    "hit rate (repeats)",
                    "false hits",
                    "spent",
                    "saved",
                    "saved share",
                ],
                rows,
            )
        )
    write_json(args.json, figures)


if __name__ == "__main__":
    main()
