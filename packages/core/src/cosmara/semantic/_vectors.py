"""Rows of float32 vectors: checking their shape and normalising them to unit length."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

from cosmara._errors import CosmaraError, RequestValidationError
from cosmara.semantic._extras import missing_extra

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

__all__ = ["as_unit_rows", "check_texts"]


def check_texts(texts: Sequence[str]) -> list[str]:
    """The texts as a list, or ``RequestValidationError`` for a bare string or a non-string."""
    if isinstance(texts, (str, bytes)):
        raise RequestValidationError("texts must be a sequence of strings, not one string")
    checked: list[object] = list(texts)
    for position, text in enumerate(checked):
        if not isinstance(text, str):
            kind = type(text).__name__
            raise RequestValidationError(f"texts[{position}] is a {kind}, not a string")
    return cast("list[str]", checked)


def as_unit_rows(
    values: Any,
    rows: int,
    dimensions: int,
    *,
    source: str,
    error: type[CosmaraError] = RequestValidationError,
) -> NDArray[np.float32]:
    """``values`` as a C-contiguous float32 array of ``rows`` unit-length rows of ``dimensions``.

    A zero row stays zero (it matches nothing). Raises ``error`` (a message naming ``source``)
    when the shape is not ``(rows, dimensions)`` or a value is not finite, and
    ``ConfigurationError`` when numpy is not installed.
    """
    try:
        import numpy as np
    except ImportError as missing:
        raise missing_extra("numpy", "semantic", missing) from missing
    array = np.asarray(values, dtype=np.float32)
    if rows == 0 and array.size == 0:
        array = array.reshape(0, dimensions)
    if array.ndim != 2 or array.shape != (rows, dimensions):
        raise error(
            f"{source} gave vectors of shape {array.shape}, expected ({rows}, {dimensions})"
        )
    if not np.isfinite(array).all():
        raise error(f"{source} gave a vector with a NaN or infinite value")
    norms = np.linalg.norm(array, axis=1, keepdims=True)
    return np.ascontiguousarray(array / np.maximum(norms, np.float32(1e-12)), dtype=np.float32)
