"""The contract every backend keeps: memory, SQLite and Redis give the same answers.

Time is a fake wall clock; nothing sleeps.
"""

from __future__ import annotations

import math

import pytest

from cosmara.state import Counter, Hold, LogEntry, Refusal, Reservation, StateStore, Take
from tests.core.state.conftest import FakeTime

# --- key-value ---------------------------------------------------------------------------------


def test_put_get_overwrite_and_missing(store: StateStore) -> None:
    assert store.kv.get("answers", "q1") is None
    store.kv.put("answers", "q1", b"first")
    assert store.kv.get("answers", "q1") == b"first"
    store.kv.put("answers", "q1", b"second")
    assert store.kv.get("answers", "q1") == b"second"
    assert store.kv.count("answers") == 1


def test_values_are_bytes_exactly(store: StateStore) -> None:
    value = bytes(range(256)) * 400  # NUL bytes, every byte value, 100 KB
    store.kv.put("blobs", "k", value)
    store.kv.put("blobs", "empty", b"")
    assert store.kv.get("blobs", "k") == value
    assert store.kv.get("blobs", "empty") == b""


def test_namespaces_are_separate(store: StateStore) -> None:
    store.kv.put("team-a", "q", b"a")
    store.kv.put("team-b", "q", b"b")
    store.kv.put("team-a:x", "q", b"c")  # separators in names cannot collide
    assert store.kv.get("team-a", "q") == b"a"
    assert store.kv.get("team-b", "q") == b"b"
    assert store.kv.clear("team-a") == 1
    assert store.kv.get("team-b", "q") == b"b"
    assert store.kv.get("team-a:x", "q") == b"c"


def test_ttl_expiry_on_the_clock(store: StateStore, clock: FakeTime) -> None:
    store.kv.put("c", "short", b"1", ttl=10)
    store.kv.put("c", "forever", b"2")
    clock.advance(9.999)
    assert store.kv.get("c", "short") == b"1"
    assert store.kv.count("c") == 2
    clock.advance(0.001)
    assert store.kv.get("c", "short") is None
    assert store.kv.count("c") == 1
    assert store.kv.get("c", "forever") == b"2"


def test_expired_entries_are_not_counted_or_deleted_twice(
    store: StateStore, clock: FakeTime
) -> None:
    for index in range(5):
        store.kv.put("c", f"k{index}", b"v", ttl=5)
    clock.advance(6)
    assert store.kv.count("c") == 0
    assert store.kv.delete("c", "k1") is False
    assert store.kv.clear("c") == 0


def test_overwrite_without_ttl_keeps_the_entry(store: StateStore, clock: FakeTime) -> None:
    store.kv.put("c", "k", b"old", ttl=5)
    store.kv.put("c", "k", b"new")
    clock.advance(100)
    assert store.kv.get("c", "k") == b"new"


def test_least_recently_used_is_evicted(store: StateStore) -> None:
    for key in ("a", "b", "c"):
        store.kv.put("lru", key, key.encode(), max_entries=3)
    assert store.kv.get("lru", "a") == b"a"  # a is now the most recently used
    store.kv.put("lru", "d", b"d", max_entries=3)
    assert store.kv.get("lru", "b") is None
    assert [store.kv.get("lru", key) for key in ("a", "c", "d")] == [b"a", b"c", b"d"]
    assert store.kv.count("lru") == 3
    store.kv.put("lru", "e", b"e", max_entries=1)
    assert store.kv.count("lru") == 1
    assert store.kv.get("lru", "e") == b"e"


def test_expired_entries_go_before_live_ones_are_evicted(
    store: StateStore, clock: FakeTime
) -> None:
    store.kv.put("lru", "old", b"1", ttl=5)
    store.kv.put("lru", "b", b"2")
    store.kv.put("lru", "c", b"3")
    clock.advance(6)
    store.kv.put("lru", "d", b"4", max_entries=3)
    assert [store.kv.get("lru", key) for key in ("b", "c", "d")] == [b"2", b"3", b"4"]


