"""The semantic cache's building blocks: vector index lookups and the local embedder.

Index: a partition of N unit vectors (384 dimensions, like all-MiniLM-L6-v2) searched for the
best match, exactly (numpy dot product over all N) and through the HNSW graph (usearch), at
each size. Reference, measured in the same run: the bare numpy expression ``argmax(X @ q)`` over
the same matrix, the floor of an exact search. HNSW recall is measured against exact search on
two kinds of query: near-duplicates (a stored vector moved to cosine ~0.9 of itself: what a
cache hit looks like) and fresh questions (a new member of a stored topic: mostly misses).

The vectors are synthetic but shaped like prompt embeddings: 2,000 topics, each entry its topic
plus noise, so entries of one topic sit at cosine ~0.5 of each other and other topics near 0.
Exact search does not care; HNSW's speed and recall do (uniform random vectors are its worst
case, real prompts cluster).

A crossover scan times both at sizes from 1,000 to 32,000 and prints where HNSW starts to win:
that is where ``cosmara.semantic.HNSW_FROM`` comes from.

Embedder: ``LocalMiniLM`` on one short prompt, and per prompt in batches of 32. Reference: the
same matrix products the encoder runs (its four dense layers times six), on random data of the
same shape, with nothing else: the BLAS floor of the forward pass.

    uv run python benchmarks/semantic_index.py                # 1k, 10k, 100k; ~3 minutes
    uv run python benchmarks/semantic_index.py --sizes 1000 10000 --no-embedder
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import table

from cosmara.semantic import HNSW_FROM, LocalMiniLM, VectorIndex

DIMENSIONS = 384
TOPICS = 2000
TOPIC_NOISE = 1.0  # entry = topic + noise of this norm: cosine to its topic ~0.71
PARAPHRASE_NOISE = 0.45  # near-duplicate query: cosine ~0.9 to the entry it came from


def unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def noise(rng: np.random.Generator, count: int, norm: float) -> np.ndarray:
    return rng.standard_normal((count, DIMENSIONS)).astype(np.float32) * (norm / DIMENSIONS**0.5)


def entries(rng: np.random.Generator, topics: np.ndarray, count: int) -> np.ndarray:
    chosen = topics[rng.integers(0, len(topics), count)]
    return unit(chosen + noise(rng, count, TOPIC_NOISE))


def timed(function: Callable[[], Any], repeats: int) -> float:
    """Median wall time of one call, in microseconds."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e6


def lookup_us(search: Callable[[np.ndarray], Any], queries: np.ndarray) -> float:
    position = iter(range(10**9))
    return timed(lambda: search(queries[next(position) % len(queries)]), 3 * len(queries))


def build(vectors: np.ndarray, hnsw: bool) -> tuple[VectorIndex, float]:
    # HNSW: the index fills exactly, then its graph is built in one go when the last vector
    # crosses hnsw_from, as a growing partition does; the time includes that build.
    index = VectorIndex(DIMENSIONS, hnsw_from=len(vectors) if hnsw else None)
    start = time.perf_counter()
    for number, vector in enumerate(vectors):
        index.add(f"entry-{number}", vector)
    index.settle()
    assert index.kind == ("hnsw" if hnsw else "exact"), index.kind
    return index, time.perf_counter() - start


def recall(exact: VectorIndex, graph: VectorIndex, queries: np.ndarray, k: int) -> float:
    found = 0
    for query in queries:
        truth = {key for key, _ in exact.search(query, k)}
        found += len(truth & {key for key, _ in graph.search(query, k)})
    return found / (k * len(queries))


def index_rows(sizes: list[int], queries: int, rng: np.random.Generator) -> list[list[Any]]:
    topics = unit(rng.standard_normal((TOPICS, DIMENSIONS)))
    rows = []
    for size in sizes:
        stored = entries(rng, topics, size)
        near = unit(stored[rng.integers(0, size, queries)] + noise(rng, queries, PARAPHRASE_NOISE))
        fresh = entries(rng, topics, queries)
        exact, exact_build = build(stored, hnsw=False)
        graph, graph_build = build(stored, hnsw=True)
        mixed = np.concatenate([near, fresh])
        floor = lookup_us(lambda q, matrix=stored: int(np.argmax(matrix @ q)), mixed)
        exact_us = lookup_us(exact.search, mixed)
        graph_us = lookup_us(graph.search, mixed)
        rows.append(
            [
                f"{size:,}",
                f"{floor:.0f}",
                f"{exact_us:.0f} ({exact_us / floor:.2f}x)",
                f"{graph_us:.0f} ({graph_us / floor:.2f}x)",
                f"{recall(exact, graph, near, 1):.3f}",
                f"{recall(exact, graph, fresh, 1):.3f}",
                f"{recall(exact, graph, fresh, 10):.3f}",
                f"{exact_build:.1f} / {graph_build:.1f}",
            ]
        )
        print(f"  measured {size:,}", file=sys.stderr)
    return rows


