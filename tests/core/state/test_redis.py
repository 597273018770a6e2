"""What only the Redis store has: clients per event loop, scripts reloaded after a restart,
keys that expire by themselves, and prefixes that keep applications apart."""

from __future__ import annotations

import asyncio
import gc
import uuid
from collections.abc import Iterator

import pytest
import redis

from cosmara.state import Hold, RedisStore, Reservation, StateStoreError
from tests.core.state.conftest import FakeTime


@pytest.fixture
def raw(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture
def store(redis_url: str, clock: FakeTime) -> Iterator[RedisStore]:
    opened = RedisStore(redis_url, prefix=f"test:{uuid.uuid4().hex[:12]}:", clock=clock)
    yield opened
    opened.close()


def test_each_event_loop_gets_its_own_client(store: RedisStore) -> None:
    async def use() -> bytes | None:
        await store.kv.aput("c", "k", b"v")
        return await store.kv.aget("c", "k")

    assert asyncio.run(use()) == b"v"
    assert asyncio.run(use()) == b"v"  # a new loop: a new client, not the closed loop's
    gc.collect()
    assert len(store._loops) == 0  # clients of finished loops are not kept


async def test_aclose_closes_the_running_loops_client(redis_url: str) -> None:
    store = RedisStore(redis_url, prefix=f"test:{uuid.uuid4().hex[:12]}:")
    await store.kv.aput("c", "k", b"v")
    assert len(store._loops) == 1
    await store.aclose()
    assert len(store._loops) == 0
    with pytest.raises(StateStoreError, match="closed"):
        await store.kv.aget("c", "k")
    with pytest.raises(StateStoreError, match="closed"):
        store.kv.get("c", "k")


async def test_scripts_are_loaded_again_after_a_flush(store: RedisStore, raw: redis.Redis) -> None:
    store.kv.put("c", "k", b"v")
    raw.script_flush()
    assert store.kv.get("c", "k") == b"v"
    raw.script_flush()
    assert await store.kv.aget("c", "k") == b"v"


async def test_a_batch_after_a_flush_runs_each_write_once(
    store: RedisStore, raw: redis.Redis
) -> None:
    reservation = store.counters.reserve(1.0, [Hold("spend", 10.0)], lease=60)
    assert isinstance(reservation, Reservation)
    raw.script_flush()
    batch = store.batch()
    batch.commit(reservation, 0.5)  # a script the server no longer has
    batch.append("ledger", b"row")  # a plain command: ran the first time
    batch.run()
    assert store.counters.read("spend").spent == 0.5
    assert len(store.log.read("ledger")) == 1
    raw.script_flush()
    batch.adjust("rl", 1.0, rate=1.0, burst=5.0)
    batch.append("ledger", b"row")
    await batch.arun()
    assert len(await store.log.aread("ledger")) == 2
    assert store.buckets.adjust("rl", 0.0, rate=1.0, burst=5.0) == pytest.approx(4.0)


def test_every_key_expires_by_itself(store: RedisStore, raw: redis.Redis, clock: FakeTime) -> None:
    store.kv.put("cache", "k", b"v", ttl=60)
    holds = [Hold("budget", limit=10.0, expires_at=clock.now + 3600)]
    reservation = store.counters.reserve(1.0, holds, lease=30)
    assert isinstance(reservation, Reservation)
    store.counters.commit(reservation, 1.0)
    store.buckets.take("rl", rate=1.0, burst=10)
    keys = raw.keys(store.prefix + "*")
    assert {key.decode().removeprefix(store.prefix) for key in keys} == {
        "kv:d:cache",
        "kv:u:cache",
        "kv:e:cache",
        "c:budget",
        "b:rl",
        f"r:{reservation.id}",
    }
    ttls = {key.decode().removeprefix(store.prefix): raw.pttl(key) for key in keys}
    assert 60_000 < ttls["kv:d:cache"] <= 61_000  # the entry's TTL, plus a second of slack
    assert 3_590_000 < ttls["c:budget"] <= 3_600_000  # the period's end
    assert 0 < ttls["b:rl"] <= 2_000  # a bucket lives until it has refilled
    assert 3_600_000 < ttls[f"r:{reservation.id}"] <= 3_630_000  # lease + an hour


def test_an_entry_without_ttl_keeps_its_namespace(store: RedisStore, raw: redis.Redis) -> None:
    store.kv.put("cache", "a", b"v", ttl=60)
    store.kv.put("cache", "b", b"v")
    assert raw.pttl(store.prefix + "kv:d:cache") == -1


def test_prefixes_keep_stores_apart(redis_url: str) -> None:
    first = RedisStore(redis_url, prefix=f"app1-{uuid.uuid4().hex[:8]}:")
    second = RedisStore(redis_url, prefix=f"app2-{uuid.uuid4().hex[:8]}:")
    first.kv.put("c", "k", b"1")
    first.counters.add("k", 5)
    assert second.kv.get("c", "k") is None
    assert second.counters.read("k").spent == 0.0
    first.close()
    second.close()


def test_bad_url_is_a_configuration_error() -> None:
    from cosmara import ConfigurationError

    with pytest.raises(ConfigurationError, match="not a Redis URL"):
        RedisStore("http://localhost")
