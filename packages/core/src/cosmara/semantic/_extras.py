"""The error raised when an optional extra the semantic cache needs is not installed."""

from __future__ import annotations

from cosmara._errors import ConfigurationError

__all__ = ["missing_extra"]


def missing_extra(module: str, extra: str, error: ImportError) -> ConfigurationError:
    """A ``ConfigurationError`` naming the missing module and the extra that installs it."""
    return ConfigurationError(
        f"{module} is not installed ({error}); install it with: pip install 'cosmara[{extra}]'"
    )
