"""VectorIndex and PartitionedIndex: exact and HNSW search agree, removals work on both."""

from __future__ import annotations

import sys
import threading

import numpy as np
import pytest

from cosmara import ConfigurationError, RequestValidationError
from cosmara.semantic import HnswSettings, PartitionedIndex, VectorIndex
from cosmara.semantic._exact import ExactVectors, top_k
from cosmara.semantic._hnsw import HnswVectors

DIMENSIONS = 32


def _unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=-1, keepdims=True)).astype(np.float32)


@pytest.fixture
def vectors() -> np.ndarray:
    return _unit(np.random.default_rng(3).standard_normal((400, DIMENSIONS)))


def _filled(vectors: np.ndarray, hnsw_from: int | None) -> VectorIndex:
    index = VectorIndex(DIMENSIONS, hnsw_from=hnsw_from)
    for number, vector in enumerate(vectors):
        index.add(f"k{number}", vector)
    assert index.settle(timeout=60)
    return index


@pytest.mark.parametrize("hnsw_from", [None, 1], ids=["exact", "hnsw"])
def test_a_stored_vector_finds_itself_first(vectors: np.ndarray, hnsw_from: int | None) -> None:
    index = _filled(vectors, hnsw_from)
    assert index.kind == ("exact" if hnsw_from is None else "hnsw")
    for number in range(0, 400, 37):
        key, similarity = index.search(vectors[number], 1)[0]
        assert key == f"k{number}"
        assert similarity == pytest.approx(1.0, abs=1e-5)


def test_exact_and_hnsw_agree_on_neighbours(vectors: np.ndarray) -> None:
    exact, graph = _filled(vectors, None), _filled(vectors, 1)
    queries = _unit(vectors[:50] + 0.3 * np.random.default_rng(4).standard_normal((50, DIMENSIONS)))
    agreed = 0
    for query in queries:
        best_exact, best_graph = exact.search(query, 5), graph.search(query, 5)
        assert [s for _, s in best_exact] == sorted((s for _, s in best_exact), reverse=True)
        agreed += best_exact[0][0] == best_graph[0][0]
        # Same keys score the same in both.
        scores = dict(best_exact)
        for key, similarity in best_graph:
            if key in scores:
                assert similarity == pytest.approx(scores[key], abs=1e-5)
    assert agreed >= 49


def test_similarity_is_the_cosine(vectors: np.ndarray) -> None:
    index = _filled(vectors[:10], None)
    query = vectors[10] * 7.0  # not unit length: normalised on the way in
    found = dict(index.search(query, 10))
    for number in range(10):
        assert found[f"k{number}"] == pytest.approx(float(vectors[number] @ vectors[10]), abs=1e-5)


@pytest.mark.parametrize("hnsw_from", [None, 1], ids=["exact", "hnsw"])
def test_removed_keys_are_never_found(vectors: np.ndarray, hnsw_from: int | None) -> None:
    index = _filled(vectors, hnsw_from)
    for number in range(0, 400, 2):
        assert index.remove(f"k{number}")
    assert not index.remove("k0")
    assert len(index) == 200
    assert "k0" not in index
    assert "k1" in index
    for number in range(0, 400, 2):
        keys = [key for key, _ in index.search(vectors[number], 3)]
        assert f"k{number}" not in keys
        assert all(int(key[1:]) % 2 == 1 for key in keys)


@pytest.mark.parametrize("hnsw_from", [None, 1], ids=["exact", "hnsw"])
def test_adding_a_key_again_replaces_its_vector(vectors: np.ndarray, hnsw_from: int | None) -> None:
    index = _filled(vectors[:20], hnsw_from)
    index.add("k3", vectors[300])
    assert len(index) == 20
    assert index.search(vectors[300], 1)[0][0] == "k3"
    assert index.search(vectors[3], 1)[0][0] != "k3"


def test_min_similarity_filters_and_k_caps(vectors: np.ndarray) -> None:
    index = _filled(vectors[:50], None)
    assert len(index.search(vectors[0], 500)) == 50
    close = index.search(vectors[0], 50, min_similarity=0.99)
    assert close == [("k0", pytest.approx(1.0, abs=1e-5))]
    assert index.search(-vectors[0], 1, min_similarity=0.5) == []


def test_empty_index_finds_nothing() -> None:
    assert VectorIndex(DIMENSIONS).search(np.ones(DIMENSIONS), 3) == []


def test_moves_to_hnsw_at_the_threshold_and_back_below_half(vectors: np.ndarray) -> None:
    index = VectorIndex(DIMENSIONS, hnsw_from=100)
    for number in range(99):
        index.add(f"k{number}", vectors[number])
    assert index.kind == "exact"
    index.add("k99", vectors[99])
    assert index.settle(timeout=60)
    assert index.kind == "hnsw"
    for number in range(49):
        index.remove(f"k{number}")
    assert index.kind == "hnsw"  # 51 left: above half of hnsw_from
    index.remove("k49")
    index.remove("k50")
    assert index.kind == "exact"
    assert len(index) == 49
    assert index.search(vectors[77], 1)[0][0] == "k77"


def test_changes_during_the_background_build_reach_the_graph(vectors: np.ndarray) -> None:
    index = VectorIndex(DIMENSIONS, hnsw_from=300)
    for number in range(300):
        index.add(f"k{number}", vectors[number])
    # The build has started from a snapshot; these land while (or after) it runs.
    for number in range(300, 400):
        index.add(f"k{number}", vectors[number])
    for number in range(0, 50):
        index.remove(f"k{number}")
    index.add("k60", vectors[0])
    assert index.settle(timeout=60)
    assert index.kind == "hnsw"
    assert len(index) == 350
    assert index.search(vectors[350], 1)[0][0] == "k350"
    assert index.search(vectors[0], 1)[0][0] == "k60"
    assert all(key != "k10" for key, _ in index.search(vectors[10], 5))


def test_searches_go_on_during_the_build(vectors: np.ndarray) -> None:
    index = VectorIndex(DIMENSIONS, hnsw_from=400)
    for number in range(400):
        index.add(f"k{number}", vectors[number])
        assert index.search(vectors[number], 1)[0][0] == f"k{number}"
    index.settle(timeout=60)


def test_exact_storage_shrinks_with_what_it_holds(vectors: np.ndarray) -> None:
    store = ExactVectors(DIMENSIONS)
    for label in range(400):
        store.add(label, vectors[label])
    peak = store.capacity
    assert peak >= 400
    for label in range(390):
        store.remove(label)
    assert len(store) == 10
    assert store.capacity <= 64
    labels, rows = store.items()
    assert sorted(labels.tolist()) == list(range(390, 400))
    assert np.allclose(rows[labels.tolist().index(395)], vectors[395])


def test_hnsw_churn_keeps_its_size(vectors: np.ndarray) -> None:
    graph = HnswVectors(DIMENSIONS, HnswSettings())
    for label in range(100):
        graph.add(label, vectors[label])
    capacity = graph.capacity
    for label in range(100, 1100):  # LRU-style: one in, one out
        graph.remove(label - 100)
        graph.add(label, vectors[label % 400])
    assert len(graph) == 100
    assert graph.capacity == capacity


def test_hnsw_storage_is_rebuilt_smaller_after_a_large_shrink() -> None:
    rng = np.random.default_rng(5)
    many = _unit(rng.standard_normal((9000, 8)))
    graph = HnswVectors(8, HnswSettings())
    graph.add_many(np.arange(9000), many)
    peak = graph.capacity
    for label in range(8500):
        graph.remove(label)
    assert len(graph) == 500
    assert graph.capacity < peak
    assert graph.search(many[8700], 1)[0][0] == 8700


def test_top_k_orders_and_breaks_ties_by_position() -> None:
    similarities = np.array([0.1, 0.9, 0.5, 0.9, -1.0], dtype=np.float32)
    assert top_k(similarities, 2) == [1, 3]
    assert top_k(similarities, 10) == [1, 3, 2, 0, 4]


