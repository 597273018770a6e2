"""The engine end to end against the local emulator: sync, async and streamed paths, fallbacks,
routing, request context, and every fault the emulator can inject."""

from __future__ import annotations

import json
import time

import pytest

import cosmara
from cosmara import Cosmara, StreamAccumulator
from cosmara.testing import Emulator, Fault

HI = [{"role": "user", "content": "Hello there"}]
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather in a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}


def _gpt4o_mini_cost(prompt: int, completion: int) -> float:
    # gpt-4o-mini: $0.15 per million input tokens, $0.60 per million output tokens.
    return (prompt * 0.15 + completion * 0.60) / 1e6


def test_chat_returns_openai_shape_with_cost(client: Cosmara, emulator: Emulator) -> None:
    response = client.chat(model="openai/gpt-4o-mini", messages=HI)
    assert response.object == "chat.completion"
    assert response.choices[0].message.content == "Echo: Hello there"
    assert response.choices[0].finish_reason == "stop"
    usage = response.usage
    assert usage is not None
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens > 0
    meta = response.cosmara
    assert meta is not None
    assert (meta.provider, meta.model) == ("openai", "gpt-4o-mini")
    assert meta.cost_usd == pytest.approx(
        _gpt4o_mini_cost(usage.prompt_tokens, usage.completion_tokens)
    )
    assert meta.latency_ms > 0
    assert [a.error for a in meta.attempts] == [None]
    assert meta.route.strategy == "explicit"
    sent = emulator.requests[-1]
    assert sent.path == "/v1/chat/completions"
    assert sent.json == {"model": "gpt-4o-mini", "messages": HI}
    assert sent.headers["authorization"] == "Bearer sk-test-emulator-key-0000"


async def test_achat_matches_chat(client: Cosmara) -> None:
    sync = client.chat(model="openai/gpt-4o-mini", messages=HI, temperature=0)
    asynchronous = await client.achat(model="openai/gpt-4o-mini", messages=HI, temperature=0)
    assert asynchronous.choices[0].message == sync.choices[0].message
    assert asynchronous.usage == sync.usage
    assert asynchronous.cosmara is not None
    assert sync.cosmara is not None
    assert asynchronous.cosmara.cost_usd == sync.cosmara.cost_usd


def test_stream_yields_deltas_then_one_usage_chunk(client: Cosmara, emulator: Emulator) -> None:
    chunks = list(client.stream(model="openai/gpt-4o-mini", messages=HI))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Echo: Hello there"
    assert [c.usage is not None for c in chunks].count(True) == 1
    final = chunks[-1]
    assert final.choices == []
    assert final.usage is not None
    assert final.cosmara is not None
    assert final.cosmara.cost_usd == pytest.approx(
        _gpt4o_mini_cost(final.usage.prompt_tokens, final.usage.completion_tokens)
    )
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert emulator.requests[-1].json["stream_options"] == {"include_usage": True}


async def test_astream_matches_stream(client: Cosmara) -> None:
    sync = list(client.stream(model="openai/gpt-4o-mini", messages=HI))
    asynchronous = [c async for c in client.astream(model="openai/gpt-4o-mini", messages=HI)]
    assert [c.choices for c in asynchronous] == [c.choices for c in sync]
    assert asynchronous[-1].usage == sync[-1].usage


def test_streamed_tool_calls_reassemble(client: Cosmara, emulator: Emulator) -> None:
    emulator.reply(
        tool_calls=[
            {"name": "get_weather", "arguments": {"city": "Paris"}},
            {"name": "get_weather", "arguments": {"city": "Lima"}},
        ]
    )
    accumulator = StreamAccumulator()
    firsts = {}
    for chunk in client.stream(model="openai/gpt-4o-mini", messages=HI, tools=[WEATHER_TOOL]):
        accumulator.add(chunk)
        for choice in chunk.choices:
            for delta in choice.delta.tool_calls or ():
                firsts.setdefault(delta.index, delta)
    assert all(d.id and d.function and d.function.name == "get_weather" for d in firsts.values())
    message = accumulator.response().choices[0].message
    assert message.tool_calls is not None
    assert [json.loads(c.function.arguments) for c in message.tool_calls] == [
        {"city": "Paris"},
        {"city": "Lima"},
    ]
    assert accumulator.response().choices[0].finish_reason == "tool_calls"


