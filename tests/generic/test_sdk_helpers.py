"""The openai SDK's helpers work unchanged on ``cosmara_generic``'s clients: ``parse``,
``.stream()``, ``with_raw_response``, ``with_streaming_response``, the cookbook tool loop;
and what Cosmara does not serve (the legacy Completions API) answers a clear 404."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import openai
import pytest
from pydantic import BaseModel

import cosmara_generic
from cosmara.testing import Emulator

MESSAGES = [{"role": "user", "content": "Hi"}]
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
            "additionalProperties": False,
        },
        "strict": True,
    },
}


class Event(BaseModel):
    name: str
    participants: list[str]


@pytest.fixture
def oa(emulator: Emulator) -> Iterator[cosmara_generic.OpenAI]:
    with cosmara_generic.OpenAI(
        base_url=emulator.base_url, api_key="sk-test", load_entry_points=False
    ) as client:
        yield client


@pytest.fixture
async def aoa(emulator: Emulator) -> AsyncIterator[cosmara_generic.AsyncOpenAI]:
    async with cosmara_generic.AsyncOpenAI(
        base_url=emulator.base_url, api_key="sk-test", load_entry_points=False
    ) as client:
        yield client


def test_parse_with_a_pydantic_model(emulator: Emulator, oa: cosmara_generic.OpenAI) -> None:
    emulator.reply(json.dumps({"name": "Science fair", "participants": ["Alice", "Bob"]}))
    completion = oa.chat.completions.parse(
        model="gpt-4o-mini", messages=MESSAGES, response_format=Event
    )
    assert completion.choices[0].message.parsed == Event(
        name="Science fair", participants=["Alice", "Bob"]
    )
    format_ = emulator.requests[-1].json["response_format"]
    assert format_["json_schema"]["name"] == "Event"
    assert format_["json_schema"]["strict"] is True


async def test_async_parse_and_raw_response(
    emulator: Emulator, aoa: cosmara_generic.AsyncOpenAI
) -> None:
    emulator.reply(json.dumps({"name": "Fair", "participants": ["Bo"]}))
    completion = await aoa.chat.completions.parse(
        model="gpt-4o-mini", messages=MESSAGES, response_format=Event
    )
    assert completion.choices[0].message.parsed == Event(name="Fair", participants=["Bo"])
    raw = await aoa.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=MESSAGES
    )
    assert raw.headers["x-cosmara-provider"] == "openai"
    assert raw.parse().choices[0].message.content == "Echo: Hi"


def test_parse_tool_arguments(emulator: Emulator, oa: cosmara_generic.OpenAI) -> None:
    emulator.reply(tool_calls=[{"name": "get_weather", "arguments": {"city": "Paris"}}])
    completion = oa.chat.completions.parse(
        model="gpt-4o-mini", messages=MESSAGES, tools=[WEATHER_TOOL]
    )
    call = completion.choices[0].message.tool_calls[0]  # type: ignore[index]
    assert call.function.parsed_arguments == {"city": "Paris"}  # type: ignore[union-attr]


def test_stream_helper(emulator: Emulator, oa: cosmara_generic.OpenAI) -> None:
    emulator.reply(json.dumps({"name": "Fair", "participants": ["Ana"]}))
    with oa.chat.completions.stream(
        model="gpt-4o-mini", messages=MESSAGES, response_format=Event
    ) as stream:
        kinds = {event.type for event in stream}
        final = stream.get_final_completion()
    assert {"chunk", "content.delta", "content.done"} <= kinds
    assert final.choices[0].message.parsed == Event(name="Fair", participants=["Ana"])


async def test_async_stream_helper(aoa: cosmara_generic.AsyncOpenAI) -> None:
    async with aoa.chat.completions.stream(model="gpt-4o-mini", messages=MESSAGES) as stream:
        pieces = [event.delta async for event in stream if event.type == "content.delta"]
    assert "".join(pieces) == "Echo: Hi"


def test_with_raw_response(oa: cosmara_generic.OpenAI) -> None:
    raw = oa.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=MESSAGES)
    assert raw.status_code == 200
    assert raw.headers["content-type"] == "application/json"
    assert raw.parse().choices[0].message.content == "Echo: Hi"
    raw_models = oa.models.with_raw_response.list()
    assert raw_models.parse().data


def test_with_streaming_response(oa: cosmara_generic.OpenAI) -> None:
    with oa.chat.completions.with_streaming_response.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True
    ) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in response.iter_lines() if line]
    assert lines[-1] == "data: [DONE]"
    contents = [json.loads(line[6:])["choices"][0]["delta"].get("content") for line in lines[:-1]]
    assert "".join(c for c in contents if c) == "Echo: Hi"


async def test_async_with_streaming_response(aoa: cosmara_generic.AsyncOpenAI) -> None:
    async with aoa.chat.completions.with_streaming_response.create(
        model="gpt-4o-mini", messages=MESSAGES
    ) as response:
        body = json.loads(await response.read())
    assert body["choices"][0]["message"]["content"] == "Echo: Hi"


def test_tool_loop_appending_the_message(emulator: Emulator, oa: cosmara_generic.OpenAI) -> None:
    """The cookbook loop: the SDK's message object goes back into ``messages`` as it is."""
    emulator.reply(tool_calls=[{"name": "get_weather", "arguments": {"city": "Paris"}}])
    emulator.reply("It is sunny in Paris.")
    messages: list[Any] = [{"role": "user", "content": "Weather in Paris?"}]
    response = oa.chat.completions.create(model="gpt-4o", messages=messages, tools=[WEATHER_TOOL])
    while response.choices[0].message.tool_calls:
        messages.append(response.choices[0].message)
        for call in response.choices[0].message.tool_calls:
            city = json.loads(call.function.arguments)["city"]  # type: ignore[union-attr]
            messages.append({"role": "tool", "tool_call_id": call.id, "content": f"sunny, {city}"})
        response = oa.chat.completions.create(
            model="gpt-4o", messages=messages, tools=[WEATHER_TOOL]
        )
    assert response.choices[0].message.content == "It is sunny in Paris."
    sent = emulator.requests[-1].json["messages"]
    assert sent[1]["role"] == "assistant"
    assert sent[1]["tool_calls"][0]["function"]["name"] == "get_weather"
    assert sent[2]["content"] == "sunny, Paris"


