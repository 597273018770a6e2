"""Namespace settings on every backend: TTL expiry, the LRU bound, which models are cached;
and what the configuration refuses."""

from __future__ import annotations

import pytest

from cosmara import ConfigurationError, Cosmara
from cosmara.cache import CacheSettings, NamespaceSettings
from cosmara.testing import Emulator, FakeClock
from tests.core.cache.conftest import Make, ask


def test_an_entry_expires_after_the_namespace_ttl(
    make: Make, emulator: Emulator, fake_clock: FakeClock
) -> None:
    client = make({"default": {"ttl": 60}})
    ask(client)
    fake_clock.advance(59)
    assert ask(client).cosmara.cache == "hit"
    fake_clock.advance(2)
    assert ask(client).cosmara.cache == "miss"
    assert ask(client).cosmara.cache == "hit"  # stored again, for another 60 s
    assert emulator.request_count == 2


def test_no_ttl_keeps_entries(make: Make, fake_clock: FakeClock) -> None:
    client = make({"default": {"ttl": None}})
    ask(client)
    fake_clock.advance(400 * 86400)
    assert ask(client).cosmara.cache == "hit"


def test_max_entries_evicts_the_least_recently_used(make: Make, emulator: Emulator) -> None:
    client = make({"default": {"max_entries": 2}})
    ask(client, "one")
    ask(client, "two")
    assert ask(client, "one").cosmara.cache == "hit"  # "one" is now more recent than "two"
    ask(client, "three")  # evicts "two"
    assert client.cache is not None
    assert client.cache.namespace("default").count() == 2
    assert ask(client, "one").cosmara.cache == "hit"
    assert ask(client, "three").cosmara.cache == "hit"
    assert ask(client, "two").cosmara.cache == "miss"
    assert emulator.request_count == 4


def test_models_patterns_choose_what_is_cached(make: Make, emulator: Emulator) -> None:
    client = make(
        {"default": {"models": ["openai/gpt-4o-mini", "cheap-*"]}},
        config={"aliases": {"cheap-chat": "openai/gpt-4o-mini", "other": "openai/gpt-4o-mini"}},
    )
    for model in ("openai/gpt-4o-mini", "cheap-chat", "openai/gpt-4o", "other"):
        ask(client, model=model)
        again = ask(client, model=model)
        cached = model in ("openai/gpt-4o-mini", "cheap-chat")
        assert again.cosmara.cache == ("hit" if cached else None), model
    assert emulator.request_count == 6
    assert client.cache is not None
    assert client.cache.namespace("default").count() == 2


def test_patterns_match_the_name_the_caller_gave(make_memory: Make, emulator: Emulator) -> None:
    client = make_memory(
        {"default": {"models": ["openai/*"]}}, config={"aliases": {"assistant": "openai/gpt-4o"}}
    )
    ask(client, model="assistant")
    assert ask(client, model="assistant").cosmara.cache is None  # the alias is not openai/*
    assert ask(client, model="openai/gpt-4o").cosmara.cache == "miss"


def test_namespaces_have_their_own_bounds(make: Make) -> None:
    client = make({"small": {"max_entries": 1}, "big": {"max_entries": 10}})
    for text in ("a", "b", "c"):
        ask(client, text, cache_namespace="small")
        ask(client, text, cache_namespace="big")
    assert client.cache is not None
    assert client.cache.namespace("small").count() == 1
    assert client.cache.namespace("big").count() == 3


@pytest.mark.parametrize(
    "cache",
    [
        {"enabled": True, "namespace": "missing"},
        {"enabled": True, "namespaces": {"default": {"ttl": 0}}},
        {"enabled": True, "namespaces": {"default": {"max_entries": 0}}},
        {"enabled": True, "namespaces": {"default": {"scope": "team-ish"}}},
        {"enabled": True, "namespaces": {"default": {"type": "fuzzy"}}},
        {"enabled": True, "namespaces": {"default": {"threshold": 1.5}}},
        {"enabled": True, "namespaces": {"default": {"tll": 60}}},
        {"enabled": True, "namespaces": {}},
    ],
)
def test_bad_settings_are_configuration_errors(cache: dict[str, object]) -> None:
    with pytest.raises(ConfigurationError):
        Cosmara({"cache": cache}, load_entry_points=False)


def test_the_defaults() -> None:
    settings = CacheSettings()
    assert not settings.enabled
    assert settings.namespace == "default"
    assert settings.namespaces == {"default": NamespaceSettings()}
    default = settings.namespaces["default"]
    assert (default.type, default.scope, default.ttl, default.max_entries) == (
        "exact",
        "org",
        3600.0,
        10_000,
    )


def test_a_client_without_a_cache_has_none(emulator: Emulator) -> None:
    providers = {"openai": {"base_url": emulator.base_url, "api_key": "sk-test"}}
    with Cosmara(providers=providers, load_entry_points=False) as client:
        assert client.cache is None
        assert "cache" not in client.stages
        assert ask(client).cosmara.cache is None


def test_the_cache_stage_comes_before_routing(make_memory: Make) -> None:
    stages = make_memory().stages
    assert stages.index("cache") < stages.index("route")


@pytest.mark.parametrize(
    ("namespace", "message"),
    [
        ({"type": "semantic", "embedder": "nope"}, "embedder 'nope'"),
        ({"type": "semantic", "verifier": "strict"}, "verifier 'strict'"),
    ],
)
def test_an_unknown_embedder_or_verifier_fails_when_the_client_is_made(
    namespace: dict[str, str], message: str
) -> None:
    cache = {"enabled": True, "namespaces": {"default": namespace}}
    with pytest.raises(ConfigurationError, match=message):
        Cosmara({"cache": cache}, load_entry_points=False)