def test_tool_call_round_trip(client: Cosmara, emulator: Emulator) -> None:
    emulator.reply(tool_calls=[{"name": "get_weather", "arguments": {"city": "Oslo"}}])
    first = client.chat(model="openai/gpt-4o-mini", messages=HI, tools=[WEATHER_TOOL])
    call = first.choices[0].message.tool_calls[0]  # type: ignore[index]
    assert first.choices[0].finish_reason == "tool_calls"
    history = [
        *HI,
        first.choices[0].message,
        {"role": "tool", "tool_call_id": call.id, "content": "sunny"},
    ]
    client.chat(model="openai/gpt-4o-mini", messages=history, tools=[WEATHER_TOOL])
    sent = emulator.requests[-1].json["messages"]
    # The response message goes back as it came, annotations included (the real Azure
    # recording shows the API accepting them).
    assert sent[1] == {
        "role": "assistant",
        "annotations": [],
        "tool_calls": [
            {
                "id": call.id,
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city":"Oslo"}'},
            }
        ],
    }
    assert sent[2] == {"role": "tool", "tool_call_id": call.id, "content": "sunny"}


def test_parameters_reach_the_wire(client: Cosmara, emulator: Emulator) -> None:
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}
    client.chat(
        model="openai/gpt-4o-mini",
        messages=HI,
        temperature=0.2,
        top_p=0.9,
        max_tokens=50,
        stop=["END"],
        seed=7,
        n=2,
        reasoning_effort="low",
        response_format={"type": "json_schema", "json_schema": {"name": "A", "schema": schema}},
        logit_bias={"50256": -100},
        user="ana",
    )
    body = emulator.requests[-1].json
    assert body["max_completion_tokens"] == 50
    assert "max_tokens" not in body
    assert body["response_format"]["json_schema"]["schema"] == schema
    assert body["logit_bias"] == {"50256": -100}  # unknown to us, carried through
    for key, value in {
        "temperature": 0.2,
        "top_p": 0.9,
        "stop": ["END"],
        "seed": 7,
        "n": 2,
        "reasoning_effort": "low",
        "user": "ana",
    }.items():
        assert body[key] == value


def test_compatible_vendor_sends_max_tokens(client: Cosmara, emulator: Emulator) -> None:
    client.chat(model="groq/llama-3.1-8b-instant", messages=HI, max_tokens=5)
    body = emulator.requests[-1].json
    assert body["max_tokens"] == 5
    assert "max_completion_tokens" not in body


def test_length_finish_reason(client: Cosmara) -> None:
    response = client.chat(
        model="openai/gpt-4o-mini", messages=[{"role": "user", "content": "x" * 400}], max_tokens=3
    )
    assert response.choices[0].finish_reason == "length"


def test_embeddings_sync_and_async(client: Cosmara, emulator: Emulator) -> None:
    response = client.embed(model="openai/text-embedding-3-small", input=["a", "b"], dimensions=4)
    assert [len(v) for v in response.vectors] == [4, 4]
    assert emulator.requests[-1].json == {
        "model": "text-embedding-3-small",
        "input": ["a", "b"],
        "dimensions": 4,
    }
    assert response.usage is not None
    assert response.cosmara is not None
    # text-embedding-3-small: $0.02 per million input tokens.
    assert response.cosmara.cost_usd == pytest.approx(response.usage.prompt_tokens * 0.02 / 1e6)


async def test_aembed(client: Cosmara) -> None:
    single = await client.aembed(model="openai/text-embedding-3-small", input="just one")
    assert len(single.vectors) == 1


def test_request_context_is_recorded(emulator: Emulator) -> None:
    providers = {"openai": {"base_url": emulator.base_url, "api_key": "sk-x"}}
    with Cosmara(providers=providers, org="acme", team="search", tags=["prod"]) as client:
        response = client.chat(
            model="openai/gpt-4o-mini",
            messages=HI,
            user="ana",
            team="support",
            tags={"feature": "faq"},
            metadata={"ticket": 42},
        )
    context = response.cosmara.context  # type: ignore[union-attr]
    assert (context.org, context.team, context.user) == ("acme", "support", "ana")
    assert context.tags == {"prod": "", "feature": "faq"}
    assert context.metadata == {"ticket": 42}
    body = emulator.requests[-1].json
    assert body["user"] == "ana"
    assert "team" not in body
    assert "metadata" not in body


