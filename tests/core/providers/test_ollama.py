"""Ollama's native API (``/api/chat``, ``/api/embed``) against real recordings and unit checks.

Every expectation on a replayed recording is read from the recorded bytes by this test (NDJSON
lines or the JSON body), not from our parser.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

import cosmara
from cosmara import Cosmara, StreamAccumulator
from cosmara._config import ProviderSettings
from cosmara._messages import ChatRequest
from cosmara.providers._base import HttpResponse
from cosmara.providers.ollama import OllamaProvider
from tests.support.recordings import Interaction, recording, replay

CHAT_CLOUD = "ollama/langchaingo__api_chat_nonstream_cloud.httprr"
TOOL_CLOUD = "ollama/langchaingo__api_chat_tool_call_cloud.httprr"
STREAM = "ollama/langchaingo__api_chat_stream.httprr"
STREAM_DEFAULT = "ollama/langchaingo__api_chat_stream_default.httprr"
THINK = "ollama/langchaingo__api_chat_think.httprr"
NO_TOOLS = "ollama/langchaingo__api_chat_error_400_no_tools.httprr"
EMBED = "ollama/langchaingo__api_embed.httprr"


def _client(base_url: str) -> Cosmara:
    # A recorded error is one answer: no retries.
    return Cosmara(
        {"retry": {"max_retries": 0}},
        providers={"ollama": {"base_url": base_url}},
        load_entry_points=False,
    )


def _base(interaction: Interaction) -> str:
    return interaction.uri.split("/api/")[0]


def _lines(body: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in body.splitlines() if line.strip()]


def _provider(**settings: Any) -> OllamaProvider:
    return OllamaProvider("ollama", ProviderSettings(**settings))


def _body(request: dict[str, Any], *, stream: bool = False, model: str = "llama3.2") -> Any:
    chat = ChatRequest.model_validate({"model": f"ollama/{model}", **request})
    return json.loads(_provider().chat_request(chat, model, stream=stream).body or b"")


# --- real recordings ------------------------------------------------------------------------


def test_cloud_answer_with_thinking(tmp_path: Path) -> None:
    (interaction,) = recording(CHAT_CLOUD)
    recorded = interaction.json
    sent_request = interaction.request_json
    with _client(_base(interaction)) as client, replay([interaction], tmp_path) as sent:
        response = client.chat(
            model=f"ollama/{sent_request['model']}", messages=sent_request["messages"]
        )
    message = response.choices[0].message
    assert message.content == recorded["message"]["content"]
    assert message.reasoning_content == recorded["message"]["thinking"]
    assert response.choices[0].finish_reason == "stop"  # done_reason "stop", no tool calls
    assert response.usage is not None
    assert response.usage.prompt_tokens == recorded["prompt_eval_count"]  # 74
    assert response.usage.completion_tokens == recorded["eval_count"]  # 40 (thinking included)
    assert response.usage.total_tokens == 74 + 40
    assert response.model == "gpt-oss:120b"
    assert response.cosmara is not None
    assert response.cosmara.cost_usd is None  # ollama/gpt-oss:120b is not in the catalog
    assert sent[0]["messages"] == sent_request["messages"]
    assert sent[0]["stream"] is False  # always explicit: Ollama streams when it is omitted


def test_cloud_tool_call_without_openai_id_shape(tmp_path: Path) -> None:
    (interaction,) = recording(TOOL_CLOUD)
    recorded = interaction.json
    sent_request = interaction.request_json
    with _client(_base(interaction)) as client, replay([interaction], tmp_path) as sent:
        response = client.chat(
            model=f"ollama/{sent_request['model']}",
            messages=sent_request["messages"],
            tools=sent_request["tools"],
        )
    (call,) = response.choices[0].message.tool_calls or []
    (raw,) = recorded["message"]["tool_calls"]
    assert call.id == raw["id"]
    assert call.function.name == raw["function"]["name"]
    assert json.loads(call.function.arguments) == raw["function"]["arguments"]
    assert response.choices[0].finish_reason == "tool_calls"  # done_reason "stop" + calls
    assert response.choices[0].message.reasoning_content == recorded["message"]["thinking"]
    assert response.choices[0].message.content is None
    assert response.usage is not None
    assert (response.usage.prompt_tokens, response.usage.completion_tokens) == (145, 44)
    assert sent[0]["tools"] == sent_request["tools"]
    assert sent[0]["messages"] == sent_request["messages"]


@pytest.mark.parametrize(
    ("name", "options"),
    [
        (STREAM, {"max_tokens": 50, "temperature": 0}),
        (STREAM_DEFAULT, {"max_tokens": 50, "temperature": 0}),
    ],
)
def test_ndjson_stream(name: str, options: dict[str, Any], tmp_path: Path) -> None:
    (interaction,) = recording(name)
    lines = _lines(interaction.body)
    last = lines[-1]
    sent_request = interaction.request_json
    with _client(_base(interaction)) as client, replay([interaction], tmp_path) as sent:
        chunks = list(
            client.stream(
                model=f"ollama/{sent_request['model']}",
                messages=sent_request["messages"],
                **options,
            )
        )
    accumulator = StreamAccumulator()
    for chunk in chunks:
        accumulator.add(chunk)
    response = accumulator.response()
    assert response.text == "".join(line["message"]["content"] for line in lines)
    assert response.choices[0].finish_reason == last["done_reason"]  # "stop" / "length"
    final = chunks[-1]
    assert final.choices == []
    assert sum(chunk.usage is not None for chunk in chunks) == 1
    assert final.usage is not None
    assert final.usage.prompt_tokens == last["prompt_eval_count"]
    assert final.usage.completion_tokens == last["eval_count"]
    assert final.cosmara is not None
    assert final.cosmara.cost_usd is None  # ollama/gemma3:1b is not in the catalog
    assert sent[0]["stream"] is True
    assert sent[0]["messages"] == sent_request["messages"]
    assert sent[0]["options"] == sent_request["options"]  # num_predict, temperature


def test_think_is_a_top_level_field(tmp_path: Path) -> None:
    # langchaingo put ``think`` inside ``options`` (which Ollama ignores there, so gemma3 did not
    # refuse); Ollama's API takes it at the top level, where we send it.
    (interaction,) = recording(THINK)
    lines = _lines(interaction.body)
    sent_request = interaction.request_json
    with _client(_base(interaction)) as client, replay([interaction], tmp_path) as sent:
        text = "".join(
            chunk.choices[0].delta.content or ""
            for chunk in client.stream(
                model=f"ollama/{sent_request['model']}",
                messages=sent_request["messages"],
                max_tokens=100,
                temperature=0,
                reasoning_effort="high",
            )
            if chunk.choices
        )
    assert text == "".join(line["message"]["content"] for line in lines)
    assert sent[0]["think"] is True  # not gpt-oss: a boolean
    assert sent[0]["options"] == {"num_predict": 100, "temperature": 0}


def test_model_without_tools_is_a_typed_error(tmp_path: Path) -> None:
    (interaction,) = recording(NO_TOOLS)
    recorded = interaction.request_json
    with (
        _client(_base(interaction)) as client,
        replay([interaction], tmp_path),
        pytest.raises(cosmara.BadRequestError) as caught,
    ):
        client.chat(
            model=f"ollama/{recorded['model']}",
            messages=recorded["messages"],
            tools=recorded["tools"],
        )
    error = caught.value
    assert error.status_code == 400
    assert error.code == "tools_unsupported"
    assert error.provider_message == interaction.json["error"]
    assert error.retryable is False


def test_embed(tmp_path: Path) -> None:
    (interaction,) = recording(EMBED)
    recorded = interaction.json
    with _client(_base(interaction)) as client, replay([interaction], tmp_path) as sent:
        result = client.embed(model="ollama/nomic-embed-text", input="Hello world")
    assert result.vectors == recorded["embeddings"]
    assert result.usage is not None
    assert result.usage.prompt_tokens == recorded["prompt_eval_count"]
    assert result.cosmara is not None
    assert result.cosmara.cost_usd == 0.0  # ollama/nomic-embed-text: input 0.0 $/M
    assert sent == [{"model": "nomic-embed-text", "input": ["Hello world"]}]


# --- stream faults --------------------------------------------------------------------------


def _stream_chunks(interaction: Interaction, tmp_path: Path) -> list[cosmara.ChatChunk]:
    request = interaction.request_json
    with _client(_base(interaction)) as client, replay([interaction], tmp_path):
        return list(client.stream(model=f"ollama/{request['model']}", messages=request["messages"]))


def test_cut_stream_raises_connection_error(tmp_path: Path) -> None:
    (interaction,) = recording(STREAM)
    lines = interaction.body.splitlines(keepends=True)
    cut = dataclasses.replace(interaction, body=b"".join(lines[: len(lines) // 2]))
    with pytest.raises(cosmara.ProviderConnectionError):
        _stream_chunks(cut, tmp_path)


def test_unknown_lines_are_ignored(tmp_path: Path) -> None:
    (interaction,) = recording(STREAM)
    lines = interaction.body.splitlines(keepends=True)
    odd = (
        b'{"model":"gemma3:1b","created_at":"2025-08-20T13:48:24Z","status":"warm","done":false}\n'
    )
    changed = dataclasses.replace(interaction, body=b"".join([lines[0], odd, *lines[1:]]))
    chunks = _stream_chunks(changed, tmp_path)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "".join(line["message"]["content"] for line in _lines(interaction.body))


def test_error_line_in_stream_raises(tmp_path: Path) -> None:
    (interaction,) = recording(STREAM)
    lines = interaction.body.splitlines(keepends=True)
    error = b'{"error":"an error was encountered while running the model: unexpected EOF"}\n'
    changed = dataclasses.replace(interaction, body=b"".join([*lines[:3], error]))
    with pytest.raises(cosmara.ProviderUnavailableError) as caught:
        _stream_chunks(changed, tmp_path)
    assert caught.value.provider_message == json.loads(error)["error"]


def test_streamed_tool_calls_get_indices_ids_and_finish() -> None:
    decoder = _provider().stream_decoder("llama3.2")
    call = {"function": {"name": "get_weather", "arguments": {"city": "Paris"}}}
    other = {"function": {"name": "get_weather", "arguments": {"city": "Tokyo"}}}
    lines = [
        {
            "created_at": "2025-01-01T00:00:00Z",
            "message": {"role": "assistant", "content": "", "tool_calls": [call]},
            "done": False,
        },
        {
            "created_at": "2025-01-01T00:00:01Z",
            "message": {"role": "assistant", "content": "", "tool_calls": [other]},
            "done": False,
        },
        {
            "created_at": "2025-01-01T00:00:02Z",
            "message": {"role": "assistant", "content": ""},
            "done": True,
            "done_reason": "stop",
            "prompt_eval_count": 9,
            "eval_count": 5,
        },
    ]
    data = b"".join(json.dumps(line).encode() + b"\n" for line in lines)
    chunks = decoder.feed(data[:37]) + decoder.feed(data[37:]) + decoder.close()
    deltas = [d for c in chunks for ch in c.choices for d in ch.delta.tool_calls or ()]
    assert [d.index for d in deltas] == [0, 1]
    assert all(d.id and d.id.startswith("call_") for d in deltas)
    assert deltas[0].id != deltas[1].id
    assert [json.loads(d.function.arguments or "") for d in deltas if d.function] == [
        {"city": "Paris"},
        {"city": "Tokyo"},
    ]
    finishes = [ch.finish_reason for c in chunks for ch in c.choices if ch.finish_reason]
    assert finishes == ["tool_calls"]
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None
    # The same bytes give the same ids.
    again = _provider().stream_decoder("llama3.2").feed(data)
    assert [d.id for c in again for ch in c.choices for d in ch.delta.tool_calls or ()] == [
        d.id for d in deltas
    ]


# --- request building -----------------------------------------------------------------------


def test_defaults_and_options() -> None:
    body = _body(
        {
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "developer", "content": [{"type": "text", "text": "No emoji."}]},
                {"role": "user", "content": "Hi"},
            ],
            "temperature": 0.2,
            "top_p": 0.9,
            "max_tokens": 30,
            "stop": "END",
            "seed": 7,
            "keep_alive": "5m",
        }
    )
    assert body == {
        "model": "llama3.2",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "system", "content": "No emoji."},
            {"role": "user", "content": "Hi"},
        ],
        "stream": False,
        "options": {
            "temperature": 0.2,
            "top_p": 0.9,
            "num_predict": 30,
            "stop": ["END"],
            "seed": 7,
        },
        "keep_alive": "5m",
    }
    assert _body({"messages": [{"role": "user", "content": "Hi"}]}, stream=True) == {
        "model": "llama3.2",
        "messages": [{"role": "user", "content": "Hi"}],
        "stream": True,
    }


def test_images_as_base64_and_urls_refused() -> None:
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}
    body = _body(
        {
            "messages": [
                {"role": "user", "content": [{"type": "text", "text": "What is it?"}, image]}
            ]
        }
    )
    assert body["messages"] == [
        {"role": "user", "content": "What is it?", "images": ["iVBORw0KGgo="]}
    ]
    url = {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}
    with pytest.raises(cosmara.RequestValidationError):
        _body({"messages": [{"role": "user", "content": [url]}]})


def test_structured_output_and_think() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string"}}}
    messages = [{"role": "user", "content": "Hi"}]
    body = _body(
        {
            "messages": messages,
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "x", "schema": schema},
            },
        }
    )
    assert body["format"] == schema
    assert (
        _body({"messages": messages, "response_format": {"type": "json_object"}})["format"]
        == "json"
    )
    assert "format" not in _body({"messages": messages, "response_format": {"type": "text"}})
    assert _body({"messages": messages, "reasoning_effort": "none"})["think"] is False
    assert (
        _body({"messages": messages, "reasoning_effort": "high"}, model="gpt-oss:20b")["think"]
        == "high"
    )
    assert (
        _body({"messages": messages, "reasoning_effort": "minimal"}, model="gpt-oss:20b")["think"]
        == "low"
    )
    assert _body({"messages": messages, "reasoning_effort": "low"}, model="qwen3")["think"] is True


def test_tool_history_and_tool_choice() -> None:
    tool = {
        "type": "function",
        "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {}}},
    }
    other = {
        "type": "function",
        "function": {"name": "get_time", "parameters": {"type": "object", "properties": {}}},
    }
    messages = [
        {"role": "user", "content": "Weather?"},
        {
            "role": "assistant",
            "content": None,
            "reasoning_content": "Use the tool.",
            "tool_calls": [
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
    ]
    body = _body({"messages": messages, "tools": [tool, other]})
    assert body["messages"][1:] == [
        {
            "role": "assistant",
            "content": "",
            "thinking": "Use the tool.",
            "tool_calls": [{"function": {"name": "get_weather", "arguments": {"city": "Paris"}}}],
        },
        {"role": "tool", "content": "sunny", "tool_name": "get_weather"},
    ]
    assert [t["function"]["name"] for t in body["tools"]] == ["get_weather", "get_time"]
    assert "tools" not in _body({"messages": messages, "tools": [tool], "tool_choice": "none"})
    named = {"type": "function", "function": {"name": "get_time"}}
    chosen = _body({"messages": messages, "tools": [tool, other], "tool_choice": named})
    assert [t["function"]["name"] for t in chosen["tools"]] == ["get_time"]
    with pytest.raises(cosmara.RequestValidationError):
        _body({"messages": [{"role": "user", "content": "Hi"}], "n": 2})


def test_base_url_from_ollama_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLLAMA_HOST", "10.0.0.5:11434")
    assert _provider().base_url == "http://10.0.0.5:11434"
    monkeypatch.setenv("OLLAMA_HOST", "https://ollama.internal/")
    assert _provider().base_url == "https://ollama.internal"
    assert _provider(base_url="http://other:1234").base_url == "http://other:1234"
    monkeypatch.delenv("OLLAMA_HOST")
    assert _provider().base_url == "http://localhost:11434"
    chat = ChatRequest.model_validate(
        {"model": "ollama/x", "messages": [{"role": "user", "content": "Hi"}]}
    )
    request = _provider().chat_request(chat, "x", stream=False)
    assert request.url == "http://localhost:11434/api/chat"
    assert "authorization" not in request.headers
    monkeypatch.setenv("OLLAMA_API_KEY", "ollama-test-key")
    assert _provider().chat_request(chat, "x", stream=False).headers["authorization"] == (
        "Bearer ollama-test-key"
    )


def test_model_not_found() -> None:
    body = b'{"error":"model \\"llama9\\" not found, try pulling it first"}'
    error = _provider().parse_error(HttpResponse(404, {}, body), "llama9")
    assert isinstance(error, cosmara.NotFoundError)
    assert error.provider_message == 'model "llama9" not found, try pulling it first'
