"""Every failure reaches the caller as the openai SDK's own exception, sync and async, with the
provider's message and code and Cosmara's attempts; and the SDK never retries behind the
engine."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable, Iterator
from typing import Any

import openai
import pytest

import cosmara
import cosmara_generic
from cosmara import ChatChunk, ChatRequest, ChunkChoice, Cosmara, Delta
from cosmara.providers import LocalProvider
from cosmara.testing import Emulator, Fault

MESSAGES = [{"role": "user", "content": "Hi"}]
STATUSES = [
    (400, openai.BadRequestError),
    (401, openai.AuthenticationError),
    (403, openai.PermissionDeniedError),
    (404, openai.NotFoundError),
    (409, openai.ConflictError),
    (422, openai.UnprocessableEntityError),
    (429, openai.RateLimitError),
    (500, openai.InternalServerError),
    (503, openai.InternalServerError),
]


def _call(emulator: Emulator, asynchronous: bool, **options: Any) -> Callable[[], Any]:
    """One chat call with the sync or the async client; returns what it returned."""
    options = {"base_url": emulator.base_url, "api_key": "sk-test", "max_retries": 0, **options}
    if not asynchronous:

        def call() -> Any:
            with cosmara_generic.OpenAI(load_entry_points=False, **options) as client:
                return client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)

        return call

    async def call() -> Any:
        async with cosmara_generic.AsyncOpenAI(load_entry_points=False, **options) as client:
            return await client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)

    return lambda: asyncio.run(call())


@pytest.fixture(params=[False, True], ids=["sync", "async"])
def asynchronous(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


@pytest.mark.parametrize(("status", "kind"), STATUSES)
def test_status_errors(
    emulator: Emulator, asynchronous: bool, status: int, kind: type[openai.APIStatusError]
) -> None:
    emulator.add_fault(Fault(status=status, retry_after=3 if status == 429 else None))
    with pytest.raises(kind) as info:
        _call(emulator, asynchronous)()
    error = info.value
    assert error.status_code == status
    assert error.message.startswith(f"Error code: {status} - ")
    assert isinstance(error.body, dict)
    assert error.body["cosmara"]["attempts"][0]["status_code"] == status
    assert error.response.headers["x-should-retry"] == "false"
    if status == 429:
        assert error.response.headers["retry-after"] == "3"
    assert emulator.request_count == 1


def test_timeout(emulator: Emulator, asynchronous: bool) -> None:
    emulator.add_fault(Fault(delay=2.0, status=503))  # a status: no reply consumed late
    with pytest.raises(openai.APITimeoutError) as info:
        _call(emulator, asynchronous, timeout=0.2)()
    assert isinstance(info.value.__cause__, cosmara.RequestTimeoutError)
    assert emulator.request_count == 1


def test_connection_error(emulator: Emulator, asynchronous: bool) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
    with pytest.raises(openai.APIConnectionError) as info:
        _call(emulator, asynchronous, base_url=closed)()
    assert not isinstance(info.value, openai.APITimeoutError)
    assert isinstance(info.value.__cause__, cosmara.ProviderConnectionError)


def test_invalid_provider_answer_is_bad_gateway(emulator: Emulator, asynchronous: bool) -> None:
    emulator.add_fault(Fault(malformed=True))
    with pytest.raises(openai.InternalServerError) as info:
        _call(emulator, asynchronous)()
    assert info.value.status_code == 502
    assert info.value.body["cosmara"]["error"] == "InvalidResponseError"  # type: ignore[index]


def test_unknown_model_and_invalid_request(client: Cosmara, emulator: Emulator) -> None:
    oa = cosmara_generic.OpenAI(client=client)
    with pytest.raises(openai.NotFoundError) as info:
        oa.chat.completions.create(model="openai-nope/x", messages=MESSAGES)
    assert (info.value.code, info.value.param) == ("model_not_found", "model")
    with pytest.raises(openai.BadRequestError) as bad:
        oa.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, temperature=9)
    assert "temperature" in bad.value.message
    assert emulator.request_count == 0


# --- failures after the first token ------------------------------------------------------------


def test_cut_stream_raises_connection_error(emulator: Emulator, asynchronous: bool) -> None:
    emulator.add_fault(Fault(cut_after_chunks=3))

    async def consume_async() -> str:
        async with cosmara_generic.AsyncOpenAI(
            base_url=emulator.base_url, api_key="sk", load_entry_points=False
        ) as client:
            stream = await client.chat.completions.create(
                model="gpt-4o-mini",
                messages=[{"role": "user", "content": "a b c d e f"}],
                stream=True,
            )
            return "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])

    def consume() -> str:
        with cosmara_generic.OpenAI(
            base_url=emulator.base_url, api_key="sk", load_entry_points=False
        ) as client:
            stream = client.chat.completions.create(
                model="gpt-4o-mini",
                messages=[{"role": "user", "content": "a b c d e f"}],
                stream=True,
            )
            return "".join(c.choices[0].delta.content or "" for c in stream if c.choices)

    with pytest.raises(openai.APIConnectionError) as info:
        asyncio.run(consume_async()) if asynchronous else consume()
    assert isinstance(info.value.__cause__, cosmara.ProviderConnectionError)
    assert info.value.__cause__.partial_text


def test_stalled_stream_raises_timeout(emulator: Emulator) -> None:
    emulator.add_fault(Fault(stall_after_chunks=3, stall_seconds=2.0))

    async def consume() -> None:
        async with cosmara_generic.AsyncOpenAI(
            base_url=emulator.base_url, api_key="sk", load_entry_points=False
        ) as client:
            stream = await client.chat.completions.create(
                model="gpt-4o-mini",
                messages=[{"role": "user", "content": "a b c d e f"}],
                stream=True,
                timeout=0.3,
            )
            async for _ in stream:
                pass

    with pytest.raises(openai.APITimeoutError):
        asyncio.run(consume())


class Overloaded(LocalProvider):
    """Streams the first word, then fails as an overloaded provider does mid-answer."""

    kind = "overloaded"

    def chat(self, request: ChatRequest, model: str) -> Any:
        raise cosmara.ProviderUnavailableError("overloaded", provider=self.name, model=model)

    def stream(self, request: ChatRequest, model: str) -> Iterator[ChatChunk]:
        yield ChatChunk(id="x", model=model, choices=[ChunkChoice(delta=Delta(content="Hel"))])
        raise cosmara.ProviderUnavailableError(
            "overloaded mid-answer", provider=self.name, model=model, code="overloaded_error"
        )


class OverloadedPlugin:
    @cosmara.hookimpl
    def cosmara_register_providers(self, register: Callable[..., None]) -> None:
        register("overloaded", Overloaded)


def test_provider_error_mid_stream_is_the_sdks_api_error() -> None:
    engine = Cosmara(
        providers={"overloaded": {}}, plugins=[OverloadedPlugin()], load_entry_points=False
    )
    client = cosmara_generic.OpenAI(client=engine, max_retries=0)
    stream = client.chat.completions.create(model="overloaded/m1", messages=MESSAGES, stream=True)
    pieces: list[str | None] = []

    def consume() -> None:
        for chunk in stream:
            pieces.append(chunk.choices[0].delta.content)

    with pytest.raises(openai.APIError) as info:
        consume()
    assert pieces == ["Hel"]
    assert info.value.message == "overloaded mid-answer"
    assert info.value.code == "overloaded_error"
    assert info.value.body["cosmara"]["error"] == "ProviderUnavailableError"  # type: ignore[index]
