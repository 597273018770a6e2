"""Circuit breakers and health, as a state machine with a fake clock and through the engine."""

from __future__ import annotations

import pytest

import cosmara
from cosmara import BreakerPolicy, Cosmara
from cosmara._health import HealthMonitor
from cosmara.testing import Emulator, Fault

HI = [{"role": "user", "content": "hi"}]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _monitor(**policy: object) -> tuple[HealthMonitor, Clock, list[tuple[str, str, str]]]:
    clock, moves = Clock(), []
    monitor = HealthMonitor(
        BreakerPolicy(**policy),  # type: ignore[arg-type]
        on_transition=lambda target, old, new: moves.append((target, old, new)),
        clock=clock,
    )
    return monitor, clock, moves


def test_opens_after_consecutive_failures_and_blocks() -> None:
    monitor, _, moves = _monitor(consecutive_failures=3, cooldown_seconds=10)
    for _ in range(3):
        assert monitor.allow("p/m")
        monitor.record("p/m", ok=False, latency_ms=5, error="ProviderUnavailableError")
    assert moves == [("p/m", "closed", "open")]
    assert not monitor.allow("p/m")
    assert monitor.report()["p/m"].state == "open"


def test_half_open_lets_limited_probes_then_closes() -> None:
    monitor, clock, moves = _monitor(
        consecutive_failures=1, cooldown_seconds=10, half_open_probes=1, close_after_successes=2
    )
    monitor.record("p/m", ok=False, latency_ms=5, error="X")
    clock.now += 10
    assert monitor.allow("p/m")  # the probe
    assert not monitor.allow("p/m")  # a second probe is not allowed while one is in flight
    monitor.record("p/m", ok=True, latency_ms=5)
    assert monitor.allow("p/m")
    monitor.record("p/m", ok=True, latency_ms=5)
    assert [new for _, _, new in moves] == ["open", "half_open", "closed"]
    assert monitor.allow("p/m")


def test_admission_says_whether_a_probe_slot_was_taken() -> None:
    monitor, clock, _ = _monitor(consecutive_failures=1, cooldown_seconds=10, half_open_probes=1)
    assert monitor.admit("p/m") == "free"
    monitor.record("p/m", ok=False, latency_ms=5, error="X")
    assert monitor.admit("p/m") is None  # open, cooling down
    clock.now += 10
    assert monitor.admit("p/m") == "probe"
    assert monitor.admit("p/m") is None  # the one slot is taken
    monitor.release("p/m")  # that probe's caller gave up: the slot is free again
    assert monitor.admit("p/m") == "probe"


def test_resting_targets_follow_breakers_and_cooldowns() -> None:
    monitor, clock, _ = _monitor(consecutive_failures=1, cooldown_seconds=10)
    assert monitor.resting() == frozenset()
    monitor.record("a/m", ok=False, latency_ms=5, error="X")
    clock.now += 4
    monitor.record("b/m", ok=False, latency_ms=5, error="X")
    assert monitor.resting() == {"a/m", "b/m"}
    clock.now += 6  # a's cooldown is over (it goes half-open when next offered a request)
    assert monitor.resting() == {"b/m"}
    assert monitor.allow("a/m")
    monitor.record("a/m", ok=False, latency_ms=5, error="X")  # the probe failed: reopened
    assert monitor.resting() == {"a/m", "b/m"}
    clock.now += 10
    assert monitor.resting() == frozenset()


def test_a_disabled_breaker_rests_nothing() -> None:
    monitor, _, _ = _monitor(enabled=False, consecutive_failures=1)
    monitor.record("a/m", ok=False, latency_ms=5, error="X")
    assert monitor.allow("a/m")
    assert monitor.resting() == frozenset()


def test_a_failed_probe_reopens() -> None:
    monitor, clock, moves = _monitor(consecutive_failures=1, cooldown_seconds=10)
    monitor.record("p/m", ok=False, latency_ms=5, error="X")
    clock.now += 11
    assert monitor.allow("p/m")
    monitor.record("p/m", ok=False, latency_ms=5, error="X")
    assert [new for _, _, new in moves] == ["open", "half_open", "open"]
    assert not monitor.allow("p/m")


