"""Choosing the similarity threshold from labelled question pairs and a stated false-hit rate.

A pair is two questions and whether one answer fits both. At a threshold t, a *hit* is a
"same" pair whose similarity is at least t and that the verifier accepts, and a *false hit* is
a "different" pair that passes both: the cache would have served the wrong answer.
``calibrate`` returns the lowest threshold whose false-hit rate (false hits / different pairs)
stays at or under the bound, with the hit rate there (hits / same pairs) and a table around it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cosmara._errors import RequestValidationError

if TYPE_CHECKING:
    from cosmara.semantic._embedder import Embedder
    from cosmara.semantic._verifier import Verifier

__all__ = ["Calibration", "CalibrationRow", "LabelledPair", "calibrate", "load_pairs"]

# Thresholds are chosen on this grid: three decimals are as fine as a configuration needs.
_STEP = 1000
_TABLE = tuple(round(0.5 + 0.05 * step, 2) for step in range(10))  # 0.50 ... 0.95
_EMBED_BATCH = 256  # texts per embedder call: within every provider's request limit


@dataclass(frozen=True)
class LabelledPair:
    """Two questions, and whether one answer fits both."""

    a: str
    b: str
    same: bool

    @classmethod
    def from_mapping(cls, item: Mapping[str, Any], where: str = "pair") -> LabelledPair:
        """From ``{"a": str, "b": str, "same": bool}``; ``RequestValidationError`` otherwise."""
        if not isinstance(item, Mapping):
            raise RequestValidationError(f"{where}: expected an object, got {type(item).__name__}")
        a, b, same = item.get("a"), item.get("b"), item.get("same")
        if not isinstance(a, str) or not isinstance(b, str) or not a.strip() or not b.strip():
            raise RequestValidationError(f'{where}: "a" and "b" must be non-empty strings')
        if not isinstance(same, bool):
            raise RequestValidationError(f'{where}: "same" must be true or false')
        return cls(a, b, same)


@dataclass(frozen=True)
class CalibrationRow:
    """Rates at one threshold, with the verifier and with similarity alone."""

    threshold: float
    hit_rate: float
    false_hit_rate: float
    similarity_hit_rate: float
    similarity_false_hit_rate: float


@dataclass(frozen=True)
class Calibration:
    """The result of ``calibrate``: the threshold to configure and what it costs.

    ``verifier_removed`` counts the "different" pairs at or above the threshold that the
    verifier turned away (false hits it prevented); ``verifier_lost`` the "same" pairs at or
    above it that it turned away too (hits it cost).
    """

    threshold: float
    hit_rate: float
    false_hit_rate: float
    max_false_hit: float
    same_pairs: int
    different_pairs: int
    false_hits: int
    verifier_removed: int
    verifier_lost: int
    embedder: str
    verifier: str
    rows: tuple[CalibrationRow, ...]

    def render(self) -> str:
        """The result as text for a terminal: the choice, then the table of thresholds."""
        lines = [
            f"{self.same_pairs + self.different_pairs} pairs ({self.same_pairs} same, "
            f"{self.different_pairs} different); embedder {self.embedder}, verifier "
            f"{self.verifier}",
            f"threshold {self.threshold:.3f} keeps false hits at or under "
            f"{_percent(self.max_false_hit)}: hit rate {_percent(self.hit_rate)}, false-hit "
            f"rate {_percent(self.false_hit_rate)} ({self.false_hits} of "
            f"{self.different_pairs})",
            f"at it the verifier removed {self.verifier_removed} false hits and cost "
            f"{self.verifier_lost} hits",
            "",
            f"{'threshold':>9}  {'hit rate':>8}  {'false hits':>10}   "
            f"{'similarity alone: hit rate':>26}  {'false hits':>10}",
        ]
        for row in self.rows:
            mark = "  <- chosen" if row.threshold == self.threshold else ""
            lines.append(
                f"{row.threshold:>9.3f}  {_percent(row.hit_rate):>8}  "
                f"{_percent(row.false_hit_rate):>10}   {_percent(row.similarity_hit_rate):>26}  "
                f"{_percent(row.similarity_false_hit_rate):>10}{mark}"
            )
        return "\n".join(lines)


def load_pairs(source: str | PathLike[str]) -> list[LabelledPair]:
    """Labelled pairs from a JSON-lines file, one ``{"a", "b", "same"}`` object a line.

    Blank lines are skipped. Raises ``RequestValidationError`` naming the line of the first
    bad one, and ``OSError`` when the file cannot be read.
    """
    path = Path(source)
    pairs = []
    for number, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as error:
            raise RequestValidationError(f"{path}:{number}: not JSON ({error.msg})") from error
        pairs.append(LabelledPair.from_mapping(item, f"{path}:{number}"))
    return pairs


def calibrate(
    pairs: Iterable[LabelledPair | Mapping[str, Any]],
    embedder: Embedder,
    verifier: Verifier | None,
    max_false_hit: float = 0.01,
) -> Calibration:
    """The lowest threshold whose false-hit rate on ``pairs`` is at most ``max_false_hit``.

    ``verifier=None`` calibrates on similarity alone. The texts are embedded once each.

    Raises:
        RequestValidationError: ``max_false_hit`` outside [0, 1); no "same" or no "different"
            pair; a malformed pair; or "different" pairs so alike (similarity 1, and the
            verifier agrees) that no threshold keeps false hits under the bound.
    """
    if isinstance(max_false_hit, bool) or not 0.0 <= max_false_hit < 1.0:
        raise RequestValidationError(f"max_false_hit must be in [0, 1), got {max_false_hit!r}")
    labelled = [
        pair if isinstance(pair, LabelledPair) else LabelledPair.from_mapping(pair, f"pair {n}")
        for n, pair in enumerate(pairs)
    ]
    same = [pair for pair in labelled if pair.same]
    different = [pair for pair in labelled if not pair.same]
    if not same or not different:
        raise RequestValidationError("calibration needs both same and different pairs")
    similarity = _similarities(labelled, embedder)
    agrees = {pair: verifier is None or verifier.agrees(pair.a, pair.b) for pair in set(labelled)}
    threshold = _lowest_threshold(
        [similarity[p] for p in different if agrees[p]], len(different), max_false_hit
    )

    def row(at: float) -> CalibrationRow:
        hits = [p for p in same if similarity[p] >= at]
        false_hits = [p for p in different if similarity[p] >= at]
        return CalibrationRow(
            threshold=at,
            hit_rate=sum(agrees[p] for p in hits) / len(same),
            false_hit_rate=sum(agrees[p] for p in false_hits) / len(different),
            similarity_hit_rate=len(hits) / len(same),
            similarity_false_hit_rate=len(false_hits) / len(different),
        )

    chosen = row(threshold)
    above = [p for p in labelled if similarity[p] >= threshold]
    return Calibration(
        threshold=threshold,
        hit_rate=chosen.hit_rate,
        false_hit_rate=chosen.false_hit_rate,
        max_false_hit=max_false_hit,
        same_pairs=len(same),
        different_pairs=len(different),
        false_hits=round(chosen.false_hit_rate * len(different)),
        verifier_removed=sum(1 for p in above if not p.same and not agrees[p]),
        verifier_lost=sum(1 for p in above if p.same and not agrees[p]),
        embedder=embedder.name,
        verifier="none" if verifier is None else type(verifier).__name__,
        rows=tuple(row(at) for at in sorted({*_TABLE, threshold})),
    )


def _similarities(pairs: Sequence[LabelledPair], embedder: Embedder) -> dict[LabelledPair, float]:
    texts = sorted({text for pair in pairs for text in (pair.a, pair.b)})
    position = {text: number for number, text in enumerate(texts)}
    vectors = [
        embedder.embed(texts[start : start + _EMBED_BATCH])
        for start in range(0, len(texts), _EMBED_BATCH)
    ]
    rows = [row for block in vectors for row in block]
    return {
        pair: min(1.0, float(rows[position[pair.a]] @ rows[position[pair.b]])) for pair in pairs
    }


def _lowest_threshold(passing: list[float], different: int, max_false_hit: float) -> float:
    """The lowest grid threshold leaving at most ``max_false_hit * different`` of the
    verifier-passing "different" similarities at or above it."""
    allowed = math.floor(max_false_hit * different + 1e-9)
    if allowed >= len(passing):
        return 0.0
    # Every similarity above the (allowed + 1)-th highest may stay; that one must not.
    boundary = sorted(passing, reverse=True)[allowed]
    threshold = (math.floor(boundary * _STEP) + 1) / _STEP
    if threshold > 1.0:
        raise RequestValidationError(
            f"{allowed + 1} different pairs have similarity 1 and pass the verifier: no "
            f"threshold keeps false hits at or under {max_false_hit}; check their labels"
        )
    return max(threshold, 0.0)


def _percent(rate: float) -> str:
    return f"{100 * rate:.1f}%"