def test_delete_says_whether_a_live_entry_went(store: StateStore) -> None:
    store.kv.put("c", "k", b"v")
    assert store.kv.delete("c", "k") is True
    assert store.kv.delete("c", "k") is False
    assert store.kv.delete("nowhere", "k") is False
    assert store.kv.get("c", "k") is None


def test_clear_by_prefix_matches_literally(store: StateStore) -> None:
    for key in ("user:1:a", "user:1:b", "user:10:a", "user%1", "User:1:c", "other"):
        store.kv.put("c", key, b"v")
    assert store.kv.clear("c", prefix="user:1:") == 2
    assert store.kv.clear("c", prefix="user%") == 1  # % and _ are not wildcards
    assert store.kv.clear("c", prefix="user_") == 0
    assert store.kv.count("c") == 3
    assert store.kv.get("c", "User:1:c") == b"v"  # prefixes are case-sensitive
    assert store.kv.clear("c") == 3
    assert store.kv.count("c") == 0


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda s: s.kv.put("c", "k", "text"), TypeError),
        (lambda s: s.kv.put("c", "k", b"v", ttl=0), ValueError),
        (lambda s: s.kv.put("c", "k", b"v", ttl=math.inf), ValueError),
        (lambda s: s.kv.put("c", "k", b"v", max_entries=0), ValueError),
        (lambda s: s.kv.put("", "k", b"v"), ValueError),
        (lambda s: s.kv.get("c", ""), ValueError),
        (lambda s: s.kv.clear("c", prefix=3), TypeError),
    ],
)
def test_kv_rejects_bad_arguments(store: StateStore, call, error) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(error):
        call(store)
    assert store.kv.count("c") == 0


# --- counters ----------------------------------------------------------------------------------


def test_reserve_returns_a_handle_and_holds_the_amount(store: StateStore, clock: FakeTime) -> None:
    reservation = store.counters.reserve(3.0, [Hold("team", limit=10.0)], lease=60)
    assert isinstance(reservation, Reservation)
    assert reservation.keys == ("team",)
    assert reservation.amount == 3.0
    assert reservation.expires_at == clock.now + 60
    assert store.counters.read("team") == Counter(spent=0.0, reserved=3.0)


def test_refusal_says_which_key_and_reserves_nothing(store: StateStore) -> None:
    store.counters.add("user", 4.0)
    held = store.counters.reserve(3.0, [Hold("user", limit=10.0)], lease=60)
    assert isinstance(held, Reservation)
    refusal = store.counters.reserve(
        5.0, [Hold("org", limit=100.0), Hold("user", limit=10.0)], lease=60
    )
    assert refusal == Refusal(key="user", limit=10.0, spent=4.0, reserved=3.0, amount=5.0)
    assert refusal.available == 3.0
    assert store.counters.read("org") == Counter(0.0, 0.0)  # the fitting key got nothing
    assert store.counters.read("user") == Counter(4.0, 3.0)


def test_limits_are_checked_on_every_key(store: StateStore) -> None:
    holds = [Hold("org", limit=10.0), Hold("team", limit=5.0), Hold("tag")]
    first = store.counters.reserve(4.0, holds, lease=60)
    assert isinstance(first, Reservation)
    second = store.counters.reserve(2.0, holds, lease=60)
    assert isinstance(second, Refusal)
    assert second.key == "team"
    assert store.counters.read("tag") == Counter(0.0, 4.0)  # no limit, still counted


def test_reservations_up_to_exactly_the_limit(store: StateStore) -> None:
    holds = [Hold("b", limit=0.3)]
    assert isinstance(store.counters.reserve(0.1, holds, lease=60), Reservation)
    assert isinstance(store.counters.reserve(0.2, holds, lease=60), Reservation)  # 0.1+0.2 fits
    assert isinstance(store.counters.reserve(0.001, holds, lease=60), Refusal)


