"""The details of a question that an embedding blurs: numbers, units, negations, names.

``details(text)`` reads them once per text (pure Python, tens of microseconds); the verifier
compares two such readings. Everything is lower-cased and plural-folded for comparison, but
names are found with the original case: "Paris" mid-sentence is a name, "paris" is not.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from cosmara.semantic._lexicon import (
    COMPOUND_UNITS,
    CONTRASTS,
    MULTIPLIERS,
    NAMES,
    NEGATIONS,
    NUMBER_WORDS,
    ORDINALS,
    PLACE_ALIASES,
    PLACE_PHRASES,
    SPELLED_UNITS,
    STARTERS,
    SYMBOL_NAMES,
    UNITS,
)

__all__ = ["Details", "details", "singular"]

_QUOTED = re.compile(
    r"\"([^\"\n]{1,80})\"|“([^”\n]{1,80})”|`([^`\n]{1,80})`|(?<![\w])'([^'\n]{1,80}?)'(?![\w])"
)
_CODE = re.compile(
    r"https?://\S+|[\w.+-]+@[\w-]+\.[\w.]+"  # URLs, e-mail addresses
    r"|(?<![\w.])\.?[A-Za-z_][\w-]*(?:\.[A-Za-z_][\w-]*)+(?:\(\))?"  # os.path.join, a.yaml
    r"|(?<![\w-])--?[A-Za-z][\w-]*"  # --force, -rf
    r"|(?<!\w)/[\w.-]+(?:/[\w.-]+)+"  # /etc/hosts
    r"|\b[A-Za-z_]\w*\(\)"  # len()
)
# Symbol names ("C++"), place names ("United States") and compound units ("miles per hour")
# become one word each before the text is split into words.
_REWRITE_TO = {
    **{spelling: word for spelling, word in SYMBOL_NAMES.items()},
    **{phrase: acronym for phrase, acronym in PLACE_PHRASES.items()},
}
_REWRITE = re.compile(
    "|".join(
        [rf"(?<![\w+#.]){re.escape(spelling)}(?![\w+#])" for spelling in SYMBOL_NAMES]
        + [rf"\b{re.escape(phrase)}(?!\w)" for phrase in PLACE_PHRASES]
        + [rf"\b(?P<{unit}>{pattern})\b" for unit, pattern in COMPOUND_UNITS.items()]
    ),
    re.IGNORECASE,
)
# "Wi-Fi", "E-Mail": a capitalised compound is one name, spelled "wifi" elsewhere.
_CAPITAL_COMPOUND = re.compile(r"\b([A-Za-z]*[A-Z][A-Za-z]*)-([A-Za-z]+)\b")
_TOKEN = re.compile(
    r"(?P<number>[$€£¥]?\d+(?:[.,:/]\d+)*(?:st|nd|rd|th)?%?)"
    r"|(?P<word>[^\W\d_][\w]*(?:['\u2019][^\W\d_]+)?)"
    r"|(?P<unit>[%°$€£¥])"
    r"|(?P<stop>[.!?;:\n]+(?=\s|$))"
)
_HAS_DIGIT = re.compile(r"\d")
_CURLY_APOSTROPHE = "\u2019"
_THOUSANDS = re.compile(r"\d{1,3}(?:,\d{3})+")
_FRACTION = re.compile(r"(\d{1,3})/(\d{1,3})")
_NORMAL_TEXT = re.compile(r"[^\w.+#@/-]+")
_NOT_NAMES = frozenset({"i", "i'm", "i've", "i'd", "i'll", "ok", "okay", "pls", "asap"})
_NUMBER_STARTS = frozenset({*NUMBER_WORDS, *MULTIPLIERS, *ORDINALS})
_SINGLE_UNIT_WORDS = frozenset({"a", "an", "one", "per", "every", "each"})
# Words that point from one thing to another: "convert a string to an integer".
_DIRECTIONS = frozenset({"to", "into", "from"})
_FILLER = frozenset(
    [
        "a",
        "an",
        "the",
        "my",
        "your",
        "our",
        "their",
        "his",
        "her",
        "its",
        "this",
        "that",
        "some",
        "any",
    ]
)
_TEMPERATURE_SCALES = {"c": "°c", "f": "°f", "celsius": "°c", "fahrenheit": "°f"}


def _contrast_spellings() -> dict[str, tuple[str, str]]:
    """Every spelling in CONTRASTS -> (its group, the member it names): "mom" -> "mother"."""
    spellings: dict[str, tuple[str, str]] = {}
    for group, members in CONTRASTS.items():
        for member in members.split():
            first, *others = member.split("=")
            for spelling in (first, *others):
                spellings[singular(spelling)] = (group, first)
    return spellings


@dataclass(frozen=True)
class Details:
    """What must be equal between a question and the cached one for one answer to fit both."""

    numbers: tuple[tuple[str, str], ...]  # (value, unit) pairs but ones, sorted; unit "" if none
    units: frozenset[str]  # units named without an amount, or with an amount of one
    negations: int
    names: frozenset[str]  # canonical names from NAMES and PLACE_ALIASES
    entities: frozenset[str]  # other names and identifiers: must appear in the other question
    weak: frozenset[str]  # capitalised sentence-initial words that may be names
    phrases: tuple[str, ...]  # quoted text and code: must appear in the other question
    contrasts: tuple[tuple[str, frozenset[str]], ...]  # (group, members named)
    words: frozenset[str]  # every word, lower-cased and plural-folded
    counts: Counter[str]  # how often each word occurs
    directions: frozenset[tuple[str, str]]  # (word before, word after) "to", "into", "from"
    text: str  # the lower-cased text with punctuation folded to spaces, for phrase search


def singular(word: str) -> str:
    """A crude plural fold, enough to match "dogs" with "dog" and "cities" with "city"."""
    if len(word) <= 3 or word.endswith("ss"):
        return word
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith(("ches", "shes", "xes", "sses")):
        return word[:-2]
    return word[:-1] if word.endswith("s") else word


def normal_text(text: str) -> str:
    """Lower case, punctuation folded to single spaces, one space at each end."""
    return " " + _NORMAL_TEXT.sub(" ", text.casefold()).strip(" .") + " "


def details(text: str) -> Details:
    """Read the details of one question."""
    phrases = [normal_text(_quoted(match)).strip() for match in _QUOTED.finditer(text)]
    code = (match.group(0).casefold().rstrip(".") for match in _CODE.finditer(text))
    phrases += [found for found in code if found not in SYMBOL_NAMES]
    rewritten = _REWRITE.sub(_rewrite, _CAPITAL_COMPOUND.sub(_join_compound, text))
    tokens = [(m.lastgroup or "", m.group(0), m.end()) for m in _TOKEN.finditer(rewritten)]
    words = [
        value.casefold().replace(_CURLY_APOSTROPHE, "'")
        for kind, value, _ in tokens
        if kind == "word"
    ]
    folded = frozenset(words) | {singular(word) for word in words}
    numbers, units = _numbers(tokens)
    names: set[str] = set()
    entities, weak = _entities(tokens, names)
    negations = sum(1 for word in words if word in NEGATIONS or word.endswith("n't"))
    return Details(
        numbers=tuple(sorted(numbers.elements())),
        units=frozenset(units),
        negations=negations,
        names=frozenset(names),
        entities=frozenset(entities),
        weak=frozenset(weak),
        phrases=tuple(phrase for phrase in phrases if phrase),
        contrasts=_contrasts(folded),
        words=folded,
        counts=Counter(words),
        directions=_directions(words),
        text=normal_text(rewritten),
    )


_SPELLINGS = _contrast_spellings()


def _directions(words: list[str]) -> frozenset[tuple[str, str]]:
    content = [word for word in words if word not in _FILLER]
    return frozenset(
        (content[at - 1], content[at + 1])
        for at in range(1, len(content) - 1)
        if content[at] in _DIRECTIONS and content[at - 1] != content[at + 1]
    )


def _quoted(match: re.Match[str]) -> str:
    return next(group for group in match.groups() if group)


def _rewrite(match: re.Match[str]) -> str:
    unit = match.lastgroup
    return f" {unit if unit else _REWRITE_TO[match.group(0).casefold()]} "


def _join_compound(match: re.Match[str]) -> str:
    first, second = match.group(1), match.group(2)
    if first.casefold() in NUMBER_WORDS or second.casefold() in NUMBER_WORDS:
        return match.group(0)
    return first + second


def _contrasts(words: frozenset[str]) -> tuple[tuple[str, frozenset[str]], ...]:
    named: dict[str, set[str]] = {}
    for word in words:
        found = _SPELLINGS.get(word)
        if found:
            named.setdefault(found[0], set()).add(found[1])
    return tuple((group, frozenset(members)) for group, members in named.items())


_Token = tuple[str, str, int]  # kind, text, end offset


def _numbers(tokens: list[_Token]) -> tuple[Counter[tuple[str, str]], set[str]]:
    """(value, unit) pairs for every number but one, in digits or words, and the units named
    without an amount or with an amount of one ("a mile", "per day", "1 cup")."""
    numbers: Counter[tuple[str, str]] = Counter()
    units: set[str] = set()
    position = 0
    while position < len(tokens):
        kind, value, end = tokens[position]
        lowered = value.casefold()
        if kind == "number":
            amount, unit = _digits(lowered)
            following = tokens[position + 1] if position + 1 < len(tokens) else None
            if following and following[1].casefold() == "k" and following[2] == end + 1:
                amount, position = _scaled(amount, 1000), position + 1  # "50k"
            elif not unit:
                unit, position = _unit_after(tokens, position)
            _count(numbers, units, amount, unit)
        elif kind == "word" and (
            lowered in NUMBER_WORDS or lowered in MULTIPLIERS or lowered in ORDINALS
        ):
            position = _spelled(tokens, position, numbers, units)
        elif kind == "word" and lowered in _SINGLE_UNIT_WORDS and position + 1 < len(tokens):
            ahead = tokens[position + 1][1].casefold()
            if ahead in UNITS and len(ahead) >= 3:
                units.add(UNITS[ahead])  # "a mile", "per kilogram": an amount of one
                position += 1
        elif kind in ("word", "unit") and lowered in SPELLED_UNITS:
            units.add(SPELLED_UNITS[lowered])
        position += 1
    units.discard("")
    return numbers, units


def _count(numbers: Counter[tuple[str, str]], units: set[str], amount: str, unit: str) -> None:
    # One is soft: "a cup", "one cup" and "1 cup" say the same, and "a day" is "daily".
    if amount == "1":
        units.add(unit)
    else:
        numbers[(amount, unit)] += 1


def _digits(token: str) -> tuple[str, str]:
    unit = ""
    if token[0] in "$€£¥":
        unit, token = UNITS[token[0]], token[1:]
    if token.endswith("%"):
        unit, token = "%", token[:-1]
    if token[-2:] in ("st", "nd", "rd", "th"):
        return token[:-2].lstrip("0") or "0", "#ordinal"
    if _THOUSANDS.fullmatch(token):
        token = token.replace(",", "")
    fraction = _FRACTION.fullmatch(token)
    if fraction and int(fraction.group(2)):
        return _decimal(Decimal(fraction.group(1)) / Decimal(fraction.group(2))), unit
    if token.count(".") == 1 and not any(mark in token for mark in ",:/"):
        try:
            return _decimal(Decimal(token)), unit
        except InvalidOperation:  # pragma: no cover - the pattern only lets digits through
            return token, unit
    return token.lstrip("0") or "0", unit


def _decimal(value: Decimal) -> str:
    return format(round(value, 6).normalize(), "f")


def _scaled(amount: str, factor: int) -> str:
    try:
        return _decimal(Decimal(amount) * factor)
    except InvalidOperation:
        return amount


def _unit_after(tokens: list[_Token], position: int) -> tuple[str, int]:
    """The unit after the number at ``position`` ("" if none) and the position it ends at."""
    ahead = position + 1
    if ahead < len(tokens) and tokens[ahead][1].casefold() in ("a", "an"):
        ahead += 1  # "half a cup"
    if ahead >= len(tokens) or tokens[ahead][0] not in ("word", "unit"):
        return "", position
    unit = UNITS.get(tokens[ahead][1].casefold(), "")
    if not unit:
        return "", position
    if unit == "degree" and ahead + 1 < len(tokens):
        scale = _TEMPERATURE_SCALES.get(tokens[ahead + 1][1].casefold())
        if scale:
            return scale, ahead + 1  # "100 degrees Fahrenheit", "100°F"
    return unit, ahead


def _spelled(
    tokens: list[_Token], position: int, numbers: Counter[tuple[str, str]], units: set[str]
) -> int:
    """Read a run of number words ("two hundred and five"); the position of its last word."""
    total, current, start = Decimal(0), Decimal(0), position
    ordinal = False
    while position < len(tokens) and tokens[position][0] == "word":
        word = tokens[position][1].casefold()
        if word in ("half", "quarter") and current:
            current *= Decimal(str(NUMBER_WORDS[word]))  # "three quarters"
        elif word in NUMBER_WORDS:
            current += Decimal(str(NUMBER_WORDS[word]))
        elif word in ORDINALS:
            current += ORDINALS[word]
            ordinal = True
        elif word in MULTIPLIERS:
            current = max(current, Decimal(1)) * MULTIPLIERS[word]
            if MULTIPLIERS[word] >= 1000:
                total, current = total + current, Decimal(0)
        elif (
            word != "and"
            or position + 1 >= len(tokens)
            or tokens[position + 1][1].casefold() not in NUMBER_WORDS
        ):
            break
        position += 1
    last = position - 1
    first_word = tokens[start][1].casefold()
    amount = _decimal(total + current)
    if ordinal:
        _count(numbers, units, amount, "#ordinal")
        return last
    if first_word in ("twice", "double", "triple") and last == start:
        numbers[(amount, "times")] += 1
        return last
    unit, unit_end = _unit_after(tokens, last)
    if first_word == "one" and last == start and not unit:
        return last  # "which one", "one of them": a pronoun, not an amount
    _count(numbers, units, amount, unit)
    return unit_end


def _lower(word: str) -> str:
    return word.casefold().replace(_CURLY_APOSTROPHE, "'")


def _number_word_at(tokens: list[_Token], position: int) -> bool:
    return position < len(tokens) and tokens[position][1].casefold() in NUMBER_WORDS


def _entities(tokens: list[_Token], names: set[str]) -> tuple[set[str], set[str]]:
    """Names and identifiers (``names`` gets the canonical ones), and weak sentence starts."""
    words = [value for kind, value, _ in tokens if kind == "word" and len(value) > 1]
    shouting = len(words) >= 3 and sum(w.isupper() for w in words) >= 0.6 * len(words)
    # "How To Reset My Password": capitals that mark a headline, not names.
    plain_words = [w for w in words if w.casefold() not in NAMES]
    capitalised = sum(w[0].isupper() for w in plain_words)
    title_case = len(plain_words) >= 3 and capitalised >= 0.8 * len(plain_words)
    entities: set[str] = set()
    weak: set[str] = set()
    initial = True
    for kind, value, _ in tokens:
        if kind == "stop":
            initial = True
            continue
        if kind != "word":
            initial = False
            continue
        lowered = _lower(value)
        if lowered.endswith("'s"):
            lowered = lowered[:-2]
        if lowered in NAMES:
            names.add(NAMES[lowered])
        elif lowered in PLACE_ALIASES and value[0].isupper() and (lowered != "us" or value == "US"):
            names.add(PLACE_ALIASES[lowered])
        elif lowered in _NOT_NAMES or lowered in UNITS or shouting:
            pass  # "Fahrenheit" is a unit, counted as one
        elif "_" in value or (not value.isalpha() and _HAS_DIGIT.search(value)):
            entities.add(lowered)  # mp3, ec2, snake_case
        elif len(value) > 1 and value.isupper():
            entities.add(lowered)  # an acronym: AWS, SQL
        elif not value[1:].islower() and value[1:] != value[1:].lower():
            entities.add(lowered)  # iPhone, macOS, WiFi
        elif value[0].isupper():
            if not initial and not title_case:
                entities.add(lowered)
            elif lowered not in STARTERS:
                weak.add(lowered)
        initial = False
    return entities, weak