def test_alias_routes_to_its_first_model(emulator: Emulator) -> None:
    providers = {"openai": {"base_url": emulator.base_url, "api_key": "sk-x"}}
    with Cosmara(providers=providers, aliases={"fast": "openai/gpt-4o-mini"}) as client:
        response = client.chat(model="fast", messages=HI)
    assert response.cosmara is not None
    assert response.cosmara.route.strategy == "alias"
    assert emulator.requests[-1].json["model"] == "gpt-4o-mini"


def test_bare_model_name_resolved_through_catalog(emulator: Emulator) -> None:
    providers = {"openai": {"base_url": emulator.base_url, "api_key": "sk-x"}}
    with Cosmara(providers=providers, load_entry_points=False) as client:
        response = client.chat(model="gpt-4o-mini", messages=HI)
    assert response.cosmara is not None
    assert response.cosmara.provider == "openai"
    assert response.cosmara.route.strategy == "catalog"


def test_keys_from_environment(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    # Key and address both from the environment, as the openai SDK reads them.
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env-1234\n")  # a trailing newline is dropped
    monkeypatch.setenv("OPENAI_BASE_URL", emulator.base_url)
    monkeypatch.setenv("OPENAI_ORG_ID", "org-env")
    with Cosmara(load_entry_points=False) as client:
        client.chat(model="openai/gpt-4o-mini", messages=HI)
    sent = emulator.requests[-1].headers
    assert sent["authorization"] == "Bearer sk-from-env-1234"
    assert sent["openai-organization"] == "org-env"


def test_environment_key_never_goes_to_a_configured_third_party_host(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env-1234")
    monkeypatch.setenv("OPENAI_ORG_ID", "org-env")
    for kind in ("openai", "azure"):
        monkeypatch.setenv("AZURE_OPENAI_API_KEY", "azure-from-env")
        providers = {kind: {"base_url": emulator.base_url}}
        with (
            Cosmara(providers=providers, load_entry_points=False) as client,
            pytest.raises(cosmara.MissingCredentialsError, match=r"not sent there"),
        ):
            client.chat(model=f"{kind}/gpt-4o-mini", messages=HI)
    assert emulator.request_count == 0
    # Configured for that host, the key is sent; the environment's organization is not.
    providers = {"openai": {"base_url": emulator.base_url, "api_key": "sk-for-the-proxy"}}
    with Cosmara(providers=providers, load_entry_points=False) as client:
        client.chat(model="openai/gpt-4o-mini", messages=HI)
    sent = emulator.requests[-1].headers
    assert sent["authorization"] == "Bearer sk-for-the-proxy"
    assert "openai-organization" not in sent


def test_azure_deployment_url_and_key_header(emulator: Emulator) -> None:
    providers = {
        "azure": {
            "base_url": emulator.url,
            "api_key": "azure-key",
            "api_version": "2024-10-21",
            "deployments": {"gpt-4o-mini": "prod-mini"},
        }
    }
    with Cosmara(providers=providers, load_entry_points=False) as client:
        response = client.chat(model="azure/gpt-4o-mini", messages=HI)
    sent = emulator.requests[-1]
    assert sent.path == "/openai/deployments/prod-mini/chat/completions"
    assert sent.query == {"api-version": "2024-10-21"}
    assert sent.headers["api-key"] == "azure-key"
    assert "authorization" not in sent.headers
    assert response.cosmara is not None
    assert response.cosmara.cost_usd is not None  # priced as azure/gpt-4o-mini


def test_extra_headers_and_custom_provider_name(emulator: Emulator) -> None:
    providers = {
        "local-vllm": {
            "type": "openai_compatible",
            "base_url": emulator.base_url,
            "headers": {"x-team": "search"},
        }
    }
    with Cosmara(providers=providers, load_entry_points=False) as client:
        response = client.chat(model="local-vllm/my-model", messages=HI)
    assert emulator.requests[-1].headers["x-team"] == "search"
    assert response.cosmara is not None
    assert response.cosmara.provider == "local-vllm"
    assert response.cosmara.cost_usd is None  # an unknown model is unpriced, never guessed


def test_per_call_extra_headers_and_query_reach_every_path(emulator: Emulator) -> None:
    providers = {"openai": {"base_url": emulator.base_url, "api_key": "sk-x"}}
    extras = {"extra_headers": {"X-Trace": "t-1"}, "extra_query": {"tenant": "a"}}
    with Cosmara(providers=providers, load_entry_points=False) as client:
        client.chat(model="openai/gpt-4o-mini", messages=HI, **extras)
        list(client.stream(model="openai/gpt-4o-mini", messages=HI, **extras))
        client.embed(model="openai/text-embedding-3-small", input="hi", **extras)
        plain = client.chat(model="openai/gpt-4o-mini", messages=HI)
    for sent in emulator.requests[:3]:
        assert sent.headers["x-trace"] == "t-1"
        assert sent.query == {"tenant": "a"}
        assert "extra_headers" not in (sent.json or {})
    assert "x-trace" not in emulator.requests[3].headers
    assert plain.text == "Echo: Hello there"


@pytest.mark.parametrize(
    "bad",
    [
        {"extra_headers": {"x-a": "v\r\nInjected: 1"}},
        {"extra_headers": {"bad name": "v"}},
        {"extra_headers": {"x-a": 5}},
        {"extra_headers": {"x-a": "caf\u00e9"}},
        {"extra_query": {"a": 1}},
        {"extra_headers": ["x-a"]},
    ],
)
def test_bad_extra_headers_fail_before_sending(emulator: Emulator, bad: dict[str, object]) -> None:
    providers = {"openai": {"base_url": emulator.base_url, "api_key": "sk-x"}}
    with (
        Cosmara(providers=providers, load_entry_points=False) as client,
        pytest.raises(cosmara.RequestValidationError),
    ):
        client.chat(model="openai/gpt-4o-mini", messages=HI, **bad)
    assert emulator.request_count == 0


# --- faults and fallbacks --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error_class", "retryable"),
    [
        (401, cosmara.AuthenticationError, False),
        (403, cosmara.PermissionDeniedError, False),
        (404, cosmara.NotFoundError, False),
        (400, cosmara.BadRequestError, False),
        (429, cosmara.RateLimitError, True),
        (500, cosmara.ProviderUnavailableError, True),
        (503, cosmara.ProviderUnavailableError, True),
    ],
)
def test_status_codes_become_typed_errors(
    client: Cosmara, emulator: Emulator, status: int, error_class: type, retryable: bool
) -> None:
    emulator.add_fault(Fault(status=status))
    with pytest.raises(error_class) as caught:
        client.chat(model="openai/gpt-4o-mini", messages=HI)
    error = caught.value
    assert type(error) is error_class
    assert error.status_code == status
    assert error.retryable is retryable
    assert error.provider == "openai"
    assert error.provider_message
    assert len(error.attempts) == 1
    assert emulator.request_count == 1


@pytest.mark.parametrize("retry_after", [7, "Wed, 21 Oct 2099 07:28:00 GMT"])
def test_rate_limit_carries_retry_after(
    client: Cosmara, emulator: Emulator, retry_after: int | str
) -> None:
    emulator.add_fault(Fault(status=429, retry_after=retry_after))
    with pytest.raises(cosmara.RateLimitError) as caught:
        client.chat(model="openai/gpt-4o-mini", messages=HI)
    wait = caught.value.retry_after
    assert wait is not None
    if isinstance(retry_after, int):
        assert wait == 7.0
    else:
        assert wait > 365 * 24 * 3600


def test_fallback_to_next_provider(client: Cosmara, emulator: Emulator) -> None:
    emulator.add_fault(Fault(status=503, match_model="gpt-4o-mini"))
    seen = []

    class Watcher:
        @cosmara.hookimpl
        def cosmara_fallback(self, failed: cosmara.Attempt, next_target: str) -> None:
            seen.append((failed.error, next_target))

    client.plugins.register(Watcher())
    response = client.chat(
        model="openai/gpt-4o-mini", messages=HI, fallbacks=["groq/llama-3.1-8b-instant"]
    )
    meta = response.cosmara
    assert meta is not None
    assert (meta.provider, meta.model) == ("groq", "llama-3.1-8b-instant")
    assert [(a.provider, a.error, a.status_code) for a in meta.attempts] == [
        ("openai", "ProviderUnavailableError", 503),
        ("groq", None, None),
    ]
    assert meta.route.candidates == ("openai/gpt-4o-mini", "groq/llama-3.1-8b-instant")
    assert seen == [("ProviderUnavailableError", "groq/llama-3.1-8b-instant")]
    # priced at what served it: llama-3.1-8b-instant on groq
    usage = response.usage
    assert usage is not None
    assert meta.cost_usd == pytest.approx(
        (usage.prompt_tokens * 0.05 + usage.completion_tokens * 0.08) / 1e6
    )


def test_all_targets_fail_error_carries_every_attempt(client: Cosmara, emulator: Emulator) -> None:
    emulator.add_fault(Fault(status=503))
    with pytest.raises(cosmara.ProviderUnavailableError) as caught:
        client.chat(
            model="openai/gpt-4o-mini", messages=HI, fallbacks=["groq/llama-3.1-8b-instant"]
        )
    assert [a.provider for a in caught.value.attempts] == ["openai", "groq"]
    assert emulator.request_count == 2


def test_bad_request_is_not_sent_to_fallbacks(client: Cosmara, emulator: Emulator) -> None:
    emulator.add_fault(Fault(status=400))
    with pytest.raises(cosmara.BadRequestError):
        client.chat(
            model="openai/gpt-4o-mini", messages=HI, fallbacks=["groq/llama-3.1-8b-instant"]
        )
    assert emulator.request_count == 1


async def test_async_fallback(client: Cosmara, emulator: Emulator) -> None:
    emulator.add_fault(Fault(status=429, match_model="gpt-4o-mini"))
    response = await client.achat(
        model="openai/gpt-4o-mini", messages=HI, fallbacks=["groq/llama-3.1-8b-instant"]
    )
    assert response.cosmara is not None
    assert response.cosmara.provider == "groq"


def test_stream_falls_back_before_it_opens(client: Cosmara, emulator: Emulator) -> None:
    emulator.add_fault(Fault(status=500, match_model="gpt-4o-mini"))
    chunks = list(
        client.stream(
            model="openai/gpt-4o-mini", messages=HI, fallbacks=["groq/llama-3.1-8b-instant"]
        )
    )
    assert chunks[-1].cosmara is not None
    assert chunks[-1].cosmara.provider == "groq"
    assert [a.error for a in chunks[-1].cosmara.attempts] == ["ProviderUnavailableError", None]


def test_timeout_becomes_typed_error(client: Cosmara, emulator: Emulator) -> None:
    emulator.add_fault(Fault(delay=1.0))
    started = time.perf_counter()
    with pytest.raises(cosmara.RequestTimeoutError) as caught:
        client.chat(model="openai/gpt-4o-mini", messages=HI, timeout=0.2)
    assert time.perf_counter() - started < 0.9
    assert caught.value.retryable is True


def test_stalled_stream_times_out(client: Cosmara, emulator: Emulator) -> None:
    emulator.add_fault(Fault(stall_after_chunks=2, stall_seconds=1.0))
    with pytest.raises(cosmara.RequestTimeoutError):
        list(client.stream(model="openai/gpt-4o-mini", messages=HI, timeout=0.2))


def test_cut_stream_is_a_connection_error(client: Cosmara, emulator: Emulator) -> None:
    emulator.add_fault(Fault(cut_after_chunks=2))
    received: list[cosmara.ChatChunk] = []
    with pytest.raises(cosmara.ProviderConnectionError) as caught:
        received.extend(client.stream(model="openai/gpt-4o-mini", messages=HI))
    assert all(chunk.cosmara is None for chunk in received)
    assert [a.error for a in caught.value.attempts] == ["ProviderConnectionError"]


async def test_cut_async_stream_is_a_connection_error(client: Cosmara, emulator: Emulator) -> None:
    emulator.add_fault(Fault(cut_after_chunks=2))

    async def consume() -> list[cosmara.ChatChunk]:
        return [chunk async for chunk in client.astream(model="openai/gpt-4o-mini", messages=HI)]

    with pytest.raises(cosmara.ProviderConnectionError) as caught:
        await consume()
    assert [a.error for a in caught.value.attempts] == ["ProviderConnectionError"]


def test_malformed_body_is_invalid_response(client: Cosmara, emulator: Emulator) -> None:
    emulator.add_fault(Fault(malformed=True))
    with pytest.raises(cosmara.InvalidResponseError):
        client.chat(model="openai/gpt-4o-mini", messages=HI)


def test_malformed_stream_event_is_invalid_response(client: Cosmara, emulator: Emulator) -> None:
    emulator.add_fault(Fault(malformed=True))
    with pytest.raises(cosmara.InvalidResponseError):
        list(client.stream(model="openai/gpt-4o-mini", messages=HI))


def test_connection_refused_is_a_connection_error() -> None:
    providers = {"openai": {"base_url": "http://127.0.0.1:9/v1", "api_key": "sk-x"}}
    with (
        Cosmara(providers=providers, load_entry_points=False) as client,
        pytest.raises(cosmara.ProviderConnectionError) as caught,
    ):
        client.chat(model="openai/gpt-4o-mini", messages=HI, max_retries=0)
    assert caught.value.retryable is True


# --- validation before the network -----------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        {"messages": []},
        {"messages": [{"role": "wizard", "content": "hi"}]},
        {"messages": HI, "max_tokens": -1},
        {"messages": HI, "temperature": 3},
        {"messages": HI, "tools": [{"type": "function", "function": {"name": "bad name"}}]},
        {
            "messages": HI,
            "tools": [
                {"type": "function", "function": {"name": "f", "parameters": {"type": "string"}}}
            ],
        },
        {"messages": HI, "tool_choice": "required"},
    ],
)
def test_invalid_input_never_reaches_the_provider(
    client: Cosmara, emulator: Emulator, bad: dict
) -> None:
    with pytest.raises(cosmara.RequestValidationError):
        client.chat(model="openai/gpt-4o-mini", **bad)
    with pytest.raises(cosmara.RequestValidationError):
        client.stream(model="openai/gpt-4o-mini", **bad)
    assert emulator.request_count == 0


