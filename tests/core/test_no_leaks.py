"""Secrets never appear anywhere but the request that needs them: not in reprs, dumps, pickles,
copies, errors, tracebacks, attempt records, hook arguments or logs (ours, or httpx's).

Every test searches every surface for a distinctive key, whatever form the key was given in:
``api_key`` (with the newline a key file leaves), credential headers, provider options named
like credentials (dashes too), and ``user:password@`` in a base URL.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import logging
import pickle
import traceback
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest

import cosmara
from cosmara import ChatRequest, Cosmara, hookimpl
from cosmara.providers import OpenAIProvider
from cosmara.testing import Emulator, Fault
from tests.support.paths import HOWS, Loop, ask

KEY = "sk-live-SECRET-abcdef0123456789"
HI = [{"role": "user", "content": "hi"}]


class Recorder:
    """Keeps the text of every hook argument it sees."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def _keep(self, **kwargs: Any) -> None:
        for value in kwargs.values():
            self.seen.append(repr(value))
            if isinstance(value, BaseException):
                self.seen.append(str(value))
                self.seen.append(repr(getattr(value, "attempts", "")))

    @hookimpl
    def cosmara_request_start(self, request: Any, context: Any) -> None:
        self._keep(request=request, context=context)

    @hookimpl
    def cosmara_response(self, request: Any, response: Any, context: Any) -> None:
        self._keep(request=request, response=response, context=context)

    @hookimpl
    def cosmara_error(self, request: Any, error: Any, context: Any) -> None:
        self._keep(request=request, error=error, context=context)

    @hookimpl
    def cosmara_fallback(self, request: Any, failed: Any, error: Any, next_target: str) -> None:
        self._keep(request=request, failed=failed, error=error, next_target=next_target)


@pytest.fixture
def aio() -> Iterator[Loop]:
    loop = Loop()
    yield loop
    loop.close()


def _forms(emulator: Emulator) -> dict[str, dict[str, Any]]:
    """A provider configuration per way a secret can be given; each sends KEY somewhere."""
    host = emulator.base_url.split("://", 1)[1]
    keyless = {"type": "openai_compatible", "base_url": emulator.base_url}
    return {
        "key-with-newline": {"base_url": emulator.base_url, "api_key": KEY + "\n"},
        "key-with-spaces": {"base_url": emulator.base_url, "api_key": f"  {KEY}\t"},
        "authorization-header": {
            "base_url": emulator.base_url,
            "api_key": "sk-other",
            "headers": {"Authorization": f"Bearer {KEY}"},
        },
        "api-key-header": {**keyless, "headers": {"api-key": KEY}},
        "x-api-key-header": {**keyless, "headers": {"X-Api-Key": KEY}},
        "vendor-key-header": {**keyless, "headers": {"x-goog-api-key": KEY}},
        "option-with-dashes": {**keyless, "x-api-key": KEY},
        "userinfo-in-base-url": {"base_url": f"http://user:{KEY}@{host}", "api_key": "sk-o"},
    }


def _surfaces(client: Cosmara) -> list[str]:
    provider = client.providers.get("openai")
    config = client.config
    return [
        repr(client),
        str(config),
        repr(config),
        config.model_dump_json(),
        str(config.model_dump()),
        repr(config.providers["openai"]),
        str(config.providers["openai"].model_dump()),
        repr(provider),
        str(vars(provider)),
        repr(copy.deepcopy(config)),
        repr(copy.copy(config)),
    ]


def _assert_nowhere(texts: list[str], blobs: list[bytes] = ()) -> None:  # type: ignore[assignment]
    for text in texts:
        assert KEY not in text, text[:300]
    for blob in blobs:
        assert KEY.encode() not in blob


