"""Stored entries: a hit reads exactly as the original answer did; bytes of another format
are a miss, never an error."""

from __future__ import annotations

import json

from cosmara import ChatResponse
from cosmara.cache import Entry, exact_key, scope_of
from cosmara.testing import Emulator
from tests.core.cache.conftest import MODEL, Make, ask

WIRE = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "created": 1,
    "model": "gpt-4o-mini",
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "Hi", "refusal": None},
            "finish_reason": "stop",
            "logprobs": None,
        }
    ],
    "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
    "service_tier": "default",
}


def test_an_entry_round_trips_the_answer_as_it_came() -> None:
    response = ChatResponse.model_validate(WIRE)
    entry = Entry(response, 1.5e-6, "openai", "gpt-4o-mini", "Hello?", 1_700_000_000.0)
    loaded = Entry.loads(entry.dumps())
    assert loaded is not None
    assert (loaded.cost_usd, loaded.provider, loaded.model) == (1.5e-6, "openai", "gpt-4o-mini")
    assert (loaded.question, loaded.created) == ("Hello?", 1_700_000_000.0)
    # The same fields, nulls the provider sent included, and no default it did not send.
    dumped = loaded.response.model_dump(mode="json", exclude_unset=True)
    assert dumped == response.model_dump(mode="json", exclude_unset=True)
    assert dumped["choices"][0]["logprobs"] is None
    assert "prompt_tokens_details" not in dumped["usage"]


def test_bytes_of_another_format_are_not_an_entry() -> None:
    response = ChatResponse.model_validate(WIRE)
    good = json.loads(Entry(response, None, "openai", "gpt-4o-mini").dumps())
    assert Entry.loads(json.dumps({**good, "format": 99}).encode()) is None
    assert Entry.loads(json.dumps({**good, "response": {"id": 1}}).encode()) is None
    assert Entry.loads(b'{"format": 1, "cost_usd": 0.1}\n{"id": "x"}') is None  # version 1
    assert Entry.loads(b"not json") is None
    assert Entry.loads(b"") is None


def test_an_unreadable_entry_is_a_miss_and_is_replaced(make: Make, emulator: Emulator) -> None:
    client = make()
    assert client.cache is not None
    from cosmara import ChatRequest, RequestContext

    request = ChatRequest(model=MODEL, messages=[{"role": "user", "content": "What is 2+2?"}])
    key = exact_key(request, "default", scope_of("org", RequestContext(org="acme")))
    client.cache.store.kv.put("cache:default", key, b'{"format": 99}\n{}')
    assert ask(client).cosmara.cache == "miss"
    assert ask(client).cosmara.cache == "hit"
    assert emulator.request_count == 1
