"""Exact keys: two requests that differ in anything that changes the answer never share an
entry; the end-user id alone does not change it. Through the engine, against the emulator."""

from __future__ import annotations

from typing import Any

import pytest

from cosmara import ChatRequest, RequestContext
from cosmara.cache import VERSION, exact_key, scope_of
from cosmara.testing import Emulator
from tests.core.cache.conftest import MODEL, Make

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}
SCHEMA = {
    "type": "json_schema",
    "json_schema": {
        "name": "answer",
        "schema": {"type": "object", "properties": {"value": {"type": "integer"}}},
    },
}


def _base() -> dict[str, Any]:
    return {
        "model": MODEL,
        "messages": [
            {"role": "system", "content": "Answer briefly."},
            {"role": "user", "content": "What is 2+2?"},
            {"role": "assistant", "content": "4."},
            {"role": "user", "content": "And 3+3?"},
        ],
        "tools": [WEATHER],
        "tool_choice": "auto",
        "temperature": 0.2,
        "top_p": 0.9,
        "max_tokens": 50,
        "stop": ["\n\n"],
        "seed": 7,
        "n": 1,
        "reasoning_effort": "low",
        "presence_penalty": 0.1,  # a provider extra
        "org": "acme",
    }


def _swap(messages: list[dict[str, Any]], first: int, second: int) -> list[dict[str, Any]]:
    swapped = list(messages)
    swapped[first], swapped[second] = swapped[second], swapped[first]
    return swapped


# One case per field: the change made to the base request.
CASES: dict[str, Any] = {
    "model": {"model": "openai/gpt-4o"},
    "alias": {"model": "assistant"},  # an alias of the very same model
    "group": {"model": "mini-group"},  # a group whose only model is the same one
    "message content": lambda r: {
        "messages": [*r["messages"][:-1], {"role": "user", "content": "And 4+4?"}]
    },
    "message role": lambda r: {
        "messages": [{"role": "developer", "content": "Answer briefly."}, *r["messages"][1:]]
    },
    "message order": lambda r: {"messages": _swap(r["messages"], 1, 3)},
    "earlier turn": lambda r: {
        "messages": [
            r["messages"][0],
            r["messages"][1],
            {"role": "assistant", "content": "Four."},
            r["messages"][3],
        ]
    },
    "no tools": {"tools": None, "tool_choice": None},
    "tool parameters": {
        "tools": [
            {
                **WEATHER,
                "function": {
                    **WEATHER["function"],
                    "parameters": {"type": "object", "properties": {"town": {"type": "string"}}},
                },
            }
        ]
    },
    "tool_choice": {"tool_choice": "none"},
    "named tool_choice": {"tool_choice": {"type": "function", "function": {"name": "get_weather"}}},
    "response_format json_object": {"response_format": {"type": "json_object"}},
    "response_format json_schema": {"response_format": SCHEMA},
    "temperature": {"temperature": 0.3},
    "top_p": {"top_p": 0.8},
    "max_tokens": {"max_tokens": 51},
    "stop": {"stop": ["\n"]},
    "seed": {"seed": 8},
    "n": {"n": 2},
    "reasoning_effort": {"reasoning_effort": "high"},
    "provider extra value": {"presence_penalty": 0.2},
    "provider extra added": {"logit_bias": {"50256": -100}},
    "scope": {"org": "acme2"},
}


@pytest.mark.parametrize("field", list(CASES))
def test_a_request_differing_in_one_field_never_shares_an_entry(
    field: str, make_memory: Make, emulator: Emulator
) -> None:
    client = make_memory(
        config={
            "aliases": {"assistant": MODEL},
            "groups": {"mini-group": {"models": [MODEL]}},
        }
    )
    base = _base()
    change = CASES[field]
    other = {**base, **(change(base) if callable(change) else change)}
    other = {key: value for key, value in other.items() if value is not None}

    assert client.chat(**base).cosmara.cache == "miss"
    assert client.chat(**other).cosmara.cache == "miss", f"{field}: answered from the base entry"
    assert emulator.request_count == 2
    # Both were stored, each under its own key.
    assert client.chat(**base).cosmara.cache == "hit"
    assert client.chat(**other).cosmara.cache == "hit"
    assert emulator.request_count == 2
    assert client.cache is not None
    assert client.cache.store.kv.count("cache:default") == 2


def test_the_end_user_id_alone_does_not_change_the_key(
    make_memory: Make, emulator: Emulator
) -> None:
    client = make_memory()
    base = _base()
    first = client.chat(**base, user="ana")
    again = client.chat(**base, user="bob")  # the org's entry: scope org, same request
    assert (first.cosmara.cache, again.cosmara.cache) == ("miss", "hit")
    assert emulator.request_count == 1


def test_the_same_request_built_two_ways_shares_its_entry(
    make_memory: Make, emulator: Emulator
) -> None:
    client = make_memory()
    base = _base()
    client.chat(**base)
    context = {"org": base.pop("org")}
    request = ChatRequest.model_validate(dict(reversed(base.items())))  # another key order
    assert client.chat(request, **context).cosmara.cache == "hit"
    assert emulator.request_count == 1


def test_a_key_is_the_scope_then_a_versioned_hash() -> None:
    request = ChatRequest(model=MODEL, messages=[{"role": "user", "content": "Hi"}])
    context = RequestContext(org="acme", team="support", user="ana")
    key = exact_key(request, "default", scope_of("team", context))
    scope, _, digest = key.partition("|")
    assert scope == "org:acme/team:support"
    assert len(digest) == 64
    assert VERSION == 1
    # The namespace is hashed in: two namespaces never share a key.
    assert exact_key(request, "other", scope) != key
    assert scope_of("global", context) == "*"
    assert scope_of("user", context) == "org:acme/team:support/user:ana"
    # Names are quoted, so a name holding the separators cannot pose as another scope.
    assert scope_of("org", RequestContext(org="acme/team:x")) == "org:acme%2Fteam%3Ax"
