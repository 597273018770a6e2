"""A prompt that cannot fit a target's context window is not sent there."""

from __future__ import annotations

import pytest

import cosmara
from cosmara import Cosmara
from cosmara.testing import Emulator, Fault

LONG = [{"role": "user", "content": "word " * 400}]  # ~500 tokens by the heuristic


def _client(emulator: Emulator) -> Cosmara:
    return Cosmara(
        {
            "providers": {
                "openai": {"base_url": emulator.base_url, "api_key": "sk-x"},
                "groq": {"base_url": emulator.base_url, "api_key": "gsk-x"},
            },
            "models": {"openai/gpt-4o-mini": {"context_window": 300}},
        },
        load_entry_points=False,
    )


def test_oversized_prompt_goes_to_a_larger_window(emulator: Emulator) -> None:
    with _client(emulator) as client:
        response = client.chat(
            model="openai/gpt-4o-mini", messages=LONG, fallbacks=["groq/llama-3.1-8b-instant"]
        )
    assert [(a.provider, a.error) for a in response.cosmara.attempts] == [  # type: ignore[union-attr]
        ("openai", "ContextWindowExceeded"),
        ("groq", None),
    ]
    assert [r.json["model"] for r in emulator.requests] == ["llama-3.1-8b-instant"]


def test_max_tokens_counts_against_the_window(emulator: Emulator) -> None:
    short = [{"role": "user", "content": "hi"}]
    with _client(emulator) as client:
        client.chat(model="openai/gpt-4o-mini", messages=short, max_tokens=100)
        with pytest.raises(cosmara.ContextWindowExceededError):
            client.chat(model="openai/gpt-4o-mini", messages=short, max_tokens=400)
    assert emulator.request_count == 1


def test_no_window_large_enough_fails_before_sending(emulator: Emulator) -> None:
    with _client(emulator) as client, pytest.raises(cosmara.ContextWindowExceededError) as caught:
        list(client.stream(model="openai/gpt-4o-mini", messages=LONG))
    assert emulator.request_count == 0
    assert "300-token context window" in str(caught.value)


@pytest.mark.parametrize("aio", [False, True], ids=["sync", "async"])
async def test_a_refusal_skips_targets_whose_window_is_no_larger(
    emulator: Emulator, aio: bool
) -> None:
    # Our estimate fits gpt-4o-mini, but the provider counts otherwise: a model with a smaller
    # window would refuse too, so the next one tried is the larger one.
    emulator.add_fault(
        Fault(status=400, match_model="gpt-4o-mini", error_code="context_length_exceeded")
    )
    config = {
        "providers": {
            "openai": {"base_url": emulator.base_url, "api_key": "sk-x"},
            "groq": {"base_url": emulator.base_url, "api_key": "gsk-x"},
        },
        "models": {
            "openai/gpt-4o-mini": {"context_window": 128_000},
            "groq/llama-3.1-8b-instant": {"context_window": 8_000},
            "openai/gpt-4.1": {"context_window": 1_000_000},
        },
    }
    call = {
        "model": "openai/gpt-4o-mini",
        "messages": [{"role": "user", "content": "hi"}],
        "fallbacks": ["groq/llama-3.1-8b-instant", "openai/gpt-4.1"],
    }
    with Cosmara(config, load_entry_points=False) as client:
        response = await client.achat(**call) if aio else client.chat(**call)
    assert [(a.model, a.error) for a in response.cosmara.attempts] == [  # type: ignore[union-attr]
        ("gpt-4o-mini", "ContextWindowExceededError"),
        ("llama-3.1-8b-instant", "ContextWindowExceeded"),
        ("gpt-4.1", None),
    ]
    assert [r.json["model"] for r in emulator.requests] == ["gpt-4o-mini", "gpt-4.1"]


def test_a_group_ranks_only_candidates_whose_window_holds_the_prompt(emulator: Emulator) -> None:
    # Cost ranks the small-window models first; with max_candidates=1 the plan would hold
    # only a model that cannot take this prompt if windows were checked after ranking.
    config = {
        "providers": {
            "openai": {"base_url": emulator.base_url, "api_key": "sk-x"},
            "groq": {"base_url": emulator.base_url, "api_key": "gsk-x"},
        },
        "models": {
            "groq/llama-3.1-8b-instant": {"context_window": 300},
            "openai/gpt-4o-mini": {"context_window": 128_000},
        },
        "groups": {
            "team": {
                "models": ["groq/llama-3.1-8b-instant", "openai/gpt-4o-mini"],
                "strategy": "cost",
                "max_candidates": 1,
            }
        },
    }
    with Cosmara(config, load_entry_points=False) as client:
        short = client.chat(model="team", messages=[{"role": "user", "content": "hi"}])
        long = client.chat(model="team", messages=LONG)
    assert short.cosmara is not None
    assert short.cosmara.model == "llama-3.1-8b-instant"  # the cheapest, when it fits
    assert long.cosmara is not None
    assert long.cosmara.model == "gpt-4o-mini"
    assert [a.error for a in long.cosmara.attempts] == [None]
    assert "1 too small for this prompt" in long.cosmara.route.reason
