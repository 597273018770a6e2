"""Configured fallback chains: per model, alias or group, after a call's own fallbacks."""

from __future__ import annotations

from typing import Any

import pytest

import cosmara
from cosmara import Cosmara
from cosmara.testing import Emulator, Fault

HI = [{"role": "user", "content": "hi"}]


def _client(emulator: Emulator, **config: Any) -> Cosmara:
    providers = {
        "openai": {"base_url": emulator.base_url, "api_key": "sk-x"},
        "groq": {"base_url": emulator.base_url, "api_key": "gsk-x"},
    }
    # No retries: a failing target hands over to the next at once.
    config = {"retry": {"max_retries": 0}, **config}
    return Cosmara({"providers": providers, **config}, load_entry_points=False)


def _tried(response: cosmara.ChatResponse) -> list[tuple[str, str | None]]:
    assert response.cosmara is not None
    return [(f"{a.provider}/{a.model}", a.error) for a in response.cosmara.attempts]


def test_a_model_downgrades_to_its_configured_fallback(emulator: Emulator) -> None:
    emulator.add_fault(Fault(status=503, match_model="gpt-4o"))
    chains = {"openai/gpt-4o": ["openai/gpt-4o-mini"]}
    with _client(emulator, fallbacks=chains) as client:
        response = client.chat(model="openai/gpt-4o", messages=HI)
        assert client.candidates("openai/gpt-4o")[1].id == "openai/gpt-4o-mini"  # type: ignore[union-attr]
    assert _tried(response) == [
        ("openai/gpt-4o", "ProviderUnavailableError"),
        ("openai/gpt-4o-mini", None),
    ]


def test_a_calls_own_fallbacks_come_first(emulator: Emulator) -> None:
    emulator.add_fault(Fault(status=503, match_model="gpt-4o"))
    emulator.add_fault(Fault(status=503, match_model="llama-3.1-8b-instant"))
    chains = {"openai/gpt-4o": ["openai/gpt-4o-mini"]}
    with _client(emulator, fallbacks=chains) as client:
        response = client.chat(
            model="openai/gpt-4o", messages=HI, fallbacks=["groq/llama-3.1-8b-instant"]
        )
    assert [target for target, _ in _tried(response)] == [
        "openai/gpt-4o",
        "groq/llama-3.1-8b-instant",
        "openai/gpt-4o-mini",
    ]


async def test_chains_apply_to_aliases_and_groups(emulator: Emulator) -> None:
    emulator.add_fault(Fault(status=503, match_model="gpt-4o-mini"))
    config = {
        "aliases": {"assistant": "openai/gpt-4o-mini"},
        "groups": {"team": {"models": ["openai/gpt-4o-mini"], "strategy": "cost"}},
        "fallbacks": {
            "assistant": ["groq/llama-3.1-8b-instant"],
            "team": ["groq/llama-3.1-8b-instant"],
        },
    }
    async with _client(emulator, **config) as client:
        for name in ("assistant", "team"):
            response = await client.achat(model=name, messages=HI)
            assert _tried(response)[-1] == ("groq/llama-3.1-8b-instant", None)


def test_an_unknown_model_in_a_chain_is_a_typed_error_before_sending(emulator: Emulator) -> None:
    chains = {"openai/gpt-4o": ["nowhere/model"]}
    with _client(emulator, fallbacks=chains) as client, pytest.raises(cosmara.UnknownModelError):
        client.chat(model="openai/gpt-4o", messages=HI)
    assert emulator.request_count == 0


async def test_a_group_can_be_a_fallback(emulator: Emulator) -> None:
    # "If the model is down, the cheapest capable model of the team's group takes over."
    emulator.add_fault(Fault(status=503, match_model="gpt-4o"))
    config = {
        "groups": {
            "backup": {
                "models": ["openai/gpt-4o-mini", "groq/llama-3.1-8b-instant"],
                "strategy": "cost",
            }
        },
        "fallbacks": {"openai/gpt-4o": ["backup"]},
    }
    async with _client(emulator, **config) as client:
        by_call = await client.achat(model="openai/gpt-4o", messages=HI, fallbacks=["backup"])
        configured = client.chat(model="openai/gpt-4o", messages=HI)
        listed = [info.id for info in client.candidates("openai/gpt-4o") if info]
    for response in (by_call, configured):
        assert _tried(response) == [
            ("openai/gpt-4o", "ProviderUnavailableError"),
            ("groq/llama-3.1-8b-instant", None),  # the group's cheapest
        ]
        assert response.cosmara is not None
        assert "then backup" in response.cosmara.route.reason
    assert listed == ["openai/gpt-4o", "openai/gpt-4o-mini", "groq/llama-3.1-8b-instant"]


def test_a_fallback_without_credentials_is_passed_over(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    emulator.add_fault(Fault(status=503, match_model="gpt-4o-mini"))
    config = {"groups": {"backup": {"models": ["groq/llama-3.1-8b-instant"]}}}
    with _client(emulator, **config) as client:
        response = client.chat(
            model="openai/gpt-4o-mini",
            messages=HI,
            fallbacks=["anthropic/claude-haiku-4-5", "backup"],
        )
    assert [target for target, _ in _tried(response)] == [
        "openai/gpt-4o-mini",
        "groq/llama-3.1-8b-instant",
    ]