def test_commit_records_actual_spend_once(store: StateStore) -> None:
    holds = [Hold("org", limit=10.0), Hold("team", limit=2.0)]
    reservation = store.counters.reserve(2.0, holds, lease=60)
    assert isinstance(reservation, Reservation)
    assert store.counters.commit(reservation, 3.5) is True  # beyond the limit: still recorded
    assert store.counters.commit(reservation, 3.5) is False
    assert store.counters.release(reservation) is False
    assert store.counters.read("org") == Counter(3.5, 0.0)
    assert store.counters.read("team") == Counter(3.5, 0.0)
    refused = store.counters.reserve(0.0, holds, lease=60)
    assert isinstance(refused, Refusal)
    assert (refused.key, refused.spent) == ("team", 3.5)


def test_release_drops_the_hold_once(store: StateStore) -> None:
    reservation = store.counters.reserve(5.0, [Hold("k", limit=5.0)], lease=60)
    assert isinstance(reservation, Reservation)
    assert store.counters.release(reservation) is True
    assert store.counters.release(reservation) is False
    assert store.counters.commit(reservation, 5.0) is False
    assert store.counters.read("k") == Counter(0.0, 0.0)
    assert isinstance(store.counters.reserve(5.0, [Hold("k", limit=5.0)], lease=60), Reservation)


def test_a_lease_that_ends_frees_the_hold(store: StateStore, clock: FakeTime) -> None:
    crashed = store.counters.reserve(8.0, [Hold("k", limit=10.0)], lease=30)
    assert isinstance(crashed, Reservation)
    assert isinstance(store.counters.reserve(8.0, [Hold("k", limit=10.0)], lease=30), Refusal)
    clock.advance(29.9)
    assert store.counters.read("k").reserved == 8.0
    clock.advance(0.1)
    assert store.counters.read("k") == Counter(0.0, 0.0)
    assert isinstance(store.counters.reserve(8.0, [Hold("k", limit=10.0)], lease=30), Reservation)


def test_commit_after_the_lease_counts_once(store: StateStore, clock: FakeTime) -> None:
    late = store.counters.reserve(2.0, [Hold("k", limit=10.0)], lease=10)
    assert isinstance(late, Reservation)
    clock.advance(11)
    assert store.counters.read("k") == Counter(0.0, 0.0)
    assert store.counters.commit(late, 1.5) is True
    clock.advance(600)
    assert store.counters.commit(late, 1.5) is False
    assert store.counters.read("k") == Counter(1.5, 0.0)


def test_reserved_sums_live_reservations(store: StateStore, clock: FakeTime) -> None:
    first = store.counters.reserve(1.0, [Hold("k")], lease=10)
    store.counters.reserve(2.0, [Hold("k")], lease=20)
    assert isinstance(first, Reservation)
    assert store.counters.read("k").reserved == 3.0
    clock.advance(15)
    assert store.counters.read("k").reserved == 2.0
    assert store.counters.commit(first, 1.0) is True
    assert store.counters.read("k") == Counter(1.0, 2.0)


def test_add_set_and_reset(store: StateStore) -> None:
    assert store.counters.add("k", 2.5) == 2.5
    assert store.counters.add("k", -0.5) == 2.0
    store.counters.reserve(1.0, [Hold("k")], lease=60)
    store.counters.set("k", 7.0)
    assert store.counters.read("k") == Counter(7.0, 1.0)  # set keeps live holds
    store.counters.reset("k")
    assert store.counters.read("k") == Counter(0.0, 0.0)
    store.counters.reset("never-existed")


