"""calibrate(): the lowest threshold under a false-hit bound, on handmade and shipped pairs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from cosmara import RequestValidationError
from cosmara.semantic import (
    CallableEmbedder,
    DetailVerifier,
    LabelledPair,
    LocalMiniLM,
    calibrate,
    load_pairs,
)

SHIPPED = Path(__file__).resolve().parents[2] / "data" / "semantic_pairs.jsonl"


def _angle_embedder(angles: dict[str, float]) -> CallableEmbedder:
    """Each text a unit vector at a known angle, so every pair's cosine is known exactly."""

    def embed(texts: list[str]) -> np.ndarray:
        return np.array([[np.cos(angles[t]), np.sin(angles[t])] for t in texts])

    return CallableEmbedder("fake/angles", 2, embed=embed)


class _RejectsWord:
    """A verifier that turns away any pair where one side says "never"."""

    def agrees(self, question: str, cached_question: str) -> bool:
        return ("never" in question) == ("never" in cached_question)


def _handmade() -> tuple[list[LabelledPair], CallableEmbedder]:
    # cos(0.1) = 0.995, cos(0.3) = 0.955, cos(0.5) = 0.878, cos(0.7) = 0.765, cos(0.9) = 0.622
    angles = {"q": 0.0, "s1": 0.1, "s2": 0.3, "s3": 0.7, "d1": 0.5, "d2": 0.9, "d3": 0.2}
    angles["never"] = 0.05  # very close to q, but the verifier turns it away
    pairs = [
        LabelledPair("q", "s1", True),
        LabelledPair("q", "s2", True),
        LabelledPair("q", "s3", True),
        LabelledPair("q", "d1", False),
        LabelledPair("q", "d2", False),
        LabelledPair("q", "d3", False),
        LabelledPair("q", "never", False),
    ]
    return pairs, _angle_embedder(angles)


def test_handmade_set_with_a_verifier() -> None:
    pairs, embedder = _handmade()
    result = calibrate(pairs, embedder, _RejectsWord(), max_false_hit=0.0)
    # d3 (cos 0.2 = 0.980) must stay out; "never" (0.999) is the verifier's to turn away.
    assert result.threshold == pytest.approx(0.981)
    assert result.hit_rate == pytest.approx(1 / 3)  # only s1 (0.995)
    assert result.false_hit_rate == 0.0
    assert result.verifier_removed == 1
    assert result.verifier_lost == 0


def test_handmade_set_on_similarity_alone() -> None:
    pairs, embedder = _handmade()
    result = calibrate(pairs, embedder, None, max_false_hit=0.0)
    assert result.threshold == pytest.approx(0.999)  # above "never" at cos(0.05) = 0.99875
    assert result.hit_rate == 0.0
    # A bound of one false hit in four lets "never" through and stops at d3.
    looser = calibrate(pairs, embedder, None, max_false_hit=0.25)
    assert looser.threshold == pytest.approx(0.981)
    assert looser.false_hit_rate == pytest.approx(0.25)
    assert looser.hit_rate == pytest.approx(1 / 3)


def test_rows_and_render() -> None:
    pairs, embedder = _handmade()
    result = calibrate(pairs, embedder, _RejectsWord(), max_false_hit=0.0)
    thresholds = [row.threshold for row in result.rows]
    assert thresholds == sorted(thresholds)
    assert result.threshold in thresholds
    at_half = next(row for row in result.rows if row.threshold == 0.5)
    assert at_half.hit_rate == 1.0
    assert at_half.false_hit_rate == pytest.approx(3 / 4)
    assert at_half.similarity_false_hit_rate == 1.0
    text = result.render()
    assert "threshold 0.981" in text
    assert "<- chosen" in text
    assert "fake/angles" in text


def test_mappings_are_accepted_and_checked() -> None:
    pairs, embedder = _handmade()
    as_dicts = [{"a": p.a, "b": p.b, "same": p.same} for p in pairs]
    assert calibrate(as_dicts, embedder, None, 0.0).threshold == pytest.approx(0.999)
    with pytest.raises(RequestValidationError, match="same"):
        calibrate([{"a": "q", "b": "s1", "same": "yes"}], embedder, None)


@pytest.mark.parametrize("bound", [-0.1, 1.0, True])
def test_bad_bound_is_refused(bound: float) -> None:
    pairs, embedder = _handmade()
    with pytest.raises(RequestValidationError, match="max_false_hit"):
        calibrate(pairs, embedder, None, bound)


def test_one_sided_sets_are_refused() -> None:
    pairs, embedder = _handmade()
    with pytest.raises(RequestValidationError, match="both"):
        calibrate([p for p in pairs if p.same], embedder, None)


def test_identical_different_pairs_make_the_bound_unreachable() -> None:
    embedder = _angle_embedder({"q": 0.0, "copy": 0.0, "s": 0.1})
    pairs = [LabelledPair("q", "s", True), LabelledPair("q", "copy", False)]
    with pytest.raises(RequestValidationError, match="labels"):
        calibrate(pairs, embedder, None, 0.0)


def test_load_pairs_names_the_bad_line(tmp_path: Path) -> None:
    good = json.dumps({"a": "x", "b": "y", "same": True})
    path = tmp_path / "pairs.jsonl"
    path.write_text(f"{good}\n\n{good}\nnot json\n", "utf-8")
    with pytest.raises(RequestValidationError, match=r"pairs\.jsonl:4"):
        load_pairs(path)
    path.write_text(f'{good}\n{{"a": "", "b": "y", "same": false}}\n', "utf-8")
    with pytest.raises(RequestValidationError, match=r":2"):
        load_pairs(path)


def test_shipped_set_is_large_balanced_and_unique() -> None:
    pairs = load_pairs(SHIPPED)
    same = sum(pair.same for pair in pairs)
    assert len(pairs) >= 400
    assert abs(same - (len(pairs) - same)) <= len(pairs) // 10
    assert len({(pair.a, pair.b) for pair in pairs}) == len(pairs)


@pytest.fixture(scope="module")
def shipped(minilm: LocalMiniLM) -> tuple[list[LabelledPair], CallableEmbedder]:
    """The shipped pairs, and LocalMiniLM's vectors for their texts computed once in a batch."""
    pairs = load_pairs(SHIPPED)
    texts = sorted({text for pair in pairs for text in (pair.a, pair.b)})
    vectors = dict(zip(texts, minilm.embed(texts), strict=True))
    embedder = CallableEmbedder(
        minilm.name, minilm.dimensions, embed=lambda batch: [vectors[text] for text in batch]
    )
    return pairs, embedder


@pytest.mark.parametrize("bound", [0.01, 0.05])
def test_shipped_set_threshold_keeps_its_bound(
    shipped: tuple[list[LabelledPair], CallableEmbedder], bound: float
) -> None:
    pairs, embedder = shipped
    verifier = DetailVerifier()
    result = calibrate(pairs, embedder, verifier, bound)
    # Recount independently of calibrate's own arithmetic.
    different = [p for p in pairs if not p.same]
    false_hits = [
        p
        for p in different
        if float(embedder.embed([p.a])[0] @ embedder.embed([p.b])[0]) >= result.threshold
        and verifier.agrees(p.a, p.b)
    ]
    assert len(false_hits) / len(different) <= bound
    assert result.false_hit_rate <= bound
    assert 0.5 < result.threshold < 1.0
    # The verifier is worth having: it lets the threshold go lower and keeps more hits.
    alone = calibrate(pairs, embedder, None, bound)
    assert result.threshold < alone.threshold
    assert result.hit_rate > alone.hit_rate
    assert result.verifier_removed > 0
