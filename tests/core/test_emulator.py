"""Tests of ``cosmara.testing.Emulator`` through plain httpx (sync and async) and raw sockets."""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import math
import socket
import struct
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from cosmara.testing import Emulator, Fault, RecordedRequest

USER = {"role": "user", "content": "hello world"}
CHAT: dict[str, Any] = {"model": "gpt-4o", "messages": [USER]}
USAGE_DETAILS = {
    "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
    "completion_tokens_details": {
        "reasoning_tokens": 0,
        "audio_tokens": 0,
        "accepted_prediction_tokens": 0,
        "rejected_prediction_tokens": 0,
    },
}
# A cut connection surfaces as one of these, depending on how far the response got.
CUT_ERRORS = (httpx.RemoteProtocolError, httpx.ReadError)
WEATHER_TOOL = {
    "type": "function",
    "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {}}},
}


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator() as emulator:
        yield emulator


@pytest.fixture
def client(emu: Emulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emu.base_url, timeout=10) as http:
        yield http


def chat(client: httpx.Client, **extra: Any) -> httpx.Response:
    return client.post("/chat/completions", json={**CHAT, **extra})


def sse_events(response: httpx.Response) -> list[str]:
    """The payload of every ``data:`` line, in order."""
    return [line[6:] for line in response.text.split("\n") if line.startswith("data: ")]


def stream_chunks(response: httpx.Response) -> list[dict[str, Any]]:
    events = sse_events(response)
    assert events[-1] == "[DONE]"
    return [json.loads(event) for event in events[:-1]]


def read_lines(response: httpx.Response, into: list[str]) -> None:
    """Append every non-empty line of a streamed response to ``into``."""
    into.extend(line for line in response.iter_lines() if line)


