"""``store.admit`` (rate-limit draws and a budget reservation in one atomic step) and
``store.batch()`` (writes run together), with the same answers on every backend."""

from __future__ import annotations

import math

import pytest

from cosmara.state import (
    Admission,
    Counter,
    Draw,
    Hold,
    Refusal,
    Reservation,
    StateStore,
    Take,
)
from tests.core.state.conftest import FakeTime

RPM = Draw("rl:requests", 1.0, rate=1.0, burst=3.0)
TPM = Draw("rl:tokens", 40.0, rate=10.0, burst=100.0)


def _level(store: StateStore, draw: Draw) -> float:
    return store.buckets.adjust(draw.key, 0.0, rate=draw.rate, burst=draw.burst)


def test_admit_draws_and_reserves_together(store: StateStore) -> None:
    store.counters.add("budget", 2.0)
    admission = store.admit([RPM, TPM], amount=0.5, holds=[Hold("budget", 10.0)], lease=60)
    assert admission.allowed
    assert admission.takes == (Take(True, 0.0, 2.0), Take(True, 0.0, 60.0))
    assert isinstance(admission.reservation, Reservation)
    assert admission.counters == (Counter(2.0, 0.0),)  # as it stood before
    assert store.counters.read("budget") == Counter(2.0, 0.5)
    assert _level(store, RPM) == 2.0


def test_a_bucket_refusal_changes_nothing(store: StateStore) -> None:
    big = Draw("rl:tokens", 90.0, rate=10.0, burst=100.0)
    assert store.admit([big]).allowed
    admission = store.admit([RPM, big], amount=1.0, holds=[Hold("budget", 10.0)], lease=60)
    assert not admission.allowed
    assert admission.takes[0].allowed  # would have been taken, was not
    assert admission.takes[1] == Take(False, pytest.approx(8.0), pytest.approx(10.0))
    assert admission.reservation is None
    assert _level(store, RPM) == 3.0
    assert store.counters.read("budget") == Counter()


def test_a_budget_refusal_takes_nothing(store: StateStore) -> None:
    store.counters.add("team", 9.5)
    admission = store.admit(
        [RPM], amount=1.0, holds=[Hold("org", 100.0), Hold("team", 10.0)], lease=60
    )
    assert not admission.allowed
    assert admission.reservation == Refusal("team", 10.0, 9.5, 0.0, 1.0)
    assert admission.counters == (Counter(), Counter(9.5, 0.0))
    assert _level(store, RPM) == 3.0
    assert store.counters.read("org") == Counter()


def test_admit_with_draws_or_holds_alone(store: StateStore, clock: FakeTime) -> None:
    for _ in range(3):
        assert store.admit([RPM]).allowed
    refused = store.admit([RPM])
    assert refused.takes[-1].retry_after == pytest.approx(1.0)
    clock.advance(1.0)
    assert store.admit([RPM]).allowed
    held = store.admit(amount=2.0, holds=[Hold("only", 5.0)], lease=30)
    assert held.takes == ()
    assert isinstance(held.reservation, Reservation)
    assert store.admit().allowed  # nothing asked: nothing refused
    too_big = store.admit([Draw("rl:x", 5.0, rate=1.0, burst=4.0)])
    assert too_big.takes[0].retry_after == math.inf


def test_admit_rejects_bad_arguments(store: StateStore) -> None:
    with pytest.raises(TypeError):
        store.admit([("rl", 1.0, 1.0, 1.0)])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="once"):
        store.admit([RPM, RPM])
    with pytest.raises(ValueError, match="rate"):
        store.admit([Draw("rl", 1.0, rate=0.0, burst=1.0)])


async def test_aadmit_matches_admit(store: StateStore) -> None:
    admission = await store.aadmit([RPM], amount=1.0, holds=[Hold("b", 1.5)], lease=60)
    assert admission.allowed
    again = await store.aadmit([RPM], amount=1.0, holds=[Hold("b", 1.5)], lease=60)
    assert isinstance(again.reservation, Refusal)
    assert again.counters == (Counter(0.0, 1.0),)
    assert _level(store, RPM) == 2.0


def test_a_batch_runs_its_writes_in_order(store: StateStore) -> None:
    reservation = store.counters.reserve(1.0, [Hold("spend", 10.0)], lease=60)
    assert isinstance(reservation, Reservation)
    store.buckets.take("rl", 10.0, rate=1.0, burst=50.0)
    batch = store.batch()
    batch.commit(reservation, 0.25)
    batch.commit(reservation, 0.25)  # a second settlement of the same reservation: ignored
    batch.adjust("rl", -4.0, rate=1.0, burst=50.0)
    batch.append("ledger", b"one")
    batch.append("ledger", b"two")
    assert len(batch) == 5
    batch.run()
    assert len(batch) == 0
    assert store.counters.read("spend") == Counter(0.25, 0.0)
    assert store.buckets.adjust("rl", 0, rate=1.0, burst=50.0) == pytest.approx(44.0)
    assert [e.record for e in store.log.read("ledger")] == [b"one", b"two"]
    batch.run()  # empty: nothing to do


async def test_a_batch_runs_async_too(store: StateStore) -> None:
    reservation = await store.counters.areserve(1.0, [Hold("spend", 10.0)], lease=60)
    assert isinstance(reservation, Reservation)
    batch = store.batch()
    batch.release(reservation)
    batch.append("ledger", b"row")
    await batch.arun()
    assert await store.counters.aread("spend") == Counter()
    assert [e.record for e in await store.log.aread("ledger")] == [b"row"]


def test_a_batch_checks_each_write_when_queued(store: StateStore) -> None:
    batch = store.batch()
    with pytest.raises(TypeError):
        batch.append("ledger", "text")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="actual"):
        batch.commit(Reservation("x", (Hold("k"),), 1.0, 0.0), -1.0)
    assert len(batch) == 0


def test_admission_reports_allowed() -> None:
    assert Admission((), None, ()).allowed
    assert not Admission((Take(False, 1.0, 0.0),), None, ()).allowed
    assert not Admission((), Refusal("k", 1.0, 1.0, 0.0, 1.0), ()).allowed