def test_unknown_provider_and_missing_key_fail_before_sending(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with Cosmara(providers={"openai": {"base_url": emulator.base_url}}) as client:
        with pytest.raises(cosmara.UnknownModelError, match="nope"):
            client.chat(model="nope/model", messages=HI)
        with pytest.raises(cosmara.MissingCredentialsError, match="OPENAI_API_KEY"):
            client.chat(model="openai/gpt-4o-mini", messages=HI)
    assert emulator.request_count == 0


def test_estimate_cost_before_sending(client: Cosmara, emulator: Emulator) -> None:
    estimate = client.estimate_cost(
        model="openai/gpt-4o-mini",
        messages=[{"role": "user", "content": "x" * 400}],
        max_tokens=100,
    )
    # ~100 content tokens + per-message and priming overhead; 100 output tokens at $0.60/M.
    assert 100 <= estimate.input_tokens <= 110
    assert estimate.max_output_tokens == 100
    assert estimate.max_cost_usd == pytest.approx(
        estimate.input_tokens * 0.15 / 1e6 + 100 * 0.60 / 1e6
    )
    assert emulator.request_count == 0


def test_provided_request_object_with_overrides(client: Cosmara, emulator: Emulator) -> None:
    request = cosmara.ChatRequest(model="openai/gpt-4o-mini", messages=HI, temperature=1)
    client.chat(request, temperature=0)
    assert emulator.requests[-1].json["temperature"] == 0


def test_concurrent_async_calls(client: Cosmara) -> None:
    import asyncio

    async def burst() -> list[cosmara.ChatResponse]:
        return await asyncio.gather(
            *(
                client.achat(
                    model="openai/gpt-4o-mini", messages=[{"role": "user", "content": str(i)}]
                )
                for i in range(30)
            )
        )

    responses = asyncio.run(burst())
    assert [r.choices[0].message.content for r in responses] == [f"Echo: {i}" for i in range(30)]


def test_default_provider_takes_bare_names_the_catalog_lacks(emulator: Emulator) -> None:
    providers = {"openai": {"base_url": emulator.base_url, "api_key": "sk-x"}}
    config = {"providers": providers, "default_provider": "openai"}
    with Cosmara(config, load_entry_points=False) as client:
        response = client.chat(model="my-finetune-v2", messages=HI)
        assert response.cosmara is not None
        assert (response.cosmara.provider, response.cosmara.cost_usd) == ("openai", None)
        assert emulator.requests[-1].json["model"] == "my-finetune-v2"
    with (
        Cosmara({"providers": providers}, load_entry_points=False) as client,
        pytest.raises(cosmara.UnknownModelError),
    ):
        client.chat(model="my-finetune-v2", messages=HI)


def test_a_clock_that_only_changes_now_moves_time_too() -> None:
    from datetime import datetime, timezone

    from cosmara import Clock

    class Frozen(Clock):
        def now(self) -> datetime:
            return datetime(2030, 1, 1, tzinfo=timezone.utc)

    assert Frozen().time() == datetime(2030, 1, 1, tzinfo=timezone.utc).timestamp()
    assert abs(Clock().time() - Clock().now().timestamp()) < 5
