"""The cache stage on every path: chat, achat, stream and astream share entries; a streamed
miss is stored as it streams, a hit is replayed as chunks with the same final usage chunk;
``resp.cosmara`` says hit or miss, costs 0 on a hit and what it saved; events fire."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from cosmara import ChatChunk, ChatRequest, Cosmara, RequestContext, hookimpl
from cosmara.cache import exact_key, scope_of
from cosmara.testing import Emulator, FakeClock
from tests.core.cache.conftest import MODEL, Make, ask

MESSAGES = [{"role": "user", "content": "Name three colours"}]


class Recorder:
    """Keeps the cache events a client emits."""

    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []

    @hookimpl
    def cosmara_cache_hit(
        self,
        request: Any,
        response: Any,
        namespace: str,
        similarity: float | None,
        context: RequestContext,
    ) -> None:
        self.events.append(
            (
                "hit",
                {
                    "response": response,
                    "namespace": namespace,
                    "similarity": similarity,
                    "context": context,
                },
            )
        )

    @hookimpl
    def cosmara_cache_store(
        self, request: Any, response: Any, namespace: str, context: RequestContext
    ) -> None:
        self.events.append(
            ("store", {"response": response, "namespace": namespace, "context": context})
        )

    @hookimpl
    def cosmara_response(self, response: Any, context: RequestContext) -> None:
        self.events.append(("response", {"response": response}))


def _text(chunks: list[ChatChunk]) -> str:
    return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


def test_a_hit_costs_nothing_and_says_what_it_saved(make: Make, emulator: Emulator) -> None:
    client = make()
    miss = client.chat(model=MODEL, messages=MESSAGES)
    hit = client.chat(model=MODEL, messages=MESSAGES)
    assert emulator.request_count == 1
    assert miss.cosmara.cache == "miss"
    assert miss.cosmara.cost_usd
    assert miss.cosmara.cost_usd > 0
    assert miss.cosmara.cost_saved_usd is None
    assert hit.cosmara.cache == "hit"
    assert hit.cosmara.cost_usd == 0.0
    assert hit.cosmara.cost_saved_usd == miss.cosmara.cost_usd
    assert hit.cosmara.cache_similarity is None  # exact
    assert (hit.cosmara.provider, hit.cosmara.model) == (miss.cosmara.provider, miss.cosmara.model)
    assert hit.cosmara.attempts == []  # no provider was called
    assert hit.cosmara.route.strategy == "cache"
    assert hit.cosmara.context.org == "acme"
    assert hit.model_dump(exclude={"cosmara"}) == miss.model_dump(exclude={"cosmara"})


async def test_achat_shares_entries_with_chat(make: Make, emulator: Emulator) -> None:
    client = make()
    miss = await client.achat(model=MODEL, messages=MESSAGES)
    sync_hit = client.chat(model=MODEL, messages=MESSAGES)
    async_hit = await client.achat(model=MODEL, messages=MESSAGES)
    assert (miss.cosmara.cache, sync_hit.cosmara.cache, async_hit.cosmara.cache) == (
        "miss",
        "hit",
        "hit",
    )
    assert async_hit.cosmara.cost_saved_usd == miss.cosmara.cost_usd
    assert emulator.request_count == 1


def test_a_streamed_miss_is_stored_and_replayed_with_the_same_usage(
    make: Make, emulator: Emulator
) -> None:
    client = make()
    streamed = list(client.stream(model=MODEL, messages=MESSAGES))
    replayed = list(client.stream(model=MODEL, messages=MESSAGES))
    assert emulator.request_count == 1
    assert _text(replayed) == _text(streamed) == "Echo: Name three colours"
    first_final, final = streamed[-1], replayed[-1]
    assert final.choices == []
    assert first_final.choices == []
    assert final.usage == first_final.usage
    assert final.usage is not None
    assert final.usage.total_tokens > 0
    assert first_final.cosmara.cache == "miss"
    assert final.cosmara.cache == "hit"
    assert final.cosmara.cost_usd == 0.0
    assert final.cosmara.cost_saved_usd == first_final.cosmara.cost_usd
    assert [c.choices[0].finish_reason for c in replayed if c.choices][-1] == "stop"
    assert replayed[0].choices[0].delta.role == "assistant"
    assert sum(c.usage is not None for c in replayed) == 1  # usage once, on the final chunk
    # The whole answer a plain call gets from the streamed entry is the streamed answer.
    assert client.chat(model=MODEL, messages=MESSAGES).text == _text(streamed)


async def test_astream_replays_what_chat_stored(make: Make, emulator: Emulator) -> None:
    client = make()
    miss = client.chat(model=MODEL, messages=MESSAGES)
    replayed = [chunk async for chunk in client.astream(model=MODEL, messages=MESSAGES)]
    assert emulator.request_count == 1
    assert _text(replayed) == miss.text
    assert replayed[-1].usage == miss.usage
    assert replayed[-1].cosmara.cache == "hit"
    assert replayed[-1].cosmara.cost_saved_usd == miss.cosmara.cost_usd


async def test_an_astreamed_miss_is_stored(make: Make, emulator: Emulator) -> None:
    client = make()
    streamed = [chunk async for chunk in client.astream(model=MODEL, messages=MESSAGES)]
    assert streamed[-1].cosmara.cache == "miss"
    hit = await client.achat(model=MODEL, messages=MESSAGES)
    assert hit.cosmara.cache == "hit"
    assert hit.text == _text(streamed)
    assert hit.usage == streamed[-1].usage
    assert emulator.request_count == 1


def test_tool_calls_and_several_choices_replay_whole(make_memory: Make, emulator: Emulator) -> None:
    client = make_memory()
    tools = [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
            },
        }
    ]
    emulator.reply(
        tool_calls=[{"name": "get_weather", "arguments": {"city": "Paris"}, "id": "call_1"}]
    )
    stored = client.chat(model=MODEL, messages=MESSAGES, tools=tools)
    chunks = list(client.stream(model=MODEL, messages=MESSAGES, tools=tools))
    calls = [
        c.choices[0].delta.tool_calls for c in chunks if c.choices and c.choices[0].delta.tool_calls
    ]
    assert calls[0][0].function.name == "get_weather"
    assert (
        calls[0][0].function.arguments == stored.choices[0].message.tool_calls[0].function.arguments
    )
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "tool_calls"

    several = client.chat(model=MODEL, messages=MESSAGES, n=2)
    again = list(client.stream(model=MODEL, messages=MESSAGES, n=2))
    assert len(several.choices) == 2
    assert {c.choices[0].index for c in again if c.choices} == {0, 1}
    assert emulator.request_count == 2


def test_events_for_hit_and_store(make: Make) -> None:
    recorder = Recorder()
    client = make(plugins=(recorder,))
    miss = client.chat(model=MODEL, messages=MESSAGES, team="support")
    hit = client.chat(model=MODEL, messages=MESSAGES, team="support")
    kinds = [kind for kind, _ in recorder.events]
    # The store happens before cosmara_response, which reports the settled answer.
    assert kinds == ["store", "response", "hit", "response"]
    store, hit_event = recorder.events[0][1], recorder.events[2][1]
    assert store["namespace"] == "default"
    assert store["response"] is miss
    assert store["context"].team == "support"
    assert hit_event["response"] is hit
    assert hit_event["similarity"] is None
    assert hit_event["response"].cosmara.cost_saved_usd == miss.cosmara.cost_usd


def test_a_streamed_hit_fires_the_hit_event(make_memory: Make) -> None:
    recorder = Recorder()
    client = make_memory(plugins=(recorder,))
    list(client.stream(model=MODEL, messages=MESSAGES))
    list(client.stream(model=MODEL, messages=MESSAGES))
    assert [kind for kind, _ in recorder.events] == ["store", "response", "hit", "response"]


def test_an_observer_that_raises_does_not_break_the_cache(make_memory: Make) -> None:
    class Broken:
        @hookimpl
        def cosmara_cache_hit(self, namespace: str) -> None:
            raise RuntimeError("observer bug")

        @hookimpl
        def cosmara_cache_store(self, namespace: str) -> None:
            raise RuntimeError("observer bug")

    client = make_memory(plugins=(Broken(),))
    assert ask(client).cosmara.cache == "miss"
    assert ask(client).cosmara.cache == "hit"


def test_each_hit_is_a_fresh_response(make_memory: Make) -> None:
    client = make_memory()
    ask(client)
    first, second = ask(client), ask(client)
    assert first is not second
    first.choices[0].message.content = "changed by the caller"
    assert ask(client).text == "Echo: What is 2+2?"


def test_an_entry_keeps_no_secret_and_no_metadata(make_memory: Make) -> None:
    client = make_memory()
    ask(client)
    assert client.cache is not None
    request = ChatRequest(model=MODEL, messages=[{"role": "user", "content": "What is 2+2?"}])
    key = exact_key(request, "default", scope_of("org", RequestContext(org="acme")))
    raw = client.cache.store.kv.get("cache:default", key)
    assert raw is not None
    assert b"sk-test" not in raw
    assert b'"attempts"' not in raw  # resp.cosmara is not stored, only what a hit needs


def test_a_store_that_fails_on_lookup_lets_the_call_through(
    emulator: Emulator, fake_clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    providers = {"openai": {"base_url": emulator.base_url, "api_key": "sk-test"}}
    state = {"backend": "redis", "url": f"redis://127.0.0.1:{port}/0", "timeout": 0.5}
    with (
        Cosmara(
            {"providers": providers, "cache": {"enabled": True}, "state": state},
            load_entry_points=False,
        ) as client,
        caplog.at_level(logging.WARNING, logger="cosmara"),
    ):
        answer = ask(client)
    assert answer.text == "Echo: What is 2+2?"
    assert answer.cosmara.cache is None
    assert "cache" in caplog.text
    assert emulator.request_count == 1
