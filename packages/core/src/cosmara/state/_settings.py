"""``StateSettings`` (the ``[state]`` table of the configuration) and ``open_store``."""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cosmara._errors import ConfigurationError
from cosmara._secrets import Secret

if TYPE_CHECKING:
    from cosmara.state._base import Clock, StateStore

__all__ = ["StateSettings", "open_store"]

_REDIS_SCHEMES = ("redis", "rediss", "unix")


class StateSettings(BaseModel):
    """Where shared state lives.

    ``backend = "memory"`` (the default) needs nothing; ``"sqlite"`` needs ``path``, a file on a
    local disk that every process sharing state opens; ``"redis"`` needs ``url``
    (``redis://[:password@]host:port/db``, ``rediss://`` for TLS, or ``unix://``), kept as a
    ``Secret`` so a password in it never shows in reprs, dumps or pickles (``${REDIS_URL}``
    reads it from the environment). Settings a backend does not use are ignored.
    """

    model_config = ConfigDict(defer_build=True, extra="forbid")

    backend: Literal["memory", "sqlite", "redis"] = "memory"
    path: Path | None = Field(default=None, description="the SQLite database file")
    url: Secret | None = Field(default=None, description="the Redis URL (may hold a password)")
    prefix: str = Field(
        default="cosmara:", min_length=1, description="put before every Redis key this store uses"
    )
    timeout: float = Field(
        default=5.0,
        gt=0,
        description="seconds an operation may wait: for SQLite's write lock, for Redis to answer",
    )


def open_store(
    settings: StateSettings | Mapping[str, Any] | None = None, *, clock: Clock = time.time
) -> StateStore:
    """Open the store ``settings`` describe (a memory store when None).

    Args:
        settings: ``StateSettings`` or the mapping of its fields (the ``[state]`` table).
        clock: wall-clock seconds every operation reads; tests pass a fake one.

    Raises:
        ConfigurationError: invalid settings, a backend without its path or URL, or the
            ``redis`` package missing (``pip install 'cosmara[redis]'``).
        StateStoreError: the SQLite file cannot be opened or set up.
    """
    if not isinstance(settings, StateSettings):
        settings = _validated(settings or {})
    if settings.backend == "memory":
        from cosmara.state._memory import MemoryStore

        return MemoryStore(clock=clock)
    if settings.backend == "sqlite":
        from cosmara.state._sqlite import SQLiteStore

        if settings.path is None:
            raise ConfigurationError("state backend 'sqlite' needs a path: set state.path")
        if not settings.path.parent.is_dir():
            raise ConfigurationError(
                f"state.path {str(settings.path)!r}: its folder does not exist"
            )
        return SQLiteStore(settings.path, timeout=settings.timeout, clock=clock)
    from cosmara.state._redis import RedisStore

    secret = settings.url
    url = secret.get() if secret is not None else None
    if secret is None or not url:
        unset = f" (${{{secret.env}}} is not set)" if secret is not None and secret.env else ""
        raise ConfigurationError(f"state backend 'redis' needs a URL: set state.url{unset}")
    if url.partition("://")[0] not in _REDIS_SCHEMES:
        raise ConfigurationError("state.url must start with redis://, rediss:// or unix://")
    return RedisStore(secret, prefix=settings.prefix, timeout=settings.timeout, clock=clock)


def _validated(data: Mapping[str, Any]) -> StateSettings:
    try:
        return StateSettings.model_validate(dict(data))
    except ValidationError as error:
        # Listed without the values given: a URL with a password must not land in a message.
        problems = "; ".join(
            f"{'.'.join(str(part) for part in problem['loc']) or 'state'}: {problem['msg']}"
            for problem in error.errors(include_url=False, include_input=False)
        )
        raise ConfigurationError(f"invalid state settings: {problems}") from None
