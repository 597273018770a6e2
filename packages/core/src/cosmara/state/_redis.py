"""``RedisStore``: state shared by many machines through one Redis 7 server (no modules).

Every operation is one round trip: a Lua script (``EVALSHA``, loaded again with ``EVAL`` after
a server restart) or one plain command, so each is atomic on the server. Times are the store's
clock, sent with each call (see docs/state.md: clocks); Redis's own key expiry, set from the
same durations, only frees memory of what already expired.

The sync client is shared by all threads (a bounded pool of connections). An asyncio client
must not cross event loops, so there is one per loop, closed inside that loop when it shuts
down and dropped when the loop is garbage collected.
"""

from __future__ import annotations

import math
import re
import threading
import time
import weakref
from collections.abc import AsyncGenerator, Callable
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar
from urllib.parse import urlsplit

from cosmara._errors import ConfigurationError
from cosmara._secrets import Secret
from cosmara.state import _lua, _ops
from cosmara.state._base import Clock, StateStore
from cosmara.state._logic import SETTLED_RETENTION
from cosmara.state._types import Admission, Counter, LogEntry, Refusal, StateStoreError, Take

if TYPE_CHECKING:
    import asyncio

    import redis
    import redis.asyncio

__all__ = ["RedisStore"]

R = TypeVar("R")
_STREAM_ID = re.compile(r"\d+-\d+")
_KV_SLACK_MS = "1000"  # Redis drops a namespace this long after its last entry expired
_MASK = "**********"


class _Call(NamedTuple):
    """One round trip: a script with its keys and arguments, or a plain command."""

    script: _lua.Script | None
    keys: int
    args: tuple[Any, ...]
    decode: Callable[[Any], Any]

    def command(self, *, load: bool = False) -> tuple[Any, ...]:
        """The command to send: ``EVALSHA``, or ``EVAL`` when the server lacks the script."""
        if self.script is None:
            return self.args
        if load:
            return ("EVAL", self.script.source, self.keys, *self.args)
        return ("EVALSHA", self.script.sha, self.keys, *self.args)


