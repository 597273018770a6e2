"""The emulator's embeddings follow the words texts share, so retrieval over them works."""

from __future__ import annotations

import math

import httpx
import pytest

from cosmara.testing import Emulator
from cosmara.testing._embeddings import text_vector

DOCUMENTS = [
    "The Eiffel Tower was finished in 1889 in Paris.",
    "Python is a programming language created by Guido van Rossum.",
    "The Great Wall of China is thousands of kilometres long.",
    "Mount Everest is the highest mountain on Earth.",
    "The Mona Lisa was painted by Leonardo da Vinci.",
    "Photosynthesis turns sunlight into chemical energy in plants.",
]
QUESTIONS = [
    ("When was the Eiffel Tower finished?", 0),
    ("Who created the Python language?", 1),
    ("How long is the Great Wall?", 2),
    ("Which mountain is the highest?", 3),
    ("Who painted the Mona Lisa?", 4),
    ("What do plants make from sunlight?", 5),
]


def _cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


def test_vectors_are_unit_length_and_stable() -> None:
    for text in ("hello", "", "the of and", "Ünïcode wörds 123"):
        vector = text_vector(text, 16)
        assert math.isclose(math.hypot(*vector), 1.0)
        assert vector == text_vector(text, 16)
    assert text_vector("", 16) != text_vector("the of and", 16)  # no words: the text's own


def test_function_words_case_order_and_endings_do_not_matter() -> None:
    same = text_vector("Tower Eiffel finished", 32)
    for text in (
        "The Eiffel Tower was finished.",
        "eiffel TOWER finishing",
        "finishes, towers, Eiffel",
    ):
        assert text_vector(text, 32) == pytest.approx(same)


@pytest.mark.parametrize("dimensions", [64, 256])
def test_each_question_is_closest_to_its_document(dimensions: int) -> None:
    documents = [text_vector(text, dimensions) for text in DOCUMENTS]
    for question, expected in QUESTIONS:
        asked = text_vector(question, dimensions)
        scores = [_cosine(asked, document) for document in documents]
        assert max(range(len(scores)), key=scores.__getitem__) == expected, question


def test_shared_words_mean_similar_vectors() -> None:
    question = text_vector("When was the Eiffel Tower finished?", 256)
    assert _cosine(question, text_vector(DOCUMENTS[0], 256)) > 0.6
    assert abs(_cosine(question, text_vector(DOCUMENTS[3], 256))) < 0.3


def test_embedding_dimensions_sets_the_default_and_a_request_still_wins() -> None:
    with (
        Emulator(embedding_dimensions=256) as emulator,
        httpx.Client(base_url=emulator.base_url) as http,
    ):
        default = http.post("/embeddings", json={"model": "e", "input": "a tower"}).json()
        asked = http.post("/embeddings", json={"model": "e", "input": "a tower", "dimensions": 4})
    assert len(default["data"][0]["embedding"]) == 256
    assert default["data"][0]["embedding"] == pytest.approx(text_vector("a tower", 256))
    assert len(asked.json()["data"][0]["embedding"]) == 4


@pytest.mark.parametrize("dimensions", [0, 8193])
def test_embedding_dimensions_are_checked(dimensions: int) -> None:
    with pytest.raises(ValueError, match="embedding_dimensions"):
        Emulator(embedding_dimensions=dimensions)
