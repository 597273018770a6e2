"""The native Anthropic Messages provider, held to the real recordings and to unit checks.

Every recording under ``../shared/real-payloads/anthropic/`` is replayed through the engine. The
expected content, tool calls, finish reason and usage are read straight from the recorded bytes
by the small independent parsers below (not by the provider), and the request we send must equal
the recorded request body, including the second turn of the multi-turn tool recordings, whose
history is built from our own parsed first answer.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

import cosmara
from cosmara import ChatRequest, Cosmara, StreamAccumulator
from cosmara._config import ProviderSettings
from cosmara.providers._base import HttpResponse
from cosmara.providers.anthropic import AnthropicProvider
from tests.support.recordings import Interaction, recording, replay

# recording -> expected USD cost per interaction (None: the recorded model is not in the
# catalog). Prices per million tokens from data/models.json.
SUCCESSES: dict[str, list[float | None]] = {
    # claude-3-opus-20240229 is not in the catalog.
    "anthropic/langchaingo__messages_plain.httprr": [None],
    "anthropic/langchaingo__messages_stream.httprr": [None],
    "anthropic/langchaingo__tools_offered_text_reply_max_tokens.httprr": [None],
    # claude-sonnet-4-0 ($3 in / $15 out): 17*3 + 15*15 = 276 per M.
    "anthropic/mirascope__messages_plain_sync.yaml": [0.000276],
    # 15*3 + 50*15 = 795 per M.
    "anthropic/mirascope__messages_stream_max_tokens.yaml": [0.000795],
    # 416*3 + 109*15 = 2883 per M; then 602*3 + 39*15 = 2391 per M.
    "anthropic/mirascope__tool_use_sync.yaml": [0.002883, 0.002391],
    # 416*3 + 109*15 = 2883 per M; then 602*3 + 52*15 = 2586 per M.
    "anthropic/mirascope__tool_use_stream.yaml": [0.002883, 0.002586],
    # claude-sonnet-4-5 ($3 / $15): 17*3 + 10*15 = 201 per M.
    "anthropic/llm-anthropic__messages_stream.yaml": [0.000201],
    # 46*3 + 84*15 = 1398 per M (thinking is billed as output).
    "anthropic/llm-anthropic__thinking_stream.yaml": [0.001398],
    # claude-haiku-4-5-20251001 ($1 / $5): 563*1 + 37*5 = 748 per M; then 617 + 41*5 = 822.
    "anthropic/llm-anthropic__tool_chain_stream.yaml": [0.000748, 0.000822],
}

# recording -> (error class, status, error.type)
ERRORS = {
    "anthropic/mirascope__error_401.yaml": (
        cosmara.AuthenticationError,
        401,
        "authentication_error",
    ),
    "anthropic/mirascope__error_401_stream_request.yaml": (
        cosmara.AuthenticationError,
        401,
        "authentication_error",
    ),
    "anthropic/mirascope__error_404_model.yaml": (cosmara.NotFoundError, 404, "not_found_error"),
    "anthropic/pydantic-ai__error_400_invalid_request.yaml": (
        cosmara.BadRequestError,
        400,
        "invalid_request_error",
    ),
}

KEY = "sk-ant-test-0000"


def _client(**settings: Any) -> Cosmara:
    # A recorded error is one answer: no retries.
    return Cosmara(
        {"retry": {"max_retries": 0}},
        providers={"anthropic": {"api_key": KEY, **settings}},
        load_entry_points=False,
    )


def _provider(**settings: Any) -> AnthropicProvider:
    return AnthropicProvider(
        "anthropic", ProviderSettings.model_validate({"api_key": KEY, **settings})
    )


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


# --- the recorded request, re-expressed in OpenAI's vocabulary ------------------------------
def _openai_tools(tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
    converted = []
    for tool in tools:
        function = {"name": tool["name"], "parameters": tool["input_schema"]}
        if "description" in tool:
            function["description"] = tool["description"]
        extra = {k: v for k, v in tool.items() if k not in ("name", "description", "input_schema")}
        converted.append({"type": "function", "function": function, **extra})
    return converted


def _openai_user_turn(turn: dict[str, Any]) -> list[dict[str, Any]]:
    content = turn["content"]
    if isinstance(content, str):
        return [{"role": "user", "content": content}]
    results = [block for block in content if block["type"] == "tool_result"]
    if results:
        return [
            {
                "role": "tool",
                "tool_call_id": block["tool_use_id"],
                "content": block["content"],
                **({"cache_control": block["cache_control"]} if block.get("cache_control") else {}),
            }
            for block in results
        ]
    return [{"role": "user", "content": content}]


def _call_arguments(
    interaction: Interaction, previous: cosmara.ChatResponse | None
) -> tuple[dict[str, Any], bool]:
    """Engine keywords for the recorded request; later turns reuse our own parsed answer."""
    body = dict(interaction.request_json)
    stream = bool(body.pop("stream", False))
    model = body.pop("model")
    turns = body.pop("messages")
    messages: list[dict[str, Any]] = []
    system = body.pop("system", None)
    if system is not None:
        messages.append({"role": "system", "content": system})
    for turn in turns:
        if turn["role"] == "user":
            messages.extend(_openai_user_turn(turn))
        else:
            assert previous is not None, "an assistant turn needs the answer it came from"
            messages.append(previous.choices[0].message.model_dump(exclude_none=True))
    if "tools" in body:
        body["tools"] = _openai_tools(body["tools"])
    thinking = body.pop("thinking", None)
    if thinking is not None:
        assert thinking == {"type": "enabled", "budget_tokens": 1024}
        body["reasoning_effort"] = "minimal"  # our documented mapping: minimal -> 1024
    return {"model": f"anthropic/{model}", "messages": messages, **body}, stream


# --- what the recorded bytes say, parsed without the provider -------------------------------
def _expected_from_json(body: bytes) -> dict[str, Any]:
    data = json.loads(body)
    blocks = data["content"]
    return {
        "content": "".join(b["text"] for b in blocks if b["type"] == "text"),
        "reasoning": "".join(b["thinking"] for b in blocks if b["type"] == "thinking"),
        "signature": "".join(b.get("signature", "") for b in blocks if b["type"] == "thinking"),
        "tool_calls": [
            {"id": b["id"], "name": b["name"], "input": b["input"]}
            for b in blocks
            if b["type"] == "tool_use"
        ],
        "stop_reason": data["stop_reason"],
        "usage": data["usage"],
    }


def _expected_from_sse(body: bytes) -> dict[str, Any]:
    text, reasoning, signature, calls = [], [], [], {}
    stop_reason, usage = None, {}
    for line in body.decode("utf-8").splitlines():
        if not line.startswith("data:"):
            continue
        event = json.loads(line[len("data:") :])
        if event["type"] == "message_start":
            usage.update(event["message"]["usage"])
        elif (
            event["type"] == "content_block_start" and event["content_block"]["type"] == "tool_use"
        ):
            block = event["content_block"]
            calls[event["index"]] = {"id": block["id"], "name": block["name"], "json": ""}
        elif event["type"] == "content_block_delta":
            delta = event["delta"]
            if delta["type"] == "text_delta":
                text.append(delta["text"])
            elif delta["type"] == "thinking_delta":
                reasoning.append(delta["thinking"])
            elif delta["type"] == "signature_delta":
                signature.append(delta["signature"])
            elif delta["type"] == "input_json_delta":
                calls[event["index"]]["json"] += delta["partial_json"]
        elif event["type"] == "message_delta":
            stop_reason = event["delta"]["stop_reason"]
            usage.update(event["usage"])
    return {
        "content": "".join(text),
        "reasoning": "".join(reasoning),
        "signature": "".join(signature),
        "tool_calls": [
            {"id": c["id"], "name": c["name"], "input": json.loads(c["json"] or "{}")}
            for _, c in sorted(calls.items())
        ],
        "stop_reason": stop_reason,
        "usage": usage,
    }


_FINISH = {"end_turn": "stop", "max_tokens": "length", "tool_use": "tool_calls"}


def _assert_matches(response: cosmara.ChatResponse, expected: dict[str, Any]) -> None:
    choice = response.choices[0]
    message = choice.message
    assert (message.content or "") == expected["content"]
    assert (message.reasoning_content or "") == expected["reasoning"]
    assert choice.finish_reason == _FINISH[expected["stop_reason"]]
    calls = [
        {"id": c.id, "name": c.function.name, "input": json.loads(c.function.arguments)}
        for c in message.tool_calls or ()
    ]
    assert calls == expected["tool_calls"]
    usage, raw = response.usage, expected["usage"]
    assert usage is not None
    read, written = raw["cache_read_input_tokens"], raw["cache_creation_input_tokens"]
    assert usage.prompt_tokens == raw["input_tokens"] + read + written
    assert usage.cached_tokens == read
    assert usage.cache_write_tokens == written
    assert usage.completion_tokens == raw["output_tokens"]
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens


def _posts(name: str) -> list[Interaction]:
    return [i for i in recording(name) if i.method == "POST"]


@pytest.mark.parametrize("name", sorted(SUCCESSES))
def test_replayed_recording_matches(name: str, tmp_path: Path) -> None:
    interactions = _posts(name)
    costs = SUCCESSES[name]
    assert len(costs) == len(interactions)
    previous: cosmara.ChatResponse | None = None
    with _client() as client, replay(interactions, tmp_path) as sent:
        for position, interaction in enumerate(interactions):
            arguments, stream = _call_arguments(interaction, previous)
            if stream:
                chunks = list(client.stream(**arguments))
                accumulator = StreamAccumulator()
                for chunk in chunks:
                    accumulator.add(chunk)
                response = accumulator.response()
                final = chunks[-1]
                assert final.choices == []
                assert [c.usage is not None for c in chunks].count(True) == 1
                response.usage, meta = final.usage, final.cosmara
                expected = _expected_from_sse(interaction.body)
                signatures = [
                    (c.choices[0].delta.model_extra or {}).get("thinking_signature")
                    for c in chunks
                    if c.choices
                ]
                assert "".join(s for s in signatures if s) == expected["signature"]
            else:
                response = client.chat(**arguments)
                meta = response.cosmara
                expected = _expected_from_json(interaction.body)
            _assert_matches(response, expected)
            assert meta is not None
            assert meta.provider == "anthropic"
            if costs[position] is None:
                assert meta.cost_usd is None
            else:
                assert meta.cost_usd == pytest.approx(costs[position], rel=1e-9)
            # The whole body we sent is the recorded one (nulls aside), later turns included.
            assert _without_nulls(sent[position]) == _without_nulls(interaction.request_json)
            previous = response


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_recorded_errors_are_typed(name: str, tmp_path: Path) -> None:
    error_class, status, code = ERRORS[name]
    interaction = _posts(name)[0]
    body = dict(interaction.request_json)
    stream = bool(body.pop("stream", False))
    arguments = {"model": f"anthropic/{body.pop('model')}", **body}
    settings = {"beta": "effort-2025-11-24"} if "beta=true" in interaction.uri else {}
    with (
        _client(**settings) as client,
        replay([interaction], tmp_path) as sent,
        pytest.raises(error_class) as caught,
    ):
        list(client.stream(**arguments)) if stream else client.chat(**arguments)
    error = caught.value
    recorded = interaction.json
    assert type(error) is error_class
    assert error.status_code == status
    assert error.code == code == recorded["error"]["type"]
    assert error.provider_message == recorded["error"]["message"]
    assert error.retryable is False
    assert error.request_id == (interaction.header("request-id") or recorded["request_id"])
    assert [a.error for a in error.attempts] == [error_class.__name__]
    recorded_request = _without_nulls(interaction.request_json)
    if recorded_request.get("stream") is False:  # pydantic-ai says so; we leave it out
        del recorded_request["stream"]
    assert _without_nulls(sent[0]) == recorded_request


def test_thinking_signature_goes_back_as_a_thinking_block(tmp_path: Path) -> None:
    interaction = _posts("anthropic/llm-anthropic__thinking_stream.yaml")[0]
    arguments, _ = _call_arguments(interaction, None)
    with _client() as client, replay([interaction], tmp_path):
        chunks = list(client.stream(**arguments))
    expected = _expected_from_sse(interaction.body)
    signature = next(
        c.choices[0].delta.model_extra["thinking_signature"]  # type: ignore[index]
        for c in chunks
        if c.choices and (c.choices[0].delta.model_extra or {}).get("thinking_signature")
    )
    blocks = [
        block
        for c in chunks
        if c.choices
        for block in (c.choices[0].delta.model_extra or {}).get("thinking_blocks", ())
    ]
    assert blocks == [
        {"type": "thinking", "thinking": expected["reasoning"], "signature": expected["signature"]}
    ]
    history = {
        "role": "assistant",
        "content": expected["content"],
        "reasoning_content": expected["reasoning"],
        "thinking_signature": signature,
    }
    request = ChatRequest.model_validate(
        {
            "model": "anthropic/claude-sonnet-4-5",
            "messages": [*arguments["messages"], history, {"role": "user", "content": "Another"}],
        }
    )
    http = _provider().chat_request(request, "claude-sonnet-4-5", stream=False)
    body = json.loads(http.body or b"")
    assert body["messages"][1] == {
        "role": "assistant",
        "content": [
            {
                "type": "thinking",
                "thinking": expected["reasoning"],
                "signature": expected["signature"],
            },
            {"type": "text", "text": expected["content"]},
        ],
    }


def test_non_streamed_thinking_keeps_blocks_and_signature() -> None:
    blocks = [
        {"type": "thinking", "thinking": "Let me think.", "signature": "sig-1"},
        {"type": "redacted_thinking", "data": "opaque"},
        {"type": "text", "text": "Done."},
    ]
    body = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5",
        "content": blocks,
        "stop_reason": "end_turn",
        "usage": {"input_tokens": 5, "output_tokens": 7},
    }
    provider = _provider()
    response = provider.parse_chat(HttpResponse(200, {}, json.dumps(body).encode()), "m")
    message = response.choices[0].message
    assert message.content == "Done."
    assert message.reasoning_content == "Let me think."
    assert message.model_extra == {"thinking_blocks": blocks[:2], "thinking_signature": "sig-1"}
    request = ChatRequest.model_validate(
        {
            "model": "anthropic/claude-sonnet-4-5",
            "messages": [
                {"role": "user", "content": "Hi"},
                message.model_dump(exclude_none=True),
                {"role": "user", "content": "Again"},
            ],
        }
    )
    sent = json.loads(provider.chat_request(request, "m", stream=False).body or b"")
    assert sent["messages"][1]["content"] == [*blocks[:2], {"type": "text", "text": "Done."}]


# --- streams that break, carry unknown events or errors -------------------------------------
def _stream_interaction() -> Interaction:
    return _posts("anthropic/mirascope__tool_use_stream.yaml")[0]


def test_stream_cut_mid_way_raises_connection_error(tmp_path: Path) -> None:
    interaction = _stream_interaction()
    cut = interaction.body[: interaction.body.index(b"event: message_delta")]
    arguments, _ = _call_arguments(interaction, None)
    replayed = dataclasses.replace(interaction, body=cut)
    with (
        _client() as client,
        replay([replayed], tmp_path),
        pytest.raises(cosmara.ProviderConnectionError),
    ):
        list(client.stream(**arguments))


def test_unknown_stream_events_are_ignored(tmp_path: Path) -> None:
    interaction = _stream_interaction()
    extra = (
        b'event: content_block_future\ndata: {"type":"content_block_future","index":1}\n\n'
        b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,'
        b'"delta":{"type":"citations_delta","citation":{"type":"x"}}}\n\n'
    )
    marker = b"event: ping"
    body = interaction.body.replace(marker, extra + marker, 1)
    arguments, _ = _call_arguments(interaction, None)
    with _client() as client, replay([dataclasses.replace(interaction, body=body)], tmp_path):
        accumulator = StreamAccumulator()
        for chunk in client.stream(**arguments):
            accumulator.add(chunk)
    response = accumulator.response()
    response.usage = accumulator.usage
    _assert_matches(response, _expected_from_sse(interaction.body))


def test_error_event_inside_a_stream_raises_typed_error(tmp_path: Path) -> None:
    interaction = _stream_interaction()
    start = interaction.body[: interaction.body.index(b"event: content_block_start")]
    error = (
        b'event: error\ndata: {"type":"error","error":{"type":"overloaded_error",'
        b'"message":"Overloaded"},"request_id":"req_test"}\n\n'
    )
    arguments, _ = _call_arguments(interaction, None)
    replayed = dataclasses.replace(interaction, body=start + error)
    with (
        _client() as client,
        replay([replayed], tmp_path),
        pytest.raises(cosmara.ProviderUnavailableError) as caught,
    ):
        list(client.stream(**arguments))
    assert caught.value.code == "overloaded_error"
    assert caught.value.provider_message == "Overloaded"
    assert caught.value.retryable is True


# --- error classification -------------------------------------------------------------------
def _error(status: int, kind: str, message: str, **headers: str) -> cosmara.ProviderError:
    body = json.dumps({"type": "error", "error": {"type": kind, "message": message}})
    return _provider().parse_error(HttpResponse(status, headers, body.encode()), "m")


def test_overloaded_529_is_retryable_unavailable() -> None:
    error = _error(529, "overloaded_error", "Overloaded")
    assert type(error) is cosmara.ProviderUnavailableError
    assert (error.status_code, error.code, error.retryable) == (529, "overloaded_error", True)


def test_rate_limit_uses_retry_after() -> None:
    error = _error(
        429,
        "rate_limit_error",
        "Number of requests has exceeded your rate limit",
        **{"retry-after": "12", "x-should-retry": "true"},
    )
    assert type(error) is cosmara.RateLimitError
    assert error.retry_after == 12.0
    assert error.retryable is True


def test_rate_limit_without_retry_after_reads_the_exhausted_reset() -> None:
    import datetime

    soon = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=30)
    stamp = soon.strftime("%Y-%m-%dT%H:%M:%SZ")
    headers = {
        "anthropic-ratelimit-requests-remaining": "0",
        "anthropic-ratelimit-requests-reset": stamp,
        "anthropic-ratelimit-tokens-remaining": "5000",
        "anthropic-ratelimit-tokens-reset": "2001-01-01T00:00:00Z",
    }
    error = _error(429, "rate_limit_error", "slow down", **headers)
    assert error.retry_after is not None
    assert 25 <= error.retry_after <= 31


@pytest.mark.parametrize(
    ("status", "kind", "message", "expected"),
    [
        (
            400,
            "invalid_request_error",
            "prompt is too long: 210000 tokens > 200000 maximum",
            cosmara.ContextWindowExceededError,
        ),
        (403, "permission_error", "no access", cosmara.PermissionDeniedError),
        (500, "api_error", "Internal server error", cosmara.ProviderUnavailableError),
        (
            413,
            "request_too_large",
            "Request exceeds the maximum size",
            cosmara.ContextWindowExceededError,
        ),
    ],
)
def test_error_types_and_phrases(
    status: int, kind: str, message: str, expected: type[cosmara.ProviderError]
) -> None:
    error = _error(status, kind, message)
    assert type(error) is expected
    assert error.code == kind
    assert error.provider_message == message


def test_error_body_in_a_200_is_raised() -> None:
    body = b'{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}'
    with pytest.raises(cosmara.ProviderUnavailableError):
        _provider().parse_chat(HttpResponse(200, {}, body), "m")


def test_garbage_body_is_invalid_response() -> None:
    with pytest.raises(cosmara.InvalidResponseError):
        _provider().parse_chat(HttpResponse(200, {}, b"<html>"), "m")


# --- request building -----------------------------------------------------------------------
def _body(stream: bool = False, **fields: Any) -> dict[str, Any]:
    settings = fields.pop("settings", {})
    request = ChatRequest.model_validate({"model": "anthropic/claude-sonnet-4-5", **fields})
    http = _provider(**settings).chat_request(request, "claude-sonnet-4-5", stream=stream)
    assert http.body is not None
    return dict(json.loads(http.body))


USER = {"role": "user", "content": "Hi"}


def test_headers_url_and_defaults() -> None:
    request = ChatRequest.model_validate({"model": "anthropic/x", "messages": [USER]})
    http = _provider().chat_request(request, "x", stream=True)
    assert http.url == "https://api.anthropic.com/v1/messages"
    assert http.params is None
    assert http.headers["x-api-key"] == KEY
    assert http.headers["anthropic-version"] == "2023-06-01"
    assert "authorization" not in http.headers
    assert KEY not in repr(http)
    assert json.loads(http.body or b"") == {
        "model": "x",
        "messages": [USER],
        "max_tokens": 4096,
        "stream": True,
    }


def test_beta_setting_sends_header_and_beta_query() -> None:
    request = ChatRequest.model_validate({"model": "anthropic/x", "messages": [USER]})
    provider = _provider(beta=["a-1", "b-2"], base_url="https://proxy.example/v1")
    http = provider.chat_request(request, "x", stream=False)
    assert http.url == "https://proxy.example/v1/messages"
    assert http.params == {"beta": "true"}
    assert http.headers["anthropic-beta"] == "a-1,b-2"


def test_system_and_developer_messages_are_lifted() -> None:
    body = _body(messages=[{"role": "system", "content": "Be brief."}, USER])
    assert body["system"] == "Be brief."
    assert body["messages"] == [USER]
    body = _body(
        messages=[
            {"role": "system", "content": "One."},
            USER,
            {"role": "developer", "content": [{"type": "text", "text": "Two."}]},
        ]
    )
    assert body["system"] == [{"type": "text", "text": "One."}, {"type": "text", "text": "Two."}]
    assert body["messages"] == [USER]


def test_only_system_messages_is_rejected() -> None:
    with pytest.raises(cosmara.RequestValidationError):
        _body(messages=[{"role": "system", "content": "Alone."}])


def test_consecutive_turns_merge_and_tool_results_join_the_next_user_turn() -> None:
    body = _body(
        messages=[
            USER,
            {"role": "user", "content": [{"type": "text", "text": "Still me"}]},
            {
                "role": "assistant",
                "content": "Calling.",
                "tool_calls": [
                    {
                        "id": "t1",
                        "type": "function",
                        "function": {"name": "f", "arguments": '{"a": 1}'},
                    },
                    {"id": "t2", "type": "function", "function": {"name": "f", "arguments": ""}},
                ],
            },
            {"role": "tool", "tool_call_id": "t1", "content": "one"},
            {
                "role": "tool",
                "tool_call_id": "t2",
                "content": [{"type": "text", "text": "two"}],
                "is_error": True,
            },
            {"role": "user", "content": "Thanks"},
        ],
        tools=[{"type": "function", "function": {"name": "f"}}],
    )
    assert body["messages"] == [
        {
            "role": "user",
            "content": [{"type": "text", "text": "Hi"}, {"type": "text", "text": "Still me"}],
        },
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Calling."},
                {"type": "tool_use", "id": "t1", "name": "f", "input": {"a": 1}},
                {"type": "tool_use", "id": "t2", "name": "f", "input": {}},
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "t1", "content": "one"},
                {
                    "type": "tool_result",
                    "tool_use_id": "t2",
                    "content": [{"type": "text", "text": "two"}],
                    "is_error": True,
                },
                {"type": "text", "text": "Thanks"},
            ],
        },
    ]
    assert body["tools"] == [{"name": "f", "input_schema": {"type": "object", "properties": {}}}]


def test_tool_arguments_that_are_not_json_are_rejected() -> None:
    call = {"id": "t1", "type": "function", "function": {"name": "f", "arguments": "{oops"}}
    with pytest.raises(cosmara.RequestValidationError):
        _body(messages=[USER, {"role": "assistant", "tool_calls": [call]}])


def test_images_by_url_and_data_uri() -> None:
    content = [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
        {"type": "image_url", "image_url": {"url": "data:application/pdf;base64,JVBERi0="}},
    ]
    body = _body(messages=[{"role": "user", "content": content}])
    assert body["messages"][0]["content"] == [
        {"type": "text", "text": "What is this?"},
        {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.png"}},
        {
            "type": "image",
            "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="},
        },
        {
            "type": "document",
            "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0="},
        },
    ]


@pytest.mark.parametrize(
    "url", ["data:image/png,rawbytes", "data:image/tiff;base64,AAAA", "ftp://example.com/x.png"]
)
def test_images_anthropic_cannot_take_are_rejected(url: str) -> None:
    content = [{"type": "image_url", "image_url": {"url": url}}]
    with pytest.raises(cosmara.RequestValidationError):
        _body(messages=[{"role": "user", "content": content}])


TOOL = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}


@pytest.mark.parametrize(
    ("choice", "parallel", "expected"),
    [
        ("auto", None, {"type": "auto"}),
        ("required", None, {"type": "any"}),
        ("none", None, {"type": "none"}),
        ({"type": "function", "function": {"name": "f"}}, None, {"type": "tool", "name": "f"}),
        (None, False, {"type": "auto", "disable_parallel_tool_use": True}),
        ("required", False, {"type": "any", "disable_parallel_tool_use": True}),
        (None, None, None),
    ],
)
def test_tool_choice(choice: Any, parallel: bool | None, expected: dict[str, Any] | None) -> None:
    fields: dict[str, Any] = {"messages": [USER], "tools": [TOOL]}
    if choice is not None:
        fields["tool_choice"] = choice
    if parallel is not None:
        fields["parallel_tool_calls"] = parallel
    assert _body(**fields).get("tool_choice") == expected


def test_sampling_fields_and_pass_through() -> None:
    body = _body(
        messages=[USER],
        max_tokens=50,
        temperature=0.5,
        top_p=0.9,
        stop="END",
        user="user-42",
        seed=1,
        logit_bias={"1": 2},
        top_k=5,
    )
    assert body == {
        "model": "claude-sonnet-4-5",
        "messages": [USER],
        "max_tokens": 50,
        "temperature": 0.5,
        "top_p": 0.9,
        "stop_sequences": ["END"],
        "metadata": {"user_id": "user-42"},
        "top_k": 5,
    }


@pytest.mark.parametrize("fields", [{"temperature": 1.5}, {"n": 2}])
def test_values_anthropic_cannot_take_are_rejected(fields: dict[str, Any]) -> None:
    with pytest.raises(cosmara.RequestValidationError):
        _body(messages=[USER], **fields)


@pytest.mark.parametrize(
    ("effort", "max_tokens", "thinking", "sent_max"),
    [
        ("minimal", None, {"type": "enabled", "budget_tokens": 1024}, 1024 + 4096),
        ("low", None, {"type": "enabled", "budget_tokens": 2048}, 2048 + 4096),
        ("medium", 20000, {"type": "enabled", "budget_tokens": 8192}, 20000),
        ("high", 5000, {"type": "enabled", "budget_tokens": 4999}, 5000),
        ("none", None, None, 4096),
    ],
)
def test_reasoning_effort_becomes_a_thinking_budget(
    effort: str, max_tokens: int | None, thinking: dict[str, Any] | None, sent_max: int
) -> None:
    fields: dict[str, Any] = {"messages": [USER], "reasoning_effort": effort}
    if max_tokens is not None:
        fields["max_tokens"] = max_tokens
    body = _body(**fields)
    assert body.get("thinking") == thinking
    assert body["max_tokens"] == sent_max


def test_reasoning_effort_needs_room_for_the_minimum_budget() -> None:
    with pytest.raises(cosmara.RequestValidationError):
        _body(messages=[USER], reasoning_effort="high", max_tokens=1000)


def test_structured_output_is_a_forced_tool() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string"}}}
    body = _body(
        messages=[USER],
        response_format={"type": "json_schema", "json_schema": {"name": "thing", "schema": schema}},
    )
    assert body["tools"] == [
        {
            "name": "structured_output",
            "description": "Respond with the thing object.",
            "input_schema": schema,
        }
    ]
    assert body["tool_choice"] == {"type": "tool", "name": "structured_output"}
    body = _body(messages=[USER], response_format={"type": "json_object"})
    assert body["tools"][0]["input_schema"] == {"type": "object"}


def test_structured_output_answer_is_json_content() -> None:
    body = {
        "id": "msg_1",
        "model": "claude-sonnet-4-5",
        "content": [
            {"type": "tool_use", "id": "toolu_1", "name": "structured_output", "input": {"a": "b"}}
        ],
        "stop_reason": "tool_use",
        "usage": {"input_tokens": 5, "output_tokens": 7},
    }
    response = _provider().parse_chat(HttpResponse(200, {}, json.dumps(body).encode()), "m")
    assert json.loads(response.text) == {"a": "b"}
    assert response.choices[0].finish_reason == "stop"
    assert response.choices[0].message.tool_calls is None


def test_prompt_cache_usage_is_priced_at_cache_rates() -> None:
    body = {
        "id": "msg_1",
        "model": "claude-sonnet-4-5-20250929",
        "content": [{"type": "text", "text": "ok"}],
        "stop_reason": "refusal",
        "usage": {
            "input_tokens": 50,
            "cache_creation_input_tokens": 200,
            "cache_read_input_tokens": 1000,
            "output_tokens": 100,
        },
    }
    response = _provider().parse_chat(HttpResponse(200, {}, json.dumps(body).encode()), "m")
    assert response.choices[0].finish_reason == "content_filter"
    usage = response.usage
    assert usage is not None
    assert (usage.prompt_tokens, usage.cached_tokens, usage.cache_write_tokens) == (1250, 1000, 200)
    assert usage.total_tokens == 1350
    with Cosmara(load_entry_points=False) as client:
        cost = client.cost_of("anthropic/claude-sonnet-4-5", usage)
    # 50*3 + 1000*0.30 (cache read) + 200*3.75 (cache write) + 100*15 = 2700 per million.
    assert cost == pytest.approx(0.0027)


def test_structured_output_streams_as_json_content() -> None:
    events = [
        {
            "type": "message_start",
            "message": {
                "id": "msg_1",
                "model": "m",
                "usage": {"input_tokens": 9, "output_tokens": 1},
            },
        },
        {
            "type": "content_block_start",
            "index": 0,
            "content_block": {
                "type": "tool_use",
                "id": "toolu_1",
                "name": "structured_output",
                "input": {},
            },
        },
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "input_json_delta", "partial_json": '{"a": '},
        },
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "input_json_delta", "partial_json": '"b"}'},
        },
        {"type": "content_block_stop", "index": 0},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "tool_use"},
            "usage": {"output_tokens": 12},
        },
        {"type": "message_stop"},
    ]
    raw = "".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in events).encode()
    decoder = _provider().stream_decoder("m")
    chunks = [chunk for i in range(0, len(raw), 7) for chunk in decoder.feed(raw[i : i + 7])]
    chunks += decoder.close()
    accumulator = StreamAccumulator()
    for chunk in chunks:
        accumulator.add(chunk)
    response = accumulator.response()
    assert json.loads(response.text) == {"a": "b"}
    assert response.choices[0].finish_reason == "stop"
    assert response.choices[0].message.tool_calls is None
    assert accumulator.usage is not None
    assert (accumulator.usage.prompt_tokens, accumulator.usage.completion_tokens) == (9, 12)


async def test_async_stream_replay_matches(tmp_path: Path) -> None:
    interaction = _posts("anthropic/llm-anthropic__tool_chain_stream.yaml")[0]
    arguments, _ = _call_arguments(interaction, None)
    accumulator = StreamAccumulator()
    async with _client() as client:
        with replay([interaction], tmp_path):
            async for chunk in client.astream(**arguments):
                accumulator.add(chunk)
    response = accumulator.response()
    response.usage = accumulator.usage
    _assert_matches(response, _expected_from_sse(interaction.body))


def test_rate_limit_cassette_through_the_engine(tmp_path: Path) -> None:
    from tests.core.conformance.case_anthropic import CASE
    from tests.support.recordings import cassette

    interactions = cassette(CASE.cassette("error_rate_limit"))
    with (
        _client() as client,
        replay(interactions, tmp_path),
        pytest.raises(cosmara.RateLimitError) as caught,
    ):
        client.chat(
            model=CASE.model,
            messages=[{"role": "user", "content": "What is the capital of France?"}],
            max_tokens=100,
        )
    error = caught.value
    assert error.retry_after == 19.0
    assert error.retryable is True
    assert error.code == "rate_limit_error"
    assert error.request_id == interactions[0].header("request-id")


def test_message_stop_without_a_stop_reason_still_finishes() -> None:
    events = [
        {
            "type": "message_start",
            "message": {"id": "msg_2", "model": "m", "usage": {"input_tokens": 3}},
        },
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hi"}},
        {"type": "content_block_stop", "index": 0},
        {"type": "message_delta", "delta": {}, "usage": {"output_tokens": 2}},
        {"type": "message_stop"},
    ]
    raw = "".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in events).encode()
    decoder = _provider().stream_decoder("m")
    chunks = decoder.feed(raw) + decoder.close()
    assert chunks[-2].choices[0].finish_reason == "stop"
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None
    assert (chunks[-1].usage.prompt_tokens, chunks[-1].usage.completion_tokens) == (3, 2)
