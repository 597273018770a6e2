"""``cosmara cache clear`` and ``cosmara cache calibrate``."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from cosmara import Cosmara
from cosmara._cli import main
from cosmara.testing import Emulator
from tests.core.cache.conftest import KEY, SHARED_BACKENDS, ask, state_settings

PAIRS = [
    {
        "a": "How do I reset my password?",
        "b": "What is the way to reset my password?",
        "same": True,
    },
    {
        "a": "How can I cancel my subscription?",
        "b": "How do I cancel my subscription?",
        "same": True,
    },
    {
        "a": "What is the capital of Australia?",
        "b": "Which city is the capital of Australia?",
        "same": True,
    },
    {"a": "Convert 5 km to miles", "b": "Convert 50 km to miles", "same": False},
    {
        "a": "Is ibuprofen safe with coffee?",
        "b": "Is ibuprofen not safe with coffee?",
        "same": False,
    },
    {"a": "How do I reset my password?", "b": "How do I reset my username?", "same": False},
]


def _toml(settings: dict[str, object]) -> str:
    def value(item: object) -> str:
        return json.dumps(item)  # strings, numbers and booleans read the same in TOML

    lines = []
    for table, fields in settings.items():
        lines.append(f"[{table}]")
        lines += [f"{key} = {value(item)}" for key, item in fields.items()]  # type: ignore[attr-defined]
    return "\n".join(lines) + "\n"


@pytest.fixture(params=SHARED_BACKENDS)
def configured(
    request: pytest.FixtureRequest, tmp_path: Path, emulator: Emulator
) -> Iterator[tuple[Path, Cosmara]]:
    """A cosmara.toml with a cache in a shared store, and a client of it holding entries in
    two namespaces: the default one org-scoped, faq team-scoped (3 each)."""
    settings = {
        "providers.openai": {"base_url": emulator.base_url, "api_key": KEY},
        "state": state_settings(request.param, request, tmp_path),
        "cache": {"enabled": True, "namespace": "default"},
        "cache.namespaces.default": {"ttl": 3600},
        "cache.namespaces.faq": {"scope": "team"},
    }
    path = tmp_path / "cosmara.toml"
    path.write_text(_toml(settings))
    with Cosmara(path, load_entry_points=False) as client:
        for namespace in ("default", "faq"):
            for org, team, text in [
                ("acme", "a", "one"),
                ("acme", "b", "two"),
                ("acme2", "a", "one"),
            ]:
                ask(client, text, cache_namespace=namespace, org=org, team=team)
        yield path, client


def _counts(client: Cosmara) -> dict[str, int]:
    assert client.cache is not None
    return {name: client.cache.namespace(name).count() for name in ("default", "faq")}


def _run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), out=out), out.getvalue()


def test_clear_everything(configured: tuple[Path, Cosmara]) -> None:
    path, client = configured
    assert _counts(client) == {"default": 3, "faq": 3}
    code, text = _run("cache", "clear", "--config", str(path))
    assert code == 0
    assert text.startswith("cleared 6 cached answer(s) from 2 namespace(s) in the ")
    assert KEY not in text
    assert _counts(client) == {"default": 0, "faq": 0}


def test_clear_one_namespace_and_scope(configured: tuple[Path, Cosmara]) -> None:
    path, client = configured
    code, text = _run(
        "cache", "clear", "--namespace", "faq", "--scope", "org:acme", "--config", str(path)
    )
    assert code == 0
    assert "cleared 2 cached answer(s) from namespace faq, scope org:acme" in text
    assert _counts(client) == {"default": 3, "faq": 1}  # org acme2's team entry stays
    assert ask(client, "one", cache_namespace="faq", org="acme2", team="a").cosmara.cache == "hit"
    code, _ = _run("cache", "clear", "--scope", "org:acme2/team:a", "--config", str(path))
    assert code == 0
    assert _counts(client) == {"default": 3, "faq": 0}  # org-scoped entries are not in it


def test_clear_reads_cosmara_config_from_the_environment(
    configured: tuple[Path, Cosmara], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, client = configured
    monkeypatch.setenv("COSMARA_CONFIG", str(path))
    assert _run("cache", "clear", "--namespace", "default")[0] == 0
    assert _counts(client) == {"default": 0, "faq": 3}


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--scope", "acme"], "RequestValidationError: scope 'acme'"),
        (["--namespace", "nope"], "ConfigurationError: no cache namespace 'nope'"),
    ],
)
def test_clear_refuses_a_bad_scope_or_namespace(
    configured: tuple[Path, Cosmara],
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    message: str,
) -> None:
    path, client = configured
    assert _run("cache", "clear", *argv, "--config", str(path))[0] == 1
    assert message in capsys.readouterr().err
    assert _counts(client) == {"default": 3, "faq": 3}


def test_clear_says_a_memory_cache_cannot_be_cleared_from_outside(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "cosmara.toml"
    path.write_text("[cache]\nenabled = true\n")
    assert _run("cache", "clear", "--config", str(path))[0] == 1
    assert "lives inside each process" in capsys.readouterr().err


def _pairs(tmp_path: Path) -> Path:
    path = tmp_path / "pairs.jsonl"
    path.write_text("\n".join(json.dumps(pair) for pair in PAIRS) + "\n")
    return path


def test_calibrate_prints_the_threshold(tmp_path: Path) -> None:
    code, text = _run("cache", "calibrate", str(_pairs(tmp_path)), "--max-false-hit", "0.01")
    assert code == 0
    lines = text.splitlines()
    assert lines[0] == (
        "6 pairs (3 same, 3 different); embedder sentence-transformers/all-MiniLM-L6-v2, "
        "verifier DetailVerifier"
    )
    assert lines[1].startswith("threshold 0.")
    assert "false-hit rate 0.0% (0 of 3)" in lines[1]
    assert "<- chosen" in text
    assert text.rstrip().endswith("threshold = " + lines[1].split()[1])


def test_calibrate_with_an_engine_embedding_model(tmp_path: Path) -> None:
    # The emulator's embeddings are bags of words: long enough vectors keep different words
    # apart, and the verifier tells "5 km" from "50 km" (number words look alike to them).
    with Emulator(embedding_dimensions=256) as emulator:
        config = tmp_path / "cosmara.toml"
        settings = {"providers.openai": {"base_url": emulator.base_url, "api_key": KEY}}
        config.write_text(_toml(settings))
        argv = ["cache", "calibrate", str(_pairs(tmp_path)), "--embedder"]
        code, text = _run(
            *argv, "openai/text-embedding-3-small", "--verifier", "builtin", "--config", str(config)
        )
        paths = [r.path for r in emulator.requests]
    assert code == 0, text
    assert "embedder openai/text-embedding-3-small, verifier DetailVerifier" in text
    assert paths == ["/v1/embeddings"]  # all texts in one batch


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--max-false-hit", "1.5"], "max_false_hit must be in [0, 1)"),
        (["--embedder", "nope"], "unknown cache embedder 'nope'"),
        (["--verifier", "nope"], "unknown cache verifier 'nope'"),
    ],
)
def test_calibrate_refuses_bad_arguments(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    assert _run("cache", "calibrate", str(_pairs(tmp_path)), *extra)[0] == 1
    assert message in capsys.readouterr().err


def test_calibrate_refuses_a_missing_or_bad_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run("cache", "calibrate", str(tmp_path / "missing.jsonl"))[0] == 1
    assert "cannot read" in capsys.readouterr().err
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"a": "x", "b": "y", "same": true}\nnot json\n')
    assert _run("cache", "calibrate", str(bad))[0] == 1
    assert "bad.jsonl:2: not JSON" in capsys.readouterr().err


def test_the_console_script_lists_the_cache_commands() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "cosmara._cli", "cache", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "clear" in result.stdout
    assert "calibrate" in result.stdout
