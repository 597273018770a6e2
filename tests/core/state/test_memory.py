"""The memory store forgets what expired, even where no operation looks again."""

from __future__ import annotations

from cosmara.state import Hold, MemoryStore, Reservation
from cosmara.state._logic import SWEEP_INTERVAL
from tests.core.state.conftest import FakeTime


def test_sweep_forgets_everything_expired(clock: FakeTime) -> None:
    store = MemoryStore(clock=clock)
    for index in range(10):
        store.kv.put(f"ns{index}", "k", b"v", ttl=5)
    reservation = store.counters.reserve(1.0, [Hold("k", expires_at=clock.now + 5)], lease=5)
    assert isinstance(reservation, Reservation)
    store.counters.reserve(1.0, [Hold("held")], lease=5)
    store.counters.release(reservation)
    store.buckets.take("rl", rate=1.0, burst=1)
    clock.advance(SWEEP_INTERVAL + 3600)
    store.log.read("s")
    assert store._namespaces == {}
    assert store._settled == {}
    assert store._buckets == {}
    assert list(store._counters) == ["held"]
    assert store._counters["held"].holds == {}


def test_rewriting_one_entry_does_not_grow_the_expiry_heap(clock: FakeTime) -> None:
    store = MemoryStore(clock=clock)
    for _ in range(10_000):
        store.kv.put("c", "k", b"v", ttl=60)
    assert len(store._namespaces["c"].expiries) < 200
    assert store.kv.count("c") == 1
