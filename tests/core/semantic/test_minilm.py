"""LocalMiniLM against sentence-transformers' own vectors, recorded once in tests/data."""

from __future__ import annotations

import asyncio
import base64
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from cosmara import ConfigurationError, RequestValidationError
from cosmara.semantic import Embedder, LocalMiniLM

REFERENCE = Path(__file__).resolve().parents[2] / "data" / "minilm_reference.json"


def _reference() -> tuple[list[str], np.ndarray]:
    document = json.loads(REFERENCE.read_text("utf-8"))
    texts = [item["text"] for item in document["items"]]
    vectors = [np.frombuffer(base64.b64decode(i["embedding"]), "<f4") for i in document["items"]]
    return texts, np.stack(vectors)


def test_matches_sentence_transformers_on_every_reference_sentence(minilm: LocalMiniLM) -> None:
    texts, expected = _reference()
    assert len(texts) == 50
    got = minilm.embed(texts)
    cosines = np.sum(got * expected, axis=1)
    worst = int(np.argmin(cosines))
    assert cosines.min() >= 0.999, (texts[worst], float(cosines[worst]))
    # Not merely close in angle: the same numbers, to float32 rounding.
    assert np.abs(got - expected).max() < 1e-4


def test_texts_past_the_tokenizer_files_128_tokens_count_up_to_256(minilm: LocalMiniLM) -> None:
    texts, expected = _reference()
    long_text = texts[-1]
    assert len(minilm._tokenizer.encode(long_text).ids) == 256
    cut = minilm.embed([long_text[: len(long_text) // 3]])[0]
    assert float(cut @ expected[-1]) < 0.999  # the tail changed the reference: it was not cut


def test_vectors_are_float32_unit_rows(minilm: LocalMiniLM) -> None:
    vectors = minilm.embed(["How do I reset my password?", "", "a" * 5000])
    assert vectors.dtype == np.float32
    assert vectors.shape == (3, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_a_batch_equals_its_texts_one_by_one(minilm: LocalMiniLM) -> None:
    texts, _ = _reference()
    texts = texts[::10] + texts[-2:]  # a spread of lengths, both long texts included
    together = minilm.embed(texts)
    alone = np.stack([minilm.embed([text])[0] for text in texts])
    assert np.abs(together - alone).max() < 1e-5


def test_batches_split_by_count_and_by_padded_tokens() -> None:
    embedder = LocalMiniLM(batch_size=4)
    ids = [[0] * 10] * 9 + [[0] * 256] * 9
    passes = embedder._passes(ids)
    assert sorted(position for group in passes for position in group) == list(range(18))
    assert all(len(group) <= 4 for group in passes)
    assert all(len(group) * max(len(ids[p]) for p in group) <= 2048 for group in passes)


def test_identity_and_protocol(minilm: LocalMiniLM) -> None:
    assert isinstance(minilm, Embedder)
    assert minilm.name == "sentence-transformers/all-MiniLM-L6-v2"
    assert minilm.dimensions == 384
    assert "384" in repr(minilm)


def test_paraphrases_are_closer_than_other_questions(minilm: LocalMiniLM) -> None:
    a, b, c = minilm.embed(
        [
            "How do I reset my password?",
            "What's the way to reset my password?",
            "What is the capital of Australia?",
        ]
    )
    assert float(a @ b) > 0.8 > 0.2 > float(a @ c)


def test_empty_input_gives_no_rows(minilm: LocalMiniLM) -> None:
    assert minilm.embed([]).shape == (0, 384)


@pytest.mark.parametrize("bad", ["one string", [1, 2], ["ok", None]])
def test_bad_texts_are_refused(minilm: LocalMiniLM, bad: object) -> None:
    with pytest.raises(RequestValidationError):
        minilm.embed(bad)  # type: ignore[arg-type]


async def test_async_twin_gives_the_same_vectors(minilm: LocalMiniLM) -> None:
    texts = ["Convert 5 km to miles", "Is ibuprofen safe with coffee?"]
    together = await asyncio.gather(minilm.aembed(texts), minilm.aembed(texts[:1]))
    assert np.array_equal(together[0], minilm.embed(texts))
    # Another batch shape rounds differently in BLAS, so equal to float32 noise, not bit for bit.
    assert np.allclose(together[1][0], together[0][0], atol=1e-5)


def test_missing_extra_names_the_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "tokenizers", None)
    with pytest.raises(ConfigurationError, match=r"cosmara\[local\]"):
        LocalMiniLM()


def test_own_model_dir_needs_a_name(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="name="):
        LocalMiniLM(tmp_path)


def test_a_directory_without_a_model_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"config\.json"):
        LocalMiniLM(tmp_path, name="mine")


def test_a_model_that_is_not_bert_is_refused(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "gpt2", "hidden_act": "gelu"}))
    with pytest.raises(ConfigurationError, match="BERT"):
        LocalMiniLM(tmp_path, name="mine")


@pytest.mark.parametrize(("keyword", "value"), [("batch_size", 0), ("max_length", 1000)])
def test_out_of_range_settings_are_refused(keyword: str, value: int) -> None:
    with pytest.raises(ConfigurationError, match=keyword):
        LocalMiniLM(**{keyword: value})  # type: ignore[arg-type]