class RedisStore(StateStore):
    """State in a Redis server that every process on every machine sharing it connects to.

    Args:
        url: ``redis://[[user]:password@]host:port/db``, ``rediss://`` (TLS) or ``unix://``;
            a ``Secret`` or a string (never shown: the repr and errors name only host and db).
        prefix: put before every key, so several applications can share one Redis.
        timeout: seconds to connect, to wait for an answer, and to wait for a free connection.
        max_connections: connections per client (the sync one, and one per event loop).
        clock: wall-clock seconds (``time.time``); every machine's clock should be NTP-synced.

    Raises:
        ConfigurationError: the ``redis`` package is missing, or the URL is not a Redis URL.
    """

    def __init__(
        self,
        url: str | Secret,
        *,
        prefix: str = "cosmara:",
        timeout: float = 5.0,
        max_connections: int = 64,
        clock: Clock = time.time,
    ) -> None:
        try:
            import redis
        except ImportError:
            raise ConfigurationError(
                "the Redis state store needs the redis package: pip install 'cosmara[redis]'"
            ) from None
        super().__init__(clock=clock)
        self._url = Secret.coerce(url)
        value = self._url.get() or ""
        parts = urlsplit(value)
        self._password = parts.password
        self._location = _location(parts)
        self.prefix = prefix
        self._options: dict[str, Any] = {
            "max_connections": max_connections,
            "timeout": timeout,
            "socket_timeout": timeout,
            "socket_connect_timeout": timeout,
        }
        try:
            self._pool = redis.BlockingConnectionPool.from_url(value, **self._options)
        except ValueError:
            raise ConfigurationError(
                "state.url is not a Redis URL (redis://, rediss:// or unix://)"
            ) from None
        # Any: redis-py types its commands as sync-or-async unions.
        self._client: Any = redis.Redis(connection_pool=self._pool)
        self._error = redis.RedisError
        self._no_script = redis.exceptions.NoScriptError
        self._loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopClient] = (
            weakref.WeakKeyDictionary()
        )
        self._loops_lock = threading.Lock()
        self._closed = False

    def __repr__(self) -> str:
        return f"RedisStore({self._location!r}, prefix={self.prefix!r})"

    # --- drivers ---------------------------------------------------------------------------
    def _run(self, op: _ops.Op[R]) -> R:
        if isinstance(op, _ops.Many):
            self._run_many(op)
            return None  # type: ignore[return-value]
        call = self._plan(op)
        if self._closed:
            raise StateStoreError("the state store is closed")
        try:
            try:
                reply = self._client.execute_command(*call.command())
            except self._no_script:  # a restarted or flushed server: load the script again
                reply = self._client.execute_command(*call.command(load=True))
        except self._error as error:
            raise self._failure(error) from None
        result: R = call.decode(reply)
        return result

    async def _arun(self, op: _ops.Op[R]) -> R:
        if isinstance(op, _ops.Many):
            await self._arun_many(op)
            return None  # type: ignore[return-value]
        call = self._plan(op)
        if self._closed:
            raise StateStoreError("the state store is closed")
        client = await self._async_client()
        try:
            try:
                reply = await client.execute_command(*call.command())
            except self._no_script:
                reply = await client.execute_command(*call.command(load=True))
        except self._error as error:
            raise self._failure(error) from None
        result: R = call.decode(reply)
        return result

    def _run_many(self, op: _ops.Many) -> None:
        """One pipelined round trip; a script the server lost is sent again whole (it did not
        run, so nothing runs twice)."""
        calls = [self._plan(inner) for inner in op.ops]
        if self._closed:
            raise StateStoreError("the state store is closed")
        try:
            with self._client.pipeline(transaction=False) as pipe:
                for call in calls:
                    pipe.execute_command(*call.command())
                replies = pipe.execute(raise_on_error=False)
            for call in self._unloaded(calls, replies):
                self._client.execute_command(*call.command(load=True))
        except self._error as error:
            raise self._failure(error) from None

    async def _arun_many(self, op: _ops.Many) -> None:
        calls = [self._plan(inner) for inner in op.ops]
        if self._closed:
            raise StateStoreError("the state store is closed")
        client = await self._async_client()
        try:
            async with client.pipeline(transaction=False) as pipe:
                for call in calls:
                    pipe.execute_command(*call.command())
                replies = await pipe.execute(raise_on_error=False)
            for call in self._unloaded(calls, replies):
                await client.execute_command(*call.command(load=True))
        except self._error as error:
            raise self._failure(error) from None

    def _unloaded(self, calls: list[_Call], replies: list[Any]) -> list[_Call]:
        """The calls whose script the server did not have; raises the first other error."""
        unloaded = []
        for call, reply in zip(calls, replies, strict=True):
            if isinstance(reply, self._no_script):
                unloaded.append(call)
            elif isinstance(reply, Exception):
                raise reply
        return unloaded

    def close(self) -> None:
        """Close the sync connections; each event loop's client closes when its loop ends."""
        self._closed = True
        self._client.close()
        self._pool.disconnect()

    async def aclose(self) -> None:
        """Close the running loop's client and the sync connections."""
        import asyncio

        with self._loops_lock:
            holder = self._loops.pop(asyncio.get_running_loop(), None)
        if holder is not None:
            await holder.closer.aclose()
        self.close()

    async def _async_client(self) -> Any:
        import asyncio

        loop = asyncio.get_running_loop()
        holder = self._loops.get(loop)
        if holder is None:
            import redis.asyncio

            pool = redis.asyncio.BlockingConnectionPool.from_url(
                self._url.get() or "", **self._options
            )
            holder = _LoopClient(redis.asyncio.Redis(connection_pool=pool), pool)
            with self._loops_lock:
                # A loop closed without shutting down its async generators never ran its
                # closer: forget its client here, so their number stays bounded.
                for closed in [other for other in self._loops if other.is_closed()]:
                    del self._loops[closed]
                self._loops[loop] = holder
            await holder.closer.__anext__()  # the loop now finalises it at shutdown
            holder.forget = lambda: self._forget(loop)
        return holder.client

    def _forget(self, loop: asyncio.AbstractEventLoop) -> None:
        # The client refers to its loop (its locks do): the entry must go for the loop to go.
        with self._loops_lock:
            self._loops.pop(loop, None)

    def _failure(self, error: Exception) -> StateStoreError:
        message = f"{type(error).__name__}: {error}"
        if self._password:
            message = message.replace(self._password, _MASK)
        return StateStoreError(f"Redis state store {self._location}: {message}")

    # --- operations as round trips ---------------------------------------------------------
    def _plan(self, op: _ops.Op[Any]) -> _Call:
        plan: Callable[[RedisStore, Any], _Call] = _PLANS[type(op)]
        return plan(self, op)

    def _namespace(self, namespace: str) -> tuple[str, str, str]:
        base = self.prefix + "kv:"
        return base + "d:" + namespace, base + "u:" + namespace, base + "e:" + namespace

    def _counter(self, key: str) -> tuple[str, str, str]:
        prefix = self.prefix
        return prefix + "c:" + key, prefix + "h:" + key, prefix + "l:" + key

    def _kv_get(self, op: _ops.KvGet) -> _Call:
        args = (*self._namespace(op.namespace), op.key, repr(op.now))
        return _Call(_lua.KV_GET, 3, args, _identity)

    def _kv_put(self, op: _ops.KvPut) -> _Call:
        bound = "" if op.max_entries is None else str(op.max_entries)
        args = (
            *self._namespace(op.namespace),
            op.key,
            op.value,
            _optional(op.expires_at),
            bound,
            repr(op.now),
            _KV_SLACK_MS,
        )
        return _Call(_lua.KV_PUT, 3, args, _nothing)

    def _kv_delete(self, op: _ops.KvDelete) -> _Call:
        args = (*self._namespace(op.namespace), op.key, repr(op.now))
        return _Call(_lua.KV_DELETE, 3, args, bool)

    def _kv_clear(self, op: _ops.KvClear) -> _Call:
        args = (*self._namespace(op.namespace), op.prefix or "", repr(op.now))
        return _Call(_lua.KV_CLEAR, 3, args, int)

    def _kv_count(self, op: _ops.KvCount) -> _Call:
        return _Call(_lua.KV_COUNT, 3, (*self._namespace(op.namespace), repr(op.now)), int)

    def _reserve(self, op: _ops.Reserve) -> _Call:
        keys = [key for hold in op.holds for key in self._counter(hold.key)]
        args = [repr(op.now), op.id, repr(op.amount), repr(op.lease_end)]
        for hold in op.holds:
            args += [_optional(hold.limit), _optional(hold.expires_at)]

        def decode(reply: Any) -> Any:
            if reply is None:
                return op.granted()
            hold = op.holds[int(reply[0])]
            assert hold.limit is not None
            return Refusal(hold.key, float(hold.limit), float(reply[1]), float(reply[2]), op.amount)

        return _Call(_lua.RESERVE, len(keys), (*keys, *args), decode)

    def _settle(self, op: _ops.Settle) -> _Call:
        reservation = op.reservation
        keys = [self.prefix + "r:" + reservation.id]
        keys += [key for hold in reservation.holds for key in self._counter(hold.key)]
        remember = max(reservation.expires_at, op.now) + SETTLED_RETENTION - op.now
        args = [
            repr(op.now),
            reservation.id,
            _optional(op.actual),
            str(math.ceil(remember * 1000)),
            *(_optional(hold.expires_at) for hold in reservation.holds),
        ]
        return _Call(_lua.SETTLE, len(keys), (*keys, *args), bool)

    def _add(self, op: _ops.CounterAdd) -> _Call:
        args = (*self._counter(op.key), repr(op.now), repr(op.amount), _optional(op.expires_at))
        return _Call(_lua.ADD, 3, args, float)

    def _read(self, op: _ops.CounterRead) -> _Call:
        return _Call(_lua.READ, 3, (*self._counter(op.key), repr(op.now)), _counter)

    def _set(self, op: _ops.CounterSet) -> _Call:
        args = (*self._counter(op.key), repr(op.now), repr(op.spent), _optional(op.expires_at))
        return _Call(_lua.SET, 3, args, _nothing)

    def _reset(self, op: _ops.CounterReset) -> _Call:
        return _Call(None, 0, ("DEL", *self._counter(op.key)), _nothing)

    def _bucket_args(self, op: _ops.BucketTake | _ops.BucketAdjust) -> tuple[str, ...]:
        key = self.prefix + "b:" + op.key
        return (key, repr(op.now), repr(op.rate), repr(op.burst), repr(op.amount))

    def _take(self, op: _ops.BucketTake) -> _Call:
        return _Call(_lua.TAKE, 1, self._bucket_args(op), _take)

    def _adjust(self, op: _ops.BucketAdjust) -> _Call:
        return _Call(_lua.ADJUST, 1, self._bucket_args(op), float)

    def _append(self, op: _ops.LogAppend) -> _Call:
        bound = () if op.max_len is None else ("MAXLEN", "=", op.max_len)
        args = ("XADD", self.prefix + "x:" + op.stream, *bound, "*", "r", op.record)
        return _Call(None, 0, args, _text)

    def _admit(self, op: _ops.Admit) -> _Call:
        keys = [self.prefix + "b:" + take.key for take in op.takes]
        args = [repr(op.now), str(len(op.takes))]
        for take in op.takes:
            args += [repr(take.rate), repr(take.burst), repr(take.amount)]
        reserve = op.reserve
        if reserve is not None:
            keys += [key for hold in reserve.holds for key in self._counter(hold.key)]
            args += [reserve.id, repr(reserve.amount), repr(reserve.lease_end)]
            for hold in reserve.holds:
                args += [_optional(hold.limit), _optional(hold.expires_at)]

        def decode(reply: Any) -> Admission:
            how, takes, counters, index = _text(reply[0]), reply[1], reply[2], int(reply[3])
            seen = tuple(_counter(counter) for counter in counters)
            answers = tuple(_take(take) for take in takes)
            if how == "t" or reserve is None:
                return Admission(answers, None, seen)
            if how == "b":
                hold = reserve.holds[index]
                assert hold.limit is not None
                counter = seen[index]
                refusal = Refusal(
                    hold.key, float(hold.limit), counter.spent, counter.reserved, reserve.amount
                )
                return Admission(answers, refusal, seen)
            return Admission(answers, reserve.granted(), seen)

        return _Call(_lua.ADMIT, len(keys), (*keys, *args), decode)

    def _log_read(self, op: _ops.LogRead) -> _Call:
        if op.after is not None and not _STREAM_ID.fullmatch(op.after):
            raise ValueError(f"not a cursor of this store: {op.after!r}")
        start = "-" if op.after is None else "(" + op.after
        args = ("XRANGE", self.prefix + "x:" + op.stream, start, "+", "COUNT", op.limit)
        return _Call(None, 0, args, _entries)


