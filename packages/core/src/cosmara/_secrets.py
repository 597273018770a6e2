"""API keys that never show themselves: not in reprs, logs, dumps, errors or pickles.

A key read from a file or a container secret often ends with a newline. Surrounding whitespace
is dropped when the value is read; a value that still holds a control or non-ASCII character
cannot go in an HTTP header, and is refused with an error that names where it came from and
never the value itself.
"""

from __future__ import annotations

import os
import re
from typing import Any

from pydantic import GetCoreSchemaHandler
from pydantic_core import core_schema

from cosmara._errors import ConfigurationError

__all__ = ["Secret", "environment_secret"]

_ENV_REFERENCE = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")
_SENDABLE = re.compile(r"^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$")  # visible ASCII, inner spaces
_MASK = "**********"


class Secret:
    """A secret value, or a reference to the environment variable that holds it.

    ``Secret("sk-...")`` holds a literal; ``Secret(env="OPENAI_API_KEY")`` (or the config string
    ``"${OPENAI_API_KEY}"``) reads the variable when the value is needed. Pickling keeps only the
    variable's name: a literal key is dropped, so a pickled client never carries it.

    Raises:
        ValueError: a literal that holds a control or non-ASCII character (the message never
            shows it); reading a variable that does raises ``ConfigurationError``.
    """

    __slots__ = ("_value", "env")

    def __init__(self, value: str | None = None, *, env: str | None = None) -> None:
        if value is not None:
            value = value.strip()
            if value and not _SENDABLE.fullmatch(value):
                raise ValueError("the secret holds a control or non-ASCII character")
        self._value = value
        self.env = env

    @classmethod
    def coerce(cls, value: Any) -> Secret:
        if isinstance(value, Secret):
            return value
        if not isinstance(value, str):
            raise ValueError(f"a secret must be a string, not {type(value).__name__}")
        reference = _ENV_REFERENCE.match(value)
        return cls(env=reference.group(1)) if reference else cls(value)

    def get(self) -> str | None:
        """The secret's value, or None when it is unset.

        Raises:
            ConfigurationError: the environment variable holds a character no header can carry.
        """
        if self._value is not None:
            return self._value
        return environment_secret(self.env) if self.env else None

    def dumped(self) -> str:
        """How the secret appears in a configuration dump: its ``${ENV}`` reference, or a mask."""
        return f"${{{self.env}}}" if self._value is None and self.env else _MASK

    def __bool__(self) -> bool:
        return bool(self.get())

    def __repr__(self) -> str:
        return f"Secret(env={self.env!r})" if self._value is None else f"Secret({_MASK!r})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and (self._value, self.env) == (other._value, other.env)

    def __hash__(self) -> int:
        return hash((self._value, self.env))

    def __reduce__(self) -> tuple[Any, ...]:
        return (_from_env, (self.env,))

    # Immutable: copies share the value (pickling would drop a literal, as intended for pickles).
    def __copy__(self) -> Secret:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Secret:
        return self

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: type[Any], handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(
            cls.coerce,
            serialization=core_schema.plain_serializer_function_ser_schema(cls.dumped),
        )


def environment_secret(name: str) -> str | None:
    """A credential from the environment, stripped; None when unset or blank.

    Raises:
        ConfigurationError: the value holds a control or non-ASCII character.
    """
    value = os.environ.get(name, "").strip()
    if not value:
        return None
    if not _SENDABLE.fullmatch(value):
        raise ConfigurationError(
            f"${name} holds a control or non-ASCII character, which no HTTP header can carry"
        )
    return value


def _from_env(env: str | None) -> Secret:
    return Secret(env=env)
