"""The openai SDK's documented snippets, run with ``openai.OpenAI`` and ``cosmara_generic.OpenAI``.

Each snippet is written as the SDK's documentation writes it, against a module named
``openai``. It runs twice against the same emulator: once with the plain SDK talking to it over
HTTP, once with ``cosmara_generic`` (the SDK on the engine's transport) in its place; the
outputs must match field by field (ids, timestamps and Cosmara's own ``cosmara`` entry in
error bodies aside).
"""

from __future__ import annotations

import asyncio
import json
import math
import socket
from collections.abc import Callable
from types import ModuleType
from typing import Any

import openai as real_openai
import pytest

import cosmara_generic
from cosmara.testing import Emulator, Fault

IGNORED = {"id", "created", "cosmara"}
Snippet = Callable[[ModuleType, Any], Any]


def _normalise(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _normalise(v) for k, v in value.items() if k not in IGNORED}
    if isinstance(value, (list, tuple)):
        return [_normalise(v) for v in value]
    return value


def _client(module: ModuleType, emulator: Emulator, **options: Any) -> Any:
    if module is cosmara_generic:
        options["load_entry_points"] = False
    options.setdefault("base_url", emulator.base_url)
    return module.OpenAI(api_key="sk-test-compat-0000", max_retries=0, **options)


def _both(emulator: Emulator, snippet: Snippet, script: Callable[[], None] = lambda: None) -> Any:
    """Run ``snippet`` with each module, scripting the emulator the same way before each."""
    outputs = []
    for module in (real_openai, cosmara_generic):
        emulator.reset()
        script()
        with _client(module, emulator) as client:
            outputs.append(_normalise(snippet(module, client)))
    expected, got = outputs
    assert got == expected
    return got


# --- snippets, as the openai SDK documents them ---------------------------------------------

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get current temperature for a given location.",
        "parameters": {
            "type": "object",
            "properties": {"location": {"type": "string", "description": "City and country"}},
            "required": ["location"],
            "additionalProperties": False,
        },
        "strict": True,
    },
}


def plain(openai: ModuleType, client: Any) -> Any:
    completion = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[
            {"role": "developer", "content": "You are a helpful assistant."},
            {"role": "user", "content": "Hello!"},
        ],
    )
    assert completion.choices[0].message.content == "Echo: Hello!"
    assert completion.usage.total_tokens > 0
    return completion.model_dump()


def streaming(openai: ModuleType, client: Any) -> Any:
    stream = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "Say 'double bubble bath' ten times fast."}],
        stream=True,
    )
    return [chunk.model_dump() for chunk in stream]


def streaming_with_usage(openai: ModuleType, client: Any) -> Any:
    stream = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "Hello"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = [chunk.model_dump() for chunk in stream]
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"]["total_tokens"] > 0
    return chunks


def tools(openai: ModuleType, client: Any) -> Any:
    completion = client.chat.completions.create(
        model="gpt-4o",
        messages=[{"role": "user", "content": "What is the weather like in Paris today?"}],
        tools=[WEATHER_TOOL],
    )
    tool_call = completion.choices[0].message.tool_calls[0]
    args = json.loads(tool_call.function.arguments)
    assert args == {"location": "Paris, France"}
    return completion.model_dump(), tool_call.function.name, args


def parallel_tools(openai: ModuleType, client: Any) -> Any:
    completion = client.chat.completions.create(
        model="gpt-4o",
        messages=[{"role": "user", "content": "Weather in Paris and Bogotá?"}],
        tools=[WEATHER_TOOL],
        parallel_tool_calls=True,
    )
    calls = completion.choices[0].message.tool_calls
    assert len(calls) == 2
    return completion.model_dump()


def streamed_tools(openai: ModuleType, client: Any) -> Any:
    stream = client.chat.completions.create(
        model="gpt-4o",
        messages=[{"role": "user", "content": "Weather in Paris and Bogotá?"}],
        tools=[WEATHER_TOOL],
        stream=True,
    )
    final_tool_calls: dict[int, Any] = {}
    dumps = []
    for chunk in stream:
        dumps.append(chunk.model_dump())
        for tool_call in chunk.choices[0].delta.tool_calls or []:
            index = tool_call.index
            if index not in final_tool_calls:
                final_tool_calls[index] = tool_call
            else:
                final_tool_calls[index].function.arguments += tool_call.function.arguments
    arguments = [json.loads(call.function.arguments) for call in final_tool_calls.values()]
    assert arguments == [{"location": "Paris, France"}, {"location": "Bogotá, Colombia"}]
    return dumps


def json_schema(openai: ModuleType, client: Any) -> Any:
    response = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "Alice and Bob are going to a science fair."}],
        response_format={
            "type": "json_schema",
            "json_schema": {
                "name": "calendar_event",
                "schema": {
                    "type": "object",
                    "properties": {
                        "name": {"type": "string"},
                        "participants": {"type": "array", "items": {"type": "string"}},
                    },
                    "required": ["name", "participants"],
                    "additionalProperties": False,
                },
                "strict": True,
            },
        },
    )
    event = json.loads(response.choices[0].message.content)
    assert event["participants"] == ["Alice", "Bob"]
    return response.model_dump()


def embeddings(openai: ModuleType, client: Any) -> Any:
    response = client.embeddings.create(
        model="text-embedding-3-small", input=["The food was delicious", "and the waiter..."]
    )
    dump = response.model_dump()
    # The SDK asks for base64 (float32) by default; compare vectors to float32 precision.
    vectors = [item.pop("embedding") for item in dump["data"]]
    return dump, [[round(x, 6) for x in vector] for vector in vectors]


