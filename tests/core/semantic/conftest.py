"""One LocalMiniLM for the whole session: loading its weights is the slow part."""

from __future__ import annotations

import pytest

from cosmara.semantic import LocalMiniLM


@pytest.fixture(scope="session")
def minilm() -> LocalMiniLM:
    return LocalMiniLM()