FORMS = [
    "key-with-newline",
    "key-with-spaces",
    "authorization-header",
    "api-key-header",
    "x-api-key-header",
    "vendor-key-header",
    "userinfo-in-base-url",
]
UNSENT = {"option-with-dashes"}  # refused as an unknown option: it never reaches a request


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("how", HOWS)
def test_key_reaches_only_the_request_header(
    emulator: Emulator, aio: Loop, caplog: pytest.LogCaptureFixture, form: str, how: str
) -> None:
    settings = _forms(emulator)[form]
    recorder = Recorder()
    providers = {"openai": settings, "groq": {"base_url": emulator.base_url, "api_key": "g"}}
    with caplog.at_level(logging.DEBUG):
        client = Cosmara({"providers": providers}, plugins=[recorder], load_entry_points=False)
        texts = _surfaces(client)
        blobs = [pickle.dumps(client), pickle.dumps(client.config)]
        # A success, a 401 that falls back, and a 401 that is raised.
        ask(client, how, aio, model="openai/gpt-4o-mini")
        sent = emulator.requests[-1].headers
        emulator.add_fault(Fault(status=401, match_model="gpt-4o-mini"))
        answer = ask(client, how, aio, model="openai/gpt-4o-mini", fallbacks=["groq/llama-3"])
        with pytest.raises(cosmara.AuthenticationError) as caught:
            ask(client, how, aio, model="openai/gpt-4o-mini")
        client.close()
    error = caught.value
    texts += [
        str(error),
        repr(error),
        repr(error.__dict__),
        "".join(traceback.format_exception(error)),
        answer.meta.model_dump_json(),
        caplog.text,
        *recorder.seen,
    ]
    blobs += [pickle.dumps(error)]
    _assert_nowhere(texts, blobs)
    # The key did go where it belongs, whitespace dropped.
    if form == "userinfo-in-base-url":
        assert _basic(sent["authorization"]) == f"user:{KEY}"
    else:
        assert any(KEY in value for value in sent.values())
    assert all(value == value.strip() for value in sent.values())


def _basic(header: str) -> str:
    scheme, _, token = header.partition(" ")
    assert scheme == "Basic"
    return base64.b64decode(token).decode()


def test_userinfo_becomes_basic_auth(emulator: Emulator) -> None:
    host = emulator.base_url.split("://", 1)[1]
    providers = {"box": {"type": "openai_compatible", "base_url": f"http://ana:p%40ss@{host}"}}
    with Cosmara({"providers": providers}, load_entry_points=False) as client:
        assert client.config.providers["box"].base_url == emulator.base_url
        client.chat(model="box/any-model", messages=HI)
    assert _basic(emulator.requests[-1].headers["authorization"]) == "ana:p@ss"


def test_anthropic_key_with_newline(emulator: Emulator, caplog: pytest.LogCaptureFixture) -> None:
    providers = {"anthropic": {"base_url": emulator.url, "api_key": KEY + "\r\n"}}
    with (
        caplog.at_level(logging.DEBUG),
        Cosmara(providers=providers, load_entry_points=False) as client,
        pytest.raises(cosmara.ProviderError) as caught,  # the emulator speaks OpenAI only
    ):
        client.chat(model="anthropic/claude-3-5-haiku-latest", messages=HI)
    assert emulator.requests[-1].headers["x-api-key"] == KEY
    _assert_nowhere([str(caught.value), repr(caught.value.__dict__), caplog.text])


def test_a_secret_option_with_dashes_is_masked_even_when_refused(emulator: Emulator) -> None:
    settings = _forms(emulator)["option-with-dashes"]
    config = cosmara.CosmaraConfig.load({"providers": {"openai": settings}})
    _assert_nowhere(
        [repr(config), config.model_dump_json(), repr(copy.deepcopy(config))],
        [pickle.dumps(config)],
    )
    with pytest.raises(cosmara.ConfigurationError, match="x-api-key") as caught:
        Cosmara(config, load_entry_points=False)
    _assert_nowhere([str(caught.value)])


def test_key_with_inner_control_characters_is_refused_unseen() -> None:
    for bad in (f"{KEY}\nInjected: yes", f"sk-\u00e9{KEY}", f"{KEY}\x00"):
        with pytest.raises(cosmara.ConfigurationError) as caught:
            Cosmara(providers={"openai": {"api_key": bad}}, load_entry_points=False)
        _assert_nowhere(["".join(traceback.format_exception(caught.value))])


