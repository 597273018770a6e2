"""Retries: same target again for retryable errors, backoff with jitter, Retry-After capped."""

from __future__ import annotations

import time

import pytest

import cosmara
from cosmara import Cosmara
from cosmara._retry import RetryPolicy
from cosmara.testing import Emulator, FakeClock, Fault

HI = [{"role": "user", "content": "hi"}]
FAST = {"initial_delay": 0.01, "max_delay": 0.02, "jitter": 0.0}


def _client(emulator: Emulator, **retry: object) -> Cosmara:
    providers = {
        "openai": {"base_url": emulator.base_url, "api_key": "sk-x"},
        "groq": {"base_url": emulator.base_url, "api_key": "gsk-x"},
    }
    return Cosmara({"providers": providers, "retry": {**FAST, **retry}}, load_entry_points=False)


def test_backoff_grows_and_is_capped() -> None:
    policy = RetryPolicy(initial_delay=1, multiplier=2, max_delay=5, jitter=0)
    error = cosmara.ProviderUnavailableError("down")
    assert [policy.delay(n, error) for n in (1, 2, 3, 4)] == [1, 2, 4, 5]


def test_jitter_stays_within_its_fraction() -> None:
    policy = RetryPolicy(initial_delay=2, jitter=0.25)
    error = cosmara.ProviderUnavailableError("down")
    assert policy.delay(1, error, rand=lambda: 0.0) == 1.5
    assert policy.delay(1, error, rand=lambda: 1.0) == 2.5


def test_retry_after_wins_up_to_the_cap() -> None:
    policy = RetryPolicy(retry_after_cap=10)
    assert policy.delay(1, cosmara.RateLimitError("slow", retry_after=3)) == 3
    assert policy.delay(1, cosmara.RateLimitError("slow", retry_after=120)) == 10


def test_overrides_by_error_class() -> None:
    policy = RetryPolicy(retry_on={"RateLimitError": False, "BadRequestError": True})
    assert not policy.should_retry(cosmara.RateLimitError("x"))
    assert policy.should_retry(cosmara.ContentFilteredError("x"))  # via its base class
    assert policy.should_retry(cosmara.ProviderUnavailableError("x"))  # its own flag


def test_retryable_error_is_retried_then_succeeds(emulator: Emulator) -> None:
    emulator.add_fault(Fault(status=503, times=2))
    with _client(emulator, max_retries=2) as client:
        response = client.chat(model="openai/gpt-4o-mini", messages=HI)
    assert response.cosmara is not None
    assert [(a.provider, a.error) for a in response.cosmara.attempts] == [
        ("openai", "ProviderUnavailableError"),
        ("openai", "ProviderUnavailableError"),
        ("openai", None),
    ]
    assert emulator.request_count == 3


async def test_async_and_stream_paths_retry_too(emulator: Emulator) -> None:
    with _client(emulator, max_retries=1) as client:
        emulator.add_fault(Fault(status=429, times=1))
        response = await client.achat(model="openai/gpt-4o-mini", messages=HI)
        assert len(response.cosmara.attempts) == 2  # type: ignore[union-attr]
        emulator.add_fault(Fault(status=500, times=1))
        final = list(client.stream(model="openai/gpt-4o-mini", messages=HI))[-1]
        assert [a.error for a in final.cosmara.attempts] == ["ProviderUnavailableError", None]  # type: ignore[union-attr]


def test_permanent_errors_are_not_retried(emulator: Emulator) -> None:
    emulator.add_fault(Fault(status=401))
    with _client(emulator, max_retries=3) as client, pytest.raises(cosmara.AuthenticationError):
        client.chat(model="openai/gpt-4o-mini", messages=HI)
    assert emulator.request_count == 1


def test_retries_spent_then_fallback(emulator: Emulator) -> None:
    emulator.add_fault(Fault(status=503, match_model="gpt-4o-mini"))
    with _client(emulator, max_retries=1) as client:
        response = client.chat(
            model="openai/gpt-4o-mini", messages=HI, fallbacks=["groq/llama-3.1-8b-instant"]
        )
    assert [a.provider for a in response.cosmara.attempts] == ["openai", "openai", "groq"]  # type: ignore[union-attr]


def test_per_call_max_retries_overrides_config(emulator: Emulator) -> None:
    emulator.add_fault(Fault(status=503))
    with _client(emulator, max_retries=3) as client:
        with pytest.raises(cosmara.ProviderUnavailableError) as caught:
            client.chat(model="openai/gpt-4o-mini", messages=HI, max_retries=0)
        assert len(caught.value.attempts) == 1
        with pytest.raises(cosmara.RequestValidationError):
            client.chat(model="openai/gpt-4o-mini", messages=HI, max_retries=-1)
    assert "max_retries" not in emulator.requests[0].json


def test_retry_after_is_honoured(emulator: Emulator) -> None:
    emulator.add_fault(Fault(status=429, retry_after=0.3, times=1))
    with _client(emulator, max_retries=1) as client:
        started = time.perf_counter()
        client.chat(model="openai/gpt-4o-mini", messages=HI)
    assert time.perf_counter() - started >= 0.3


def test_the_default_policy_gives_a_target_three_attempts_with_backoff(
    emulator: Emulator,
) -> None:
    assert RetryPolicy().max_retries == 2
    emulator.add_fault(Fault(status=503, match_model="gpt-4o-mini"))
    providers = {
        "openai": {"base_url": emulator.base_url, "api_key": "sk-x"},
        "groq": {"base_url": emulator.base_url, "api_key": "gsk-x"},
    }
    clock = FakeClock()
    with Cosmara(providers=providers, clock=clock, load_entry_points=False) as client:
        response = client.chat(
            model="openai/gpt-4o-mini", messages=HI, fallbacks=["groq/llama-3.1-8b-instant"]
        )
    assert response.cosmara is not None
    assert [a.provider for a in response.cosmara.attempts] == ["openai"] * 3 + ["groq"]
    first, second = clock.slept  # 0.5 s then 1 s, each within the ±25 % jitter
    assert 0.375 <= first <= 0.625
    assert 0.75 <= second <= 1.25


@pytest.mark.parametrize("how", ["chat", "stream"])
def test_an_attempts_latency_leaves_out_the_wait_before_it(emulator: Emulator, how: str) -> None:
    providers = {"openai": {"base_url": emulator.base_url, "api_key": "sk-x"}}
    retry = {"max_retries": 1, "initial_delay": 0.4, "jitter": 0}
    emulator.add_fault(Fault(status=503, times=1))
    with Cosmara({"providers": providers, "retry": retry}, load_entry_points=False) as client:
        hi = [{"role": "user", "content": "hi"}]
        if how == "chat":
            meta = client.chat(model="openai/gpt-4o-mini", messages=hi).cosmara
        else:
            meta = list(client.stream(model="openai/gpt-4o-mini", messages=hi))[-1].cosmara
    assert meta is not None
    failed, answered = meta.attempts
    assert failed.error == "ProviderUnavailableError"
    # The second attempt came 0.4 s after the first: that wait is not the provider's time.
    assert answered.latency_ms < 300
