"""``cosmara_generic.OpenAI`` / ``AsyncOpenAI`` and ``http_client``: the SDK's clients on the
engine: construction, Cosmara's options, headers, timeouts, cost, lifetime, secrets."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import openai
import pytest

import cosmara
import cosmara_generic
from cosmara import Cosmara
from cosmara.testing import Emulator, Fault

SECRET = "sk-test-very-secret-4242"
MESSAGES = [{"role": "user", "content": "Hi"}]


class Observer:
    """A Cosmara plugin that keeps each answered call's ``resp.cosmara``."""

    def __init__(self) -> None:
        self.metas: list[cosmara.CosmaraMeta] = []

    @cosmara.hookimpl
    def cosmara_response(self, response: Any, context: cosmara.RequestContext) -> None:
        self.metas.append(response.cosmara)


@pytest.fixture
def oa(emulator: Emulator) -> Iterator[cosmara_generic.OpenAI]:
    with cosmara_generic.OpenAI(
        base_url=emulator.base_url, api_key=SECRET, load_entry_points=False
    ) as client:
        yield client


@pytest.fixture
def observed(emulator: Emulator) -> Iterator[tuple[Cosmara, Observer]]:
    observer = Observer()
    providers = {"openai": {"base_url": emulator.base_url, "api_key": SECRET}}
    with Cosmara(providers=providers, plugins=[observer], load_entry_points=False) as engine:
        yield engine, observer


def test_is_the_sdk_client(oa: cosmara_generic.OpenAI, emulator: Emulator) -> None:
    assert isinstance(oa, openai.OpenAI)
    assert isinstance(oa.engine, Cosmara)
    assert oa.max_retries == 0  # the engine retries; the SDK never starts over
    completion = oa.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert isinstance(completion, openai.types.chat.ChatCompletion)
    assert completion.choices[0].message.content == "Echo: Hi"


async def test_async_is_the_sdk_client(emulator: Emulator) -> None:
    async with cosmara_generic.AsyncOpenAI(
        base_url=emulator.base_url, api_key=SECRET, load_entry_points=False
    ) as client:
        assert isinstance(client, openai.AsyncOpenAI)
        completion = await client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        assert completion.choices[0].message.content == "Echo: Hi"


def test_extra_body_carries_cosmara_keywords(
    emulator: Emulator, observed: tuple[Cosmara, Observer]
) -> None:
    engine, observer = observed
    emulator.add_fault(Fault(status=503, match_model="gpt-4o"))
    client = cosmara_generic.OpenAI(client=engine, max_retries=0)
    client.chat.completions.create(
        model="gpt-4o",
        messages=MESSAGES,
        extra_body={
            "fallbacks": ["openai/gpt-4o-mini"],
            "team": "search",
            "tags": ["faq"],
            "cosmara_metadata": {"ticket": "7"},
        },
        user="ana",
    )
    meta = observer.metas[-1]
    assert [(a.model, a.error) for a in meta.attempts] == [
        ("gpt-4o", "ProviderUnavailableError"),
        ("gpt-4o-mini", None),
    ]
    context = meta.context
    assert (context.team, context.user, context.tags, context.metadata) == (
        "search",
        "ana",
        {"faq": ""},
        {"ticket": "7"},
    )
    sent = emulator.requests[-1].json
    assert sent["user"] == "ana"
    assert not {"team", "fallbacks", "tags", "cosmara_metadata"} & set(sent)


def test_client_defaults_and_with_options(
    emulator: Emulator, observed: tuple[Cosmara, Observer]
) -> None:
    engine, observer = observed
    client = cosmara_generic.OpenAI(client=engine, team="search", tags={"app": "web"})
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    support = client.with_options(team="support", timeout=5)
    assert support.engine is engine
    assert support.timeout == 5
    support.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert [m.context.team for m in observer.metas] == ["search", "support", "search"]
    assert observer.metas[1].context.tags == {"app": "web"}


def test_max_retries_is_the_engines(emulator: Emulator, request: pytest.FixtureRequest) -> None:
    client = cosmara_generic.OpenAI(
        base_url=emulator.base_url, api_key=SECRET, max_retries=1, load_entry_points=False
    )
    request.addfinalizer(client.close)
    emulator.add_fault(Fault(status=503, retry_after=0.01, times=1))
    raw = client.chat.completions.with_raw_response.create(model="gpt-4o", messages=MESSAGES)
    assert raw.headers["x-cosmara-attempts"] == "2"
    assert emulator.request_count == 2
    emulator.reset()
    emulator.add_fault(Fault(status=503, times=1))
    with pytest.raises(openai.InternalServerError):
        client.with_options(max_retries=0).chat.completions.create(
            model="gpt-4o", messages=MESSAGES
        )
    assert emulator.request_count == 1


def test_openai_metadata_stays_on_the_wire(emulator: Emulator, oa: cosmara_generic.OpenAI) -> None:
    oa.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, store=True, metadata={"run": "7"}
    )
    sent = emulator.requests[-1].json
    assert sent["metadata"] == {"run": "7"}
    assert sent["store"] is True


