"""Per-call options: ``cache=False`` (no lookup, still stores), ``no_store=True``,
``cache_ttl=`` and ``cache_namespace=``; bad values are refused before anything is sent."""

from __future__ import annotations

from typing import Any

import pytest

from cosmara import RequestValidationError
from cosmara.testing import Emulator, FakeClock
from tests.core.cache.conftest import Make, ask


def test_cache_false_skips_the_lookup_but_stores(make: Make, emulator: Emulator) -> None:
    client = make()
    ask(client)
    fresh = ask(client, cache=False)
    assert fresh.cosmara.cache is None  # not looked up: neither a hit nor a miss
    assert emulator.request_count == 2
    emulator.reply("a newer answer")
    assert ask(client, "Another question", cache=False).text == "a newer answer"
    assert ask(client, "Another question").text == "a newer answer"  # stored by cache=False
    assert emulator.request_count == 3


def test_cache_false_replaces_a_stored_answer(make_memory: Make, emulator: Emulator) -> None:
    client = make_memory()
    ask(client)
    emulator.reply("refreshed")
    ask(client, cache=False)
    assert ask(client).text == "refreshed"


def test_no_store_looks_up_but_never_writes(make: Make, emulator: Emulator) -> None:
    client = make()
    assert ask(client, no_store=True).cosmara.cache == "miss"
    assert ask(client, no_store=True).cosmara.cache == "miss"
    assert client.cache is not None
    assert client.cache.namespace("default").count() == 0
    ask(client)
    assert ask(client, no_store=True).cosmara.cache == "hit"  # a lookup still answers
    assert emulator.request_count == 3


def test_cache_false_and_no_store_leave_the_cache_alone(make_memory: Make) -> None:
    client = make_memory()
    assert ask(client, cache=False, no_store=True).cosmara.cache is None
    assert client.cache is not None
    assert client.cache.namespace("default").count() == 0


def test_cache_ttl_sets_this_answers_lifetime(
    make: Make, emulator: Emulator, fake_clock: FakeClock
) -> None:
    client = make({"default": {"ttl": 3600}})
    ask(client, "short", cache_ttl=10)
    ask(client, "long")
    fake_clock.advance(11)
    assert ask(client, "short").cosmara.cache == "miss"
    assert ask(client, "long").cosmara.cache == "hit"
    assert emulator.request_count == 3


def test_cache_ttl_none_keeps_an_answer_past_the_namespace_ttl(
    make_memory: Make, fake_clock: FakeClock
) -> None:
    client = make_memory({"default": {"ttl": 60}})
    ask(client, cache_ttl=None)
    fake_clock.advance(10 * 365 * 86400)
    assert ask(client).cosmara.cache == "hit"


def test_cache_namespace_uses_another_namespace(make: Make, emulator: Emulator) -> None:
    client = make({"default": {}, "faq": {"scope": "global", "ttl": 86400}})
    ask(client, cache_namespace="faq", org="acme")
    assert ask(client, cache_namespace="faq", org="other").cosmara.cache == "hit"
    assert ask(client, org="acme").cosmara.cache == "miss"  # the default namespace is apart
    assert emulator.request_count == 2
    assert client.cache is not None
    assert client.cache.namespace("faq").count() == 1
    assert client.cache.namespace("default").count() == 1
    hit = ask(client, cache_namespace="faq")
    assert hit.cosmara.route.reason == "exact hit in cache namespace 'faq'"


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("cache", "no", "cache and no_store"),
        ("cache", None, "cache and no_store"),
        ("cache", 0, "cache and no_store"),
        ("no_store", "yes", "cache and no_store"),
        ("cache_ttl", 0, "cache_ttl"),
        ("cache_ttl", -5, "cache_ttl"),
        ("cache_ttl", float("nan"), "cache_ttl"),
        ("cache_ttl", float("inf"), "cache_ttl"),
        ("cache_ttl", True, "cache_ttl"),
        ("cache_ttl", "60", "cache_ttl"),
        ("cache_namespace", "missing", "cache_namespace"),
        ("cache_namespace", 5, "cache_namespace"),
        ("cache_namespace", ["default"], "cache_namespace"),
        ("cache_namespace", "", "cache_namespace"),
    ],
)
def test_bad_values_are_refused_before_anything_is_sent(
    make_memory: Make, emulator: Emulator, option: str, value: Any, message: str
) -> None:
    client = make_memory()
    with pytest.raises(RequestValidationError, match=message):
        ask(client, **{option: value})
    with pytest.raises(RequestValidationError, match=message):  # at the call, not iterating
        client.stream(
            model="openai/gpt-4o-mini",
            messages=[{"role": "user", "content": "x"}],
            **{option: value},
        )
    assert emulator.request_count == 0


async def test_bad_values_are_refused_on_the_async_paths_too(
    make_memory: Make, emulator: Emulator
) -> None:
    client = make_memory()
    messages = [{"role": "user", "content": "x"}]
    with pytest.raises(RequestValidationError, match="cache_ttl"):
        await client.achat(model="openai/gpt-4o-mini", messages=messages, cache_ttl=-1)
    with pytest.raises(RequestValidationError, match="cache_namespace"):  # before iterating
        client.astream(model="openai/gpt-4o-mini", messages=messages, cache_namespace="nope")
    assert emulator.request_count == 0


def test_options_are_never_sent_to_the_provider(make_memory: Make, emulator: Emulator) -> None:
    client = make_memory({"default": {}, "other": {}})
    ask(client, cache=True, no_store=False, cache_ttl=30, cache_namespace="other")
    body = emulator.requests[-1].json
    assert not {"cache", "no_store", "cache_ttl", "cache_namespace"} & set(body)


@pytest.mark.parametrize("config", [{}, {"cache": {"enabled": False}}], ids=["none", "off"])
def test_a_client_without_a_cache_never_sends_its_options(
    emulator: Emulator, config: dict[str, Any]
) -> None:
    from cosmara import Cosmara

    providers = {"openai": {"base_url": emulator.base_url, "api_key": "sk-x"}}
    client = Cosmara({"providers": providers, **config}, load_entry_points=False)
    options = {"cache": False, "no_store": True, "cache_ttl": 5, "cache_namespace": "x"}
    client.chat(model="openai/gpt-4o-mini", messages=[{"role": "user", "content": "Hi"}], **options)
    body = emulator.requests[-1].json
    assert not set(options) & set(body)
