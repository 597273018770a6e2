"""Bad input gets a typed error that names the field, before any request, on every path; a
closed client refuses calls with a typed error and never blames the provider."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import pytest

import cosmara
from cosmara import Cosmara, hookimpl
from cosmara.testing import Emulator, Fault
from tests.support.paths import HOWS, Loop, ask

MODEL = "openai/gpt-4o-mini"


def _deep(levels: int) -> Any:
    value: Any = "bottom"
    for _ in range(levels):
        value = {"x": value}
    return value


@pytest.fixture
def aio() -> Iterator[Loop]:
    loop = Loop()
    yield loop
    loop.close()


class Events:
    def __init__(self) -> None:
        self.started = 0
        self.ended: list[BaseException] = []

    @hookimpl
    def cosmara_request_start(self) -> None:
        self.started += 1

    @hookimpl
    def cosmara_error(self, error: BaseException) -> None:
        self.ended.append(error)


def _client(emulator: Emulator, *plugins: object, **config: Any) -> Cosmara:
    providers = {"openai": {"base_url": emulator.base_url, "api_key": "sk-x"}}
    return Cosmara({"providers": providers, **config}, plugins=plugins, load_entry_points=False)


# --- 16. request arguments -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"team": 5}, "team"),
        ({"user": 123}, "user"),
        ({"org": ["a"]}, "org"),
        ({"tags": {"a": 1}}, "tags"),
        ({"tags": 5}, "tags"),
        ({"metadata": [1, 2]}, "metadata"),
        ({"fallbacks": 123}, "fallbacks"),
        ({"fallbacks": [None]}, "fallbacks"),
        ({"fallbacks": [""]}, "fallbacks"),
        ({"messages": [{"role": "user", "content": "\ud800"}]}, "JSON"),
        ({"frequency_penalty_x": object()}, "frequency_penalty_x"),
        ({"logit_bias_x": b"\xff"}, "logit_bias_x"),
        ({"vendor": _deep(5000)}, "vendor"),
        ({"vendor": float("nan")}, "vendor"),
        ({"timeout": float("inf")}, "timeout"),
        ({"timeout": 1e300}, "timeout"),
        ({"timeout": {"request": 1e10}}, "timeout"),
        ({"timeout": True}, "timeout"),
        ({"timeout": [1]}, "timeout"),
        ({"max_retries": 50}, "max_retries"),
        ({"max_retries": -1}, "max_retries"),
        ({"max_retries": 1.5}, "max_retries"),
    ],
)
@pytest.mark.parametrize("how", HOWS)
def test_bad_arguments_are_typed_errors_before_sending(
    emulator: Emulator, how: str, aio: Loop, arguments: dict[str, Any], field: str
) -> None:
    events = Events()
    with (
        _client(emulator, events) as client,
        pytest.raises(cosmara.RequestValidationError, match=field),
    ):
        ask(client, how, aio, **{"model": MODEL, **arguments})
    assert emulator.request_count == 0
    # Refused before it was announced, or announced and ended: never one without the other.
    assert events.started == len(events.ended)


@pytest.mark.parametrize(
    "parameters",
    [
        {"type": "objekt"},
        {"type": "object", "properties": 5},
        "city",
        ["city"],
        {"type": "object", "properties": {"city": {"type": "string"}}, "required": "city"},
        {"type": "object", "properties": {"city": {"type": "strng"}}},
        {"type": "object", "properties": {"tags": {"type": "array", "items": {"type": "txt"}}}},
        {"type": "object", "properties": {"a": {"anyOf": [{"type": "string"}, 5]}}},
    ],
)
def test_tool_schemas_are_checked(emulator: Emulator, parameters: Any) -> None:
    tool = {"type": "function", "function": {"name": "f", "parameters": parameters}}
    with _client(emulator) as client, pytest.raises(cosmara.RequestValidationError, match="tools"):
        client.chat(model=MODEL, messages=[{"role": "user", "content": "hi"}], tools=[tool])
    assert emulator.request_count == 0


def test_duplicate_tool_names_are_refused(emulator: Emulator) -> None:
    tool = {"type": "function", "function": {"name": "f"}}
    with _client(emulator) as client, pytest.raises(cosmara.RequestValidationError, match="'f'"):
        client.chat(model=MODEL, messages=[{"role": "user", "content": "hi"}], tools=[tool, tool])


def test_response_format_schemas_are_checked(emulator: Emulator) -> None:
    response_format = {
        "type": "json_schema",
        "json_schema": {"name": "x", "schema": {"type": "object", "properties": {"a": 3}}},
    }
    with _client(emulator) as client, pytest.raises(cosmara.RequestValidationError, match="schema"):
        client.chat(
            model=MODEL,
            messages=[{"role": "user", "content": "hi"}],
            response_format=response_format,
        )


def test_a_valid_schema_passes_untouched(emulator: Emulator) -> None:
    parameters = {
        "type": "object",
        "properties": {
            "city": {"type": "string", "enum": ["Oslo", "Rome"]},
            "days": {"type": ["integer", "null"]},
            "tags": {"type": "array", "items": {"$ref": "#/$defs/tag"}},
        },
        "required": ["city"],
        "$defs": {"tag": {"type": "string"}},
        "additionalProperties": False,
    }
    tool = {"type": "function", "function": {"name": "f", "parameters": parameters}}
    with _client(emulator) as client:
        client.chat(model=MODEL, messages=[{"role": "user", "content": "hi"}], tools=[tool])
    assert emulator.requests[-1].json["tools"][0]["function"]["parameters"] == parameters


# --- 16, 18-20. client configuration ---------------------------------------------------------
@pytest.mark.parametrize(
    ("config", "field"),
    [
        (123, "configuration"),
        ([1, 2], "configuration"),
        ({"providers": {"openai": {"api_key": 123}}}, "api_key"),
        ({"providers": {"openai": {"api_key": "sk-\u00e9t\u00e9"}}}, "api_key"),
        ({"providers": {"openai": {"api_key": "sk-a\x00b"}}}, "api_key"),
        ({"providers": {"openai": {"headers": {"x-team": "caf\u00e9"}}}}, "headers"),
        ({"providers": {"openai": {"headers": {"x-a": "v\r\nInjected: 1"}}}}, "headers"),
        ({"providers": {"openai": {"base_url": "http://[::1"}}}, "base_url"),
        ({"providers": {"openai": {"base_url": "http://host/v1\r\nX: y"}}}, "base_url"),
        ({"providers": {"openai": {"base_url": "http://exa mple.com"}}}, "base_url"),
        ({"providers": {"openai": {"base_url": "http://-bad-.com"}}}, "base_url"),
        ({"providers": {"openai": {"base_url": "http://xn--a.com"}}}, "base_url"),
        ({"providers": {"openai": {"base_url": "file:///etc/passwd"}}}, "base_url"),
        ({"providers": {"openai": {"base_url": "api.openai.com/v1"}}}, "base_url"),
        ({"providers": {"openai": {"base_url": ""}}}, "base_url"),
        ({"providers": {"openai": {"base_ulr": "http://x"}}}, "base_ulr"),
        ({"providers": {"azure": {"deployment": {"a": "b"}}}}, "deployment"),
        ({"groups": {"g": {"strategy": "balanced", "balance": {"cost": -1}}}}, "balance"),
        ({"groups": {"g": {"strategy": "balanced", "balance": {"cots": 1}}}}, "cots"),
        ({"groups": {"g": {"weights": {"openai/gpt-4o": float("inf")}}}}, "weights"),
        ({"timeout": float("inf")}, "timeout"),
        ({"limits": {"response_bytes": 10}}, "response_bytes"),
        ({"async_transport": "curl"}, "async_transport"),
    ],
)
def test_configuration_mistakes_fail_when_the_client_is_built(config: Any, field: str) -> None:
    with pytest.raises(cosmara.ConfigurationError, match=field):
        Cosmara(config, load_entry_points=False)


@pytest.mark.parametrize(
    "context",
    [{"team": 5}, {"user": 1}, {"tags": 5}, {"tags": {"a": 1}}, {"metadata": [1]}],
)
def test_bad_default_context_is_a_configuration_error(context: dict[str, Any]) -> None:
    with pytest.raises(cosmara.ConfigurationError, match=next(iter(context))):
        Cosmara(load_entry_points=False, **context)


def test_configuration_errors_never_show_the_secret() -> None:
    with pytest.raises(cosmara.ConfigurationError) as caught:
        Cosmara({"providers": {"openai": {"api_key": "sk-SECRET\x00tail"}}})
    assert "SECRET" not in str(caught.value)


def test_idna_hosts_are_accepted(emulator: Emulator) -> None:
    client = Cosmara({"providers": {"openai": {"base_url": "https://b\u00fccher.example/v1"}}})
    provider = client.providers.get("openai")
    assert provider.base_url == "https://b\u00fccher.example/v1"  # type: ignore[attr-defined]


def test_bad_environment_base_url_is_a_configuration_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-x")
    monkeypatch.setenv("OPENAI_BASE_URL", "localhost:8000/v1")
    with (
        Cosmara(load_entry_points=False) as client,
        pytest.raises(cosmara.ConfigurationError, match="OPENAI_BASE_URL"),
    ):
        client.chat(model=MODEL, messages=[{"role": "user", "content": "hi"}])


# --- 13. the bound on retries holds per call --------------------------------------------------
def test_per_call_retries_are_bounded(emulator: Emulator) -> None:
    emulator.add_fault(Fault(status=503))
    with (
        _client(emulator) as client,
        pytest.raises(cosmara.RequestValidationError, match="max_retries"),
    ):
        client.chat(model=MODEL, messages=[{"role": "user", "content": "hi"}], max_retries=50)
    assert emulator.request_count == 0


# --- 15. closing a client that is in use ------------------------------------------------------
def test_calls_after_close_get_a_typed_error(emulator: Emulator, aio: Loop) -> None:
    client = _client(emulator)
    client.close()
    for how in HOWS:
        with pytest.raises(cosmara.ClientClosedError):
            ask(client, how, aio, model=MODEL)
    assert emulator.request_count == 0


def test_close_during_calls_never_blames_the_provider(emulator: Emulator) -> None:
    emulator.add_fault(Fault(delay=0.5))
    events = Events()
    client = _client(emulator, events, breaker={"consecutive_failures": 1})
    outcomes: list[BaseException | str] = []

    def call() -> None:
        try:
            outcomes.append(
                client.chat(model=MODEL, messages=[{"role": "user", "content": "hi"}]).text
            )
        except BaseException as error:
            outcomes.append(error)

    threads = [threading.Thread(target=call) for _ in range(6)]
    for thread in threads:
        thread.start()
    while emulator.request_count < 6:
        threading.Event().wait(0.01)
    client.close()
    for thread in threads:
        thread.join(5)
    assert len(outcomes) == 6
    assert all(isinstance(o, (str, cosmara.ClientClosedError)) for o in outcomes), outcomes
    assert client.health().get(MODEL) is None or client.health()[MODEL].state == "closed"
    assert all(not isinstance(e, cosmara.ProviderError) for e in events.ended)


async def test_aclose_during_calls_never_blames_the_provider(emulator: Emulator) -> None:
    emulator.add_fault(Fault(delay=0.5))
    client = _client(emulator, breaker={"consecutive_failures": 1})
    calls = [
        asyncio.ensure_future(
            client.achat(model=MODEL, messages=[{"role": "user", "content": "hi"}])
        )
        for _ in range(4)
    ]
    while emulator.request_count < 4:  # noqa: ASYNC110 - the emulator runs in another thread
        await asyncio.sleep(0.01)
    await client.aclose()
    outcomes = await asyncio.gather(*calls, return_exceptions=True)
    assert all(isinstance(o, cosmara.ClientClosedError) for o in outcomes), outcomes
    assert all(health.state == "closed" for health in client.health().values())
