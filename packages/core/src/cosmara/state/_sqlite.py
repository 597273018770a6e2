"""``SQLiteStore``: state in one file, shared by every process on this machine that opens it.

The file is in WAL mode (readers never wait for the writer) with ``synchronous=NORMAL``
(a power cut may lose the last transactions, never corrupts the file). Operations that write
take the write lock first (``BEGIN IMMEDIATE``), so they are atomic across threads and processes.

Connections come from a small pool: a thread takes one for one operation and gives it back, so
threads never share a connection at once and no thread keeps one to itself after it ends.

Async operations run inline on the event loop with a connection that never waits for a lock
(an operation takes tens of microseconds, less than a hop to a worker thread). Only when another
thread or process holds the write lock does the operation move to a worker thread, to wait there
without blocking the loop; nothing was written by the attempt that found the lock taken.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from cosmara.state import _ops
from cosmara.state._base import Clock, StateStore
from cosmara.state._logic import SWEEP_INTERVAL
from cosmara.state._sqlite_ops import HANDLERS, SCHEMA, SCHEMA_VERSION, sweep
from cosmara.state._types import StateStoreError

if TYPE_CHECKING:
    from sqlite3 import Connection

__all__ = ["SQLiteStore"]

R = TypeVar("R")
_BUSY_CODES = (5, 6)  # SQLITE_BUSY, SQLITE_LOCKED
_IDLE_CONNECTIONS = 8  # kept open per pool between bursts; more are opened while needed


class SQLiteStore(StateStore):
    """State in the SQLite file at ``path`` (created with its tables if missing).

    Args:
        path: the database file; every process that should share state opens the same file.
            It must be on a local disk: WAL mode does not work over network file systems.
        timeout: seconds an operation waits for another process's write lock before failing.
        clock: wall-clock seconds (``time.time``); tests pass a fake one.

    Raises:
        StateStoreError: the file cannot be opened or written, cannot use WAL mode, or was
            written by a newer Cosmara.
    """

    def __init__(
        self, path: str | os.PathLike[str], *, timeout: float = 5.0, clock: Clock = time.time
    ) -> None:
        import sqlite3  # only a store that uses SQLite loads it

        super().__init__(clock=clock)
        self.path = Path(path)
        if str(path) == ":memory:" or not str(path):
            raise ValueError("SQLiteStore needs a file path: an in-memory database is not shared")
        self.timeout = timeout
        self._error = sqlite3.Error
        self._blocking = _Pool(lambda: self._connect(timeout))
        self._nowait = _Pool(lambda: self._connect(0.0))
        self._next_sweep = -math.inf
        self._sweeping = threading.Lock()
        conn = self._blocking.acquire()
        try:
            self._create_schema(conn)
        except sqlite3.Error as error:
            self.close()
            raise self._failure(error) from None
        finally:
            self._blocking.release(conn)

    def __repr__(self) -> str:
        return f"SQLiteStore({str(self.path)!r})"

    # --- drivers ---------------------------------------------------------------------------
    def _run(self, op: _ops.Op[R]) -> R:
        handler: Callable[[Connection, Any], R] = HANDLERS[type(op)]
        self._maybe_sweep()
        conn = self._blocking.acquire()
        try:
            return handler(conn, op)
        except self._error as error:
            raise self._failure(error) from None
        finally:
            self._blocking.release(conn)

    async def _arun(self, op: _ops.Op[R]) -> R:
        handler: Callable[[Connection, Any], R] = HANDLERS[type(op)]
        self._maybe_sweep()
        conn = self._nowait.acquire()
        try:
            return handler(conn, op)
        except self._error as error:
            if not _is_busy(error):
                raise self._failure(error) from None
        finally:
            self._nowait.release(conn)
        import asyncio

        return await asyncio.to_thread(self._run, op)

    def close(self) -> None:
        self._blocking.close()
        self._nowait.close()

    # --- connections -----------------------------------------------------------------------
    def _connect(self, timeout: float) -> Connection:
        import sqlite3

        try:
            conn = sqlite3.connect(
                self.path, timeout=timeout, isolation_level=None, check_same_thread=False
            )
            conn.execute("PRAGMA synchronous = NORMAL")
        except sqlite3.Error as error:
            raise self._failure(error) from None
        return conn

    def _create_schema(self, conn: Connection) -> None:
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise StateStoreError(
                f"SQLite state store {str(self.path)!r} cannot use WAL mode (journal mode "
                f"{mode!r}); put it on a local disk"
            )
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StateStoreError(
                f"SQLite state store {str(self.path)!r} was written by a newer Cosmara "
                f"(schema {version}, this one reads {SCHEMA_VERSION})"
            )
        if version < SCHEMA_VERSION:
            try:
                conn.executescript(
                    f"BEGIN IMMEDIATE; {SCHEMA} PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"
                )
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    def _maybe_sweep(self) -> None:
        """Now and then, delete what expired. Never waits for a lock: if another thread or
        process is writing, the sweep is left to a later operation."""
        now = self.clock()
        if now < self._next_sweep or not self._sweeping.acquire(blocking=False):
            return
        conn = self._nowait.acquire()
        try:
            sweep(conn, now)
            self._next_sweep = now + SWEEP_INTERVAL
        except self._error as error:
            if not _is_busy(error):
                raise self._failure(error) from None
        finally:
            self._nowait.release(conn)
            self._sweeping.release()

    def _failure(self, error: Exception) -> StateStoreError:
        if _is_busy(error):
            return StateStoreError(
                f"SQLite state store {str(self.path)!r}: another process held the write lock "
                f"for more than {self.timeout:g} s ({error})"
            )
        return StateStoreError(f"SQLite state store {str(self.path)!r}: {error}")


class _Pool:
    """Connections lent to one operation at a time; a few are kept open between uses."""

    def __init__(self, connect: Callable[[], Connection]) -> None:
        self._connect = connect
        self._idle: list[Connection] = []
        self._lock = threading.Lock()
        self._closed = False

    def acquire(self) -> Connection:
        with self._lock:
            if self._closed:
                raise StateStoreError("the state store is closed")
            if self._idle:
                return self._idle.pop()
        return self._connect()

    def release(self, conn: Connection) -> None:
        if conn.in_transaction:  # an operation interrupted half-way (KeyboardInterrupt)
            conn.execute("ROLLBACK")
        with self._lock:
            if not self._closed and len(self._idle) < _IDLE_CONNECTIONS:
                self._idle.append(conn)
                return
        conn.close()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()


def _is_busy(error: Exception) -> bool:
    code = getattr(error, "sqlite_errorcode", None)  # Python 3.11+
    if code is not None:
        return code & 0xFF in _BUSY_CODES
    return "locked" in str(error) or "busy" in str(error)