def test_counters_with_a_period_end_are_forgotten(store: StateStore, clock: FakeTime) -> None:
    period_end = clock.now + 100
    holds = [Hold("budget:2026-01", limit=10.0, expires_at=period_end)]
    reservation = store.counters.reserve(4.0, holds, lease=300)
    assert isinstance(reservation, Reservation)
    assert store.counters.commit(reservation, 4.0)
    store.counters.add("tokens:2026-01", 50, expires_at=period_end)
    clock.advance(99)
    assert store.counters.read("budget:2026-01") == Counter(4.0, 0.0)
    clock.advance(1)
    assert store.counters.read("budget:2026-01") == Counter(0.0, 0.0)
    assert store.counters.read("tokens:2026-01") == Counter(0.0, 0.0)
    assert store.counters.add("tokens:2026-01", 1) == 1.0


def test_an_ended_period_also_drops_its_holds(store: StateStore, clock: FakeTime) -> None:
    holds = [Hold("period", limit=10.0, expires_at=clock.now + 50)]
    assert isinstance(store.counters.reserve(9.0, holds, lease=600), Reservation)
    clock.advance(50)
    fresh = [Hold("period", limit=10.0, expires_at=clock.now + 50)]
    assert isinstance(store.counters.reserve(9.0, fresh, lease=600), Reservation)
    assert store.counters.read("period") == Counter(0.0, 9.0)


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda s: s.counters.reserve(-1.0, [Hold("k")], lease=60), ValueError),
        (lambda s: s.counters.reserve(1.0, [], lease=60), ValueError),
        (lambda s: s.counters.reserve(1.0, [Hold("k"), Hold("k")], lease=60), ValueError),
        (lambda s: s.counters.reserve(1.0, [Hold("k")], lease=0), ValueError),
        (lambda s: s.counters.reserve(1.0, [Hold("k", limit=-1)], lease=60), ValueError),
        (lambda s: s.counters.reserve(1.0, ["k"], lease=60), TypeError),
        (lambda s: s.counters.reserve(math.nan, [Hold("k")], lease=60), ValueError),
        (lambda s: s.counters.add("k", math.inf), ValueError),
        (lambda s: s.counters.add("", 1.0), ValueError),
        (lambda s: s.counters.commit("id", 1.0), TypeError),
    ],
)
def test_counters_reject_bad_arguments(store: StateStore, call, error) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(error):
        call(store)
    assert store.counters.read("k") == Counter(0.0, 0.0)


def test_commit_rejects_a_negative_actual(store: StateStore) -> None:
    reservation = store.counters.reserve(1.0, [Hold("k")], lease=60)
    assert isinstance(reservation, Reservation)
    with pytest.raises(ValueError, match="actual"):
        store.counters.commit(reservation, -1.0)
    assert store.counters.commit(reservation, 1.0) is True


# --- buckets -----------------------------------------------------------------------------------


def test_bucket_allows_a_burst_then_says_when(store: StateStore, clock: FakeTime) -> None:
    takes = [store.buckets.take("user", rate=2.0, burst=3) for _ in range(3)]
    assert [take.allowed for take in takes] == [True, True, True]
    assert [take.remaining for take in takes] == [2.0, 1.0, 0.0]
    refused = store.buckets.take("user", rate=2.0, burst=3)
    assert refused == Take(allowed=False, retry_after=0.5, remaining=0.0)
    clock.advance(0.5)
    assert store.buckets.take("user", rate=2.0, burst=3).allowed
    assert not store.buckets.take("user", rate=2.0, burst=3).allowed


def test_bucket_refills_up_to_the_burst(store: StateStore, clock: FakeTime) -> None:
    store.buckets.take("k", 10, rate=1.0, burst=10)
    clock.advance(4)
    assert store.buckets.take("k", 0, rate=1.0, burst=10).remaining == pytest.approx(4.0)
    clock.advance(3600)
    assert store.buckets.take("k", 0, rate=1.0, burst=10).remaining == 10.0