def test_error_rate_opens_only_with_enough_requests() -> None:
    monitor, _, moves = _monitor(
        consecutive_failures=100, error_rate=0.5, min_requests=10, window_seconds=60
    )
    for index in range(9):
        monitor.record("p/m", ok=index % 2 == 0, latency_ms=5, error=None)
    assert moves == []  # 9 requests: below the minimum
    monitor.record("p/m", ok=False, latency_ms=5, error="X")
    assert moves == [("p/m", "closed", "open")]  # 5 of 10 failed


def test_old_requests_leave_the_window() -> None:
    monitor, clock, moves = _monitor(consecutive_failures=100, min_requests=4, window_seconds=60)
    for _ in range(3):
        monitor.record("p/m", ok=False, latency_ms=5, error="X")
    clock.now += 61
    monitor.record("p/m", ok=False, latency_ms=5, error="X")
    assert moves == []
    assert monitor.report()["p/m"].availability == 0.0


def test_latency_and_error_rate_are_ewma() -> None:
    monitor, _, _ = _monitor(ewma_alpha=0.5)
    monitor.record("p/m", ok=True, latency_ms=100)
    monitor.record("p/m", ok=True, latency_ms=200)
    monitor.record("p/m", ok=False, latency_ms=1, error="RateLimitError")
    report = monitor.report()["p/m"]
    assert report.latency_ms == 150.0
    assert report.error_rate == 0.5
    assert report.last_error == "RateLimitError"
    assert (report.requests, report.failures) == (3, 1)


def _client(emulator: Emulator, **breaker: object) -> Cosmara:
    providers = {
        "openai": {"base_url": emulator.base_url, "api_key": "sk-x"},
        "groq": {"base_url": emulator.base_url, "api_key": "gsk-x"},
    }
    return Cosmara({"providers": providers, "breaker": breaker}, load_entry_points=False)


def test_open_breaker_is_skipped_without_sending(emulator: Emulator) -> None:
    moves = []

    class Watcher:
        @cosmara.hookimpl
        def cosmara_breaker(self, target: str, new_state: str) -> None:
            moves.append((target, new_state))

    emulator.add_fault(Fault(status=503, match_model="gpt-4o-mini"))
    with _client(emulator, consecutive_failures=2, cooldown_seconds=60) as client:
        client.plugins.register(Watcher())
        for _ in range(2):
            with pytest.raises(cosmara.ProviderUnavailableError):
                client.chat(model="openai/gpt-4o-mini", messages=HI)
        assert moves == [("openai/gpt-4o-mini", "open")]
        sent_before = emulator.request_count
        response = client.chat(
            model="openai/gpt-4o-mini", messages=HI, fallbacks=["groq/llama-3.1-8b-instant"]
        )
        assert emulator.request_count == sent_before + 1  # only groq was called
        assert [(a.provider, a.error) for a in response.cosmara.attempts] == [  # type: ignore[union-attr]
            ("openai", "CircuitOpen"),
            ("groq", None),
        ]
        with pytest.raises(cosmara.ProviderUnavailableError) as caught:
            client.chat(model="openai/gpt-4o-mini", messages=HI)
        assert caught.value.code == "CircuitOpen"
        health = client.health()
    assert health["openai/gpt-4o-mini"].state == "open"
    assert health["openai/gpt-4o-mini"].last_error == "ProviderUnavailableError"
    assert health["groq/llama-3.1-8b-instant"].state == "closed"
    assert health["groq/llama-3.1-8b-instant"].latency_ms is not None


def test_bad_requests_do_not_trip_the_breaker(emulator: Emulator) -> None:
    emulator.add_fault(Fault(status=400))
    with _client(emulator, consecutive_failures=1) as client:
        for _ in range(3):
            with pytest.raises(cosmara.BadRequestError):
                client.chat(model="openai/gpt-4o-mini", messages=HI)
        assert client.health()["openai/gpt-4o-mini"].state == "closed"
