"""pytest-recording setup for LangChain's replayed suites."""

from __future__ import annotations

from typing import Any


def pytest_recording_configure(config: Any, vcr: Any) -> None:
    vcr.register_matcher("seeded_downloads_only", _seeded_downloads_only)


def _seeded_downloads_only(recorded: Any, live: Any) -> None:
    """While recording, only a seeded download (a GET) is replayed: every call to the
    emulator is recorded, even one whose body repeats an earlier call's."""
    assert recorded.method == live.method == "GET"
