"""cosmara.semantic's public names (its import cost is checked in test_embedder.py)."""

from __future__ import annotations

import cosmara.semantic


def test_all_names_are_importable_once() -> None:
    names = list(cosmara.semantic.__all__)
    assert len(names) == len(set(names))  # the order is ruff's (constants, classes, functions)
    assert [name for name in names if not hasattr(cosmara.semantic, name)] == []
