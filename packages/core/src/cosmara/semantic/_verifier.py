"""The second opinion before a semantic hit: do the two questions ask for the same answer?

Embeddings place "Convert 5 km to miles" and "Convert 50 km to miles" side by side, and "Is
it safe" next to "Is it not safe". A ``Verifier`` looks at the words instead. The built-in
``DetailVerifier`` refuses a pair whose numbers (digits, words, units, years), negations,
names (people, places, products, programming languages, identifiers, quoted text), opposite
words (enable / disable) or alternatives of one kind (dog / cat, June / July) differ, and
leaves paraphrases alone: it compares what the questions name, not how they say it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Protocol, runtime_checkable

from cosmara.semantic._details import Details, details, singular
from cosmara.semantic._lexicon import NEGATING_PREFIXES, OPPOSITES

__all__ = ["DetailVerifier", "Verifier"]


def _opposite_index() -> dict[str, tuple[str, ...]]:
    """Each word of OPPOSITES -> its opposites, so a pair is checked via the words it has."""
    index: dict[str, tuple[str, ...]] = {}
    for first, second in OPPOSITES:
        index[first] = (*index.get(first, ()), second)
        index[second] = (*index.get(second, ()), first)
    return index


_OPPOSITE_OF = _opposite_index()


@runtime_checkable
class Verifier(Protocol):
    """Decides whether a cached answer to ``cached_question`` also answers ``question``."""

    def agrees(self, question: str, cached_question: str) -> bool: ...


class DetailVerifier:
    """Agrees unless the two questions differ in a detail that changes the answer.

    Pure Python, no model: tens of microseconds per pair. The details of the last
    ``cache_size`` texts seen are kept (cached questions come back again and again), so the
    memory it holds is bounded. Thread-safe.
    """

    def __init__(self, cache_size: int = 4096) -> None:
        self._cache_size = max(0, cache_size)
        self._seen: OrderedDict[str, Details] = OrderedDict()
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"DetailVerifier(cache_size={self._cache_size})"

    def agrees(self, question: str, cached_question: str) -> bool:
        """Whether the questions ask the same thing, as far as their details show."""
        return self.disagreement(question, cached_question) is None

    def disagreement(self, question: str, cached_question: str) -> str | None:
        """Why the cached answer does not fit (e.g. ``"numbers differ: 5 km / 50 km"``), or
        ``None`` when the verifier agrees."""
        if question.strip().casefold() == cached_question.strip().casefold():
            return None
        return differences(self._details(question), self._details(cached_question))

    def _details(self, text: str) -> Details:
        with self._lock:
            found = self._seen.get(text)
            if found is not None:
                self._seen.move_to_end(text)
                return found
        found = details(text)
        if self._cache_size:
            with self._lock:
                self._seen[text] = found
                if len(self._seen) > self._cache_size:
                    self._seen.popitem(last=False)
        return found


def differences(a: Details, b: Details) -> str | None:
    """The first detail in which ``a`` and ``b`` differ, described, or ``None``."""
    if a.numbers != b.numbers:
        return f"numbers differ: {_numbers(a)} / {_numbers(b)}"
    if a.units - b.units and b.units - a.units:
        # Each names a unit the other does not: a substitution ("cups in a liter" / "cups in a
        # gallon"), not a paraphrase that names one more ("water a day" / "liters per day").
        return f"units differ: {sorted(a.units)} / {sorted(b.units)}"
    if a.negations != b.negations:
        return f"negation differs: {a.negations} / {b.negations}"
    if a.names != b.names:
        return f"names differ: {sorted(a.names)} / {sorted(b.names)}"
    for first, second in ((a, b), (b, a)):
        missing = [entity for entity in first.entities if not _present(entity, second)]
        if missing:
            return f"named only in one: {sorted(missing)}"
        absent = [phrase for phrase in first.phrases if f" {phrase} " not in second.text]
        if absent:
            return f"quoted or code only in one: {absent}"
    weak_a = [word for word in a.weak if not _present(word, b)]
    weak_b = [word for word in b.weak if not _present(word, a)]
    if weak_a and weak_b:
        return f"names differ: {sorted(weak_a)} / {sorted(weak_b)}"
    return _opposed(a, b) or _contrasted(a, b)


def _present(entity: str, other: Details) -> bool:
    return (
        entity in other.words
        or singular(entity) in other.words
        or f" {entity} " in other.text
        or entity.replace("-", "") in other.words
    )


def _opposed(a: Details, b: Details) -> str | None:
    mine, theirs = a.counts, b.counts
    for first in mine.keys() | theirs.keys():
        for second in _OPPOSITE_OF.get(first, ()):
            # Counted, not just present: "turn off notifications on iPhone" has an "on" too.
            more_first = mine.get(first, 0) - theirs.get(first, 0)
            more_second = mine.get(second, 0) - theirs.get(second, 0)
            if (more_first > 0 > more_second) or (more_second > 0 > more_first):
                return f"opposite words: {first} / {second}"
    for before, after in a.directions:
        if (after, before) in b.directions and (before, after) not in b.directions:
            return f"reversed: {before} -> {after} / {after} -> {before}"
    only_a, only_b = a.words - b.words, b.words - a.words
    for plain, prefixed in ((only_a, only_b), (only_b, only_a)):
        for word in prefixed:
            for prefix in NEGATING_PREFIXES:
                stem = word[len(prefix) :]
                if word.startswith(prefix) and len(stem) >= 3 and stem in plain:
                    return f"negated word: {stem} / {word}"
    return None


def _contrasted(a: Details, b: Details) -> str | None:
    theirs = dict(b.contrasts)
    for group, members in a.contrasts:
        other = theirs.get(group)
        if other is not None and other != members:
            return f"different {group}: {sorted(members)} / {sorted(other)}"
    return None


def _numbers(found: Details) -> str:
    return ", ".join(f"{value} {unit}".strip() for value, unit in found.numbers) or "none"
