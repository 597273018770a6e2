"""CallableEmbedder: a function (sync, async or both) as an Embedder, through the engine too."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import numpy as np
import pytest

from cosmara import ConfigurationError, Cosmara, EmbeddingResponse, RequestValidationError
from cosmara.semantic import CallableEmbedder, Embedder
from cosmara.testing import Emulator


def _fixed(texts: list[str]) -> list[list[float]]:
    return [[float(len(text)), 1.0, 0.0] for text in texts]


async def _afixed(texts: list[str]) -> list[list[float]]:
    await asyncio.sleep(0)
    return _fixed(texts)


def test_sync_function_gives_unit_float32_rows() -> None:
    embedder = CallableEmbedder("fake/3d", 3, embed=_fixed)
    vectors = embedder.embed(["abc", "a"])
    assert isinstance(embedder, Embedder)
    assert vectors.dtype == np.float32
    assert vectors.shape == (2, 3)
    assert np.allclose(vectors[0], np.array([3.0, 1.0, 0.0]) / np.sqrt(10.0))
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0)


async def test_async_function_is_awaited_and_sync_one_threaded() -> None:
    only_async = CallableEmbedder("fake/3d", 3, aembed=_afixed)
    only_sync = CallableEmbedder("fake/3d", 3, embed=_fixed)
    assert np.array_equal(await only_async.aembed(["xy"]), await only_sync.aembed(["xy"]))


def test_sync_call_runs_an_async_only_function_outside_a_loop() -> None:
    embedder = CallableEmbedder("fake/3d", 3, aembed=_afixed)
    assert embedder.embed(["xy"]).shape == (1, 3)


async def test_sync_call_inside_a_running_loop_needs_a_sync_function() -> None:
    embedder = CallableEmbedder("fake/3d", 3, aembed=_afixed)
    with pytest.raises(ConfigurationError, match="aembed"):
        embedder.embed(["xy"])


def test_wrong_shape_from_the_function_is_a_configuration_error() -> None:
    embedder = CallableEmbedder("fake/4d", 4, embed=_fixed)
    with pytest.raises(ConfigurationError, match=r"\(1, 3\)"):
        embedder.embed(["xy"])


def test_too_few_vectors_is_a_configuration_error() -> None:
    embedder = CallableEmbedder("fake/3d", 3, embed=lambda texts: _fixed(texts)[:1])
    with pytest.raises(ConfigurationError):
        embedder.embed(["a", "b"])


def test_nan_is_refused() -> None:
    embedder = CallableEmbedder("fake/3d", 3, embed=lambda texts: [[np.nan, 0, 0]] * len(texts))
    with pytest.raises(ConfigurationError, match="NaN"):
        embedder.embed(["a"])


def test_no_call_for_no_texts() -> None:
    calls: list[list[str]] = []
    embedder = CallableEmbedder("fake/3d", 3, embed=lambda texts: calls.append(texts) or [])
    assert embedder.embed([]).shape == (0, 3)
    assert calls == []


@pytest.mark.parametrize(
    ("arguments", "match"),
    [
        ({"name": "", "dimensions": 3, "embed": _fixed}, "name"),
        ({"name": "x", "dimensions": 0, "embed": _fixed}, "dimensions"),
        ({"name": "x", "dimensions": True, "embed": _fixed}, "dimensions"),
        ({"name": "x", "dimensions": 3}, "embed="),
    ],
)
def test_bad_construction_is_a_configuration_error(arguments: dict, match: str) -> None:
    with pytest.raises(ConfigurationError, match=match):
        CallableEmbedder(**arguments)


def test_a_bare_string_is_refused() -> None:
    with pytest.raises(RequestValidationError):
        CallableEmbedder("fake/3d", 3, embed=_fixed).embed("abc")


def test_engine_embeddings_through_the_emulator(emulator: Emulator) -> None:
    providers = {"openai": {"base_url": emulator.base_url, "api_key": "sk-test-emulator-key-0000"}}
    with Cosmara(providers=providers, load_entry_points=False) as client:
        reply = client.embed(model="openai/text-embedding-3-small", input=["probe"])
        dimensions = len(reply.data[0].embedding)

        def through_engine(texts: list[str]) -> EmbeddingResponse:
            return client.embed(model="openai/text-embedding-3-small", input=texts)

        model = "openai/text-embedding-3-small"
        embedder = CallableEmbedder(model, dimensions, embed=through_engine)
        vectors = embedder.embed(["first text", "second"])
    assert vectors.shape == (2, dimensions)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_importing_cosmara_and_semantic_loads_no_heavy_module() -> None:
    code = (
        "import sys, cosmara, cosmara.semantic\n"
        "heavy = {'numpy', 'tokenizers', 'safetensors', 'usearch'} & set(sys.modules)\n"
        "print(sorted(heavy))"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert output.strip() == "[]"
