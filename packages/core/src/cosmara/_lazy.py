"""Names a package exports but loads only when first used, so importing the package (which a
configuration does, for its settings) does not pay for code a client may never run.

    __getattr__ = lazy_exports(__name__, {"Cache": "cosmara.cache._cache", ...})
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(package: str, where: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` that imports each name from its module on first access and
    keeps it in the package (so the next access is a plain attribute)."""
    where = dict(where)

    def __getattr__(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        import importlib
        import sys

        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)
        return value

    return __getattr__