def test_environment_key_with_control_characters_is_refused_unseen(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", f"{KEY}\x01")
    with (
        Cosmara(load_entry_points=False) as client,
        pytest.raises(cosmara.ConfigurationError, match="OPENAI_API_KEY") as caught,
    ):
        client.chat(model="openai/gpt-4o-mini", messages=HI)
    _assert_nowhere(["".join(traceback.format_exception(caught.value))])


class _Raw(OpenAIProvider):
    """A plugin provider that builds its headers without the configuration's checks."""

    kind = "raw"
    api_key_env: ClassVar[str | None] = None
    requires_api_key = False

    def headers(self) -> dict[str, str]:
        return {"content-type": "application/json", "authorization": f"Bearer {KEY}\n"}


class _RawPlugin:
    @hookimpl
    def cosmara_register_providers(self, register: Any) -> None:
        register("raw", _Raw)


@pytest.mark.parametrize("how", HOWS)
def test_an_unsendable_header_never_shows_its_value(
    emulator: Emulator, aio: Loop, caplog: pytest.LogCaptureFixture, how: str
) -> None:
    recorder = Recorder()
    providers = {"raw": {"base_url": emulator.base_url}}
    client = Cosmara(
        {"providers": providers, "breaker": {"consecutive_failures": 1}},
        plugins=[_RawPlugin(), recorder],
        load_entry_points=False,
    )
    with caplog.at_level(logging.DEBUG), pytest.raises(cosmara.ConfigurationError) as caught:
        ask(client, how, aio, model="raw/gpt-4o-mini")
    error = caught.value
    _assert_nowhere(
        [
            str(error),
            repr(error),
            "".join(traceback.format_exception(error)),
            caplog.text,
            *recorder.seen,
        ],
        [pickle.dumps(error)],
    )
    assert error.__cause__ is None  # nothing below it, where the value could hide
    assert error.__context__ is None or error.__suppress_context__
    assert emulator.request_count == 0
    assert all(h.state == "closed" for h in client.health().values())  # not the provider's fault
    client.close()


def test_key_not_in_a_chat_request_dump() -> None:
    request = ChatRequest(model="m", messages=HI)  # type: ignore[arg-type]
    assert KEY not in request.model_dump_json()


def test_pickled_client_carries_no_literal_key(emulator: Emulator) -> None:
    client = Cosmara(
        providers={"openai": {"base_url": emulator.base_url, "api_key": KEY}},
        load_entry_points=False,
    )
    data = pickle.dumps(client)
    assert KEY.encode() not in data
    restored = pickle.loads(data)
    assert restored.providers.get("openai").api_key is None
    # A copy in memory keeps the key: copying is not pickling.
    assert copy.deepcopy(client.config).providers["openai"].api_key.get() == KEY


def test_environment_reference_survives_pickling(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MY_OPENAI_KEY", KEY)
    providers = {
        "openai": {
            "base_url": emulator.base_url,
            "api_key": "${MY_OPENAI_KEY}",
            "headers": {"X-Api-Key": "${MY_OPENAI_KEY}"},
        }
    }
    client = Cosmara(providers=providers, load_entry_points=False, team="a")
    data = pickle.dumps(client)
    assert KEY.encode() not in data
    restored = pickle.loads(data)
    response = restored.chat(model="openai/gpt-4o-mini", messages=HI)
    assert response.cosmara is not None
    assert response.cosmara.context.team == "a"
    assert emulator.requests[-1].headers["authorization"] == f"Bearer {KEY}"
    assert emulator.requests[-1].headers["x-api-key"] == KEY
    assert "${MY_OPENAI_KEY}" in client.config.model_dump_json()


async def test_async_error_surfaces(emulator: Emulator, caplog: pytest.LogCaptureFixture) -> None:
    emulator.add_fault(Fault(status=401))
    providers = {"openai": {"base_url": emulator.base_url, "api_key": KEY + "\n"}}
    with caplog.at_level(logging.DEBUG):
        async with Cosmara(providers=providers, load_entry_points=False) as client:
            with pytest.raises(cosmara.AuthenticationError) as caught:
                await client.achat(model="openai/gpt-4o-mini", messages=HI)
            await asyncio.sleep(0)
    _assert_nowhere([str(caught.value), "".join(traceback.format_exception(caught.value))])
    _assert_nowhere([caplog.text])


@pytest.mark.parametrize("how", HOWS)
def test_shared_state_never_holds_a_key(emulator: Emulator, tmp_path: Any, how: str) -> None:
    """The cache's entries, the ledger's rows, budget counters and shared breakers live in the
    store: none of them may carry a key or a secret header, whatever the path."""
    header_secret = "hdr-SECRET-9876543210"
    config = {
        "providers": {"openai": {"base_url": emulator.base_url, "api_key": KEY}},
        "state": {"backend": "sqlite", "path": str(tmp_path / "state.db")},
        "cache": {"enabled": True},
        "ledger": {"enabled": True, "record_text": True},
        "budgets": {"t": {"level": "team", "amount_usd": 10.0}},
        "rate_limits": {"rpm": {"requests_per_minute": 100}},
        "breaker": {"shared": True},
    }
    client = Cosmara(config, load_entry_points=False)
    loop = Loop()
    extra = {"extra_headers": {"x-api-key": header_secret}, "team": "t"}
    ask(client, how, loop, model="openai/gpt-4o-mini", messages=HI, **extra)
    ask(client, how, loop, model="openai/gpt-4o-mini", messages=HI, **extra)  # a cache hit
    loop.close()
    client.close()
    stored = b"".join(path.read_bytes() for path in tmp_path.iterdir())
    assert b"hi" in stored  # the row's text is there: this reads what the store wrote
    for secret in (KEY, header_secret):
        assert secret.encode() not in stored
        assert base64.b64encode(secret.encode()) not in stored