async def test_async_tool_loop(emulator: Emulator, aoa: cosmara_generic.AsyncOpenAI) -> None:
    emulator.reply(tool_calls=[{"name": "get_weather", "arguments": {"city": "Lima"}}])
    emulator.reply("Cloudy in Lima.")
    messages: list[Any] = [{"role": "user", "content": "Weather in Lima?"}]
    response = await aoa.chat.completions.create(
        model="gpt-4o", messages=messages, tools=[WEATHER_TOOL]
    )
    messages.append(response.choices[0].message)
    call = response.choices[0].message.tool_calls[0]  # type: ignore[index]
    messages.append({"role": "tool", "tool_call_id": call.id, "content": "cloudy"})
    response = await aoa.chat.completions.create(
        model="gpt-4o", messages=messages, tools=[WEATHER_TOOL]
    )
    assert response.choices[0].message.content == "Cloudy in Lima."


async def test_async_legacy_completions_are_a_clear_not_found(
    aoa: cosmara_generic.AsyncOpenAI,
) -> None:
    with pytest.raises(openai.NotFoundError, match="legacy Completions"):
        await aoa.completions.create(model="gpt-3.5-turbo-instruct", prompt="Say hi")


def test_legacy_completions_are_a_clear_not_found(
    emulator: Emulator, oa: cosmara_generic.OpenAI
) -> None:
    with pytest.raises(openai.NotFoundError, match="legacy Completions") as info:
        oa.completions.create(model="gpt-3.5-turbo-instruct", prompt="Say hi")
    assert info.value.code == "unsupported_endpoint"
    assert emulator.request_count == 0


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda c: c.files.list(), "GET /v1/files"),
        (lambda c: c.responses.retrieve("resp_1"), "stores nothing"),
        (lambda c: c.chat.completions.list(), "stores nothing"),
    ],
)
def test_unserved_endpoints_say_why(oa: cosmara_generic.OpenAI, call: Any, match: str) -> None:
    with pytest.raises(openai.NotFoundError, match=match):
        call(oa)