def test_tokens_take_waits_for_enough(store: StateStore, clock: FakeTime) -> None:
    assert store.buckets.take("tok", 800, rate=100.0, burst=1000).allowed
    refused = store.buckets.take("tok", 500, rate=100.0, burst=1000)
    assert not refused.allowed
    assert refused.retry_after == pytest.approx(3.0)
    assert refused.remaining == pytest.approx(200.0)
    clock.advance(refused.retry_after)
    assert store.buckets.take("tok", 500, rate=100.0, burst=1000).allowed


def test_more_than_the_burst_never_fits(store: StateStore) -> None:
    take = store.buckets.take("k", 11, rate=1.0, burst=10)
    assert take == Take(allowed=False, retry_after=math.inf, remaining=10.0)


def test_adjust_gives_back_and_goes_into_debt(store: StateStore, clock: FakeTime) -> None:
    assert store.buckets.take("tok", 100, rate=10.0, burst=100).allowed  # estimated 100
    assert store.buckets.adjust("tok", -40, rate=10.0, burst=100) == 40.0  # counted 60
    assert store.buckets.adjust("tok", -500, rate=10.0, burst=100) == 100.0  # never above burst
    assert store.buckets.adjust("tok", 150, rate=10.0, burst=100) == -50.0  # debt
    refused = store.buckets.take("tok", 10, rate=10.0, burst=100)
    assert refused.retry_after == pytest.approx(6.0)
    clock.advance(6)
    assert store.buckets.take("tok", 10, rate=10.0, burst=100).allowed


def test_buckets_are_separate(store: StateStore) -> None:
    assert store.buckets.take("a", rate=1.0, burst=1).allowed
    assert not store.buckets.take("a", rate=1.0, burst=1).allowed
    assert store.buckets.take("b", rate=1.0, burst=1).allowed


@pytest.mark.parametrize(
    "kwargs",
    [{"rate": 0, "burst": 1}, {"rate": 1, "burst": 0}, {"rate": -1, "burst": 1}],
)
def test_buckets_reject_bad_rates(store: StateStore, kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=r"rate|burst"):
        store.buckets.take("k", **kwargs)
    with pytest.raises(ValueError, match="amount"):
        store.buckets.take("k", -1, rate=1, burst=1)


# --- logs --------------------------------------------------------------------------------------


def test_log_reads_in_order_after_a_cursor(store: StateStore) -> None:
    cursors = [store.log.append("ledger", f"row {i}".encode()) for i in range(5)]
    assert len(set(cursors)) == 5
    entries = store.log.read("ledger")
    assert entries == [LogEntry(cursor, f"row {i}".encode()) for i, cursor in enumerate(cursors)]
    assert store.log.read("ledger", after=cursors[1], limit=2) == entries[2:4]
    assert store.log.read("ledger", after=cursors[-1]) == []
    assert store.log.read("empty") == []


def test_log_can_be_followed_page_by_page(store: StateStore) -> None:
    for i in range(7):
        store.log.append("s", bytes([i]))
    seen: list[bytes] = []
    cursor = None
    while page := store.log.read("s", after=cursor, limit=3):
        seen += [entry.record for entry in page]
        cursor = page[-1].cursor
    assert seen == [bytes([i]) for i in range(7)]
    store.log.append("s", b"late")
    assert [entry.record for entry in store.log.read("s", after=cursor)] == [b"late"]


def test_log_bound_keeps_the_newest(store: StateStore) -> None:
    cursors = [store.log.append("s", bytes([i]), max_len=3) for i in range(6)]
    assert [entry.cursor for entry in store.log.read("s")] == cursors[3:]
    assert store.log.read("s", after=cursors[0]) == store.log.read("s")


def test_logs_are_separate(store: StateStore) -> None:
    store.log.append("a", b"1")
    store.log.append("b", b"2")
    assert [entry.record for entry in store.log.read("a")] == [b"1"]


@pytest.mark.parametrize("cursor", ["abc", "", "-1", "1.5"])
def test_log_rejects_foreign_cursors(store: StateStore, cursor: str) -> None:
    with pytest.raises(ValueError, match="cursor"):
        store.log.read("s", after=cursor)


