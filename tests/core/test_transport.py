"""The transport: connection failures name the URL they tried and never a secret; plain-http
providers load no certificate store."""

from __future__ import annotations

import asyncio

import pytest

import cosmara
from cosmara import Cosmara
from cosmara._transport._errors import converted

HI = [{"role": "user", "content": "Hi"}]
CLOSED = "http://127.0.0.1:9/v1"  # the discard port: connecting is refused


@pytest.mark.parametrize("backend", ["httpx", "aiohttp"])
def test_a_refused_connection_names_the_url_it_tried(backend: str) -> None:
    providers = {"openai": {"base_url": CLOSED, "api_key": "sk-never-shown-1234"}}
    config = {"async_transport": backend, "retry": {"max_retries": 0}}
    with Cosmara(config, providers=providers, load_entry_points=False) as client:
        with pytest.raises(cosmara.ProviderConnectionError) as sync_error:
            client.chat(model="openai/gpt-4o-mini", messages=HI)
        with pytest.raises(cosmara.ProviderConnectionError) as async_error:
            asyncio.run(client.achat(model="openai/gpt-4o-mini", messages=HI))
    for caught in (sync_error, async_error):
        message = str(caught.value)
        assert "connection to openai at http://127.0.0.1:9/v1 failed" in message
        assert "sk-never-shown" not in message


def test_credentials_written_into_the_base_url_are_not_shown() -> None:
    url = "http://ana:pa55word-secret@127.0.0.1:9/v1"
    providers = {"openai": {"base_url": url, "api_key": "sk-x"}}
    with (
        Cosmara(providers=providers, load_entry_points=False) as client,
        pytest.raises(cosmara.ProviderConnectionError) as caught,
    ):
        client.chat(model="openai/gpt-4o-mini", messages=HI, max_retries=0)
    assert "openai at http://127.0.0.1:9/v1" in str(caught.value)
    assert "pa55word" not in str(caught.value)
    assert "ana" not in str(caught.value)


def test_the_url_shown_leaves_out_userinfo_query_and_fragment() -> None:
    error = converted(
        ConnectionRefusedError(111, "refused"),
        "vendor",
        closed=False,
        base_url="https://user:pw@api.example.com:8443/v2?key=abc123#frag",
    )
    assert isinstance(error, cosmara.ProviderConnectionError)
    assert str(error).endswith(
        "connection to vendor at https://api.example.com:8443/v2 failed: ConnectionRefusedError"
    )
    for secret in ("user", "pw@", "abc123", "frag"):
        assert secret not in str(error)


def test_without_a_url_the_provider_alone_is_named() -> None:
    error = converted(TimeoutError(), "vendor", closed=False)
    assert isinstance(error, cosmara.RequestTimeoutError)
    assert "vendor did not answer in time" in str(error)


def test_a_plain_http_provider_loads_no_certificate_store(emulator_session: object) -> None:
    from cosmara.testing import Emulator

    assert isinstance(emulator_session, Emulator)
    providers = {"openai": {"base_url": emulator_session.base_url, "api_key": "sk-x"}}
    for backend in ("httpx", "aiohttp"):
        with Cosmara({"async_transport": backend}, providers=providers) as client:
            client.chat(model="openai/gpt-4o-mini", messages=HI)
            asyncio.run(client.achat(model="openai/gpt-4o-mini", messages=HI))
            assert client._transport._ssl is None