def test_sdk_sentinels_and_max_completion_tokens(
    emulator: Emulator, oa: cosmara_generic.OpenAI
) -> None:
    oa.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, temperature=openai.omit, max_completion_tokens=5
    )
    sent = emulator.requests[-1].json
    assert "temperature" not in sent
    assert sent["max_completion_tokens"] == 5


def test_headers_and_query_reach_the_provider(
    emulator: Emulator, oa: cosmara_generic.OpenAI
) -> None:
    oa.with_options(default_headers={"x-tenant": "acme"}).chat.completions.create(
        model="gpt-4o-mini",
        messages=MESSAGES,
        extra_headers={"x-trace-id": "abc", "Authorization": "Bearer sk-not-a-provider-key"},
        extra_query={"api-version": "2025-01-01"},
    )
    sent = emulator.requests[-1]
    assert sent.headers["x-trace-id"] == "abc"
    assert sent.headers["x-tenant"] == "acme"
    assert sent.query == {"api-version": "2025-01-01"}
    # The provider's key is the engine's; the SDK's bookkeeping stays on this side.
    assert sent.headers["authorization"] == f"Bearer {SECRET}"
    assert not [name for name in sent.headers if name.startswith("x-stainless")]
    assert "openai" not in sent.headers.get("user-agent", "").lower()


def test_unknown_bare_model_goes_to_base_url(
    emulator: Emulator, oa: cosmara_generic.OpenAI
) -> None:
    completion = oa.chat.completions.create(model="my-local-llama", messages=MESSAGES)
    assert completion.choices[0].message.content == "Echo: Hi"
    assert emulator.requests[-1].json["model"] == "my-local-llama"


def test_openai_base_url_from_the_environment(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", emulator.base_url)
    with cosmara_generic.OpenAI(api_key=SECRET, load_entry_points=False) as client:
        completion = client.chat.completions.create(model="my-local-llama", messages=MESSAGES)
    assert completion.choices[0].message.content == "Echo: Hi"


def test_unknown_model_without_base_url_is_not_found(emulator: Emulator, client: Cosmara) -> None:
    oa = cosmara_generic.OpenAI(client=client)
    with pytest.raises(openai.NotFoundError) as info:
        oa.chat.completions.create(model="no-such-model", messages=MESSAGES)
    assert info.value.status_code == 404
    assert info.value.code == "model_not_found"
    assert emulator.request_count == 0


def test_invalid_request_is_bad_request_before_sending(
    emulator: Emulator, oa: cosmara_generic.OpenAI
) -> None:
    with pytest.raises(openai.BadRequestError, match="messages"):
        oa.chat.completions.create(model="gpt-4o-mini", messages=[])
    with pytest.raises(openai.BadRequestError, match="extra_headers"):
        oa.chat.completions.create(
            model="gpt-4o-mini", messages=MESSAGES, extra_headers={"x-bad": "del\x7f"}
        )
    assert emulator.request_count == 0


def test_missing_credentials_is_a_clear_authentication_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    client = cosmara_generic.OpenAI(load_entry_points=False)
    with client, pytest.raises(openai.AuthenticationError, match="ANTHROPIC_API_KEY") as info:
        client.chat.completions.create(model="anthropic/claude-sonnet-4-5", messages=MESSAGES)
    assert info.value.code == "missing_credentials"


def test_cost_from_header_and_from_events(
    emulator: Emulator, observed: tuple[Cosmara, Observer]
) -> None:
    engine, observer = observed
    client = cosmara_generic.OpenAI(client=engine)
    raw = client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=MESSAGES)
    completion = raw.parse()
    assert completion.usage is not None
    expected = engine.cost_of("openai/gpt-4o-mini", cosmara.Usage(**completion.usage.to_dict()))
    assert float(raw.headers[cosmara_generic.COST_HEADER]) == pytest.approx(expected)
    assert (raw.headers["x-cosmara-provider"], raw.headers["x-cosmara-model"]) == (
        "openai",
        "gpt-4o-mini",
    )
    # A stream's cost is known once it ends: the engine's response event carries it.
    stream = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == "Echo: Hi"
    assert observer.metas[-1].cost_usd == pytest.approx(expected)


def test_per_call_timeout_reaches_the_engine(
    emulator: Emulator, oa: cosmara_generic.OpenAI
) -> None:
    emulator.add_fault(Fault(delay=2.0, status=503))  # a status: no reply consumed late
    with pytest.raises(openai.APITimeoutError) as info:  # one attempt: no engine retries
        oa.with_options(max_retries=0).chat.completions.create(
            model="gpt-4o-mini", messages=MESSAGES, timeout=0.2
        )
    assert isinstance(info.value.__cause__, cosmara.RequestTimeoutError)


def test_without_a_timeout_the_engines_apply(emulator: Emulator) -> None:
    config = {"timeout": 0.2, "retry": {"max_retries": 0}}
    client = cosmara_generic.OpenAI(
        base_url=emulator.base_url, api_key=SECRET, config=config, load_entry_points=False
    )
    emulator.add_fault(Fault(delay=2.0, status=503))  # a status: no reply consumed late
    with client, pytest.raises(openai.APITimeoutError):
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)


