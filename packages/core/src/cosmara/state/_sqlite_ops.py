"""The SQL of the SQLite store: its schema and one function per operation.

Each function gets a connection in autocommit mode and runs its operation as one statement
(atomic by itself) or inside ``BEGIN IMMEDIATE``, which takes the database's write lock before
reading, so no other process can change what was read before this transaction commits. The
statements are fixed strings, so the sqlite3 module prepares each once per connection.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from cosmara.state import _ops
from cosmara.state._logic import (
    SETTLED_RETENTION,
    Bucket,
    admit,
    bucket_adjust,
    bucket_full_at,
    bucket_take,
    fits,
    sequence,
)
from cosmara.state._types import Admission, Counter, LogEntry, Refusal, Reservation, Take

if TYPE_CHECKING:
    from sqlite3 import Connection

__all__ = ["HANDLERS", "SCHEMA", "SCHEMA_VERSION", "sweep"]

SCHEMA_VERSION = 1
# Values live in rowid tables (cached answers can be large); the row counts per namespace and
# per stream are kept by triggers so bounds are checked without counting rows. Every index costs
# a page written per transaction, so there are no more than the operations need: holds (only
# reservations in flight) are swept by a scan.
SCHEMA = """
CREATE TABLE IF NOT EXISTS kv (
    id INTEGER PRIMARY KEY, ns TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL,
    expires_at REAL, used INTEGER NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS kv_key ON kv (ns, key);
CREATE INDEX IF NOT EXISTS kv_used ON kv (ns, used);
CREATE INDEX IF NOT EXISTS kv_expiry ON kv (ns, expires_at) WHERE expires_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS kv_sizes (ns TEXT PRIMARY KEY, entries INTEGER NOT NULL) WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS kv_added AFTER INSERT ON kv BEGIN
    INSERT INTO kv_sizes VALUES (new.ns, 1) ON CONFLICT (ns) DO UPDATE SET entries = entries + 1;
END;
CREATE TRIGGER IF NOT EXISTS kv_removed AFTER DELETE ON kv BEGIN
    UPDATE kv_sizes SET entries = entries - 1 WHERE ns = old.ns;
END;

CREATE TABLE IF NOT EXISTS counters (
    key TEXT PRIMARY KEY, spent REAL NOT NULL, expires_at REAL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS counters_expiry ON counters (expires_at)
    WHERE expires_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS holds (
    key TEXT NOT NULL, id TEXT NOT NULL, amount REAL NOT NULL, lease_end REAL NOT NULL,
    PRIMARY KEY (key, id)) WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS counter_removed AFTER DELETE ON counters BEGIN
    DELETE FROM holds WHERE key = old.key;
END;
CREATE TABLE IF NOT EXISTS settled (id TEXT PRIMARY KEY, until REAL NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS settled_until ON settled (until);

CREATE TABLE IF NOT EXISTS buckets (
    key TEXT PRIMARY KEY, level REAL NOT NULL, at REAL NOT NULL, full_at REAL NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS buckets_full ON buckets (full_at);

CREATE TABLE IF NOT EXISTS log (
    id INTEGER PRIMARY KEY AUTOINCREMENT, stream TEXT NOT NULL, record BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS log_stream ON log (stream, id);
CREATE TABLE IF NOT EXISTS log_sizes (
    stream TEXT PRIMARY KEY, records INTEGER NOT NULL) WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS log_added AFTER INSERT ON log BEGIN
    INSERT INTO log_sizes VALUES (new.stream, 1)
        ON CONFLICT (stream) DO UPDATE SET records = records + 1;
END;
CREATE TRIGGER IF NOT EXISTS log_removed AFTER DELETE ON log BEGIN
    UPDATE log_sizes SET records = records - 1 WHERE stream = old.stream;
END;
"""


@contextmanager
def _immediate(conn: Connection) -> Iterator[None]:
    """One write transaction, holding the write lock from its first read; or, for an
    operation of a batch, part of the batch's transaction."""
    if _in_transaction(conn):
        yield
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        if _in_transaction(conn):  # SQLite rolls some failures back by itself
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _in_transaction(conn: Connection) -> bool:
    return conn.in_transaction


# --- key-value ----------------------------------------------------------------------------
_LIVE = "(expires_at IS NULL OR expires_at > ?3)"


def _kv_get(conn: Connection, op: _ops.KvGet) -> bytes | None:
    row = conn.execute(
        f"SELECT value FROM kv WHERE ns = ?1 AND key = ?2 AND {_LIVE}",
        (op.namespace, op.key, op.now),
    ).fetchone()
    if row is None:
        return None
    # A separate statement: updating the one small column leaves a large value's pages alone.
    conn.execute(
        "UPDATE kv SET used = (SELECT max(used) FROM kv WHERE ns = ?1) + 1 "
        "WHERE ns = ?1 AND key = ?2",
        (op.namespace, op.key),
    )
    value: bytes = row[0]
    return value


def _kv_prune(conn: Connection, namespace: str, now: float) -> None:
    conn.execute("DELETE FROM kv WHERE ns = ? AND expires_at <= ?", (namespace, now))


def _kv_put(conn: Connection, op: _ops.KvPut) -> None:
    with _immediate(conn):
        _kv_prune(conn, op.namespace, op.now)
        conn.execute(
            "INSERT INTO kv (ns, key, value, expires_at, used) VALUES "
            "(?1, ?2, ?3, ?4, coalesce((SELECT max(used) FROM kv WHERE ns = ?1), 0) + 1) "
            "ON CONFLICT (ns, key) DO UPDATE SET "
            "value = excluded.value, expires_at = excluded.expires_at, used = excluded.used",
            (op.namespace, op.key, op.value, op.expires_at),
        )
        if op.max_entries is not None:
            excess = _kv_size(conn, op.namespace) - op.max_entries
            if excess > 0:
                conn.execute(
                    "DELETE FROM kv WHERE id IN "
                    "(SELECT id FROM kv WHERE ns = ? ORDER BY used LIMIT ?)",
                    (op.namespace, excess),
                )


def _kv_size(conn: Connection, namespace: str) -> int:
    row = conn.execute("SELECT entries FROM kv_sizes WHERE ns = ?", (namespace,)).fetchone()
    return 0 if row is None else int(row[0])


def _kv_delete(conn: Connection, op: _ops.KvDelete) -> bool:
    rows = conn.execute(
        "DELETE FROM kv WHERE ns = ?1 AND key = ?2 RETURNING " + _LIVE,
        (op.namespace, op.key, op.now),
    ).fetchall()
    return bool(rows and rows[0][0])


def _kv_clear(conn: Connection, op: _ops.KvClear) -> int:
    with _immediate(conn):
        _kv_prune(conn, op.namespace, op.now)
        if op.prefix is None:
            return conn.execute("DELETE FROM kv WHERE ns = ?", (op.namespace,)).rowcount
        # substr() rather than LIKE: a prefix may hold % and _, and LIKE ignores case.
        return conn.execute(
            "DELETE FROM kv WHERE ns = ?1 AND substr(key, 1, length(?2)) = ?2",
            (op.namespace, op.prefix),
        ).rowcount


def _kv_count(conn: Connection, op: _ops.KvCount) -> int:
    with _immediate(conn):
        _kv_prune(conn, op.namespace, op.now)
        return _kv_size(conn, op.namespace)


# --- counters -----------------------------------------------------------------------------
def _expire_counter(conn: Connection, key: str, now: float) -> None:
    """Forget a counter whose period is over (its holds go with it, by trigger)."""
    conn.execute("DELETE FROM counters WHERE key = ? AND expires_at <= ?", (key, now))


def _change_spent(
    conn: Connection, key: str, spent: float, expires_at: float | None, now: float, *, add: bool
) -> float:
    """Add to (or set) a counter's spent, moving its expiry when one is given; the new spent.
    One statement when the counter exists and its period runs, as it usually does."""
    change = "spent + ?3" if add else "?3"
    row = conn.execute(
        f"UPDATE counters SET spent = {change}, expires_at = coalesce(?4, expires_at) "
        "WHERE key = ?1 AND (expires_at IS NULL OR expires_at > ?2) RETURNING spent",
        (key, now, spent, expires_at),
    ).fetchone()
    if row is not None:
        return float(row[0])
    _expire_counter(conn, key, now)
    conn.execute(
        "INSERT INTO counters (key, spent, expires_at) VALUES (?, ?, ?)", (key, spent, expires_at)
    )
    return spent


_READ_COUNTER = (
    "SELECT spent, expires_at, "
    "(SELECT total(amount) FROM holds WHERE key = ?1 AND lease_end > ?2) "
    "FROM (SELECT 1) LEFT JOIN counters ON key = ?1"
)


def _reserve(conn: Connection, op: _ops.Reserve) -> Reservation | Refusal:
    with _immediate(conn):
        return _reserve_reading(conn, op)[0]


def _reserve_reading(
    conn: Connection, op: _ops.Reserve
) -> tuple[Reservation | Refusal, tuple[Counter, ...]]:
    """In a write transaction: the reservation (or refusal), and each hold's counter as it
    stood before."""
    found: list[tuple[bool, float | None]] = []  # per hold: counter exists, its expiry
    seen = []
    for hold in op.holds:
        spent, expires_at, reserved = conn.execute(_READ_COUNTER, (hold.key, op.now)).fetchone()
        if expires_at is not None and expires_at <= op.now:  # its period is over
            _expire_counter(conn, hold.key, op.now)
            spent = expires_at = None
            reserved = 0.0
        exists, spent = spent is not None, spent or 0.0
        seen.append(Counter(spent, reserved))
        if not fits(spent, reserved, op.amount, hold.limit):
            assert hold.limit is not None
            refusal = Refusal(hold.key, float(hold.limit), spent, reserved, op.amount)
            return refusal, tuple(seen)
        found.append((exists, expires_at))
    for hold, (exists, expires_at) in zip(op.holds, found, strict=True):
        conn.execute(
            "INSERT INTO holds (key, id, amount, lease_end) VALUES (?, ?, ?, ?)",
            (hold.key, op.id, op.amount, op.lease_end),
        )
        if not exists or hold.expires_at not in (None, expires_at):
            _create_counter(conn, hold.key, hold.expires_at)
    return op.granted(), tuple(seen)


def _create_counter(conn: Connection, key: str, expires_at: float | None) -> None:
    """Make sure the counter exists (its holds are forgotten with it), with this expiry."""
    conn.execute(
        "INSERT INTO counters (key, spent, expires_at) VALUES (?1, 0.0, ?2) "
        "ON CONFLICT (key) DO UPDATE SET expires_at = coalesce(?2, expires_at)",
        (key, expires_at),
    )


def _settle(conn: Connection, op: _ops.Settle) -> bool:
    reservation = op.reservation
    with _immediate(conn):
        first = conn.execute(
            "INSERT INTO settled (id, until) VALUES (?, ?) ON CONFLICT (id) DO NOTHING",
            (reservation.id, max(reservation.expires_at, op.now) + SETTLED_RETENTION),
        ).rowcount
        if not first:
            return False
        for hold in reservation.holds:
            conn.execute("DELETE FROM holds WHERE key = ? AND id = ?", (hold.key, reservation.id))
            if op.actual is not None:
                _change_spent(conn, hold.key, op.actual, hold.expires_at, op.now, add=True)
    return True


def _add(conn: Connection, op: _ops.CounterAdd) -> float:
    with _immediate(conn):
        return _change_spent(conn, op.key, op.amount, op.expires_at, op.now, add=True)


def _read(conn: Connection, op: _ops.CounterRead) -> Counter:
    # One statement, so spent and reserved come from one snapshot.
    spent, reserved = conn.execute(
        "SELECT coalesce(spent, 0.0), CASE WHEN key IS NULL THEN 0.0 ELSE "
        "(SELECT total(amount) FROM holds WHERE key = ?1 AND lease_end > ?2) END "
        "FROM (SELECT 1) LEFT JOIN counters "
        "ON key = ?1 AND (expires_at IS NULL OR expires_at > ?2)",
        (op.key, op.now),
    ).fetchone()
    return Counter(spent, reserved)


def _set(conn: Connection, op: _ops.CounterSet) -> None:
    with _immediate(conn):
        _change_spent(conn, op.key, op.spent, op.expires_at, op.now, add=False)


def _reset(conn: Connection, op: _ops.CounterReset) -> None:
    conn.execute("DELETE FROM counters WHERE key = ?", (op.key,))


# --- buckets ------------------------------------------------------------------------------
def _bucket(conn: Connection, key: str) -> Bucket | None:
    row = conn.execute("SELECT level, at FROM buckets WHERE key = ?", (key,)).fetchone()
    return None if row is None else (row[0], row[1])


def _store_bucket(conn: Connection, key: str, state: Bucket, rate: float, burst: float) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO buckets (key, level, at, full_at) VALUES (?, ?, ?, ?)",
        (key, *state, bucket_full_at(*state, rate, burst)),
    )


def _take(conn: Connection, op: _ops.BucketTake) -> Take:
    with _immediate(conn):
        result, state = bucket_take(_bucket(conn, op.key), op.now, op.rate, op.burst, op.amount)
        if state is not None:
            _store_bucket(conn, op.key, state, op.rate, op.burst)
    return result


def _adjust(conn: Connection, op: _ops.BucketAdjust) -> float:
    with _immediate(conn):
        state = bucket_adjust(_bucket(conn, op.key), op.now, op.rate, op.burst, op.amount)
        _store_bucket(conn, op.key, state, op.rate, op.burst)
    return state[0]


# --- several at once ----------------------------------------------------------------------
def _admit(conn: Connection, op: _ops.Admit) -> Admission:
    with _immediate(conn):
        return admit(
            op,
            lambda key: _bucket(conn, key),
            lambda reserve: _reserve_reading(conn, reserve),
            lambda key, state, rate, burst: _store_bucket(conn, key, state, rate, burst),
        )


def _many(conn: Connection, op: _ops.Many) -> None:
    with _immediate(conn):
        for inner in op.ops:
            HANDLERS[type(inner)](conn, inner)


# --- logs ---------------------------------------------------------------------------------
_APPEND = "INSERT INTO log (stream, record) VALUES (?, ?) RETURNING id"


def _append(conn: Connection, op: _ops.LogAppend) -> str:
    if op.max_len is None:
        return str(conn.execute(_APPEND, (op.stream, op.record)).fetchone()[0])
    with _immediate(conn):
        cursor = str(conn.execute(_APPEND, (op.stream, op.record)).fetchone()[0])
        size = conn.execute("SELECT records FROM log_sizes WHERE stream = ?", (op.stream,))
        excess = int(size.fetchone()[0]) - op.max_len
        if excess > 0:
            conn.execute(
                "DELETE FROM log WHERE id IN "
                "(SELECT id FROM log WHERE stream = ? ORDER BY id LIMIT ?)",
                (op.stream, excess),
            )
    return cursor


def _log_read(conn: Connection, op: _ops.LogRead) -> list[LogEntry]:
    after = 0 if op.after is None else sequence(op.after)
    rows = conn.execute(
        "SELECT id, record FROM log WHERE stream = ? AND id > ? ORDER BY id LIMIT ?",
        (op.stream, after, op.limit),
    ).fetchall()
    return [LogEntry(str(row_id), record) for row_id, record in rows]


# --- housekeeping -------------------------------------------------------------------------
def sweep(conn: Connection, now: float) -> None:
    """Delete everything expired, also where no operation looks any more."""
    with _immediate(conn):
        for (namespace,) in conn.execute("SELECT ns FROM kv_sizes").fetchall():
            _kv_prune(conn, namespace, now)
        conn.execute("DELETE FROM kv_sizes WHERE entries <= 0")
        conn.execute("DELETE FROM counters WHERE expires_at <= ?", (now,))
        conn.execute("DELETE FROM holds WHERE lease_end <= ?", (now,))
        conn.execute("DELETE FROM settled WHERE until <= ?", (now,))
        conn.execute("DELETE FROM buckets WHERE full_at <= ?", (now,))
        conn.execute("DELETE FROM log_sizes WHERE records <= 0")


HANDLERS: dict[type[Any], Callable[[Connection, Any], Any]] = {
    _ops.KvGet: _kv_get,
    _ops.KvPut: _kv_put,
    _ops.KvDelete: _kv_delete,
    _ops.KvClear: _kv_clear,
    _ops.KvCount: _kv_count,
    _ops.Reserve: _reserve,
    _ops.Settle: _settle,
    _ops.CounterAdd: _add,
    _ops.CounterRead: _read,
    _ops.CounterSet: _set,
    _ops.CounterReset: _reset,
    _ops.BucketTake: _take,
    _ops.BucketAdjust: _adjust,
    _ops.LogAppend: _append,
    _ops.LogRead: _log_read,
    _ops.Admit: _admit,
    _ops.Many: _many,
}
