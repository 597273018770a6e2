"""Libraries that take an openai client, run unchanged on ``cosmara_generic``'s (the emulator
plays the provider): instructor, pydantic-ai and openai-agents."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import agents
import instructor
import pytest
from pydantic import BaseModel

import cosmara_generic
from cosmara.testing import Emulator, Fault

MODEL = "gpt-4o-mini"


class UserInfo(BaseModel):
    name: str
    age: int


class City(BaseModel):
    name: str
    country: str


@pytest.fixture
def oa(emulator: Emulator) -> Iterator[cosmara_generic.OpenAI]:
    with cosmara_generic.OpenAI(
        base_url=emulator.base_url, api_key="sk-test-libs", load_entry_points=False
    ) as client:
        yield client


@pytest.fixture
async def aoa(emulator: Emulator) -> AsyncIterator[cosmara_generic.AsyncOpenAI]:
    async with cosmara_generic.AsyncOpenAI(
        base_url=emulator.base_url, api_key="sk-test-libs", load_entry_points=False
    ) as client:
        yield client


# --- instructor ------------------------------------------------------------------------------


def test_instructor_from_openai(emulator: Emulator, oa: cosmara_generic.OpenAI) -> None:
    client = instructor.from_openai(oa)
    emulator.reply(tool_calls=[{"name": "UserInfo", "arguments": {"name": "Ana", "age": "old"}}])
    emulator.reply(tool_calls=[{"name": "UserInfo", "arguments": {"name": "Ana", "age": 31}}])
    user = client.chat.completions.create(
        model=MODEL,
        response_model=UserInfo,
        max_retries=2,
        messages=[{"role": "user", "content": "Ana is 31."}],
    )
    assert (user.name, user.age) == ("Ana", 31)
    # The validation error went back to the model, in the second request.
    first, second = (request.json for request in emulator.requests)
    assert first["tools"][0]["function"]["name"] == "UserInfo"
    assert "age" in json.dumps(second["messages"][-1])


async def test_instructor_from_openai_async(
    emulator: Emulator, aoa: cosmara_generic.AsyncOpenAI
) -> None:
    client = instructor.from_openai(aoa)
    emulator.reply(tool_calls=[{"name": "UserInfo", "arguments": {"name": "Bo", "age": 40}}])
    user = await client.chat.completions.create(
        model=MODEL,
        response_model=UserInfo,
        messages=[{"role": "user", "content": "Bo is 40."}],
    )
    assert (user.name, user.age) == ("Bo", 40)


def test_instructor_json_mode_partial_streaming(
    emulator: Emulator, oa: cosmara_generic.OpenAI
) -> None:
    """instructor's streamed partial objects parse with jiter (the overridden pin)."""
    client = instructor.from_openai(oa, mode=instructor.Mode.JSON)
    emulator.reply(json.dumps({"name": "Cy", "age": 22}))
    partials = list(
        client.chat.completions.create_partial(
            model=MODEL,
            response_model=UserInfo,
            messages=[{"role": "user", "content": "Cy is 22."}],
        )
    )
    assert (partials[-1].name, partials[-1].age) == ("Cy", 22)


# --- pydantic-ai -----------------------------------------------------------------------------


def _agent(client: cosmara_generic.AsyncOpenAI, **options: object) -> Any:
    pydantic_ai = pytest.importorskip("pydantic_ai", reason="pydantic-ai needs Python 3.11+")
    from pydantic_ai.models.openai import OpenAIChatModel
    from pydantic_ai.providers.openai import OpenAIProvider

    model = OpenAIChatModel(MODEL, provider=OpenAIProvider(openai_client=client))
    return pydantic_ai.Agent(model, **options)


async def test_pydantic_ai_plain(emulator: Emulator, aoa: cosmara_generic.AsyncOpenAI) -> None:
    result = await _agent(aoa, instructions="Be brief.").run("Hello")
    assert result.output == "Echo: Hello"
    assert result.usage.total_tokens > 0
    sent = emulator.requests[-1]
    assert sent.json["messages"][0] == {"role": "system", "content": "Be brief."}
    # pydantic-ai sends its own User-Agent per call: it is not forwarded, nor is the SDK's key.
    assert "pydantic-ai" not in sent.headers.get("user-agent", "")
    assert sent.headers["authorization"] == "Bearer sk-test-libs"


async def test_pydantic_ai_output_type(
    emulator: Emulator, aoa: cosmara_generic.AsyncOpenAI
) -> None:
    emulator.reply(
        tool_calls=[{"name": "final_result", "arguments": {"name": "Paris", "country": "France"}}]
    )
    result = await _agent(aoa, output_type=City).run("Capital of France?")
    assert result.output == City(name="Paris", country="France")