def test_partitions_never_see_each_other(vectors: np.ndarray) -> None:
    index = PartitionedIndex(DIMENSIONS)
    index.add(("gpt-4o", "team-a"), "same-key", vectors[0])
    index.add(("gpt-4o", "team-b"), "same-key", vectors[1])
    index.add(("gpt-4o", "team-b"), "other", vectors[0])
    assert index.search(("gpt-4o", "team-a"), vectors[0], 5) == [("same-key", pytest.approx(1.0))]
    assert index.search(("gpt-4o", "team-b"), vectors[0], 5)[0][0] == "other"
    assert index.search(("gpt-4o", "team-c"), vectors[0], 5) == []
    assert len(index) == 3
    assert index.size(("gpt-4o", "team-b")) == 2
    assert index.remove(("gpt-4o", "team-a"), "same-key")
    assert not index.remove(("gpt-4o", "team-a"), "same-key")
    assert index.partitions() == [("gpt-4o", "team-b")]  # the emptied one is gone


def test_a_failed_add_leaves_no_empty_partition() -> None:
    index = PartitionedIndex(DIMENSIONS)
    with pytest.raises(RequestValidationError):
        index.add("p", "k", np.ones(DIMENSIONS + 1))
    assert index.partitions() == []


def test_concurrent_adds_and_searches_stay_consistent(vectors: np.ndarray) -> None:
    index = PartitionedIndex(DIMENSIONS, hnsw_from=150)
    errors: list[BaseException] = []

    def worker(partition: int) -> None:
        try:
            for number in range(200):
                index.add(partition, f"k{number}", vectors[number])
                index.search(partition, vectors[number], 3)
                if number % 3 == 0:
                    index.remove(partition, f"k{number}")
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(p,)) for p in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert index.settle(timeout=60)
    assert len(index) == 4 * (200 - 67)
    assert index.search(2, vectors[1], 1)[0][0] == "k1"


@pytest.mark.parametrize(
    "vector", [np.ones(DIMENSIONS + 1), [np.nan] * DIMENSIONS, np.ones((2, DIMENSIONS))]
)
def test_bad_vectors_are_refused(vector: object) -> None:
    index = VectorIndex(DIMENSIONS)
    with pytest.raises(RequestValidationError):
        index.add("k", vector)
    with pytest.raises(RequestValidationError):
        index.search(vector)


@pytest.mark.parametrize("k", [0, -1, 1.5, True])
def test_bad_k_is_refused(k: object) -> None:
    with pytest.raises(RequestValidationError):
        VectorIndex(DIMENSIONS).search(np.ones(DIMENSIONS), k)  # type: ignore[arg-type]
    with pytest.raises(RequestValidationError):
        PartitionedIndex(DIMENSIONS).search("none", np.ones(DIMENSIONS), k)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "arguments",
    [{"dimensions": 0}, {"dimensions": 8, "hnsw_from": 0}, {"dimensions": 8, "hnsw_from": True}],
)
def test_bad_settings_are_configuration_errors(arguments: dict) -> None:
    with pytest.raises(ConfigurationError):
        VectorIndex(**arguments)
    with pytest.raises(ConfigurationError):
        PartitionedIndex(**arguments)


def test_bad_graph_settings_are_configuration_errors() -> None:
    with pytest.raises(ConfigurationError, match="connectivity"):
        HnswSettings(connectivity=0)


def test_missing_usearch_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "usearch.index", None)
    with pytest.raises(ConfigurationError, match=r"cosmara\[semantic\]"):
        VectorIndex(DIMENSIONS, hnsw_from=2)
    exact_only = VectorIndex(DIMENSIONS, hnsw_from=None)
    exact_only.add("a", np.ones(DIMENSIONS))
    assert exact_only.search(np.ones(DIMENSIONS)) == [("a", pytest.approx(1.0))]