def error_handling(openai: ModuleType, client: Any) -> Any:
    try:
        client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "Hi"}]
        )
    except openai.APIConnectionError as e:
        return ("connection", type(e).__name__, e.__cause__ is not None)
    except openai.RateLimitError as e:
        return ("rate limit", e.status_code, e.code, e.type, e.body, e.response.status_code)
    except openai.APIStatusError as e:
        return ("status", type(e).__name__, e.status_code, e.code, e.type, e.param, e.body)
    return ("no error",)


# --- the comparisons -----------------------------------------------------------------------


def test_plain(emulator: Emulator) -> None:
    _both(emulator, plain)


def test_streaming(emulator: Emulator) -> None:
    chunks = _both(emulator, streaming)
    assert all(chunk["usage"] is None for chunk in chunks)  # no usage chunk unless asked


def test_streaming_with_usage(emulator: Emulator) -> None:
    _both(emulator, streaming_with_usage)


def test_tools(emulator: Emulator) -> None:
    def script() -> None:
        emulator.reply(
            tool_calls=[{"name": "get_weather", "arguments": {"location": "Paris, France"}}]
        )

    _both(emulator, tools, script)


def _two_calls() -> list[dict[str, Any]]:
    return [
        {"name": "get_weather", "arguments": {"location": "Paris, France"}},
        {"name": "get_weather", "arguments": {"location": "Bogotá, Colombia"}},
    ]


def test_parallel_tools(emulator: Emulator) -> None:
    _both(emulator, parallel_tools, lambda: emulator.reply(tool_calls=_two_calls()))


def test_streamed_tool_calls(emulator: Emulator) -> None:
    _both(emulator, streamed_tools, lambda: emulator.reply(tool_calls=_two_calls()))


def test_json_schema_response_format(emulator: Emulator) -> None:
    content = json.dumps({"name": "Science fair", "participants": ["Alice", "Bob"]})
    _both(emulator, json_schema, lambda: emulator.reply(content))
    body = emulator.requests[-1].json
    assert body["response_format"]["json_schema"]["name"] == "calendar_event"


def test_embeddings(emulator: Emulator) -> None:
    _both(emulator, embeddings)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422, 429, 500, 503])
def test_error_handling(emulator: Emulator, status: int) -> None:
    outcome = _both(emulator, error_handling, lambda: emulator.add_fault(Fault(status=status)))
    assert outcome[0] != "no error"
    assert status in outcome
    assert emulator.request_count == 1  # the SDK did not retry behind the engine


def test_error_attributes_match(emulator: Emulator) -> None:
    """Beyond the snippet: message, request_id, Retry-After and the class tree."""
    caught = []
    for module in (real_openai, cosmara_generic):
        emulator.reset()
        emulator.add_fault(Fault(status=429, retry_after=3))
        with _client(module, emulator) as client, pytest.raises(module.RateLimitError) as info:
            plain(module, client)
        caught.append(info.value)
    expected, got = caught
    assert isinstance(got, cosmara_generic.APIStatusError)
    assert isinstance(got, cosmara_generic.APIError)
    assert got.message == expected.message
    assert got.request_id
    assert expected.request_id
    assert got.request_id.startswith("req_emu")
    assert got.response.headers["retry-after"] == expected.response.headers["retry-after"]
    attempts = got.body["cosmara"]["attempts"]
    assert [(a["model"], a["error"], a["status_code"]) for a in attempts] == [
        ("gpt-4o-mini", "RateLimitError", 429)
    ]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_connection_error(emulator: Emulator) -> None:
    results = []
    for module in (real_openai, cosmara_generic):
        base_url = f"http://127.0.0.1:{_closed_port()}/v1"
        with _client(module, emulator, base_url=base_url) as client:
            results.append(error_handling(module, client))
    assert results[0] == results[1] == ("connection", "APIConnectionError", True)


def test_timeout(emulator: Emulator) -> None:
    results = []
    for module in (real_openai, cosmara_generic):
        emulator.reset()
        emulator.add_fault(Fault(delay=2.0, status=503))  # a status: no reply consumed late
        with _client(module, emulator, timeout=0.2) as client:
            results.append(error_handling(module, client))
    assert results[0] == results[1] == ("connection", "APITimeoutError", True)


def test_async_client_matches(emulator: Emulator) -> None:
    async def run(module: ModuleType) -> Any:
        options = {"load_entry_points": False} if module is cosmara_generic else {}
        client = module.AsyncOpenAI(
            base_url=emulator.base_url, api_key="sk-test", max_retries=0, **options
        )
        messages = [{"role": "user", "content": "Hello!"}]
        completion = await client.chat.completions.create(model="gpt-4o-mini", messages=messages)
        stream = await client.chat.completions.create(
            model="gpt-4o-mini", messages=messages, stream=True
        )
        chunks = [chunk.model_dump() async for chunk in stream]
        vectors = await client.embeddings.create(model="text-embedding-3-small", input="hi")
        await client.close()
        return completion.model_dump(), chunks, len(vectors.data[0].embedding)

    results = [_normalise(asyncio.run(run(m))) for m in (real_openai, cosmara_generic)]
    assert results[0] == results[1]


def test_embedding_vectors_close(emulator: Emulator) -> None:
    """The rounded comparison above hides nothing: vectors agree to float32 precision."""
    vectors = []
    for module in (real_openai, cosmara_generic):
        with _client(module, emulator) as client:
            response = client.embeddings.create(
                model="text-embedding-3-small", input="The food was delicious"
            )
        vectors.append(response.data[0].embedding)
    assert len(vectors[0]) == len(vectors[1]) == 8
    assert all(math.isclose(a, b, abs_tol=1e-6) for a, b in zip(*vectors, strict=True))