def test_log_rejects_bad_arguments(store: StateStore) -> None:
    with pytest.raises(TypeError):
        store.log.append("s", "text")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="limit"):
        store.log.read("s", limit=0)
    with pytest.raises(ValueError, match="max_len"):
        store.log.append("s", b"x", max_len=0)
    assert store.log.read("s") == []


# --- async twins -------------------------------------------------------------------------------


async def test_async_twins_match_sync(store: StateStore, clock: FakeTime) -> None:
    await store.kv.aput("c", "a", b"1", ttl=10, max_entries=2)
    await store.kv.aput("c", "b", b"2", max_entries=2)
    assert await store.kv.aget("c", "a") == b"1"
    await store.kv.aput("c", "c", b"3", max_entries=2)
    assert await store.kv.acount("c") == 2
    assert store.kv.get("c", "b") is None
    assert await store.kv.adelete("c", "c") is True
    assert await store.kv.aclear("c", prefix="a") == 1

    reservation = await store.counters.areserve(2.0, [Hold("k", limit=3.0)], lease=60)
    assert isinstance(reservation, Reservation)
    refusal = await store.counters.areserve(2.0, [Hold("k", limit=3.0)], lease=60)
    assert refusal == Refusal("k", 3.0, 0.0, 2.0, 2.0)
    assert await store.counters.acommit(reservation, 1.0) is True
    assert await store.counters.acommit(reservation, 1.0) is False
    other = await store.counters.areserve(1.0, [Hold("k", limit=3.0)], lease=60)
    assert isinstance(other, Reservation)
    assert await store.counters.arelease(other) is True
    assert await store.counters.aadd("k", 0.5) == 1.5
    await store.counters.aset("k", 2.0)
    assert await store.counters.aread("k") == Counter(2.0, 0.0)
    await store.counters.areset("k")
    assert store.counters.read("k") == Counter(0.0, 0.0)

    assert (await store.buckets.atake("b", rate=1.0, burst=1)).allowed
    assert (await store.buckets.atake("b", rate=1.0, burst=1)).retry_after == 1.0
    assert await store.buckets.aadjust("b", -1, rate=1.0, burst=1) == 1.0

    cursor = await store.log.aappend("s", b"x", max_len=10)
    assert await store.log.aread("s") == [LogEntry(cursor, b"x")]
    assert store.log.read("s") == [LogEntry(cursor, b"x")]


async def test_async_expiry_uses_the_same_clock(store: StateStore, clock: FakeTime) -> None:
    await store.kv.aput("c", "k", b"v", ttl=1)
    clock.advance(1)
    assert await store.kv.aget("c", "k") is None


# --- time at the edges -------------------------------------------------------------------------


def test_sub_millisecond_expiry_is_exact(store: StateStore, clock: FakeTime) -> None:
    clock.advance(0.123456)  # a wall-clock time with many digits
    store.kv.put("c", "k", b"v", ttl=0.0005)
    store.counters.reserve(1.0, [Hold("k")], lease=0.0005)
    clock.advance(0.0004)
    assert store.kv.count("c") == 1
    assert store.counters.read("k").reserved == 1.0
    clock.advance(0.0001)
    assert store.kv.count("c") == 0
    assert store.kv.get("c", "k") is None
    assert store.counters.read("k").reserved == 0.0


def test_far_future_expiries_are_accepted(store: StateStore, clock: FakeTime) -> None:
    store.kv.put("c", "k", b"v", ttl=1e12)
    assert store.counters.add("k", 1.0, expires_at=clock.now + 1e12) == 1.0
    assert store.buckets.take("rl", 1e9, rate=1e-9, burst=1e9).allowed
    assert store.buckets.adjust("rl", 1e9, rate=1e-9, burst=1e9) == -1e9
    assert store.kv.get("c", "k") == b"v"
