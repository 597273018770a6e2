"""Shared fixtures: the local emulator and clients pointed at it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cosmara import Cosmara
from cosmara.testing import Emulator

CASSETTES = Path(__file__).resolve().parents[1] / "cassettes"


@pytest.fixture(scope="session")
def emulator_session() -> Iterator[Emulator]:
    with Emulator() as emulator:
        yield emulator


@pytest.fixture
def emulator(emulator_session: Emulator) -> Iterator[Emulator]:
    """The session's emulator, with faults, scripted replies and records cleared per test."""
    emulator_session.reset()
    yield emulator_session
    emulator_session.reset()


@pytest.fixture
def client(emulator: Emulator) -> Iterator[Cosmara]:
    """A client whose openai and groq providers are the emulator. It does not retry
    (``max_retries`` 0), so a fault shows as one failed attempt; tests of retries say how many
    they want per call or build their own client."""
    providers = {
        "openai": {"base_url": emulator.base_url, "api_key": "sk-test-emulator-key-0000"},
        "groq": {"base_url": emulator.base_url, "api_key": "gsk-test-emulator-key-0000"},
    }
    config = {"retry": {"max_retries": 0}}
    with Cosmara(config, providers=providers, load_entry_points=False) as cosmara:
        yield cosmara


@pytest.fixture
def vcr_cassette_dir(request: pytest.FixtureRequest) -> str:
    """Project cassettes live in top-level cassettes/<test module name>/<test name>.yaml."""
    return str(CASSETTES / request.module.__name__.rsplit(".", 1)[-1])


@pytest.fixture(scope="module")
def vcr_config() -> dict[str, object]:
    return {
        "filter_headers": ["authorization", "api-key", "x-api-key"],
        "match_on": ["method", "scheme", "host", "port", "path", "query"],
    }
