"""A structural check of JSON Schemas given for tool parameters and structured output.

Providers reject a malformed schema only after the request was sent (and paid for, in latency
and sometimes money), each with its own message. This catches the mistakes that are certainly
mistakes before any request: an unknown ``type`` (a typo such as ``strng``), ``properties``
that is not an object of schemas, ``required`` that is not a list of names, subschemas that are
not schemas. Keywords it does not know are left alone: providers accept different subsets of
JSON Schema. Python's type names (``str``, ``int``, ...) pass too: Cohere accepts them, and
LangChain's Cohere integration sends them (a recorded request in ../shared shows it).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

__all__ = ["json_value_problem", "schema_problem"]

_TYPES = frozenset({"string", "number", "integer", "boolean", "array", "object", "null"})
_PYTHON_NAMES = frozenset({"str", "int", "float", "bool", "list", "dict"})
_DEEPEST = 64  # real schemas nest a few levels; this only stops runaway (or cyclic) input


def schema_problem(schema: Any, where: str = "schema") -> str | None:
    """Why ``schema`` is not a JSON Schema, naming the place (``schema.properties.city.type``),
    or None."""
    return _problem(schema, where, 0)


def _problem(schema: Any, where: str, depth: int) -> str | None:
    if isinstance(schema, bool):
        return None  # true / false are schemas
    if not isinstance(schema, dict):
        return f"{where} must be a JSON Schema object, not {type(schema).__name__}"
    if depth > _DEEPEST:
        return f"{where} nests deeper than {_DEEPEST} levels"
    for keyword, check in _KEYWORDS.items():
        if keyword in schema:
            problem = check(schema[keyword], f"{where}.{keyword}", depth)
            if problem is not None:
                return problem
    return None


def _type(value: Any, where: str, depth: int) -> str | None:
    names = value if isinstance(value, list) else [value]
    for name in names:
        if name not in _TYPES and name not in _PYTHON_NAMES:
            return f"{where}: {name!r} is not a JSON Schema type ({', '.join(sorted(_TYPES))})"
    return None


def _names(value: Any, where: str, depth: int) -> str | None:
    if not isinstance(value, list) or not all(isinstance(name, str) for name in value):
        return f"{where} must be a list of property names"
    return None


def _schema_map(value: Any, where: str, depth: int) -> str | None:
    if not isinstance(value, dict):
        return f"{where} must be an object mapping names to schemas"
    for name, subschema in value.items():
        problem = _problem(subschema, f"{where}.{name}", depth + 1)
        if problem is not None:
            return problem
    return None


def _schema_list(value: Any, where: str, depth: int) -> str | None:
    if not isinstance(value, list) or not value:
        return f"{where} must be a non-empty list of schemas"
    for index, subschema in enumerate(value):
        problem = _problem(subschema, f"{where}[{index}]", depth + 1)
        if problem is not None:
            return problem
    return None


def _subschema(value: Any, where: str, depth: int) -> str | None:
    return _problem(value, where, depth + 1)


def _items(value: Any, where: str, depth: int) -> str | None:
    # A schema, or (older drafts) a list of schemas, one per position.
    return (
        _schema_list(value, where, depth)
        if isinstance(value, list)
        else _subschema(value, where, depth)
    )


def _enum(value: Any, where: str, depth: int) -> str | None:
    return None if isinstance(value, list) and value else f"{where} must be a non-empty list"


_KEYWORDS: dict[str, Callable[[Any, str, int], str | None]] = {
    "type": _type,
    "properties": _schema_map,
    "patternProperties": _schema_map,
    "$defs": _schema_map,
    "definitions": _schema_map,
    "required": _names,
    "items": _items,
    "prefixItems": _schema_list,
    "additionalProperties": _subschema,
    "not": _subschema,
    "anyOf": _schema_list,
    "oneOf": _schema_list,
    "allOf": _schema_list,
    "enum": _enum,
}


def json_value_problem(value: Any, where: str, depth: int = 0) -> str | None:
    """Why ``value`` cannot travel as JSON (a non-JSON type, a non-finite number, a non-string
    key, runaway nesting), naming the place, or None."""
    if value is None or isinstance(value, (str, bool, int)):
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else f"{where} is not a finite number"
    if depth > _DEEPEST:
        return f"{where} nests deeper than {_DEEPEST} levels"
    if isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            problem = json_value_problem(item, f"{where}[{index}]", depth + 1)
            if problem is not None:
                return problem
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                return f"{where} has a key that is not a string"
            problem = json_value_problem(item, f"{where}.{key}", depth + 1)
            if problem is not None:
                return problem
        return None
    return f"{where} is a {type(value).__name__}, which JSON cannot carry"
