"""``CosmaraTransport`` / ``AsyncCosmaraTransport`` as plain httpx transports: what they read
from a request, what they answer, and that the sync and async ones answer alike."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

import cosmara
from cosmara import Cosmara
from cosmara.testing import Emulator
from cosmara_generic import AsyncCosmaraTransport, CosmaraTransport
from cosmara_generic._request import forwarded_headers, read_request

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}]}
# (method, path, body) of the requests the parity test sends to both transports.
REQUESTS: list[tuple[str, str, Any]] = [
    ("POST", "/v1/chat/completions", CHAT),
    ("POST", "/v1/chat/completions", {**CHAT, "stream": True}),
    ("POST", "/v1/responses", {"model": "gpt-4o-mini", "input": "Hi"}),
    ("POST", "/v1/responses", {"model": "gpt-4o-mini", "input": "Hi", "stream": True}),
    ("POST", "/v1/embeddings", {"model": "text-embedding-3-small", "input": "Hi"}),
    ("GET", "/v1/models/gpt-4o-mini", None),
    ("POST", "/v1/chat/completions", {"model": "gpt-4o-mini", "messages": []}),
    ("POST", "/v1/completions", {"model": "gpt-4o-mini", "prompt": "Hi"}),
    ("DELETE", "/v1/models/gpt-4o-mini", None),
]
VOLATILE = {"id", "created", "created_at", "item_id", "latency_ms", "x-cosmara-latency-ms"}


def _stable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _stable(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_stable(v) for v in value]
    return value


def _answer(response: httpx.Response) -> Any:
    headers = {k: v for k, v in response.headers.items() if k.startswith("x-")}
    if response.headers["content-type"].startswith("text/event-stream"):
        events = [
            json.loads(line[6:])
            for line in response.text.splitlines()
            if line.startswith("data: ") and line != "data: [DONE]"
        ]
        return response.status_code, _stable(headers), _stable(events)
    return response.status_code, _stable(headers), _stable(response.json())


def test_sync_and_async_answer_alike(client: Cosmara) -> None:
    with httpx.Client(transport=CosmaraTransport(client), base_url="http://x") as http:
        sync = [_answer(http.request(m, p, json=b)) for m, p, b in REQUESTS]

    async def run() -> list[Any]:
        transport = AsyncCosmaraTransport(client)
        async with httpx.AsyncClient(transport=transport, base_url="http://x") as http:
            return [_answer(await http.request(m, p, json=b)) for m, p, b in REQUESTS]

    assert asyncio.run(run()) == sync
    statuses = [status for status, _, _ in sync]
    assert statuses == [200, 200, 200, 200, 200, 200, 400, 404, 404]


def test_body_must_be_a_json_object(client: Cosmara) -> None:
    with httpx.Client(transport=CosmaraTransport(client), base_url="http://x") as http:
        for content in (b"{not json", b"[1, 2]"):
            response = http.post("/v1/chat/completions", content=content)
            assert response.status_code == 400
            assert response.json()["error"]["type"] == "invalid_request_error"


def test_any_base_path(emulator: Emulator, client: Cosmara) -> None:
    transport = CosmaraTransport(client)
    with httpx.Client(transport=transport, base_url="https://gateway.example/openai/v1") as http:
        response = http.post("/chat/completions", json=CHAT)
    assert response.json()["choices"][0]["message"]["content"] == "Echo: Hi"


def test_defaults_and_with_defaults(emulator: Emulator, client: Cosmara) -> None:
    transport = CosmaraTransport(client, team="search", max_retries=0)
    assert transport.defaults == {"team": "search", "max_retries": 0}
    derived = transport.with_defaults(team="support")
    assert derived.engine is client
    assert derived.defaults == {"team": "support", "max_retries": 0}
    assert not derived.close_engine


def test_forwarded_headers() -> None:
    headers = httpx.Headers(
        {
            "Authorization": "Bearer sk-sdk",
            "api-key": "k",
            "X-Goog-Api-Key": "k",
            "Cookie": "a=b",
            "User-Agent": "AsyncOpenAI/Python 3.63.0",
            "X-Stainless-Retry-Count": "0",
            "Idempotency-Key": "stainless-python-retry-1",
            "OpenAI-Organization": "org-1",
            "Content-Type": "application/json",
            "x-cosmara-anything": "1",
            "anthropic-beta": "tools-2024",
            "X-Trace-Id": "t1",
        }
    )
    assert forwarded_headers(headers) == {"anthropic-beta": "tools-2024", "x-trace-id": "t1"}


@pytest.mark.parametrize(
    ("phases", "expected"),
    [
        (None, None),
        ({"connect": None, "read": None, "write": None, "pool": None}, None),
        (
            {"connect": 5.0, "read": 30.0, "write": 30.0, "pool": 30.0},
            cosmara.Timeouts(
                connect=5.0, request=30.0, first_token=30.0, between_chunks=30.0, pool=30.0
            ),
        ),
        (
            {"connect": 2.0, "read": 0.5, "write": 0.5, "pool": None},
            cosmara.Timeouts(connect=0.5, request=0.5, first_token=0.5, between_chunks=0.5),
        ),
    ],
)
def test_the_sdks_timeout_becomes_the_engines(phases: Any, expected: Any) -> None:
    request = httpx.Request("POST", "http://x/v1/chat/completions", json=CHAT)
    if phases is not None:
        request.extensions["timeout"] = phases
    assert read_request(request).transport.get("timeout") == expected