def test_with_options_endpoint_builds_its_own_engine(emulator: Emulator) -> None:
    client = cosmara_generic.OpenAI(api_key=SECRET, load_entry_points=False)
    pointed = client.with_options(base_url=emulator.base_url)
    assert pointed.engine is not client.engine
    completion = pointed.chat.completions.create(model="my-local-llama", messages=MESSAGES)
    assert completion.choices[0].message.content == "Echo: Hi"
    assert emulator.requests[-1].headers["authorization"] == f"Bearer {SECRET}"
    pointed.close()
    client.close()


def test_engine_lifetime(
    emulator: Emulator, client: Cosmara, monkeypatch: pytest.MonkeyPatch
) -> None:
    closed: list[str] = []
    built = cosmara_generic.OpenAI(base_url=emulator.base_url, load_entry_points=False)
    monkeypatch.setattr(built.engine, "close", lambda: closed.append("built"))
    monkeypatch.setattr(client, "close", lambda: closed.append("given"))
    built.close()
    shared = cosmara_generic.OpenAI(client=client)
    shared.with_options(team="x").close()
    shared.close()
    assert closed == ["built"]
    Cosmara.close(built.engine)  # the real close, for this test's own connections


async def test_async_engine_lifetime(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    closed: list[str] = []
    built = cosmara_generic.AsyncOpenAI(base_url=emulator.base_url, load_entry_points=False)

    async def aclose() -> None:
        closed.append("built")

    engine = built.engine
    monkeypatch.setattr(engine, "aclose", aclose)
    await built.close()
    assert closed == ["built"]
    engine.close()


def test_http_client_for_an_sdk_client(emulator: Emulator, client: Cosmara) -> None:
    sdk = openai.OpenAI(
        api_key="sk-unused", http_client=cosmara_generic.http_client(client, team="ops")
    )
    completion = sdk.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert completion.choices[0].message.content == "Echo: Hi"
    assert emulator.requests[-1].headers["authorization"] == "Bearer sk-test-emulator-key-0000"
    # The SDK keeps its default max_retries, yet never retries: the engine answered for good.
    emulator.add_fault(Fault(status=503))
    with pytest.raises(openai.InternalServerError):
        sdk.with_options(timeout=5).chat.completions.create(model="gpt-4o", messages=MESSAGES)
    sdk.close()
    emulator.reset()
    assert client.chat(model="openai/gpt-4o-mini", messages=MESSAGES).text == "Echo: Hi"


def test_our_http_client_given_to_our_client(
    emulator: Emulator, observed: tuple[Cosmara, Observer]
) -> None:
    engine, observer = observed
    client = cosmara_generic.OpenAI(
        http_client=cosmara_generic.http_client(engine, team="ops"), user="ana"
    )
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert (observer.metas[-1].context.team, observer.metas[-1].context.user) == ("ops", "ana")
    with pytest.raises(openai.OpenAIError, match="either"):
        cosmara_generic.OpenAI(http_client=cosmara_generic.http_client(engine), client=engine)


async def test_async_http_client_for_an_sdk_client(client: Cosmara) -> None:
    sdk = openai.AsyncOpenAI(
        api_key="sk-unused", http_client=cosmara_generic.async_http_client(client)
    )
    completion = await sdk.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert completion.choices[0].message.content == "Echo: Hi"
    await sdk.close()


def test_construction_errors(client: Cosmara) -> None:
    import httpx

    with pytest.raises(openai.OpenAIError, match="http_client"):
        cosmara_generic.OpenAI(client=client, http_client=httpx.Client())
    with pytest.raises(openai.OpenAIError, match="api_key"):
        cosmara_generic.OpenAI(client=client, api_key=SECRET)
    with pytest.raises(openai.OpenAIError, match="invalid"):
        cosmara_generic.OpenAI(config={"no_such_option": 1}, load_entry_points=False)


def test_secrets_never_leak(oa: cosmara_generic.OpenAI, emulator: Emulator) -> None:
    assert SECRET not in repr(oa)
    assert SECRET not in oa.api_key
    assert SECRET not in repr(oa.engine)
    emulator.add_fault(Fault(status=401))
    with pytest.raises(openai.AuthenticationError) as info:
        oa.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert SECRET not in str(info.value)
    assert SECRET not in repr(info.value.response.request.headers)
    assert SECRET not in info.value.response.text


def test_public_names() -> None:
    assert len(set(cosmara_generic.__all__)) == len(cosmara_generic.__all__)
    for name in cosmara_generic.__all__:
        assert hasattr(cosmara_generic, name)
    assert cosmara_generic.RateLimitError is openai.RateLimitError
    with pytest.raises(AttributeError):
        cosmara_generic.NoSuchName  # noqa: B018


def test_ask_alone_does_not_import_the_sdk() -> None:
    import subprocess
    import sys

    code = "import sys, cosmara_generic; cosmara_generic.Ask; print('openai' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "False", result.stderr
