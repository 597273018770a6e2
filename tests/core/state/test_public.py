"""The public surface of cosmara.state: exported names, and an async twin for every method."""

from __future__ import annotations

import inspect

import pytest

import cosmara.state
from cosmara.state import Buckets, Counters, KeyValues, Log


def test_public_names_are_sorted_and_importable() -> None:
    names = list(cosmara.state.__all__)
    assert names == sorted(set(names))
    assert all(hasattr(cosmara.state, name) for name in names)


@pytest.mark.parametrize("facet", [KeyValues, Counters, Buckets, Log], ids=lambda f: f.__name__)
def test_every_method_has_an_async_twin_with_the_same_arguments(facet: type) -> None:
    methods = {
        name: member
        for name, member in vars(facet).items()
        if not name.startswith("_") and callable(member)
    }
    sync = {name for name, member in methods.items() if not inspect.iscoroutinefunction(member)}
    asynchronous = {name for name in methods if name not in sync}
    assert asynchronous == {f"a{name}" for name in sync}
    for name in sync:
        twin = inspect.signature(methods[f"a{name}"])
        assert twin.parameters == inspect.signature(methods[name]).parameters, name
        assert twin.return_annotation == inspect.signature(methods[name]).return_annotation
        assert methods[name].__doc__, f"{facet.__name__}.{name} has no docstring"
