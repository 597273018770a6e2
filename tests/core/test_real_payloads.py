"""Replay HTTP traffic recorded from the real OpenAI-format APIs through the engine.

Each recording is re-issued as the equivalent Cosmara call (built from the recorded request
body). The test then checks two things against the recording, independently of our parser:
the request we send carries the same conversation, and what we return carries the same
content, tool calls, finish reason and usage as the provider's bytes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

import cosmara
from cosmara import Cosmara, StreamAccumulator
from tests.support.recordings import Interaction, recording, replay

SUCCESSES = [
    "openai/langchaingo__chat_plain.httprr",
    "openai/mirascope__chat_plain_sync.yaml",
    "openai/mirascope__chat_max_tokens_sync.yaml",
    "openai/langchaingo__chat_stream.httprr",
    "openai/mirascope__chat_stream.yaml",
    "openai/langchaingo__tool_call.httprr",
    "openai/simonw-llm__tool_chain_two_calls.yaml",
    "openai/simonw-llm__tool_call_stream.yaml",
    "openai/mirascope__tool_call_stream_parallel.yaml",
    "azure_openai/mirascope__chat_plain.yaml",
    "azure_openai/pydantic-ai__chat_plain.yaml",
    "azure_openai/mirascope__chat_stream.yaml",
    "azure_openai/mirascope__tool_call.yaml",
    "azure_openai/mirascope__tool_call_stream.yaml",
    "ollama/mirascope__v1_chat_completions_compat.yaml",
    "huggingface/hfhub__tgi_chat_plain.yaml",
    "huggingface/hfhub__tgi_chat_stream.yaml",
    "huggingface/pydantic-ai__router_chat_plain.yaml",
    "huggingface/pydantic-ai__router_tool_call.yaml",
    "huggingface/langchaingo__router_chat_hyperbolic.httprr",
]

# Recording -> (error class, status, code the provider gave).
ERRORS = {
    "openai/mirascope__error_401.yaml": (cosmara.AuthenticationError, 401, "invalid_api_key"),
    "openai/mirascope__error_401_stream_request.yaml": (
        cosmara.AuthenticationError,
        401,
        "invalid_api_key",
    ),
    "openai/mirascope__error_404_model.yaml": (cosmara.NotFoundError, 404, "model_not_found"),
    "openai/pydantic-ai__error_400_unsupported_value.yaml": (
        cosmara.BadRequestError,
        400,
        "unsupported_value",
    ),
    "azure_openai/mirascope__error_400_content_filter.yaml": (
        cosmara.ContentFilteredError,
        400,
        "content_filter",
    ),
    "azure_openai/mirascope__error_400_content_filter_stream_request.yaml": (
        cosmara.ContentFilteredError,
        400,
        "content_filter",
    ),
    "huggingface/hfhub__router_error_401.yaml": (cosmara.AuthenticationError, 401, None),
    "openai/pydantic-ai__embeddings_error_404.yaml": (
        cosmara.NotFoundError,
        404,
        "model_not_found",
    ),
}


def _provider_for(uri: str) -> tuple[str, dict[str, Any]]:
    """The Cosmara provider name and settings that reach the recorded host."""
    parts = urlsplit(uri)
    origin = f"{parts.scheme}://{parts.netloc}"
    if parts.netloc == "api.openai.com":
        return "openai", {"api_key": "sk-replay-key"}
    if parts.netloc.endswith(".openai.azure.com"):
        version = parse_qs(parts.query)["api-version"][0]
        return "azure", {"base_url": origin, "api_key": "azure-replay", "api_version": version}
    if parts.netloc == "openrouter.ai":
        return "openrouter", {"api_key": "or-replay"}
    if parts.netloc == "localhost:11434":
        return "ollama_openai", {}
    if parts.netloc in ("router.huggingface.co", "api-inference.huggingface.co"):
        base = origin + parts.path.rsplit("/chat/completions", 1)[0].rsplit("/embeddings", 1)[0]
        return "huggingface", {"api_key": "hf_replay", "base_url": base}
    raise AssertionError(f"no provider for {uri}")


def _call_arguments(interaction: Interaction, provider: str) -> tuple[dict[str, Any], bool]:
    body = dict(interaction.request_json)
    stream = bool(body.pop("stream", False))
    body.pop("stream_options", None)
    if "max_completion_tokens" in body:
        body["max_tokens"] = body.pop("max_completion_tokens")
    model = body.pop("model")
    if provider == "azure":
        model = interaction.uri.split("/deployments/")[1].split("/")[0]
    if isinstance(body.get("messages"), str):  # huggingface_hub sends a bare prompt string
        body["messages"] = [{"role": "user", "content": body["messages"]}]
    return {"model": f"{provider}/{model}", **body}, stream


def _posts(name: str) -> list[Interaction]:
    return [i for i in recording(name) if i.method == "POST"]


def _client(provider: str, settings: dict[str, Any]) -> Cosmara:
    # A recording holds one answer per request: a recorded error is not retried.
    return Cosmara(
        {"retry": {"max_retries": 0}}, providers={provider: settings}, load_entry_points=False
    )


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def _expected_from_sse(body: bytes) -> dict[str, Any]:
    """Content, tool calls, finish reason and usage read straight from the recorded SSE bytes."""
    text, finish, usage, calls = [], None, None, {}
    for line in body.decode("utf-8").splitlines():
        if not line.startswith("data:") or line.strip() == "data: [DONE]":
            continue
        event = json.loads(line[len("data:") :])
        usage = event.get("usage") or usage
        for choice in event.get("choices") or ():
            delta = choice.get("delta") or {}
            text.append(delta.get("content") or "")
            finish = choice.get("finish_reason") or finish
            for call in delta.get("tool_calls") or ():
                slot = calls.setdefault(call["index"], {"id": "", "name": "", "arguments": ""})
                slot["id"] = slot["id"] or call.get("id") or ""
                function = call.get("function") or {}
                slot["name"] = slot["name"] or function.get("name") or ""
                slot["arguments"] += function.get("arguments") or ""
    return {
        "content": "".join(text),
        "finish_reason": finish,
        "usage": usage,
        "tool_calls": [calls[i] for i in sorted(calls)],
    }


def _expected_from_json(body: bytes) -> dict[str, Any]:
    data = json.loads(body)
    message = data["choices"][0]["message"]
    return {
        "content": message.get("content") or "",
        "finish_reason": data["choices"][0]["finish_reason"],
        "usage": data.get("usage"),
        "tool_calls": [
            {
                "id": call["id"],
                "name": call["function"]["name"],
                "arguments": call["function"]["arguments"],
            }
            for call in message.get("tool_calls") or ()
        ],
    }


def _assert_matches(response: cosmara.ChatResponse, expected: dict[str, Any]) -> None:
    choice = response.choices[0]
    assert (choice.message.content or "") == expected["content"]
    assert choice.finish_reason == expected["finish_reason"]
    calls = [
        {"id": c.id, "name": c.function.name, "arguments": c.function.arguments}
        for c in choice.message.tool_calls or ()
    ]
    for call in expected["tool_calls"]:
        if not isinstance(call["arguments"], str):  # TGI returns an object; we keep JSON text
            call["arguments"] = json.dumps(call["arguments"], separators=(",", ":"))
        call["id"] = str(call["id"])  # and numbers its calls
    assert calls == expected["tool_calls"]
    usage = expected["usage"]
    if usage is None:
        assert response.usage is None
        return
    assert response.usage is not None
    assert response.usage.prompt_tokens == usage["prompt_tokens"]
    assert response.usage.completion_tokens == usage["completion_tokens"]
    assert response.usage.total_tokens == usage["total_tokens"]
    cached = (usage.get("prompt_tokens_details") or {}).get("cached_tokens") or usage.get(
        "cached_tokens", 0
    )
    assert response.usage.cached_tokens == (cached or 0)
    reasoning = (usage.get("completion_tokens_details") or {}).get("reasoning_tokens", 0)
    assert response.usage.reasoning_tokens == reasoning


def _assert_sent_same_conversation(sent: dict[str, Any], recorded: dict[str, Any]) -> None:
    recorded = _without_nulls(recorded)
    if isinstance(recorded.get("messages"), str):
        recorded["messages"] = [{"role": "user", "content": recorded["messages"]}]
    for key in ("messages", "tools", "tool_choice", "response_format", "temperature", "stop"):
        if key in recorded:
            assert sent[key] == recorded[key], key
    limit = recorded.get("max_tokens", recorded.get("max_completion_tokens"))
    if limit is not None:
        assert limit in (sent.get("max_tokens"), sent.get("max_completion_tokens"))


@pytest.mark.parametrize("name", SUCCESSES)
def test_replayed_success_matches_recording(name: str, tmp_path: Path) -> None:
    interactions = _posts(name)
    provider, settings = _provider_for(interactions[0].uri)
    with _client(provider, settings) as client, replay(interactions, tmp_path) as sent:
        for position, interaction in enumerate(interactions):
            arguments, stream = _call_arguments(interaction, provider)
            if stream:
                accumulator = StreamAccumulator()
                chunks = list(client.stream(**arguments))
                for chunk in chunks:
                    accumulator.add(chunk)
                response = accumulator.response()
                final = chunks[-1]
                assert final.choices == []
                assert final.cosmara is not None
                assert sum(chunk.usage is not None for chunk in chunks) <= 1
                expected = _expected_from_sse(interaction.body)
            else:
                response = client.chat(**arguments)
                assert response.cosmara is not None
                assert response.cosmara.provider == provider
                expected = _expected_from_json(interaction.body)
            _assert_matches(response, expected)
            _assert_sent_same_conversation(sent[position], interaction.request_json)
            if stream:
                assert sent[position]["stream"] is True
                if provider != "huggingface":
                    assert sent[position]["stream_options"] == {"include_usage": True}


@pytest.mark.parametrize("name", SUCCESSES[:4])
async def test_async_replay_matches_sync(name: str, tmp_path: Path) -> None:
    interactions = _posts(name)
    provider, settings = _provider_for(interactions[0].uri)
    arguments, stream = _call_arguments(interactions[0], provider)
    async with _client(provider, settings) as client:
        with replay(interactions, tmp_path):
            if stream:
                accumulator = StreamAccumulator()
                async for chunk in client.astream(**arguments):
                    accumulator.add(chunk)
                response = accumulator.response()
                expected = _expected_from_sse(interactions[0].body)
            else:
                response = await client.achat(**arguments)
                expected = _expected_from_json(interactions[0].body)
    _assert_matches(response, expected)


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_recorded_error_bodies_become_typed_errors(name: str, tmp_path: Path) -> None:
    error_class, status, code = ERRORS[name]
    interaction = _posts(name)[0]
    provider, settings = _provider_for(interaction.uri)
    arguments, stream = _call_arguments(interaction, provider)
    recorded_message = _recorded_message(interaction)
    if "/embeddings" in interaction.uri:
        send = lambda client: client.embed(**arguments)  # noqa: E731
    elif stream:
        send = lambda client: list(client.stream(**arguments))  # noqa: E731
    else:
        send = lambda client: client.chat(**arguments)  # noqa: E731
    with (
        _client(provider, settings) as client,
        replay([interaction], tmp_path),
        pytest.raises(error_class) as caught,
    ):
        send(client)
    error = caught.value
    assert type(error) is error_class
    assert error.status_code == status
    assert error.code == code
    assert error.provider == provider
    assert error.provider_message == recorded_message
    assert error.retryable is False
    assert [a.error for a in error.attempts] == [error_class.__name__]


def _recorded_message(interaction: Interaction) -> str:
    error = interaction.json["error"]
    return error if isinstance(error, str) else error["message"]


def test_openrouter_stream_then_rate_limit(tmp_path: Path) -> None:
    stream_ok, limited = _posts("openai/langchaingo__openrouter_stream_and_429.httprr")
    with _client("openrouter", {"api_key": "or-replay"}) as client:
        with replay([stream_ok], tmp_path / "a") as sent:
            arguments, _ = _call_arguments(stream_ok, "openrouter")
            chunks = list(client.stream(**arguments))
        expected = _expected_from_sse(stream_ok.body)
        assert (
            "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
            == expected["content"]
        )
        assert chunks[-1].usage is not None
        assert chunks[-1].usage.total_tokens == expected["usage"]["total_tokens"]
        assert sent[0]["model"] == "meta-llama/llama-3.2-3b-instruct:free"
        arguments, _ = _call_arguments(limited, "openrouter")
        with replay([limited], tmp_path / "b"), pytest.raises(cosmara.RateLimitError) as caught:
            client.chat(**arguments)
    error = caught.value
    assert error.status_code == 429
    assert error.retryable is True
    assert "Rate limit exceeded" in (error.provider_message or "")
    # The reset header is an epoch-millisecond time long past, so there is nothing to wait.
    assert error.retry_after == 0.0


@pytest.mark.parametrize(
    "name",
    [
        "openai/langchaingo__embeddings_dimensions.httprr",
        "openai/pydantic-ai__embeddings_query.yaml",
    ],
)
def test_replayed_embeddings(name: str, tmp_path: Path) -> None:
    interaction = _posts(name)[0]
    recorded = interaction.request_json
    with (
        _client("openai", {"api_key": "sk-replay"}) as client,
        replay([interaction], tmp_path) as sent,
    ):
        response = client.embed(
            model=f"openai/{recorded['model']}",
            input=recorded["input"],
            dimensions=recorded.get("dimensions"),
        )
    data = interaction.json
    assert len(response.vectors) == len(data["data"])
    first = data["data"][0]["embedding"]
    if isinstance(first, list):
        assert response.vectors[0] == pytest.approx(first)
    else:  # the openai SDK asked for base64: float32 values, so compare their count and range
        assert len(response.vectors[0]) * 4 == len(__import__("base64").b64decode(first))
        assert all(-1.0 <= value <= 1.0 for value in response.vectors[0])
    assert response.usage is not None
    assert response.usage.prompt_tokens == data["usage"]["prompt_tokens"]
    price = {"text-embedding-3-small": 0.02, "text-embedding-3-large": 0.13}[recorded["model"]]
    assert response.cosmara is not None
    assert response.cosmara.cost_usd == pytest.approx(data["usage"]["prompt_tokens"] * price / 1e6)
    assert sent[0]["input"] == (
        recorded["input"] if isinstance(recorded["input"], list) else [recorded["input"]]
    )


def test_recorded_gpt4o_answer_is_priced_exactly(tmp_path: Path) -> None:
    interaction = _posts("openai/mirascope__chat_stream.yaml")[0]
    arguments, _ = _call_arguments(interaction, "openai")
    with _client("openai", {"api_key": "sk-replay"}) as client, replay([interaction], tmp_path):
        final = list(client.stream(**arguments))[-1]
    assert final.usage is not None
    assert (final.usage.prompt_tokens, final.usage.completion_tokens) == (16, 10)
    # gpt-4o: $2.50 per million input, $10.00 per million output -> 16*2.5 + 10*10 = 140 per M.
    assert final.cosmara is not None
    assert final.cosmara.cost_usd == pytest.approx(0.000140)


def test_tgi_numbered_tool_call_with_object_arguments(tmp_path: Path) -> None:
    # Older TGI: "id": 0 and arguments as an object; finish_reason "eos_token" is kept as sent.
    interaction = _posts("huggingface/hfhub__tgi_tool_call.yaml")[0]
    provider, settings = _provider_for(interaction.uri)
    arguments, _ = _call_arguments(interaction, provider)
    with _client(provider, settings) as client, replay([interaction], tmp_path):
        response = client.chat(**arguments)
    expected = _expected_from_json(interaction.body)
    _assert_matches(response, expected)
    call = response.choices[0].message.tool_calls[0]  # type: ignore[index]
    assert call.id == "0"
    assert json.loads(call.function.arguments) == {
        "format": "fahrenheit",
        "location": "San Francisco, CA",
        "num_days": 3,
    }
