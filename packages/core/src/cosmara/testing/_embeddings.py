"""The emulator's embeddings: vectors whose similarity follows the words two texts share.

Each text becomes a hashed bag of words: lower-cased words, common English function words
left out, a plural's or past tense's ending trimmed; every word has a fixed pseudo-random
direction (from a hash of the word, so the same in every process), and a text's vector is the
sum of its words' directions, normalised. Texts sharing words point the same way, so a
retriever over emulated embeddings finds the document that shares the question's words, as a
RAG demo expects. More dimensions make the similarity follow the words more closely: 8 (the
default) keeps vectors small; a few hundred separate documents reliably.
"""

from __future__ import annotations

import base64
import hashlib
import math
import re
import struct
from collections.abc import Mapping
from typing import Any

from ._openai import RequestError, positive_int, tokens_of

__all__ = ["DEFAULT_DIMENSIONS", "MAX_DIMENSIONS", "embeddings_body", "text_vector"]

DEFAULT_DIMENSIONS = 8
MAX_DIMENSIONS = 8192
_WORD = re.compile(r"[^\W_]+")
# Words that say little about what a text is about: left out of its bag of words.
_FUNCTION_WORD_LIST = (
    "a an the is are was were be been being am do does did done has have had of in on at to "
    "for from by with as and or but not no it its this that these those there here what when "
    "where which who whom whose why how i you he she we they me him her us them my your our "
    "their can could will would shall should may might must about into over than then so if"
)
_FUNCTION_WORDS = frozenset(_FUNCTION_WORD_LIST.split())


def text_vector(text: str, dimensions: int) -> list[float]:
    """The unit vector of ``text``: its words' directions summed; a text with no word of its
    own (empty, or only function words) gets a direction of its own from its whole text."""
    total = [0.0] * dimensions
    for word in _words(text):
        for index, value in enumerate(_direction(word, dimensions)):
            total[index] += value
    norm = math.sqrt(sum(value * value for value in total))
    if norm == 0:
        total = _direction("\x00" + text, dimensions)
        norm = math.sqrt(sum(value * value for value in total)) or 1.0
    return [value / norm for value in total]


def _words(text: str) -> list[str]:
    return [_stem(word) for word in _WORD.findall(text.lower()) if word not in _FUNCTION_WORDS]


def _stem(word: str) -> str:
    """``finished``, ``finishes``, ``finishing`` -> ``finish``; ``cities`` -> ``city``."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    for ending in ("ing", "ed", "es", "s"):
        if word.endswith(ending) and len(word) - len(ending) >= 3 and not word.endswith("ss"):
            word = word[: -len(ending)]
            break
    return word[:-1] if len(word) > 4 and word.endswith("e") else word


def _direction(word: str, dimensions: int) -> list[float]:
    """A fixed pseudo-random direction for ``word``: coordinates uniform in [-1, 1] from an
    extendable hash of the word."""
    raw = hashlib.shake_256(word.encode("utf-8")).digest(2 * dimensions)
    return [value / 32767.5 - 1.0 for value in struct.unpack(f"<{dimensions}H", raw)]


def _embedding_texts(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value:
        if all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            return [" ".join(map(str, value))]
        texts = []
        for item in value:
            if isinstance(item, str):
                texts.append(item)
            elif isinstance(item, list) and all(isinstance(v, int) for v in item):
                texts.append(" ".join(map(str, item)))
            else:
                break
        else:
            return texts
    raise RequestError(
        "'input' must be a string, an array of strings or an array of token arrays.",
        param="input",
    )


def embeddings_body(
    body: Mapping[str, Any], *, model: str, default_dimensions: int = DEFAULT_DIMENSIONS
) -> dict[str, Any]:
    """The ``/embeddings`` response: one ``text_vector`` per input, ``dimensions`` long (the
    request's, else ``default_dimensions``), as floats or base64 as asked."""
    texts = _embedding_texts(body.get("input"))
    dimensions = positive_int(body, "dimensions") or default_dimensions
    if dimensions > MAX_DIMENSIONS:
        raise RequestError(f"Invalid 'dimensions': at most {MAX_DIMENSIONS}.", param="dimensions")
    encoding = body.get("encoding_format") or "float"
    if encoding not in ("float", "base64"):
        raise RequestError(
            "'encoding_format' must be 'float' or 'base64'.", param="encoding_format"
        )
    data = []
    for index, text in enumerate(texts):
        vector = text_vector(text, dimensions)
        embedding: list[float] | str = vector
        if encoding == "base64":
            embedding = base64.b64encode(struct.pack(f"<{dimensions}f", *vector)).decode("ascii")
        data.append({"object": "embedding", "index": index, "embedding": embedding})
    tokens = sum(tokens_of(text) for text in texts)
    return {
        "object": "list",
        "data": data,
        "model": model,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }
