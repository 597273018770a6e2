"""The Responses API on every provider, translated to Chat Completions: text, tools (function
tools, function_call and function_call_output items), streaming with OpenAI's event sequence,
the SDK's ``responses.stream`` / ``responses.parse`` helpers; on the emulator, on Anthropic
(replayed from the project's conformance cassettes) and on an in-process provider plugin."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from pydantic import BaseModel

import cosmara
import cosmara_generic
from cosmara import ChatChunk, ChatRequest, ChunkChoice, Cosmara, Delta
from cosmara.providers import LocalProvider
from cosmara.testing import Emulator, Fault
from tests.core.conformance import scenarios as s
from tests.core.conformance.case_anthropic import CASE as ANTHROPIC
from tests.support.recordings import cassette, replay

WEATHER_TOOL = {
    "type": "function",
    "name": "get_weather",
    "description": "Current weather for a city",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string", "description": "City name"}},
        "required": ["city"],
    },
}
TEXT_EVENTS = [
    "response.created",
    "response.in_progress",
    "response.output_item.added",
    "response.content_part.added",
    "response.output_text.delta",
    "response.output_text.done",
    "response.content_part.done",
    "response.output_item.done",
    "response.completed",
]


class Capital(BaseModel):
    city: str
    country: str


@pytest.fixture
def oa(emulator: Emulator) -> Iterator[cosmara_generic.OpenAI]:
    with cosmara_generic.OpenAI(
        base_url=emulator.base_url, api_key="sk-test", load_entry_points=False
    ) as client:
        yield client


def _kinds(events: list[Any]) -> list[str]:
    """Event types, with runs of the same delta event folded into one."""
    kinds: list[str] = []
    for event in events:
        if not (kinds and kinds[-1] == event.type and event.type.endswith(".delta")):
            kinds.append(event.type)
    return kinds


# --- on the emulator (an OpenAI-shaped provider) ------------------------------------------------


def test_text(emulator: Emulator, oa: cosmara_generic.OpenAI) -> None:
    response = oa.responses.create(
        model="gpt-4o-mini", instructions="Be brief.", input="Hello", max_output_tokens=50
    )
    assert isinstance(response, openai.types.responses.Response)
    assert response.output_text == "Echo: Hello"
    assert response.status == "completed"
    assert response.id.startswith("resp_")
    [message] = response.output
    assert (message.type, message.role, message.status) == ("message", "assistant", "completed")
    assert response.usage is not None
    usage = response.usage
    assert usage.output_tokens > 0
    assert usage.total_tokens == usage.input_tokens + usage.output_tokens
    assert (response.instructions, response.max_output_tokens) == ("Be brief.", 50)
    sent = emulator.requests[-1].json
    assert sent["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hello"},
    ]
    assert sent["max_completion_tokens"] == 50


def test_message_items_and_parts(emulator: Emulator, oa: cosmara_generic.OpenAI) -> None:
    oa.responses.create(
        model="gpt-4o-mini",
        input=[
            {"role": "developer", "content": "Answer in French."},
            {
                "role": "user",
                "content": [
                    {"type": "input_text", "text": "What is this?"},
                    {"type": "input_image", "image_url": "https://x/y.png", "detail": "low"},
                ],
            },
            {
                "type": "message",
                "role": "assistant",
                "content": [{"type": "output_text", "text": "Une image."}],
            },
            {"role": "user", "content": "Merci"},
        ],
    )
    assert emulator.requests[-1].json["messages"] == [
        {"role": "developer", "content": "Answer in French."},
        {"role": "user", "content": [
            {"type": "text", "text": "What is this?"},
            {"type": "image_url", "image_url": {"url": "https://x/y.png", "detail": "low"}},
        ]},
        {"role": "assistant", "content": "Une image."},
        {"role": "user", "content": "Merci"},
    ]  # fmt: skip


def test_tools_round_trip(emulator: Emulator, oa: cosmara_generic.OpenAI) -> None:
    emulator.reply(
        tool_calls=[
            {"name": "get_weather", "arguments": {"city": "Paris"}, "id": "call_1"},
            {"name": "get_weather", "arguments": {"city": "Tokyo"}, "id": "call_2"},
        ]
    )
    first = oa.responses.create(
        model="gpt-4o", input=s.WEATHER_QUESTION, tools=[WEATHER_TOOL], tool_choice="auto"
    )
    calls = [item for item in first.output if item.type == "function_call"]
    assert [(c.call_id, c.name, json.loads(c.arguments)) for c in calls] == [
        ("call_1", "get_weather", {"city": "Paris"}),
        ("call_2", "get_weather", {"city": "Tokyo"}),
    ]
    sent = emulator.requests[-1].json
    assert sent["tools"][0]["function"]["name"] == "get_weather"
    assert sent["tool_choice"] == "auto"

    emulator.reply(s.WEATHER_ANSWER)
    outputs = [
        {"type": "function_call_output", "call_id": call.call_id, "output": result}
        for call, result in zip(calls, s.TOOL_RESULTS, strict=True)
    ]
    second = oa.responses.create(
        model="gpt-4o",
        input=[{"role": "user", "content": s.WEATHER_QUESTION}, *first.output, *outputs],
        tools=[WEATHER_TOOL],
    )
    assert second.output_text == s.WEATHER_ANSWER
    messages = emulator.requests[-1].json["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "tool", "tool"]
    assert [c["id"] for c in messages[1]["tool_calls"]] == ["call_1", "call_2"]
    assert messages[2] == {"role": "tool", "tool_call_id": "call_1", "content": "sunny, 21 C"}


def test_stream_events(oa: cosmara_generic.OpenAI) -> None:
    events = list(oa.responses.create(model="gpt-4o-mini", input="Stream me", stream=True))
    assert _kinds(events) == TEXT_EVENTS
    assert [event.sequence_number for event in events] == list(range(len(events)))
    deltas = [e.delta for e in events if e.type == "response.output_text.delta"]
    assert len(deltas) > 1
    assert "".join(deltas) == "Echo: Stream me"
    done = events[-1].response
    assert done.output_text == "Echo: Stream me"
    assert done.usage is not None
    assert done.usage.output_tokens > 0
    assert len({events[0].response.id, done.id}) == 1


def test_stream_tool_calls(emulator: Emulator, oa: cosmara_generic.OpenAI) -> None:
    emulator.reply(
        tool_calls=[
            {"name": "get_weather", "arguments": {"city": "Paris"}},
            {"name": "get_weather", "arguments": {"city": "Tokyo"}},
        ]
    )
    events = list(
        oa.responses.create(model="gpt-4o", input="Weather?", tools=[WEATHER_TOOL], stream=True)
    )
    assert _kinds(events) == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.function_call_arguments.delta",
        "response.output_item.added",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.completed",
    ]
    final = events[-1].response
    assert [json.loads(item.arguments) for item in final.output] == s.TOOL_ARGUMENTS
    assert all(item.status == "completed" for item in final.output)


def test_stream_helper_and_parse(emulator: Emulator, oa: cosmara_generic.OpenAI) -> None:
    with oa.responses.stream(model="gpt-4o-mini", input="Helper") as stream:
        texts = [event.delta for event in stream if event.type == "response.output_text.delta"]
    assert "".join(texts) == "Echo: Helper"
    assert stream.get_final_response().output_text == "Echo: Helper"

    emulator.reply(json.dumps(s.STRUCTURED_ANSWER))
    parsed = oa.responses.parse(model="gpt-4o-mini", input=s.QUESTION, text_format=Capital)
    assert parsed.output_parsed == Capital(city="Paris", country="France")
    format_ = emulator.requests[-1].json["response_format"]
    assert (format_["type"], format_["json_schema"]["name"]) == ("json_schema", "Capital")


async def test_async_create_and_stream(emulator: Emulator) -> None:
    async with cosmara_generic.AsyncOpenAI(
        base_url=emulator.base_url, api_key="sk-test", load_entry_points=False
    ) as client:
        response = await client.responses.create(model="gpt-4o-mini", input="Async")
        assert response.output_text == "Echo: Async"
        stream = await client.responses.create(model="gpt-4o-mini", input="Async", stream=True)
        events = [event async for event in stream]
        assert _kinds(events) == TEXT_EVENTS
        async with client.responses.stream(model="gpt-4o-mini", input="Helper") as helper:
            final = await helper.get_final_response()
        assert final.output_text == "Echo: Helper"


def test_cut_by_max_output_tokens_is_incomplete(
    emulator: Emulator, oa: cosmara_generic.OpenAI
) -> None:
    emulator.reply("Echo", finish_reason="length")
    response = oa.responses.create(model="gpt-4o-mini", input="Long", max_output_tokens=1)
    assert response.status == "incomplete"
    assert response.incomplete_details is not None
    assert response.incomplete_details.reason == "max_output_tokens"
    emulator.reply("Echo", finish_reason="length")
    events = list(
        oa.responses.create(model="gpt-4o-mini", input="Long", max_output_tokens=1, stream=True)
    )
    assert events[-1].type == "response.incomplete"
    assert events[-1].response.output[0].status == "incomplete"


def test_fallbacks_and_cost(emulator: Emulator, oa: cosmara_generic.OpenAI) -> None:
    emulator.add_fault(Fault(status=503, match_model="gpt-4o"))
    raw = oa.with_options(max_retries=0).responses.with_raw_response.create(
        model="gpt-4o", input="Hi", extra_body={"fallbacks": ["openai/gpt-4o-mini"]}
    )
    assert raw.parse().output_text == "Echo: Hi"
    assert raw.headers["x-cosmara-attempts"] == "2"
    assert raw.headers["x-cosmara-model"] == "gpt-4o-mini"
    assert float(raw.headers[cosmara_generic.COST_HEADER]) > 0


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"previous_response_id": "resp_1"}, "previous_response_id"),
        ({"tools": [{"type": "web_search"}]}, "web_search"),
        ({"input": [{"type": "item_reference", "id": "msg_1"}]}, "item_reference"),
        ({"no_such_parameter": 1}, "no_such_parameter"),
    ],
)
def test_refused_before_sending(
    emulator: Emulator, oa: cosmara_generic.OpenAI, options: dict[str, Any], match: str
) -> None:
    arguments = {"model": "gpt-4o-mini", "input": "Hi", **options}
    extra = {k: arguments.pop(k) for k in ("no_such_parameter",) if k in arguments}
    with pytest.raises(openai.BadRequestError, match=match):
        oa.responses.create(**arguments, extra_body=extra or None)
    assert emulator.request_count == 0


# --- on Anthropic, replayed from the conformance cassettes --------------------------------------


def _anthropic_engine() -> Cosmara:
    return Cosmara(providers={"anthropic": ANTHROPIC.settings}, load_entry_points=False)


def _recorded(scenario: str) -> list[Any]:
    return [i.request_json for i in cassette(ANTHROPIC.cassette(scenario)) if i.request_body]


def _anthropic(scenario: str, tmp_path: Path, run: Callable[[openai.OpenAI], Any]) -> Any:
    """Run ``run`` against Anthropic's recorded answers for ``scenario``; the Messages API
    bodies sent must be the recorded ones: the chat request the translation produced is
    exactly the one the conformance suite sends."""
    with (
        _anthropic_engine() as engine,
        replay(cassette(ANTHROPIC.cassette(scenario)), tmp_path) as sent,
    ):
        result = run(cosmara_generic.OpenAI(client=engine, max_retries=0))
    assert sent == _recorded(scenario)
    return result


def test_anthropic_text(tmp_path: Path) -> None:
    response = _anthropic(
        "plain",
        tmp_path,
        lambda c: c.responses.create(
            model=ANTHROPIC.model, instructions=s.SYSTEM, input=s.QUESTION, max_output_tokens=100
        ),
    )
    assert response.output_text == s.ANSWER
    usage = (response.usage.input_tokens, response.usage.output_tokens)
    assert usage == ANTHROPIC.usage["plain"]


def test_anthropic_stream(tmp_path: Path) -> None:
    events = _anthropic(
        "stream",
        tmp_path,
        lambda c: list(
            c.responses.create(
                model=ANTHROPIC.model,
                instructions=s.SYSTEM,
                input=s.QUESTION,
                max_output_tokens=100,
                stream=True,
            )
        ),
    )
    assert _kinds(events) == TEXT_EVENTS
    final = events[-1].response
    assert final.output_text == s.ANSWER
    assert (final.usage.input_tokens, final.usage.output_tokens) == ANTHROPIC.usage["stream"]
    assert final.usage.input_tokens_details.cache_write_tokens == 1200


def test_anthropic_tools(tmp_path: Path) -> None:
    response = _anthropic(
        "tools",
        tmp_path,
        lambda c: c.responses.create(
            model=ANTHROPIC.model,
            input=s.WEATHER_QUESTION,
            tools=[WEATHER_TOOL],
            max_output_tokens=200,
        ),
    )
    calls = [item for item in response.output if item.type == "function_call"]
    assert [c.call_id for c in calls] == ANTHROPIC.call_ids
    assert [json.loads(c.arguments) for c in calls] == s.TOOL_ARGUMENTS


def test_anthropic_stream_tools(tmp_path: Path) -> None:
    def run(client: openai.OpenAI) -> Any:
        with client.responses.stream(
            model=ANTHROPIC.model,
            input=s.WEATHER_QUESTION,
            tools=[WEATHER_TOOL],
            max_output_tokens=200,
        ) as stream:
            for _ in stream:
                pass
            return stream.get_final_response()

    final = _anthropic("stream_tools", tmp_path, run)
    calls = [item for item in final.output if item.type == "function_call"]
    assert [c.call_id for c in calls] == ANTHROPIC.stream_call_ids
    assert [json.loads(c.arguments) for c in calls] == s.TOOL_ARGUMENTS


def test_anthropic_function_call_outputs(tmp_path: Path) -> None:
    calls = [
        {"type": "function_call", "call_id": call_id, "name": "get_weather",
         "arguments": json.dumps(arguments)}
        for call_id, arguments in zip(ANTHROPIC.call_ids, s.TOOL_ARGUMENTS, strict=True)
    ]  # fmt: skip
    outputs = [
        {"type": "function_call_output", "call_id": call_id, "output": result}
        for call_id, result in zip(ANTHROPIC.call_ids, s.TOOL_RESULTS, strict=True)
    ]
    response = _anthropic(
        "tool_result",
        tmp_path,
        lambda c: c.responses.create(
            model=ANTHROPIC.model,
            input=[{"role": "user", "content": s.WEATHER_QUESTION}, *calls, *outputs],
            tools=[WEATHER_TOOL],
            max_output_tokens=200,
        ),
    )
    assert response.output_text == s.WEATHER_ANSWER


def test_anthropic_structured(tmp_path: Path) -> None:
    schema = {"type": "json_schema", "name": "capital", "schema": s.CAPITAL_SCHEMA, "strict": True}
    response = _anthropic(
        "structured",
        tmp_path,
        lambda c: c.responses.create(
            model=ANTHROPIC.model,
            input=s.QUESTION,
            text={"format": schema},
            max_output_tokens=100,
        ),
    )
    assert json.loads(response.output_text) == s.STRUCTURED_ANSWER


# --- on an in-process provider plugin ---------------------------------------------------------


class Thinker(LocalProvider):
    """Thinks aloud (reasoning deltas), then answers, then calls a tool."""

    kind = "thinker"

    def chat(self, request: ChatRequest, model: str) -> Any:
        raise NotImplementedError

    def stream(self, request: ChatRequest, model: str) -> Iterator[ChatChunk]:
        def chunk(**delta: Any) -> ChatChunk:
            return ChatChunk(id="t", model=model, choices=[ChunkChoice(delta=Delta(**delta))])

        yield chunk(reasoning_content="Let me ")
        yield chunk(reasoning_content="think.")
        yield chunk(content="Checking ")
        yield chunk(content="the weather.")
        yield chunk(
            tool_calls=[{"index": 0, "id": "call_t", "type": "function",
                         "function": {"name": "get_weather", "arguments": '{"city"'}}]
        )  # fmt: skip
        yield chunk(tool_calls=[{"index": 0, "function": {"arguments": ': "Rome"}'}}])
        yield ChatChunk(
            id="t", model=model, choices=[ChunkChoice(delta=Delta(), finish_reason="tool_calls")]
        )


class ThinkerPlugin:
    @cosmara.hookimpl
    def cosmara_register_providers(self, register: Callable[..., None]) -> None:
        register("thinker", Thinker)


def test_plugin_provider_reasoning_text_and_tools() -> None:
    engine = Cosmara(providers={"thinker": {}}, plugins=[ThinkerPlugin()], load_entry_points=False)
    client = cosmara_generic.OpenAI(client=engine)
    events = list(client.responses.create(model="thinker/t1", input="Rome?", stream=True))
    assert _kinds(events) == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.reasoning_text.delta",
        "response.reasoning_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.output_item.added",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.completed",
    ]
    reasoning, message, call = events[-1].response.output
    assert reasoning.content[0].text == "Let me think."
    assert message.content[0].text == "Checking the weather."
    assert (call.call_id, json.loads(call.arguments)) == ("call_t", {"city": "Rome"})
    assert [e.output_index for e in events if e.type == "response.output_item.done"] == [0, 1, 2]


def test_echo_plugin_provider() -> None:
    from cosmara_plugin_echo import EchoProvider

    class EchoPlugin:
        @cosmara.hookimpl
        def cosmara_register_providers(self, register: Callable[..., None]) -> None:
            register("echo", EchoProvider)

    engine = Cosmara(providers={"echo": {}}, plugins=[EchoPlugin()], load_entry_points=False)
    client = cosmara_generic.OpenAI(client=engine)
    assert client.responses.create(model="echo/e1", input="hi there").output_text == (
        "e1 says: hi there"
    )
    events = list(client.responses.create(model="echo/e1", input="hi there", stream=True))
    assert events[-1].response.output_text == "e1 says: hi there"
