"""Virtual models: built-in and configured groups, capability filtering, every strategy."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

import cosmara
from cosmara import Cosmara
from cosmara.testing import Emulator

HI = [{"role": "user", "content": "hi"}]
TOOL = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}
IMAGE = [
    {
        "role": "user",
        "content": [
            {"type": "text", "text": "what is this?"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
        ],
    }
]
MODELS = ["openai/gpt-4o-mini", "openai/gpt-4o", "groq/llama-3.1-8b-instant"]


def _client(emulator: Emulator, **groups: Any) -> Cosmara:
    providers = {
        "openai": {"base_url": emulator.base_url, "api_key": "sk-x"},
        "groq": {"base_url": emulator.base_url, "api_key": "gsk-x"},
    }
    # No retries: a failing candidate hands over to the next at once.
    config = {"providers": providers, "groups": groups, "retry": {"max_retries": 0}}
    return Cosmara(config, load_entry_points=False)


def _first(client: Cosmara, model: str, **kwargs: Any) -> str:
    response = client.chat(model=model, messages=kwargs.pop("messages", HI), **kwargs)
    assert response.cosmara is not None
    return f"{response.cosmara.provider}/{response.cosmara.model}"


@pytest.mark.parametrize(
    ("strategy", "expected"),
    [
        ("cost", "groq/llama-3.1-8b-instant"),  # $0.05/$0.08 per M: the cheapest
        ("quality", "openai/gpt-4o"),  # the highest catalog quality of the three
    ],
)
def test_static_strategies(emulator: Emulator, strategy: str, expected: str) -> None:
    with _client(emulator, team={"models": MODELS, "strategy": strategy}) as client:
        assert _first(client, "team") == expected
        route = client.chat(model="team", messages=HI).cosmara.route  # type: ignore[union-attr]
    assert route.strategy == strategy
    assert "group 'team'" in route.reason
    assert set(route.candidates) == set(MODELS)


def test_capability_filtering_before_the_strategy(emulator: Emulator) -> None:
    with _client(emulator, team={"models": MODELS, "strategy": "cost"}) as client:
        # llama-3.1-8b-instant takes no images: the cheapest vision model is gpt-4o-mini.
        assert _first(client, "team", messages=IMAGE) == "openai/gpt-4o-mini"
        only = {"models": ["groq/llama-3.1-8b-instant"], "strategy": "cost"}
    with (
        _client(emulator, text_only=only) as client,
        pytest.raises(cosmara.RequestValidationError, match="vision"),
    ):
        client.chat(model="text_only", messages=IMAGE)
    assert [r.json["model"] for r in emulator.requests] == ["gpt-4o-mini"]


def test_latency_strategy_follows_observed_latency(emulator: Emulator) -> None:
    from cosmara.testing import Fault

    with _client(emulator, team={"models": MODELS[:2], "strategy": "latency"}) as client:
        emulator.add_fault(Fault(delay=0.2, match_model="gpt-4o"))
        client.chat(model="openai/gpt-4o", messages=HI)
        client.chat(model="openai/gpt-4o-mini", messages=HI)
        assert _first(client, "team") == "openai/gpt-4o-mini"


def test_weighted_split_follows_the_weights(emulator: Emulator) -> None:
    weights = {"openai/gpt-4o-mini": 3, "groq/llama-3.1-8b-instant": 1}
    group = {"models": [*weights], "strategy": "weighted", "weights": weights}
    with _client(emulator, split=group) as client:
        counts = Counter(_first(client, "split") for _ in range(200))
    assert 110 <= counts["openai/gpt-4o-mini"] <= 190  # 150 expected
    assert counts["groq/llama-3.1-8b-instant"] > 10


def test_sticky_keeps_a_user_on_one_target(emulator: Emulator) -> None:
    with _client(emulator, chat={"models": MODELS, "strategy": "sticky"}) as client:
        for user in ("ana", "bo", "cy"):
            assert len({_first(client, "chat", user=user) for _ in range(5)}) == 1
        firsts = {_first(client, "chat", user=f"user-{i}") for i in range(30)}
    assert len(firsts) > 1  # different users spread over the targets


def test_group_falls_back_within_its_candidates(emulator: Emulator) -> None:
    from cosmara.testing import Fault

    emulator.add_fault(Fault(status=503, match_model="llama-3.1-8b-instant"))
    with _client(emulator, team={"models": MODELS, "strategy": "cost"}) as client:
        response = client.chat(model="team", messages=HI)
    assert [a.error for a in response.cosmara.attempts] == ["ProviderUnavailableError", None]  # type: ignore[union-attr]


def test_builtin_groups_use_only_providers_with_keys(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    for variable in ("OPENAI_API_KEY", "GROQ_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY"):
        monkeypatch.delenv(variable, raising=False)
    with _client(emulator) as client:
        for group in ("auto", "cheap", "best", "fast"):
            provider = _first(client, group).split("/")[0]
            assert provider in ("openai", "groq")
        assert _first(client, "cheap", tools=[TOOL]).split("/")[0] in ("openai", "groq")


def test_an_alias_wins_over_a_builtin_group(emulator: Emulator) -> None:
    providers = {"openai": {"base_url": emulator.base_url, "api_key": "sk-x"}}
    with Cosmara(providers=providers, aliases={"best": "openai/gpt-4o-mini"}) as client:
        assert client.chat(model="best", messages=HI).cosmara.route.strategy == "alias"  # type: ignore[union-attr]


def test_custom_strategy_through_the_plugin_hook(emulator: Emulator) -> None:
    class Reverse:
        @cosmara.hookimpl
        def cosmara_register_strategies(self, register: Any) -> None:
            register("alphabetical", lambda candidates, *_: sorted(candidates, key=lambda t: t.id))

    providers = {
        "openai": {"base_url": emulator.base_url, "api_key": "sk-x"},
        "groq": {"base_url": emulator.base_url, "api_key": "gsk-x"},
    }
    config = {
        "providers": providers,
        "groups": {"g": {"models": MODELS, "strategy": "alphabetical"}},
    }
    with Cosmara(config, plugins=[Reverse()], load_entry_points=False) as client:
        assert _first(client, "g") == "groq/llama-3.1-8b-instant"


def test_unknown_strategy_is_a_configuration_error(emulator: Emulator) -> None:
    with (
        _client(emulator, g={"models": MODELS, "strategy": "psychic"}) as client,
        pytest.raises(cosmara.ConfigurationError, match="psychic"),
    ):
        client.chat(model="g", messages=HI)
    assert emulator.request_count == 0
