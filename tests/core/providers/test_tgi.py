"""Hugging Face Text Generation Inference against real recordings and unit checks.

Expectations on replayed recordings are read from the recorded bytes by this test (JSON body
or SSE lines), not from our parser.
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
from cosmara.providers.tgi import TGIProvider
from tests.support.recordings import Interaction, recording, replay

SERVERLESS = "https://router.huggingface.co/hf-inference"
PLAIN = "huggingface/hfhub__tgi_chat_plain.yaml"
STREAM = "huggingface/hfhub__tgi_chat_stream.yaml"
STREAM_OLD = "huggingface/hfhub__tgi_chat_stream_zephyr.yaml"
TOOL = "huggingface/hfhub__tgi_tool_call.yaml"
ERROR_422 = "huggingface/hfhub__tgi_error_422.yaml"
ERROR_404 = "huggingface/langchaingo__api_inference_error_404.httprr"
FEATURES = "huggingface/hfhub__feature_extraction_embeddings.yaml"


def _posts(name: str) -> list[Interaction]:
    return [i for i in recording(name) if i.method == "POST"]


def _client(base_url: str) -> Cosmara:
    settings = {"base_url": base_url, "api_key": "hf_replay"}
    # A recorded error is one answer: no retries.
    return Cosmara(
        {"retry": {"max_retries": 0}}, providers={"tgi": settings}, load_entry_points=False
    )


def _endpoint(interaction: Interaction) -> str:
    return interaction.uri.split("/v1/chat/completions")[0]


def _sse(body: bytes) -> list[dict[str, Any]]:
    events = []
    for line in body.decode().splitlines():
        if line.startswith("data:") and line[5:].strip() != "[DONE]":
            events.append(json.loads(line[5:]))
    return events


def _provider(**settings: Any) -> TGIProvider:
    return TGIProvider("tgi", ProviderSettings(**settings))


def _body(request: dict[str, Any], *, stream: bool = False, **settings: Any) -> Any:
    chat = ChatRequest.model_validate({"model": "tgi/tgi", **request})
    provider = _provider(**({"base_url": "http://localhost:8080"} | settings))
    return json.loads(provider.chat_request(chat, "tgi", stream=stream).body or b"")


# --- real recordings ------------------------------------------------------------------------


def test_plain_answer_on_serverless_inference(tmp_path: Path) -> None:
    (interaction,) = _posts(PLAIN)
    recorded = interaction.json
    request = interaction.request_json
    with _client(SERVERLESS) as client, replay([interaction], tmp_path) as sent:
        response = client.chat(model=f"tgi/{request['model']}", messages=request["messages"])
    assert response.text == recorded["choices"][0]["message"]["content"]
    assert response.choices[0].finish_reason == "stop"
    assert response.usage is not None
    assert response.usage.prompt_tokens == recorded["usage"]["prompt_tokens"]  # 46
    assert response.usage.completion_tokens == recorded["usage"]["completion_tokens"]  # 579
    assert response.usage.total_tokens == recorded["usage"]["total_tokens"]
    assert response.cosmara is not None
    # huggingface/meta-llama/Llama-3.1-8B-Instruct: 0.18 $/M in and out: 625 * 0.18e-6
    assert response.cosmara.cost_usd == pytest.approx(1.125e-4, rel=1e-9)
    assert sent[0]["messages"] == request["messages"]
    assert sent[0]["model"] == request["model"]


@pytest.mark.parametrize(("name", "model"), [(STREAM, None), (STREAM_OLD, "tgi")])
def test_streams_new_and_old_shapes(name: str, model: str | None, tmp_path: Path) -> None:
    (interaction,) = _posts(name)
    events = _sse(interaction.body)
    request = interaction.request_json
    base = SERVERLESS if model is None else _endpoint(interaction)
    with _client(base) as client, replay([interaction], tmp_path) as sent:
        chunks = list(
            client.stream(
                model=f"tgi/{model or request['model']}",
                messages=request["messages"],
                max_tokens=request["max_tokens"],
            )
        )
    accumulator = StreamAccumulator()
    for chunk in chunks:
        accumulator.add(chunk)
    response = accumulator.response()
    expected_text = "".join(e["choices"][0]["delta"].get("content") or "" for e in events)
    assert response.text == expected_text
    assert response.choices[0].finish_reason == events[-1]["choices"][0]["finish_reason"]
    assert all(chunk.object == "chat.completion.chunk" for chunk in chunks)
    final = chunks[-1]
    assert final.choices == []
    assert final.usage is None  # neither recording reports usage in its stream
    assert final.cosmara is not None
    assert final.cosmara.cost_usd is None
    assert sent[0]["stream"] is True
    assert sent[0]["messages"] == request["messages"]
    assert sent[0]["max_tokens"] == request["max_tokens"]


def test_old_tool_call_shape(tmp_path: Path) -> None:
    interactions = _posts(TOOL)
    base = _endpoint(interactions[0])
    requests = [i.request_json for i in interactions]
    with _client(base) as client, replay(interactions, tmp_path) as sent:
        responses = [
            client.chat(
                model="tgi/tgi",
                messages=requests[0]["messages"],
                tools=requests[0]["tools"],
                tool_choice="auto",
                max_tokens=500,
            ),
            client.chat(
                model="tgi/tgi",
                messages=requests[1]["messages"],
                tools=requests[1]["tools"],
                tool_choice={"type": "function", "function": {"name": "get_current_weather"}},
                max_tokens=500,
            ),
        ]
    for response, interaction in zip(responses, interactions, strict=True):
        recorded = interaction.json
        (raw,) = recorded["choices"][0]["message"]["tool_calls"]
        (call,) = response.choices[0].message.tool_calls or []
        assert recorded["object"] == "text_completion"
        assert response.object == "chat.completion"
        assert call.id == str(raw["id"])  # TGI numbers its calls: 0
        assert call.function.name == raw["function"]["name"]
        assert json.loads(call.function.arguments) == raw["function"]["arguments"]
        assert "description" not in (call.function.model_extra or {})
        assert recorded["choices"][0]["finish_reason"] == "eos_token"
        assert response.choices[0].finish_reason == "tool_calls"
        assert response.usage is not None
        assert response.usage.prompt_tokens == recorded["usage"]["prompt_tokens"]
        assert response.usage.completion_tokens == recorded["usage"]["completion_tokens"]
        assert response.cosmara is not None
        assert response.cosmara.cost_usd is None  # tgi: no catalog entry for this model
    for body, request in zip(sent, requests, strict=True):
        assert body["messages"] == request["messages"]
        assert body["tools"] == request["tools"]
    assert sent[0]["tool_choice"] == "auto"
    # TGI 1.4 took a bare function name; current TGI takes OpenAI's object, which we send.
    assert requests[1]["tool_choice"] == "get_current_weather"
    assert sent[1]["tool_choice"] == {
        "type": "function",
        "function": {"name": "get_current_weather"},
    }


def test_text_plain_422_is_a_bad_request(tmp_path: Path) -> None:
    (interaction,) = _posts(ERROR_422)
    with (
        _client(_endpoint(interaction)) as client,
        replay([interaction], tmp_path),
        pytest.raises(cosmara.BadRequestError) as caught,
    ):
        client.chat(model="tgi/tgi", messages=[{"role": "user", "content": "Hi"}])
    error = caught.value
    assert error.status_code == 422
    assert error.provider_message == interaction.body.decode()
    assert error.retryable is False


def test_legacy_host_404_text_is_not_found(tmp_path: Path) -> None:
    # The recording POSTs to the model's root URL: where a dedicated endpoint takes embeddings.
    (interaction,) = _posts(ERROR_404)
    with (
        _client(interaction.uri) as client,
        replay([interaction], tmp_path),
        pytest.raises(cosmara.NotFoundError) as caught,
    ):
        client.embed(model="tgi/HuggingFaceH4/zephyr-7b-beta", input=["Hello, my name is"])
    assert caught.value.status_code == 404
    assert caught.value.provider_message == "Not Found"
    assert caught.value.request_id == interaction.header("X-Request-Id")


def test_feature_extraction_token_vectors_are_mean_pooled(tmp_path: Path) -> None:
    (interaction,) = _posts(FEATURES)
    (tokens,) = interaction.json  # [1 input][8 tokens][768 dims]
    expected = [sum(column) / len(tokens) for column in zip(*tokens, strict=True)]
    with _client(SERVERLESS) as client, replay([interaction], tmp_path) as sent:
        result = client.embed(model="tgi/facebook/bart-base", input="Hi, who are you?")
    (vector,) = result.vectors
    assert len(vector) == 768
    assert vector == pytest.approx(expected, rel=1e-12, abs=1e-12)
    assert result.usage is None
    assert result.cosmara is not None
    assert result.cosmara.cost_usd is None
    assert sent == [{"inputs": ["Hi, who are you?"]}]


# --- stream faults --------------------------------------------------------------------------


def _stream(interaction: Interaction, tmp_path: Path) -> list[cosmara.ChatChunk]:
    request = interaction.request_json
    with _client(SERVERLESS) as client, replay([interaction], tmp_path):
        return list(client.stream(model=f"tgi/{request['model']}", messages=request["messages"]))


def test_cut_stream_raises_connection_error(tmp_path: Path) -> None:
    (interaction,) = _posts(STREAM)
    events = interaction.body.split(b"\n\n")
    cut = dataclasses.replace(interaction, body=b"\n\n".join(events[: len(events) // 2]) + b"\n\n")
    with pytest.raises(cosmara.ProviderConnectionError):
        _stream(cut, tmp_path)


def test_unknown_event_is_ignored(tmp_path: Path) -> None:
    (interaction,) = _posts(STREAM)
    odd = b'event: ping\ndata: {"type":"ping"}\n\n: keep-alive\n\n'
    changed = dataclasses.replace(interaction, body=odd + interaction.body)
    text = "".join(
        c.choices[0].delta.content or "" for c in _stream(changed, tmp_path) if c.choices
    )
    expected = "".join(e["choices"][0]["delta"]["content"] or "" for e in _sse(interaction.body))
    assert text == expected


def test_error_event_in_stream_raises(tmp_path: Path) -> None:
    (interaction,) = _posts(STREAM)
    events = interaction.body.split(b"\n\n")
    error = (
        b'data: {"error":"Request failed during generation: Server error: CUDA out of memory",'
        b'"error_type":"generation"}\n\n'
    )
    changed = dataclasses.replace(interaction, body=b"\n\n".join(events[:3]) + b"\n\n" + error)
    with pytest.raises(cosmara.ProviderUnavailableError) as caught:
        _stream(changed, tmp_path)
    assert caught.value.code == "generation"
    assert caught.value.provider_message == json.loads(error[6:])["error"]


def test_streamed_tool_call_fragments_follow_openai() -> None:
    def event(delta: dict[str, Any], finish: str | None = None) -> bytes:
        chunk = {
            "object": "chat.completion.chunk",
            "id": "",
            "created": 1,
            "model": "tgi",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
        return b"data: " + json.dumps(chunk).encode() + b"\n\n"

    def call(arguments: str, name: str | None) -> dict[str, Any]:
        function = {"description": None, "name": name, "arguments": arguments}
        return {"index": 0, "id": "", "type": "function", "function": function}

    decoder = _provider(base_url="http://localhost:8080").stream_decoder("tgi")
    data = (
        event({"role": "assistant", "tool_calls": [call('{"city', "get_weather")]})
        + event({"role": "assistant", "tool_calls": call('": "Paris"}', "get_weather")})
        + event({"role": "assistant", "content": None}, "eos_token")
        + b"data: [DONE]\n\n"
    )
    chunks = decoder.feed(data) + decoder.close()
    deltas = [d for c in chunks for ch in c.choices for d in ch.delta.tool_calls or ()]
    assert deltas[0].id == "call_0"
    assert deltas[0].function is not None
    assert deltas[0].function.name == "get_weather"
    assert deltas[1].id is None
    assert deltas[1].function is not None
    assert deltas[1].function.name is None
    accumulator = StreamAccumulator()
    for chunk in chunks:
        accumulator.add(chunk)
    response = accumulator.response()
    (tool_call,) = response.choices[0].message.tool_calls or []
    assert json.loads(tool_call.function.arguments) == {"city": "Paris"}
    assert response.choices[0].finish_reason == "tool_calls"


# --- responses and errors -------------------------------------------------------------------


def _chat(body: dict[str, Any]) -> cosmara.ChatResponse:
    provider = _provider(base_url="http://localhost:8080")
    return provider.parse_chat(HttpResponse(200, {}, json.dumps(body).encode()), "tgi")


def test_no_tool_answer_becomes_text() -> None:
    for name, field in (("notify_error", "error"), ("no_tool", "content")):
        function = {"description": None, "name": name, "arguments": {field: "Which city?"}}
        message = {
            "role": "assistant",
            "tool_calls": [{"id": 0, "type": "function", "function": function}],
        }
        choice = {"index": 0, "message": message, "finish_reason": "eos_token"}
        response = _chat({"object": "text_completion", "model": "tgi", "choices": [choice]})
        assert response.text == "Which city?"
        assert response.choices[0].message.tool_calls is None
        assert response.choices[0].finish_reason == "stop"


def test_repeated_call_ids_are_made_unique() -> None:
    calls = [
        {"id": 0, "type": "function", "function": {"name": "a", "arguments": {}}},
        {"id": 0, "type": "function", "function": {"name": "b", "arguments": {"x": 1}}},
    ]
    choice = {
        "index": 0,
        "message": {"role": "assistant", "tool_calls": calls},
        "finish_reason": "stop",
    }
    response = _chat({"model": "tgi", "choices": [choice]})
    assert [c.id for c in response.choices[0].message.tool_calls or []] == ["0", "call_1"]
    assert response.choices[0].finish_reason == "tool_calls"


def test_error_refinements() -> None:
    provider = _provider(base_url="http://localhost:8080")
    loading = b'{"error":"Model x is currently loading","estimated_time":42.5}'
    error = provider.parse_error(HttpResponse(503, {}, loading), "tgi")
    assert isinstance(error, cosmara.ProviderUnavailableError)
    assert error.retry_after == 42.5
    window = (
        b'{"error":"Input validation error: `inputs` tokens + `max_new_tokens` must be <= 4096. '
        b'Given: 4000 `inputs` tokens and 200 `max_new_tokens`","error_type":"validation"}'
    )
    error = provider.parse_error(HttpResponse(422, {}, window), "tgi")
    assert isinstance(error, cosmara.ContextWindowExceededError)
    assert error.code == "validation"


def test_sentence_and_bad_feature_vectors() -> None:
    provider = _provider(base_url="http://localhost:8080")
    result = provider.parse_embed(HttpResponse(200, {}, b"[[0.5, 1.0], [2.0, 0.0]]"), "m")
    assert result.vectors == [[0.5, 1.0], [2.0, 0.0]]
    with pytest.raises(cosmara.InvalidResponseError):
        provider.parse_embed(HttpResponse(200, {}, b'{"embeddings": 1}'), "m")


# --- request building -----------------------------------------------------------------------


def test_urls_keys_and_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HF_TOKEN", raising=False)
    chat = ChatRequest.model_validate(
        {"model": "tgi/tgi", "messages": [{"role": "user", "content": "Hi"}]}
    )
    local = _provider(base_url="http://localhost:8080/v1/").chat_request(chat, "tgi", stream=False)
    assert local.url == "http://localhost:8080/v1/chat/completions"
    assert "authorization" not in local.headers
    monkeypatch.setenv("HF_TOKEN", "hf_test_token")
    hosted = _provider(base_url=SERVERLESS).chat_request(chat, "org/model", stream=False)
    assert hosted.url == f"{SERVERLESS}/models/org/model/v1/chat/completions"
    assert hosted.headers["authorization"] == "Bearer hf_test_token"
    assert "hf_test_token" not in repr(hosted)
    from cosmara._embeddings import EmbeddingRequest

    embed = EmbeddingRequest(model="tgi/x", input=["a", "b"])
    assert _provider(base_url=SERVERLESS).embed_request(embed, "org/m").url == (
        f"{SERVERLESS}/pipeline/feature-extraction/org/m"
    )
    assert (
        _provider(base_url="https://x.endpoints.huggingface.cloud").embed_request(embed, "m").url
        == "https://x.endpoints.huggingface.cloud"
    )
    with pytest.raises(cosmara.ConfigurationError):
        _ = _provider().base_url


def test_structured_output_uses_tgi_grammar() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string"}}}
    messages = [{"role": "user", "content": "Hi"}]
    json_schema = {"type": "json_schema", "json_schema": {"name": "x", "schema": schema}}
    assert _body({"messages": messages, "response_format": json_schema})["response_format"] == {
        "type": "json",
        "value": schema,
    }
    json_object = _body({"messages": messages, "response_format": {"type": "json_object"}})
    assert json_object["response_format"] == {"type": "json", "value": {"type": "object"}}
    assert "response_format" not in _body(
        {"messages": messages, "response_format": {"type": "text"}}
    )
    streamed = _body({"messages": messages, "max_tokens": 5}, stream=True)
    assert streamed == {
        "model": "tgi",
        "messages": messages,
        "max_tokens": 5,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