async def test_pydantic_ai_tools(emulator: Emulator, aoa: cosmara_generic.AsyncOpenAI) -> None:
    agent = _agent(aoa)

    @agent.tool_plain
    def get_weather(city: str) -> str:
        """Current weather in a city."""
        return f"sunny in {city}"

    emulator.reply(tool_calls=[{"name": "get_weather", "arguments": {"city": "Paris"}}])
    emulator.reply("It is sunny in Paris.")
    result = await agent.run("Weather in Paris?")
    assert result.output == "It is sunny in Paris."
    tool_message = emulator.requests[-1].json["messages"][-1]
    assert tool_message["role"] == "tool"
    assert tool_message["content"] == "sunny in Paris"


async def test_pydantic_ai_streaming(aoa: cosmara_generic.AsyncOpenAI) -> None:
    async with _agent(aoa).run_stream("Stream this please") as result:
        pieces = [piece async for piece in result.stream_text(delta=True, debounce_by=None)]
    assert len(pieces) > 1
    assert "".join(pieces) == "Echo: Stream this please"


async def test_pydantic_ai_rate_limit_is_model_http_error(
    emulator: Emulator, aoa: cosmara_generic.AsyncOpenAI
) -> None:
    agent = _agent(aoa.with_options(max_retries=0))  # the engine's own retries off
    from pydantic_ai.exceptions import ModelHTTPError

    emulator.add_fault(Fault(status=429, retry_after=7))
    with pytest.raises(ModelHTTPError) as info:
        await agent.run("Hi")
    assert info.value.status_code == 429
    assert emulator.request_count == 1  # neither the SDK nor pydantic-ai retried behind us


# --- openai-agents ---------------------------------------------------------------------------

# openai-agents exports traces to OpenAI by default: off, so nothing leaves the host.
agents.set_tracing_disabled(True)


def _agents_model(client: cosmara_generic.AsyncOpenAI) -> agents.OpenAIChatCompletionsModel:
    return agents.OpenAIChatCompletionsModel(model=MODEL, openai_client=client)


async def test_openai_agents_run(emulator: Emulator, aoa: cosmara_generic.AsyncOpenAI) -> None:
    agent = agents.Agent(name="echo", instructions="Be brief.", model=_agents_model(aoa))
    result = await agents.Runner.run(agent, "Hello agents")
    assert result.final_output == "Echo: Hello agents"
    assert emulator.requests[-1].json["messages"][0]["content"] == "Be brief."


async def test_openai_agents_tools(emulator: Emulator, aoa: cosmara_generic.AsyncOpenAI) -> None:
    @agents.function_tool
    def get_weather(city: str) -> str:
        """Current weather in a city."""
        return f"rainy in {city}"

    agent = agents.Agent(name="weather", model=_agents_model(aoa), tools=[get_weather])
    emulator.reply(tool_calls=[{"name": "get_weather", "arguments": {"city": "Tokyo"}}])
    emulator.reply("It is rainy in Tokyo.")
    result = await agents.Runner.run(agent, "Weather in Tokyo?")
    assert result.final_output == "It is rainy in Tokyo."
    assert emulator.requests[-1].json["messages"][-1]["content"] == "rainy in Tokyo"


async def test_openai_agents_output_type(
    emulator: Emulator, aoa: cosmara_generic.AsyncOpenAI
) -> None:
    agent = agents.Agent(name="geo", model=_agents_model(aoa), output_type=City)
    emulator.reply(json.dumps({"name": "Lima", "country": "Peru"}))
    result = await agents.Runner.run(agent, "Capital of Peru?")
    assert result.final_output == City(name="Lima", country="Peru")
    assert emulator.requests[-1].json["response_format"]["type"] == "json_schema"


async def test_openai_agents_streamed(aoa: cosmara_generic.AsyncOpenAI) -> None:
    from openai.types.responses import ResponseTextDeltaEvent

    agent = agents.Agent(name="echo", model=_agents_model(aoa))
    result = agents.Runner.run_streamed(agent, "Stream it")
    pieces = [
        event.data.delta
        async for event in result.stream_events()
        if event.type == "raw_response_event" and isinstance(event.data, ResponseTextDeltaEvent)
    ]
    assert len(pieces) > 1
    assert "".join(pieces) == "Echo: Stream it"
    assert result.final_output == "Echo: Stream it"


async def test_openai_agents_responses_model(
    emulator: Emulator, aoa: cosmara_generic.AsyncOpenAI
) -> None:
    """The agents SDK's default model speaks the Responses API: translated to chat here."""

    @agents.function_tool
    def get_weather(city: str) -> str:
        """Current weather in a city."""
        return f"windy in {city}"

    model = agents.OpenAIResponsesModel(model=MODEL, openai_client=aoa)
    agent = agents.Agent(name="weather", model=model, tools=[get_weather])
    emulator.reply(tool_calls=[{"name": "get_weather", "arguments": {"city": "Oslo"}}])
    emulator.reply("It is windy in Oslo.")
    result = await agents.Runner.run(agent, "Weather in Oslo?")
    assert result.final_output == "It is windy in Oslo."
    second = emulator.requests[-1].json["messages"]
    assert second[-2]["tool_calls"][0]["function"]["name"] == "get_weather"
    assert second[-1] == {
        "role": "tool",
        "tool_call_id": second[-2]["tool_calls"][0]["id"],
        "content": "windy in Oslo",
    }
