"""Rate limits through the engine: requests, tokens and dollars per window for a scope, with
bursts; refused with ``retry_after`` or waited for; corrected with what was really used."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import cosmara
from cosmara import Cosmara
from cosmara.testing import Emulator, FakeClock
from tests.support.paths import HOWS, Loop, ask

MODEL = "openai/gpt-4o-mini"
PROMPT = [{"role": "user", "content": "Hello there"}]


@pytest.fixture
def aio() -> Iterator[Loop]:
    loop = Loop()
    yield loop
    loop.close()


def _client(
    emulator: Emulator, limits: dict[str, Any], clock: FakeClock | None = None, **config: Any
) -> Cosmara:
    providers = {"openai": {"base_url": emulator.base_url, "api_key": "sk-x"}}
    return Cosmara(
        {"providers": providers, "rate_limits": limits, **config},
        clock=clock or FakeClock(),
        load_entry_points=False,
    )


@pytest.mark.parametrize("how", HOWS)
def test_requests_per_minute_refuse_with_retry_after(
    emulator: Emulator, aio: Loop, how: str
) -> None:
    clock = FakeClock()
    client = _client(emulator, {"rpm": {"requests_per_minute": 3}}, clock)
    for _ in range(3):
        ask(client, how, aio, model=MODEL, messages=PROMPT)
    with pytest.raises(cosmara.RateLimitExceededError) as caught:
        ask(client, how, aio, model=MODEL, messages=PROMPT)
    assert caught.value.limit == "rpm"
    assert caught.value.retry_after == pytest.approx(20.0)  # one request refills in 60/3 s
    assert emulator.request_count == 3  # the refused request never left
    clock.advance(20.0)
    ask(client, how, aio, model=MODEL, messages=PROMPT)
    assert emulator.request_count == 4


def test_burst_lets_a_window_and_more_through_at_once(emulator: Emulator) -> None:
    client = _client(emulator, {"rpm": {"requests_per_minute": 2, "burst": 2.5}})
    for _ in range(5):
        client.chat(model=MODEL, messages=PROMPT)
    with pytest.raises(cosmara.RateLimitExceededError):
        client.chat(model=MODEL, messages=PROMPT)


def test_each_value_of_a_scope_has_its_own_limit(emulator: Emulator) -> None:
    limits = {
        "per-team": {"scope": "team", "requests_per_minute": 1},
        "ana": {"scope": "user", "match": "ana", "requests_per_hour": 1},
    }
    client = _client(emulator, limits)
    client.chat(model=MODEL, messages=PROMPT, team="a")
    client.chat(model=MODEL, messages=PROMPT, team="b")  # another team: its own bucket
    with pytest.raises(cosmara.RateLimitExceededError, match="per-team"):
        client.chat(model=MODEL, messages=PROMPT, team="a")
    client.chat(model=MODEL, messages=PROMPT, user="ana")
    client.chat(model=MODEL, messages=PROMPT, user="bo")  # the rule matches ana only
    client.chat(model=MODEL, messages=PROMPT, user="bo")
    with pytest.raises(cosmara.RateLimitExceededError, match="'ana'"):
        client.chat(model=MODEL, messages=PROMPT, user="ana")


def test_model_provider_and_key_scopes(emulator: Emulator) -> None:
    limits = {
        "minis": {"scope": "model", "match": MODEL, "requests_per_minute": 1},
        "keys": {"scope": "key", "requests_per_minute": 1},
    }
    client = _client(emulator, limits)
    client.chat(model=MODEL, messages=PROMPT)
    client.chat(model="openai/gpt-4o", messages=PROMPT)  # another model: not limited
    with pytest.raises(cosmara.RateLimitExceededError, match="minis"):
        client.chat(model=MODEL, messages=PROMPT)
    client.chat(model="openai/gpt-4o", messages=PROMPT, metadata={"key": "vk-1"})
    client.chat(model="openai/gpt-4o", messages=PROMPT, metadata={"key": "vk-2"})
    with pytest.raises(cosmara.RateLimitExceededError, match="keys"):
        client.chat(model="openai/gpt-4o", messages=PROMPT, metadata={"key": "vk-1"})
    provider = _client(
        emulator, {"openai": {"scope": "provider", "match": "openai", "requests_per_minute": 1}}
    )
    provider.chat(model="openai/gpt-4o", messages=PROMPT)
    with pytest.raises(cosmara.RateLimitExceededError):
        provider.chat(model=MODEL, messages=PROMPT)


@pytest.mark.parametrize("how", ["chat", "achat"])
def test_waiting_instead_of_refusing(emulator: Emulator, aio: Loop, how: str) -> None:
    clock = FakeClock()
    limits = {"rpm": {"requests_per_minute": 6, "on_exceed": "wait", "max_wait_seconds": 15}}
    client = _client(emulator, limits, clock)
    for _ in range(7):
        ask(client, how, aio, model=MODEL, messages=PROMPT)
    assert clock.slept == [pytest.approx(10.0)]  # the seventh waited for one refill
    assert emulator.request_count == 7


def test_a_wait_longer_than_the_maximum_refuses(emulator: Emulator) -> None:
    clock = FakeClock()
    limits = {"rph": {"requests_per_hour": 1, "on_exceed": "wait", "max_wait_seconds": 30}}
    client = _client(emulator, limits, clock)
    client.chat(model=MODEL, messages=PROMPT)
    with pytest.raises(cosmara.RateLimitExceededError) as caught:
        client.chat(model=MODEL, messages=PROMPT)
    assert caught.value.retry_after == pytest.approx(3600.0)
    assert clock.slept == []


def test_tokens_are_estimated_before_and_corrected_after(emulator: Emulator) -> None:
    clock = FakeClock()
    client = _client(emulator, {"tpm": {"tokens_per_minute": 10_000}}, clock)
    bucket = "rate:tpm:tokens:minute:%2A"
    response = client.chat(model=MODEL, messages=PROMPT, max_tokens=4_000)
    level = client.state.buckets.adjust(bucket, 0, rate=10_000 / 60, burst=10_000)
    # What is left is the window less what the request really used, not less its estimate
    # (a prompt plus 4000 tokens of max_tokens).
    assert level == pytest.approx(10_000 - response.usage.total_tokens, abs=1)
    client.chat(model=MODEL, messages=PROMPT, max_tokens=4_000)
    client.chat(model=MODEL, messages=PROMPT, max_tokens=4_000)
    with pytest.raises(cosmara.RateLimitExceededError, match="tokens"):
        client.chat(model=MODEL, messages=PROMPT, max_tokens=9_990)  # more than is left


def test_dollars_are_charged_after_and_refuse_while_in_debt(emulator: Emulator) -> None:
    clock = FakeClock()
    client = _client(emulator, {"spend": {"usd_per_minute": 0.00001}}, clock)
    cost = 0.0
    answered = 0
    with pytest.raises(cosmara.RateLimitExceededError) as caught:  # noqa: PT012
        for _ in range(100):
            cost += client.chat(model=MODEL, messages=PROMPT).cosmara.cost_usd or 0.0
            answered += 1
    assert caught.value.limit == "spend"
    assert emulator.request_count == answered
    assert cost >= 0.00001  # it refuses once the minute's dollars are spent, not before


def test_one_refusal_gives_back_what_other_limits_took(emulator: Emulator) -> None:
    limits = {
        "roomy": {"requests_per_minute": 100},
        "tight": {"scope": "team", "requests_per_minute": 1},
    }
    client = _client(emulator, limits)
    client.chat(model=MODEL, messages=PROMPT, team="t")
    for _ in range(5):
        with pytest.raises(cosmara.RateLimitExceededError, match="tight"):
            client.chat(model=MODEL, messages=PROMPT, team="t")
    level = client.state.buckets.adjust(
        "rate:roomy:requests:minute:%2A", 0, rate=100 / 60, burst=100
    )
    assert level == pytest.approx(99)  # the five refused requests took nothing from "roomy"


def test_refusals_are_blocked_rows_in_the_ledger(emulator: Emulator) -> None:
    client = _client(emulator, {"rpm": {"requests_per_minute": 1}}, ledger={"enabled": True})
    client.chat(model=MODEL, messages=PROMPT, team="t")
    with pytest.raises(cosmara.RateLimitExceededError):
        client.chat(model=MODEL, messages=PROMPT, team="t")
    rows = client.ledger.rows()  # type: ignore[union-attr]
    assert [(r.outcome, r.error) for r in rows] == [
        ("ok", None),
        ("blocked", "RateLimitExceededError"),
    ]
    assert rows[1].cost_usd == 0


def test_embeddings_count_against_token_limits(emulator: Emulator) -> None:
    client = _client(emulator, {"tpm": {"tokens_per_minute": 50}})
    client.embed(model="openai/text-embedding-3-small", input=["a short text"])
    with pytest.raises(cosmara.RateLimitExceededError):
        client.embed(model="openai/text-embedding-3-small", input=["many words " * 40])


def test_a_limit_needs_a_value() -> None:
    with pytest.raises(cosmara.ConfigurationError, match="at least one"):
        Cosmara({"rate_limits": {"empty": {"scope": "team"}}}, load_entry_points=False)
    with pytest.raises(cosmara.ConfigurationError):
        Cosmara({"rate_limits": {"bad": {"requests_per_minute": -1}}}, load_entry_points=False)


def test_rate_limit_errors_pickle_whole() -> None:
    import pickle

    error = cosmara.RateLimitExceededError("slow down", limit="rpm", retry_after=2.5)
    copy = pickle.loads(pickle.dumps(error))
    assert (str(copy), copy.limit, copy.retry_after) == ("slow down", "rpm", 2.5)