def raw_exchange(port: int, payload: bytes, *, timeout: float = 5.0) -> bytes:
    """Send raw bytes and read until the server closes the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(payload)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    return received


# -- chat completions --------------------------------------------------------------------------


def test_plain_reply_has_openai_shape(client: httpx.Client) -> None:
    response = chat(client)

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-request-id"].startswith("req_emu_")
    body = response.json()
    assert body["id"].startswith("chatcmpl-emu-")
    assert isinstance(body["created"], int)
    assert abs(body["created"] - time.time()) < 60
    del body["id"], body["created"]
    assert body == {
        "object": "chat.completion",
        "model": "gpt-4o",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "Echo: hello world",
                    "refusal": None,
                    "annotations": [],
                },
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        # prompt: 4 + len("hello world") // 4 = 6; completion: len("Echo: hello world") // 4 = 4
        "usage": {"prompt_tokens": 6, "completion_tokens": 4, "total_tokens": 10, **USAGE_DETAILS},
        "service_tier": "default",
        "system_fingerprint": "fp_emulator",
    }


def test_echo_uses_last_user_message_and_text_parts(client: httpx.Client) -> None:
    messages = [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": "ok"},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "look "},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
                {"type": "text", "text": "here"},
            ],
        },
    ]
    body = client.post("/chat/completions", json={"model": "m", "messages": messages}).json()

    assert body["choices"][0]["message"]["content"] == "Echo: look here"
    # (4 + 8//4) + (4 + 5//4) + (4 + 2//4) + (4 + 9//4) = 6 + 5 + 4 + 6
    assert body["usage"]["prompt_tokens"] == 21


def test_ids_are_unique_per_request(client: httpx.Client) -> None:
    ids = {chat(client).json()["id"] for _ in range(3)}
    assert len(ids) == 3


def test_queued_replies_are_fifo_then_default(emu: Emulator, client: httpx.Client) -> None:
    emu.reply("first")
    emu.reply(content="second", finish_reason="content_filter", usage={"prompt_tokens": 100})

    one, two, three = (chat(client).json() for _ in range(3))

    assert one["choices"][0]["message"]["content"] == "first"
    assert one["choices"][0]["finish_reason"] == "stop"
    assert two["choices"][0]["message"]["content"] == "second"
    assert two["choices"][0]["finish_reason"] == "content_filter"
    assert two["usage"]["prompt_tokens"] == 100
    assert two["usage"]["completion_tokens"] == 1
    assert two["usage"]["total_tokens"] == 101
    assert three["choices"][0]["message"]["content"] == "Echo: hello world"


def test_rejected_request_does_not_consume_queued_reply(
    emu: Emulator, client: httpx.Client
) -> None:
    emu.reply("kept")
    bad = client.post("/chat/completions", json={"model": "gpt-4o", "messages": []})
    assert bad.status_code == 400
    assert bad.json()["error"]["param"] == "messages"
    assert chat(client).json()["choices"][0]["message"]["content"] == "kept"


def _said(response: httpx.Response) -> str:
    return str(response.json()["choices"][0]["message"]["content"])


def _asking(text: str, model: str = "gpt-4o") -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "system", "content": "x"}, _user(text)]}


def _user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": [{"type": "text", "text": text}]}


def test_a_reply_matched_by_text_waits_for_its_question(
    emu: Emulator, client: httpx.Client
) -> None:
    emu.reply("It was finished in 1889.", match_text="Eiffel Tower")
    emu.reply("a title", match_text="Write a title")
    # A framework's side call first: it passes the answers meant for other questions by.
    assert _said(client.post("/chat/completions", json=_asking("Rewrite: tower?"))) == (
        "Echo: Rewrite: tower?"
    )
    assert _said(client.post("/chat/completions", json=_asking("Write a title"))) == "a title"
    question = _asking("When was the Eiffel Tower finished?")
    assert _said(client.post("/chat/completions", json=question)) == "It was finished in 1889."
    assert _said(client.post("/chat/completions", json=question)).startswith("Echo: ")


def test_match_text_reads_the_last_user_message_only(emu: Emulator, client: httpx.Client) -> None:
    emu.reply("matched", match_text="needle")
    history = {"model": "gpt-4o", "messages": [_user("needle"), {"role": "user", "content": "hay"}]}
    assert _said(client.post("/chat/completions", json=history)) == "Echo: hay"
    assert _said(client.post("/chat/completions", json=_asking("a needle here"))) == "matched"


def test_a_reply_matched_by_model_and_unmatched_ones_keep_their_order(
    emu: Emulator, client: httpx.Client
) -> None:
    emu.reply("for mini", match_model="gpt-4o-mini")
    emu.reply("anyone 1")
    emu.reply("anyone 2")
    assert _said(chat(client)) == "anyone 1"  # gpt-4o: the mini's reply is not for it
    assert _said(chat(client, model="gpt-4o-mini")) == "for mini"
    assert _said(chat(client, model="gpt-4o-mini")) == "anyone 2"
    assert _said(chat(client)) == "Echo: hello world"


def test_both_filters_must_match_and_azure_matches_the_deployment(emu: Emulator) -> None:
    emu.reply("both", match_model="prod-mini", match_text="hello")
    with httpx.Client(base_url=emu.url, timeout=10) as http:
        path = "/openai/deployments/prod-mini/chat/completions"
        assert _said(http.post(path, json=_asking("bye", model="x"))) == "Echo: bye"
        assert _said(http.post(path, json=_asking("hello", model="x"))) == "both"


def test_a_rejected_request_gives_its_reply_back_in_its_place(
    emu: Emulator, client: httpx.Client
) -> None:
    emu.reply("a", match_model="gpt-4o")
    emu.reply("b")
    emu.reply("c")
    bad = client.post("/chat/completions", json={"model": "gpt-4o-mini", "messages": [], "n": 0})
    assert bad.status_code == 400  # it had taken "b", and gives it back second, not first
    assert [_said(chat(client)) for _ in range(3)] == ["a", "b", "c"]


def test_queued_tool_call_reply(emu: Emulator, client: httpx.Client) -> None:
    emu.reply(
        tool_calls=[
            {"name": "get_weather", "arguments": {"city": "Paris"}},
            {"name": "raw", "arguments": '{"broken": '},
        ]
    )

    choice = chat(client).json()["choices"][0]

    assert choice["finish_reason"] == "tool_calls"
    message = choice["message"]
    assert message["content"] is None
    first, second = message["tool_calls"]
    assert first["id"].startswith("call_emu_")
    assert second["id"].startswith("call_emu_")
    assert first["id"] != second["id"]
    assert first["type"] == "function"
    assert first["function"] == {"name": "get_weather", "arguments": '{"city":"Paris"}'}
    assert json.loads(first["function"]["arguments"]) == {"city": "Paris"}
    assert second["function"]["arguments"] == '{"broken": '


def test_reply_rejects_tool_call_without_name(emu: Emulator) -> None:
    with pytest.raises(ValueError, match="name"):
        emu.reply(tool_calls=[{"arguments": {}}])


def test_required_tool_choice_calls_first_tool(client: httpx.Client) -> None:
    other = {"type": "function", "function": {"name": "other"}}
    body = chat(client, tools=[WEATHER_TOOL, other], tool_choice="required").json()

    choice = body["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["content"] is None
    [call] = choice["message"]["tool_calls"]
    assert call["function"] == {"name": "get_weather", "arguments": "{}"}


def test_named_tool_choice_calls_that_tool(client: httpx.Client) -> None:
    other = {"type": "function", "function": {"name": "other"}}
    choice = {"type": "function", "function": {"name": "other"}}
    body = chat(client, tools=[WEATHER_TOOL, other], tool_choice=choice).json()

    [call] = body["choices"][0]["message"]["tool_calls"]
    assert call["function"]["name"] == "other"


def test_auto_tool_choice_answers_with_text(client: httpx.Client) -> None:
    body = chat(client, tools=[WEATHER_TOOL]).json()
    assert body["choices"][0]["message"]["content"] == "Echo: hello world"
    assert "tool_calls" not in body["choices"][0]["message"]


@pytest.mark.parametrize("field", ["max_tokens", "max_completion_tokens"])
def test_max_tokens_truncates_with_length(client: httpx.Client, field: str) -> None:
    body = chat(client, **{field: 2}).json()

    choice = body["choices"][0]
    assert choice["finish_reason"] == "length"
    assert choice["message"]["content"] == "Echo: he"  # 2 tokens * 4 characters
    assert body["usage"]["completion_tokens"] == 2


def test_max_tokens_larger_than_reply_is_not_a_truncation(client: httpx.Client) -> None:
    choice = chat(client, max_tokens=100).json()["choices"][0]
    assert choice["finish_reason"] == "stop"
    assert choice["message"]["content"] == "Echo: hello world"


def test_n_choices(client: httpx.Client) -> None:
    body = chat(client, n=3).json()

    assert [choice["index"] for choice in body["choices"]] == [0, 1, 2]
    assert {choice["message"]["content"] for choice in body["choices"]} == {"Echo: hello world"}
    assert body["usage"]["completion_tokens"] == 12


def test_model_prefix_is_reported() -> None:
    with Emulator(model_prefix="emu/") as emu, httpx.Client(base_url=emu.base_url) as http:
        assert chat(http).json()["model"] == "emu/gpt-4o"
        assert chat(http, model="emu/gpt-4o").json()["model"] == "emu/gpt-4o"
        ids = [m["id"] for m in http.get("/models").json()["data"]]
        assert ids
        assert all(model_id.startswith("emu/") for model_id in ids)


# -- streaming ---------------------------------------------------------------------------------


def test_streaming_text_assembles_same_content_with_usage(client: httpx.Client) -> None:
    plain = chat(client).json()
    response = chat(client, stream=True, stream_options={"include_usage": True})

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["transfer-encoding"] == "chunked"
    chunks = stream_chunks(response)
    assert len({chunk["id"] for chunk in chunks}) == 1
    assert all(chunk["object"] == "chat.completion.chunk" for chunk in chunks)
    assert all(chunk["model"] == "gpt-4o" for chunk in chunks)

    first, *pieces, finish, usage = chunks
    assert first["choices"] == [
        {
            "index": 0,
            "delta": {"role": "assistant", "content": "", "refusal": None},
            "logprobs": None,
            "finish_reason": None,
        }
    ]
    assert first["usage"] is None
    contents = [chunk["choices"][0]["delta"]["content"] for chunk in pieces]
    assert all(len(piece) <= 4 for piece in contents)
    assert "".join(contents) == plain["choices"][0]["message"]["content"]
    assert all(chunk["usage"] is None for chunk in pieces)
    assert finish["choices"] == [
        {"index": 0, "delta": {}, "logprobs": None, "finish_reason": "stop"}
    ]
    assert usage["choices"] == []
    assert usage["usage"] == plain["usage"]


def test_streaming_without_include_usage_has_no_usage_key(client: httpx.Client) -> None:
    chunks = stream_chunks(chat(client, stream=True))

    assert all("usage" not in chunk for chunk in chunks)
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"


def test_streaming_is_written_incrementally(emu: Emulator, client: httpx.Client) -> None:
    emu.add_fault(Fault(stall_after_chunks=1, stall_seconds=0.8))
    start = time.perf_counter()
    with client.stream("POST", "/chat/completions", json={**CHAT, "stream": True}) as response:
        lines = response.iter_lines()
        first_line = next(lines)
        first_at = time.perf_counter() - start
        rest = list(lines)
    assert json.loads(first_line[6:])["choices"][0]["delta"]["role"] == "assistant"
    assert first_at < 0.5
    assert "data: [DONE]" in rest


def test_streaming_tool_call_deltas(emu: Emulator, client: httpx.Client) -> None:
    emu.reply(tool_calls=[{"name": "get_weather", "arguments": {"city": "Paris", "unit": "C"}}])
    emu.reply(tool_calls=[{"name": "get_weather", "arguments": {"city": "Paris", "unit": "C"}}])
    reference = chat(client).json()["choices"][0]["message"]["tool_calls"][0]

    chunks = stream_chunks(chat(client, stream=True))

    deltas = [chunk["choices"][0]["delta"] for chunk in chunks]
    assert deltas[0] == {"role": "assistant", "content": None, "refusal": None}
    header = deltas[1]["tool_calls"]
    assert len(header) == 1
    assert header[0]["index"] == 0
    assert header[0]["id"].startswith("call_emu_")
    assert header[0]["type"] == "function"
    assert header[0]["function"] == {"name": "get_weather", "arguments": ""}
    fragments = deltas[2:-1]
    assert len(fragments) > 1
    for delta in fragments:
        [part] = delta["tool_calls"]
        assert set(part) == {"index", "function"}
        assert part["index"] == 0
        assert set(part["function"]) == {"arguments"}
    arguments = "".join(delta["tool_calls"][0]["function"]["arguments"] for delta in fragments)
    assert arguments == reference["function"]["arguments"]
    assert json.loads(arguments) == {"city": "Paris", "unit": "C"}
    assert deltas[-1] == {}
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"


def test_streaming_n_choices_carry_their_index(client: httpx.Client) -> None:
    chunks = stream_chunks(chat(client, stream=True, n=2))
    texts = {0: "", 1: ""}
    for chunk in chunks:
        [choice] = chunk["choices"]
        texts[choice["index"]] += choice["delta"].get("content") or ""
    assert texts == {0: "Echo: hello world", 1: "Echo: hello world"}


# -- embeddings, models, routing ---------------------------------------------------------------


def test_embeddings_with_dimensions(client: httpx.Client) -> None:
    request = {"model": "text-embedding-3-small", "input": ["alpha", "beta"], "dimensions": 5}
    body = client.post("/embeddings", json=request).json()

    assert body["object"] == "list"
    assert body["model"] == "text-embedding-3-small"
    assert [item["index"] for item in body["data"]] == [0, 1]
    assert all(item["object"] == "embedding" for item in body["data"])
    vectors = [item["embedding"] for item in body["data"]]
    assert all(len(vector) == 5 for vector in vectors)
    assert all(isinstance(value, float) for vector in vectors for value in vector)
    assert all(math.isclose(math.hypot(*vector), 1.0) for vector in vectors)
    assert vectors[0] != vectors[1]
    # (max(1, 5 // 4) + max(1, 4 // 4))
    assert body["usage"] == {"prompt_tokens": 2, "total_tokens": 2}

    again = client.post("/embeddings", json={"model": "x", "input": "alpha", "dimensions": 5})
    assert again.json()["data"][0]["embedding"] == vectors[0]


def test_embeddings_default_dimensions_and_base64(client: httpx.Client) -> None:
    floats = client.post("/embeddings", json={"model": "e", "input": "text"}).json()
    vector = floats["data"][0]["embedding"]
    assert len(vector) == 8

    encoded = client.post(
        "/embeddings", json={"model": "e", "input": "text", "encoding_format": "base64"}
    ).json()["data"][0]["embedding"]
    decoded = struct.unpack("<8f", base64.b64decode(encoded))
    assert all(
        math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-7) for a, b in zip(decoded, vector, strict=True)
    )


def test_embeddings_reject_bad_input(client: httpx.Client) -> None:
    response = client.post("/embeddings", json={"model": "e", "input": 42})
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "input"


def test_models_list(client: httpx.Client) -> None:
    body = client.get("/models").json()

    assert body["object"] == "list"
    assert len(body["data"]) >= 3
    for model in body["data"]:
        assert set(model) == {"id", "object", "created", "owned_by"}
        assert model["object"] == "model"
        assert model["owned_by"] == "emulator"
    assert "gpt-4o" in {model["id"] for model in body["data"]}
    assert client.get("/models/gpt-4o").json()["id"] == "gpt-4o"


def test_unknown_route_is_openai_404(client: httpx.Client) -> None:
    response = client.post("/nope", json={})

    assert response.status_code == 404
    assert response.json() == {
        "error": {
            "message": "Invalid URL (POST /v1/nope)",
            "type": "invalid_request_error",
            "param": None,
            "code": None,
        }
    }
    assert client.get("/chat/completions").status_code == 404


def test_bad_json_is_400(client: httpx.Client) -> None:
    response = client.post(
        "/chat/completions", content=b"{not json", headers={"content-type": "application/json"}
    )

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert "parse the JSON body" in error["message"]


def test_missing_model_is_400(client: httpx.Client) -> None:
    response = client.post("/chat/completions", json={"messages": [USER]})
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "model"


def test_azure_deployment_paths(emu: Emulator) -> None:
    with httpx.Client(base_url=emu.url + "/openai/deployments/my-gpt") as http:
        params = {"api-version": "2024-10-21"}
        chat_body = http.post("/chat/completions", params=params, json={"messages": [USER]})
        embed_body = http.post("/embeddings", params=params, json={"input": "hi"})

    assert chat_body.json()["model"] == "my-gpt"
    assert chat_body.json()["choices"][0]["message"]["content"] == "Echo: hello world"
    assert embed_body.json()["model"] == "my-gpt"
    recorded = emu.requests[0]
    assert recorded.path == "/openai/deployments/my-gpt/chat/completions"
    assert recorded.query == {"api-version": "2024-10-21"}


def test_chunked_request_body(client: httpx.Client) -> None:
    payload = json.dumps(CHAT).encode()

    def body() -> Iterator[bytes]:
        yield payload[:10]
        yield payload[10:]

    response = client.post(
        "/chat/completions", content=body(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 200
    assert response.json()["choices"][0]["message"]["content"] == "Echo: hello world"


# -- faults ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "kind", "code"),
    [
        (400, "invalid_request_error", None),
        (401, "invalid_request_error", "invalid_api_key"),
        (404, "invalid_request_error", "model_not_found"),
        (429, "requests", "rate_limit_exceeded"),
        (500, "server_error", None),
        (503, "server_error", "service_unavailable"),
    ],
)
def test_status_fault_has_openai_error_body(
    emu: Emulator, client: httpx.Client, status: int, kind: str, code: str | None
) -> None:
    emu.add_fault(Fault(status=status))

    response = chat(client)

    assert response.status_code == status
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["type"] == kind
    assert error["code"] == code
    assert error["param"] is None
    assert error["message"]
    if status == 404:
        assert "gpt-4o" in error["message"]


def test_fault_body_headers_and_overrides(emu: Emulator, client: httpx.Client) -> None:
    emu.add_fault(Fault(status=418, body="<html>teapot</html>", headers={"x-extra": "1"}, times=1))
    emu.add_fault(
        Fault(status=429, message="quota", error_type="insufficient_quota", error_code="q", times=1)
    )

    verbatim = chat(client)
    overridden = chat(client)

    assert verbatim.status_code == 418
    assert verbatim.text == "<html>teapot</html>"
    assert verbatim.headers["x-extra"] == "1"
    assert overridden.json()["error"] == {
        "message": "quota",
        "type": "insufficient_quota",
        "param": None,
        "code": "q",
    }


def test_retry_after_seconds_and_date(emu: Emulator, client: httpx.Client) -> None:
    date = "Wed, 21 Oct 2015 07:28:00 GMT"
    emu.add_fault(Fault(status=429, retry_after=2, times=1))
    emu.add_fault(Fault(status=429, retry_after=1.5, times=1))
    emu.add_fault(Fault(status=503, retry_after=date, times=1))

    assert chat(client).headers["retry-after"] == "2"
    assert chat(client).headers["retry-after"] == "1.5"
    response = chat(client)
    assert response.status_code == 503
    assert response.headers["retry-after"] == date
    assert "retry-after" not in chat(client).headers


def test_times_consumption(emu: Emulator, client: httpx.Client) -> None:
    emu.add_fault(Fault(status=500, times=2))

    statuses = [chat(client).status_code for _ in range(4)]

    assert statuses == [500, 500, 200, 200]


def test_permanent_fault_until_reset(emu: Emulator, client: httpx.Client) -> None:
    emu.add_fault(Fault(status=500))
    assert [chat(client).status_code for _ in range(3)] == [500, 500, 500]
    emu.reset()
    assert chat(client).status_code == 200


def test_match_model_and_path(emu: Emulator, client: httpx.Client) -> None:
    emu.add_fault(Fault(status=404, match_model="gpt-missing"))
    emu.add_fault(Fault(status=500, match_path="/embeddings"))

    assert chat(client).status_code == 200
    assert chat(client, model="gpt-missing").status_code == 404
    assert client.post("/embeddings", json={"model": "e", "input": "x"}).status_code == 500
    assert client.get("/models").status_code == 200


def test_first_matching_fault_applies(emu: Emulator, client: httpx.Client) -> None:
    emu.add_fault(Fault(status=401, match_model="other", times=1))
    emu.add_fault(Fault(status=429, times=1))
    emu.add_fault(Fault(status=500, times=1))

    assert [chat(client).status_code for _ in range(3)] == [429, 500, 200]
    assert chat(client, model="other").status_code == 401


def test_delay_is_measurable(emu: Emulator, client: httpx.Client) -> None:
    emu.add_fault(Fault(delay=0.3, times=1))

    start = time.perf_counter()
    delayed = chat(client)
    elapsed = time.perf_counter() - start
    start = time.perf_counter()
    chat(client)
    fast = time.perf_counter() - start

    assert delayed.status_code == 200
    assert elapsed >= 0.3
    assert fast < 0.25


async def test_delay_does_not_block_other_connections(emu: Emulator) -> None:
    emu.add_fault(Fault(delay=1.0, match_model="slow"))
    async with httpx.AsyncClient(base_url=emu.base_url, timeout=10) as http:
        slow = asyncio.create_task(http.post("/chat/completions", json={**CHAT, "model": "slow"}))
        await asyncio.sleep(0.05)
        start = time.perf_counter()
        fast = await http.post("/chat/completions", json=CHAT)
        fast_elapsed = time.perf_counter() - start
        assert not slow.done()
        assert (await slow).status_code == 200
    assert fast.status_code == 200
    assert fast_elapsed < 0.5


async def test_a_request_from_before_reset_takes_no_reply_queued_after(emu: Emulator) -> None:
    emu.add_fault(Fault(delay=0.4, match_model="slow"))
    async with httpx.AsyncClient(base_url=emu.base_url, timeout=10) as http:
        leftover = asyncio.create_task(
            http.post("/chat/completions", json={**CHAT, "model": "slow"})
        )
        await asyncio.sleep(0.1)
        emu.reset()  # the next test begins while the old request still waits
        emu.reply("for the new test")
        old = await leftover
        new = await http.post("/chat/completions", json=CHAT)
    assert old.json()["choices"][0]["message"]["content"] != "for the new test"
    assert new.json()["choices"][0]["message"]["content"] == "for the new test"


def test_delay_triggers_client_read_timeout(emu: Emulator) -> None:
    emu.add_fault(Fault(delay=2.0, times=1))
    with httpx.Client(base_url=emu.base_url, timeout=0.2) as http, pytest.raises(httpx.ReadTimeout):
        chat(http)


def test_stall_pauses_the_stream(emu: Emulator, client: httpx.Client) -> None:
    emu.add_fault(Fault(stall_after_chunks=2, stall_seconds=0.5))

    arrivals: list[float] = []
    lines: list[str] = []
    with client.stream("POST", "/chat/completions", json={**CHAT, "stream": True}) as response:
        for line in response.iter_lines():
            if line:
                arrivals.append(time.perf_counter())
                lines.append(line)

    gaps = [later - earlier for earlier, later in itertools.pairwise(arrivals)]
    assert gaps[1] >= 0.45  # between the 2nd and 3rd event
    assert max(gaps[:1] + gaps[2:]) < 0.25
    assert lines[-1] == "data: [DONE]"
    content = "".join(
        json.loads(line[6:])["choices"][0]["delta"].get("content") or "" for line in lines[:-1]
    )
    assert content == "Echo: hello world"


def test_stall_triggers_client_read_timeout(emu: Emulator) -> None:
    emu.add_fault(Fault(stall_after_chunks=1, stall_seconds=3.0))
    body = {**CHAT, "stream": True}
    with (
        httpx.Client(base_url=emu.base_url, timeout=0.3) as http,
        http.stream("POST", "/chat/completions", json=body) as response,
    ):
        assert response.status_code == 200
        with pytest.raises(httpx.ReadTimeout):
            read_lines(response, [])


def test_cut_stream_raises_while_reading(emu: Emulator, client: httpx.Client) -> None:
    emu.add_fault(Fault(cut_after_chunks=3, times=1))

    lines: list[str] = []
    with client.stream("POST", "/chat/completions", json={**CHAT, "stream": True}) as response:
        assert response.status_code == 200
        with pytest.raises(CUT_ERRORS):
            read_lines(response, lines)

    assert len(lines) == 3
    assert "data: [DONE]" not in lines
    # the emulator itself is fine afterwards
    assert chat(client).status_code == 200


def test_cut_non_streaming_drops_connection(emu: Emulator, client: httpx.Client) -> None:
    emu.add_fault(Fault(cut_after_chunks=0, times=1))

    with pytest.raises(CUT_ERRORS):
        chat(client)
    assert chat(client).status_code == 200


def test_malformed_json_body(emu: Emulator, client: httpx.Client) -> None:
    emu.add_fault(Fault(malformed=True, times=1))

    response = chat(client)

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.text)
    assert chat(client).json()["choices"][0]["message"]["content"] == "Echo: hello world"


def test_malformed_stream_event(emu: Emulator, client: httpx.Client) -> None:
    emu.add_fault(Fault(malformed=True, times=1))

    events = sse_events(chat(client, stream=True))

    broken = []
    for event in events[:-1]:
        try:
            json.loads(event)
        except json.JSONDecodeError:
            broken.append(event)
    assert len(broken) == 1
    assert events[-1] == "[DONE]"


def test_raw_bytes_body_is_sent_verbatim(emu: Emulator, client: httpx.Client) -> None:
    emu.add_fault(Fault(body=b"\xff\xfe not text", headers={"content-type": "x/y"}, times=1))
    response = chat(client)
    assert response.status_code == 200
    assert response.content == b"\xff\xfe not text"


def test_raw_events_replace_the_stream(emu: Emulator, client: httpx.Client) -> None:
    emu.add_fault(Fault(events=(b": ping\n\n", b"data: \xff\n\n"), times=1))
    response = client.post("/chat/completions", json={**CHAT, "stream": True})
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.content == b": ping\n\ndata: \xff\n\n"


def test_drip_sends_the_body_piece_by_piece(emu: Emulator, client: httpx.Client) -> None:
    emu.add_fault(Fault(body="0123456789", drip=0.05, drip_size=2, times=1))
    pieces: list[float] = []
    started = time.perf_counter()
    with client.stream("POST", "/chat/completions", json=CHAT) as response:
        body = b""
        for piece in response.iter_raw():
            body += piece
            pieces.append(time.perf_counter() - started)
    assert body == b"0123456789"
    assert pieces[-1] >= 0.2  # five pieces, 0.05 s apart
    assert len(pieces) >= 3  # arrived over time, not at once


def test_drip_spaces_raw_events(emu: Emulator, client: httpx.Client) -> None:
    emu.add_fault(Fault(events=(b": a\n\n", b": b\n\n", b": c\n\n"), drip=0.1, times=1))
    started = time.perf_counter()
    response = client.post("/chat/completions", json={**CHAT, "stream": True})
    assert response.content == b": a\n\n: b\n\n: c\n\n"
    assert time.perf_counter() - started >= 0.2


def test_fault_validation() -> None:
    with pytest.raises(ValueError, match="status"):
        Fault(status=42)
    with pytest.raises(ValueError, match="times"):
        Fault(times=0)
    with pytest.raises(ValueError, match="delay"):
        Fault(delay=-1)
    with pytest.raises(ValueError, match="drip"):
        Fault(drip=-0.1)
    with pytest.raises(ValueError, match="drip_size"):
        Fault(drip_size=0)


# -- bookkeeping, concurrency and lifecycle ------------------------------------------------------


def test_recorded_requests(emu: Emulator, client: httpx.Client) -> None:
    chat(client, temperature=0.5)
    client.get("/models", params={"limit": "5"}, headers={"X-Custom": "yes"})

    assert emu.request_count == 2
    first, second = emu.requests
    assert isinstance(first, RecordedRequest)
    assert first.method == "POST"
    assert first.path == "/v1/chat/completions"
    assert first.json == {**CHAT, "temperature": 0.5}
    assert first.headers["content-type"] == "application/json"
    assert json.loads(first.body) == first.json
    assert second.method == "GET"
    assert second.path == "/v1/models"
    assert second.query == {"limit": "5"}
    assert second.headers["x-custom"] == "yes"
    assert second.json is None


def test_recorded_requests_are_bounded_and_reset() -> None:
    with Emulator(max_recorded=3) as emu, httpx.Client(base_url=emu.base_url) as http:
        for index in range(5):
            chat(http, seed=index)
        assert emu.request_count == 5
        assert [request.json["seed"] for request in emu.requests] == [2, 3, 4]
        emu.add_fault(Fault(status=500))
        emu.reply("queued")
        emu.reset()
        assert emu.requests == []
        assert emu.request_count == 0
        assert chat(http).json()["choices"][0]["message"]["content"] == "Echo: hello world"


def test_max_requests_bound_answers_503() -> None:
    with Emulator(max_requests=3) as emu, httpx.Client(base_url=emu.base_url) as http:
        statuses = [chat(http).status_code for _ in range(5)]
        error = chat(http).json()["error"]
        assert emu.request_count == 6
    assert statuses == [200, 200, 200, 503, 503]
    assert error["type"] == "server_error"
    assert "3" in error["message"]


async def test_fifty_concurrent_async_requests(emu: Emulator) -> None:
    limits = httpx.Limits(max_connections=100)
    async with httpx.AsyncClient(base_url=emu.base_url, limits=limits, timeout=10) as http:
        responses = await asyncio.gather(
            *(
                http.post(
                    "/chat/completions",
                    json={"model": "gpt-4o", "messages": [{"role": "user", "content": f"n{i}"}]},
                )
                for i in range(50)
            )
        )

    assert [r.status_code for r in responses] == [200] * 50
    contents = {r.json()["choices"][0]["message"]["content"] for r in responses}
    assert contents == {f"Echo: n{i}" for i in range(50)}
    assert emu.request_count == 50


async def test_concurrent_async_streams(emu: Emulator) -> None:
    async def one(http: httpx.AsyncClient, index: int) -> str:
        messages = [{"role": "user", "content": f"stream {index}"}]
        body = {"model": "m", "stream": True, "messages": messages}
        text = ""
        async with http.stream("POST", "/chat/completions", json=body) as response:
            async for line in response.aiter_lines():
                if line.startswith("data: {"):
                    text += json.loads(line[6:])["choices"][0]["delta"].get("content") or ""
        return text

    limits = httpx.Limits(max_connections=100)
    async with httpx.AsyncClient(base_url=emu.base_url, limits=limits, timeout=10) as http:
        texts = await asyncio.gather(*(one(http, i) for i in range(50)))
    assert texts == [f"Echo: stream {i}" for i in range(50)]


def test_keep_alive_and_pipelining(emu: Emulator) -> None:
    payload = json.dumps(CHAT).encode()
    request = b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s" % (
        len(payload),
        payload,
    )
    closing = request.replace(b"Host: x\r\n", b"Host: x\r\nConnection: close\r\n")

    received = raw_exchange(emu.port, request + request + closing)

    assert received.count(b"HTTP/1.1 200 OK\r\n") == 3
    assert received.count(b"Echo: hello world") == 3
    assert received.lower().count(b"connection: close") == 1
    assert emu.request_count == 3


def test_connection_close_is_honoured(emu: Emulator) -> None:
    received = raw_exchange(emu.port, b"GET /v1/models HTTP/1.1\r\nConnection: close\r\n\r\n")
    assert received.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"connection: close\r\n" in received.lower()


def test_malformed_request_line_is_400(emu: Emulator) -> None:
    received = raw_exchange(emu.port, b"NONSENSE\r\n\r\n")
    assert received.startswith(b"HTTP/1.1 400 ")


def test_lifecycle() -> None:
    emu = Emulator()
    with pytest.raises(RuntimeError):
        _ = emu.url
    before = set(threading.enumerate())
    emu.start()
    try:
        [thread] = set(threading.enumerate()) - before
        assert thread.name == "cosmara-emulator"
        assert thread.daemon
        assert emu.url == f"http://127.0.0.1:{emu.port}"
        assert emu.base_url == emu.url + "/v1"
        with pytest.raises(RuntimeError):
            emu.start()
        assert httpx.get(emu.base_url + "/models").status_code == 200
    finally:
        emu.stop()
    assert not thread.is_alive()
    emu.stop()  # idempotent
    with pytest.raises(RuntimeError):
        _ = emu.port


def test_stop_closes_open_and_waiting_connections() -> None:
    emu = Emulator().start()
    port = emu.port
    idle = socket.create_connection(("127.0.0.1", port))
    emu.add_fault(Fault(delay=30))
    errors: list[BaseException] = []

    def slow_request() -> None:
        try:
            httpx.post(f"http://127.0.0.1:{port}/v1/chat/completions", json=CHAT, timeout=30)
        except BaseException as exc:
            errors.append(exc)

    worker = threading.Thread(target=slow_request)
    worker.start()
    deadline = time.monotonic() + 5
    while emu.request_count == 0 and time.monotonic() < deadline:
        time.sleep(0.01)

    start = time.perf_counter()
    emu.stop()
    stop_elapsed = time.perf_counter() - start
    worker.join(5)

    assert stop_elapsed < 2
    assert not worker.is_alive()
    assert len(errors) == 1
    assert isinstance(errors[0], CUT_ERRORS)
    idle.settimeout(2)
    assert idle.recv(1) == b""  # closed by the server
    idle.close()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=1)


def test_restart_after_stop() -> None:
    emu = Emulator()
    with emu:
        emu.reply("kept across restart")
    with emu, httpx.Client(base_url=emu.base_url) as http:
        assert chat(http).json()["choices"][0]["message"]["content"] == "kept across restart"


def test_probabilistic_fault_hits_about_its_share() -> None:
    with Emulator() as emu, httpx.Client() as client:
        emu.add_fault(Fault(status=503, probability=0.3))
        statuses = [
            client.post(
                f"{emu.base_url}/chat/completions",
                json={"model": "m", "messages": [{"role": "user", "content": "x"}]},
            ).status_code
            for _ in range(200)
        ]
    failed = statuses.count(503)
    assert 35 <= failed <= 85  # 60 expected
    assert statuses.count(200) == 200 - failed