class _LoopClient:
    """One event loop's client, closed inside that loop when it shuts down.

    ``closer`` is an async generator parked at its first ``yield``: the loop finalises it in
    ``shutdown_asyncgens`` (``asyncio.run`` does), while the loop can still close sockets.
    """

    def __init__(self, client: redis.asyncio.Redis, pool: redis.asyncio.ConnectionPool) -> None:
        self.client = client
        self.pool = pool
        self.forget: Callable[[], None] = lambda: None
        self.closer = self._close_at_shutdown()

    async def _close_at_shutdown(self) -> AsyncGenerator[None, None]:
        try:
            yield
        finally:
            self.forget()
            await self.client.aclose()
            await self.pool.disconnect()


def _location(parts: Any) -> str:
    """Where the server is, without credentials: for reprs and error messages."""
    if parts.scheme == "unix":
        return f"unix://{parts.path}"
    host = parts.hostname or "localhost"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path or ''}"


def _optional(number: float | None) -> str:
    return "" if number is None else repr(number)


def _identity(reply: Any) -> Any:
    return reply


def _nothing(reply: Any) -> None:
    return None


def _text(reply: Any) -> str:
    return reply.decode() if isinstance(reply, bytes) else str(reply)


def _counter(reply: Any) -> Counter:
    return Counter(float(reply[0]), float(reply[1]))


def _take(reply: Any) -> Take:
    return Take(bool(reply[0]), float(reply[1]), float(reply[2]))


def _entries(reply: Any) -> list[LogEntry]:
    entries = []
    for cursor, fields in reply:
        entries.append(LogEntry(_text(cursor), fields[b"r"]))
    return entries


_PLANS: dict[type[Any], Callable[[RedisStore, Any], _Call]] = {
    _ops.KvGet: RedisStore._kv_get,
    _ops.KvPut: RedisStore._kv_put,
    _ops.KvDelete: RedisStore._kv_delete,
    _ops.KvClear: RedisStore._kv_clear,
    _ops.KvCount: RedisStore._kv_count,
    _ops.Reserve: RedisStore._reserve,
    _ops.Settle: RedisStore._settle,
    _ops.CounterAdd: RedisStore._add,
    _ops.CounterRead: RedisStore._read,
    _ops.CounterSet: RedisStore._set,
    _ops.CounterReset: RedisStore._reset,
    _ops.BucketTake: RedisStore._take,
    _ops.BucketAdjust: RedisStore._adjust,
    _ops.LogAppend: RedisStore._append,
    _ops.LogRead: RedisStore._log_read,
    _ops.Admit: RedisStore._admit,
}