def crossover(sizes: list[int], queries: int, rng: np.random.Generator) -> list[list[Any]]:
    topics = unit(rng.standard_normal((TOPICS, DIMENSIONS)))
    rows = []
    for size in sizes:
        stored = entries(rng, topics, size)
        probe = entries(rng, topics, queries)
        exact, _ = build(stored, hnsw=False)
        graph, _ = build(stored, hnsw=True)
        exact_us = lookup_us(exact.search, probe)
        graph_us = lookup_us(graph.search, probe)
        winner = "hnsw" if graph_us < exact_us else "exact"
        rows.append([f"{size:,}", f"{exact_us:.0f}", f"{graph_us:.0f}", winner])
    return rows


def embedder_rows(rng: np.random.Generator) -> list[list[Any]]:
    embedder = LocalMiniLM()
    prompt = ["How do I reset my password?"]
    batch = [f"How do I reset the password of account number {n}?" for n in range(32)]
    tokens = len(embedder._tokenizer.encode(prompt[0]).ids)
    batch_tokens = max(len(e.ids) for e in embedder._tokenizer.encode_batch(batch))
    embedder.embed(batch)  # warm up

    def dense_floor(rows: int) -> Callable[[], None]:
        # The encoder's matrix products alone: per layer qkv, attention output, up, down.
        x = rng.standard_normal((rows, 384)).astype(np.float32)
        shapes = [(384, 1152), (384, 384), (384, 1536), (1536, 384)]
        weights = [rng.standard_normal(shape).astype(np.float32) for shape in shapes]
        inner = rng.standard_normal((rows, 1536)).astype(np.float32)

        def run() -> None:
            for _ in range(6):
                x @ weights[0]
                x @ weights[1]
                x @ weights[2]
                inner @ weights[3]

        return run

    single = timed(lambda: embedder.embed(prompt), 200)
    single_floor = timed(dense_floor(tokens), 200)
    batched = timed(lambda: embedder.embed(batch), 20) / len(batch)
    batched_floor = timed(dense_floor(32 * batch_tokens), 20) / len(batch)
    return [
        [f"one prompt ({tokens} tokens)", f"{single:.0f}", f"{single_floor:.0f}",
         f"{single / single_floor:.2f}x"],
        [f"per prompt, batches of 32 ({batch_tokens} tokens)", f"{batched:.0f}",
         f"{batched_floor:.0f}", f"{batched / batched_floor:.2f}x"],
    ]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument(
        "--crossover", type=int, nargs="*", default=[1_000, 2_000, 4_000, 8_000, 16_000, 32_000]
    )
    parser.add_argument("--no-embedder", action="store_true")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)

    print(f"## Lookup of the best match, {DIMENSIONS} dimensions (median us per search)\n")
    print(
        table(
            [
                "entries",
                "numpy argmax(X @ q)",
                "exact",
                "HNSW",
                "HNSW recall@1 near-dup",
                "recall@1 fresh",
                "recall@10 fresh",
                "build s (exact / HNSW)",
            ],
            index_rows(args.sizes, args.queries, rng),
        )
    )
    if args.crossover:
        print(f"\n## Crossover (cosmara.semantic.HNSW_FROM = {HNSW_FROM:,})\n")
        rows = crossover(args.crossover, args.queries, rng)
        print(table(["entries", "exact us", "HNSW us", "faster"], rows))
    if not args.no_embedder:
        print("\n## LocalMiniLM (median us)\n")
        headers = ["what", "LocalMiniLM", "matrix products alone", "ratio"]
        print(table(headers, embedder_rows(rng)))


if __name__ == "__main__":
    main()
