"""Two processes on one SQLite file or one Redis server: an entry one writes, exact or
semantic, is found by the other's next lookup (each semantic index follows the store's log).

The child is ``python -m tests.core.cache.workers`` (see workers.py); both use the real clock,
as processes sharing a store do.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cosmara import Cosmara
from cosmara.testing import Emulator
from tests.core.cache.conftest import KEY, MODEL, SHARED_BACKENDS, state_settings

ROOT = Path(__file__).resolve().parents[3]


class Child:
    def __init__(self, config: dict[str, Any]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.core.cache.workers", json.dumps(config)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._line() == "ready", "the worker did not start"

    def ask(self, text: str, namespace: str) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps({"text": text, "namespace": namespace}) + "\n")
        self.process.stdin.flush()
        return json.loads(self._line())  # type: ignore[no-any-return]

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        assert self.process.wait(timeout=60) == 0

    def _line(self) -> str:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        assert line, f"the worker died (exit code {self.process.wait()})"
        return line.strip()


@pytest.fixture(params=SHARED_BACKENDS)
def config(request: pytest.FixtureRequest, tmp_path: Path, emulator: Emulator) -> dict[str, Any]:
    namespaces = {"exact": {}, "semantic": {"type": "semantic", "embedder": "local"}}
    return {
        "providers": {"openai": {"base_url": emulator.base_url, "api_key": KEY}},
        "cache": {"enabled": True, "namespace": "exact", "namespaces": namespaces},
        "state": state_settings(request.param, request, tmp_path),
    }


@pytest.fixture
def child(config: dict[str, Any]) -> Iterator[Child]:
    worker = Child(config)
    try:
        yield worker
    finally:
        if worker.process.poll() is None:
            worker.close()


def _ask(client: Cosmara, text: str, namespace: str) -> Any:
    messages = [{"role": "user", "content": text}]
    return client.chat(model=MODEL, messages=messages, cache_namespace=namespace).cosmara


def test_an_entry_written_by_one_process_is_found_by_the_other(
    config: dict[str, Any], child: Child, emulator: Emulator
) -> None:
    with Cosmara(config, load_entry_points=False, org="acme") as parent:
        # Exact: written here, found there; written there, found here.
        assert _ask(parent, "What is 2+2?", "exact").cache == "miss"
        assert child.ask("What is 2+2?", "exact")["cache"] == "hit"
        assert child.ask("What is 3+3?", "exact")["cache"] == "miss"
        assert _ask(parent, "What is 3+3?", "exact").cache == "hit"

        # Semantic: the child writes, the parent's next lookup finds it by meaning...
        assert child.ask("How do I reset my password?", "semantic")["cache"] == "miss"
        found = _ask(parent, "What is the way to reset my password?", "semantic")
        assert found.cache == "hit"
        assert found.cache_similarity is not None
        assert found.cache_similarity >= 0.92
        # ... and the other way round, after the child's index was already built.
        assert _ask(parent, "How can I cancel my subscription?", "semantic").cache == "miss"
        answer = child.ask("How do I cancel my subscription?", "semantic")
        assert answer["cache"] == "hit"
        assert answer["text"] == "Echo: How can I cancel my subscription?"
        # What one clears the other no longer finds.
        assert parent.cache is not None
        assert parent.cache.clear("semantic") == 2
        assert child.ask("How can I reset my password?", "semantic")["cache"] == "miss"
    child.close()
    assert emulator.request_count == 5
