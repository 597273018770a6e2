"""The engine against the project's own vcrpy cassettes (``cassettes/test_cassettes/``).

Each cassette holds a provider's real wire format (headers, JSON and SSE bodies) with
conversation content, ids and token counts of our own; ``cassettes/README.md`` says which real
recording each one mirrors. Replay is offline (``--record-mode=none``) and, in this module, also
matches the JSON request body, so a cassette doubles as a check of what the engine sends.

Costs are asserted against hand-computed figures from ``cosmara/data/models.json`` (USD per
million tokens); the arithmetic is written next to each one.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from vcr.cassette import Cassette

import cosmara.providers.openai as openai_provider
from cosmara import (
    AuthenticationError,
    BadRequestError,
    ChatChunk,
    ChatResponse,
    ContentFilteredError,
    ContextWindowExceededError,
    Cosmara,
    EmbeddingResponse,
    NotFoundError,
    ProviderError,
    RateLimitError,
    StreamAccumulator,
)

pytestmark = pytest.mark.vcr

PROVIDERS: dict[str, dict[str, Any]] = {
    "openai": {"api_key": "sk-test"},
    "azure": {
        "base_url": "https://cosmara-test.openai.azure.com",
        "api_key": "k",
        "api_version": "2024-10-21",
    },
    "openrouter": {"api_key": "sk-or-test"},
    "ollama_openai": {},
    "huggingface": {"api_key": "hf_x", "base_url": "https://router.huggingface.co/v1"},
    "groq": {"api_key": "gsk-test"},
}

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}
PACKAGE_TOOL = {
    "type": "function",
    "function": {
        "name": "latest_version",
        "description": "Latest released version of a Python package on PyPI.",
        "parameters": {
            "type": "object",
            "properties": {"package": {"type": "string"}},
            "required": ["package"],
        },
    },
}
SAFE = {"filtered": False, "severity": "safe"}


@pytest.fixture(scope="module")
def vcr_config(vcr_config: dict[str, Any]) -> dict[str, Any]:
    """The suite's settings, plus matching on the (JSON-compared) request body."""
    return {**vcr_config, "match_on": [*vcr_config["match_on"], "body"]}


def client_for(*names: str) -> Cosmara:
    """A client configured for the named providers only (real hosts; vcrpy answers)."""
    # A cassette holds one answer per request: a recorded error is not retried.
    return Cosmara(
        {"retry": {"max_retries": 0}},
        providers={name: PROVIDERS[name] for name in names},
        load_entry_points=False,
    )


def user(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def assert_replayed(cassette: Cassette, requests: int) -> None:
    """Exactly ``requests`` requests were sent, and each one used up a recorded interaction."""
    assert cassette.play_count == requests
    assert cassette.all_played


def assert_single_attempt(
    resp: ChatResponse | EmbeddingResponse, provider: str, model: str
) -> None:
    assert resp.cosmara is not None
    assert resp.cosmara.provider == provider
    assert resp.cosmara.model == model
    assert resp.cosmara.route.strategy == "explicit"
    assert [(a.provider, a.model, a.error) for a in resp.cosmara.attempts] == [
        (provider, model, None)
    ]


def split_stream(chunks: list[ChatChunk]) -> tuple[list[ChatChunk], ChatChunk]:
    """The provider's chunks and the engine's final one; usage and metadata only on the last."""
    *body, final = chunks
    assert all(chunk.usage is None and chunk.cosmara is None for chunk in body)
    assert final.choices == []
    assert final.usage is not None
    assert final.cosmara is not None
    return body, final


def text_of(chunks: list[ChatChunk]) -> str:
    return "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)


def finish_reasons(chunks: list[ChatChunk]) -> list[str]:
    return [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]


# -- 1. plain chat: cached and reasoning tokens ------------------------------------------------

O4_MINI_MESSAGES = [
    {
        "role": "system",
        "content": "You are the release assistant of the Cosmara project. Answer in one sentence.",
    },
    {"role": "user", "content": "Which HTTP status does a provider return for a wrong API key?"},
]


def check_o4_mini_answer(resp: ChatResponse) -> None:
    assert resp.model == "o4-mini-2025-04-16"
    assert resp.choices[0].message.content == (
        "A wrong API key is answered with HTTP 401 Unauthorized."
    )
    assert resp.choices[0].finish_reason == "stop"
    assert resp.usage is not None
    assert (resp.usage.prompt_tokens, resp.usage.completion_tokens, resp.usage.total_tokens) == (
        1843,
        412,
        2255,
    )
    assert resp.usage.prompt_tokens_details is not None
    assert resp.usage.prompt_tokens_details.cached_tokens == 1536
    assert resp.usage.completion_tokens_details is not None
    assert resp.usage.completion_tokens_details.reasoning_tokens == 320
    assert_single_attempt(resp, "openai", "o4-mini")
    # o4-mini: input $1.10/M, cached input $0.275/M, output $4.40/M (reasoning billed as output)
    #   uncached prompt (1843 - 1536) =  307 x 1.10  =  337.7
    #   cached prompt                   1536 x 0.275 =  422.4
    #   visible output  (412 - 320)   =   92 x 4.40  =  404.8
    #   reasoning                        320 x 4.40  = 1408.0
    #   total 2572.9 / 1e6 = 0.0025729
    assert resp.cosmara is not None
    assert resp.cosmara.cost_usd == 0.0025729


def test_openai_chat_sync(vcr: Cassette) -> None:
    with client_for("openai") as client:
        resp = client.chat(model="openai/o4-mini", messages=O4_MINI_MESSAGES)
    check_o4_mini_answer(resp)
    assert_replayed(vcr, 1)


@pytest.mark.default_cassette("test_openai_chat_sync.yaml")
async def test_openai_chat_async(vcr: Cassette) -> None:
    async with client_for("openai") as client:
        resp = await client.achat(model="openai/o4-mini", messages=O4_MINI_MESSAGES)
    check_o4_mini_answer(resp)
    assert_replayed(vcr, 1)


# -- 2. streamed chat with stream_options.include_usage ----------------------------------------

COLOURS = user("Name the three primary colours.")


def check_colour_stream(chunks: list[ChatChunk]) -> None:
    body, final = split_stream(chunks)
    assert len(body) == 8  # role, six text deltas, finish_reason
    assert text_of(body) == "Red, yellow and blue."
    assert finish_reasons(body) == ["stop"]
    assert body[-1].choices[0].finish_reason == "stop"
    assert final.model == "gpt-4o-mini-2024-07-18"
    assert final.usage is not None
    assert (final.usage.prompt_tokens, final.usage.completion_tokens) == (13, 7)
    assert final.usage.total_tokens == 20
    assert final.cosmara is not None
    assert final.cosmara.provider == "openai"
    assert final.cosmara.model == "gpt-4o-mini"
    # gpt-4o-mini: input $0.15/M, output $0.60/M: 13 x 0.15 + 7 x 0.60 = 1.95 + 4.2 = 6.15 / 1e6
    assert final.cosmara.cost_usd == 0.00000615


def test_openai_stream_sync(vcr: Cassette) -> None:
    with client_for("openai") as client:
        chunks = list(client.stream(model="openai/gpt-4o-mini", messages=COLOURS))
    check_colour_stream(chunks)
    assert_replayed(vcr, 1)


@pytest.mark.default_cassette("test_openai_stream_sync.yaml")
async def test_openai_stream_async(vcr: Cassette) -> None:
    async with client_for("openai") as client:
        chunks = [c async for c in client.astream(model="openai/gpt-4o-mini", messages=COLOURS)]
    check_colour_stream(chunks)
    assert_replayed(vcr, 1)


# -- 3. parallel tool calls, then the tool results ---------------------------------------------


def test_openai_parallel_tool_calls(vcr: Cassette) -> None:
    question = user("What is the weather in Oslo and in Lisbon right now?")
    with client_for("openai") as client:
        first = client.chat(model="openai/gpt-4o-mini", messages=question, tools=[WEATHER_TOOL])
        calls = first.choices[0].message.tool_calls
        assert calls is not None
        assert [(c.id, c.type, c.function.name, c.function.arguments) for c in calls] == [
            ("call_K4w1HUZor8DUuZOoDraNp8ar", "function", "get_weather", '{"city": "Oslo"}'),
            ("call_PwXgevNiegD2geE277n543dJ", "function", "get_weather", '{"city": "Lisbon"}'),
        ]
        assert first.choices[0].message.content is None
        assert first.choices[0].finish_reason == "tool_calls"
        assert first.usage is not None
        assert (first.usage.prompt_tokens, first.usage.completion_tokens) == (82, 51)
        # gpt-4o-mini: 82 x 0.15 + 51 x 0.60 = 12.3 + 30.6 = 42.9 / 1e6
        assert first.cosmara is not None
        assert first.cosmara.cost_usd == 0.0000429

        results = {
            calls[0].id: '{"temperature_c": -3, "conditions": "light snow"}',
            calls[1].id: '{"temperature_c": 16, "conditions": "sunny"}',
        }
        second = client.chat(
            model="openai/gpt-4o-mini",
            messages=[
                *question,
                {"role": "assistant", "tool_calls": [c.model_dump() for c in calls]},
                *(
                    {"role": "tool", "tool_call_id": call_id, "content": content}
                    for call_id, content in results.items()
                ),
            ],
            tools=[WEATHER_TOOL],
        )
    assert second.choices[0].message.content == (
        "Oslo has light snow at -3 degrees C, while Lisbon is sunny at 16 degrees C."
    )
    assert second.choices[0].message.tool_calls is None
    assert second.choices[0].finish_reason == "stop"
    assert second.usage is not None
    assert (second.usage.prompt_tokens, second.usage.completion_tokens) == (171, 23)
    # gpt-4o-mini: 171 x 0.15 + 23 x 0.60 = 25.65 + 13.8 = 39.45 / 1e6
    assert second.cosmara is not None
    assert second.cosmara.cost_usd == 0.00003945
    assert_replayed(vcr, 2)


# -- 4. streamed parallel tool calls -----------------------------------------------------------


def test_openai_stream_parallel_tool_calls(vcr: Cassette) -> None:
    with client_for("openai") as client:
        chunks = list(
            client.stream(
                model="openai/gpt-4o-mini",
                messages=user("What are the latest versions of httpx and vcrpy?"),
                tools=[PACKAGE_TOOL],
            )
        )
    body, final = split_stream(chunks)
    deltas = [d for c in body if c.choices for d in c.choices[0].delta.tool_calls or ()]
    for index, call_id in enumerate(
        ["call_uq76Xc0sm37KdcTQUUExqUzt", "call_N7qsMOGh2wCl9MqZ5MKwhSlK"]
    ):
        first, *rest = [d for d in deltas if d.index == index]
        assert first.id == call_id
        assert first.function is not None
        assert first.function.name == "latest_version"
        assert first.function.arguments == ""
        assert len(rest) == 6
        assert all(d.id is None and d.function and d.function.name is None for d in rest)

    accumulator = StreamAccumulator()
    for chunk in chunks:
        accumulator.add(chunk)
    resp = accumulator.response()
    calls = resp.choices[0].message.tool_calls
    assert calls is not None
    assert [(c.id, c.function.name, c.function.arguments) for c in calls] == [
        ("call_uq76Xc0sm37KdcTQUUExqUzt", "latest_version", '{"package": "httpx"}'),
        ("call_N7qsMOGh2wCl9MqZ5MKwhSlK", "latest_version", '{"package": "vcrpy"}'),
    ]
    assert resp.choices[0].message.content is None
    assert resp.choices[0].finish_reason == "tool_calls"
    assert resp.usage is not None
    assert (resp.usage.prompt_tokens, resp.usage.completion_tokens) == (88, 54)
    # gpt-4o-mini: 88 x 0.15 + 54 x 0.60 = 13.2 + 32.4 = 45.6 / 1e6
    assert final.cosmara is not None
    assert final.cosmara.cost_usd == 0.0000456
    assert_replayed(vcr, 1)


# -- 5. max tokens reached ----------------------------------------------------------------------


def test_openai_max_tokens_length(vcr: Cassette) -> None:
    with client_for("openai") as client:
        resp = client.chat(
            model="openai/gpt-4o-mini",
            messages=user("List the planets of the solar system with one fact each."),
            max_tokens=12,  # sent as max_completion_tokens (the cassette's body says so)
        )
    assert resp.choices[0].finish_reason == "length"
    assert resp.choices[0].message.content == (
        "Here are the planets of the solar system:\n\n1. **Mercury**"
    )
    assert resp.usage is not None
    assert (resp.usage.prompt_tokens, resp.usage.completion_tokens) == (19, 12)
    assert_single_attempt(resp, "openai", "gpt-4o-mini")
    # gpt-4o-mini: 19 x 0.15 + 12 x 0.60 = 2.85 + 7.2 = 10.05 / 1e6
    assert resp.cosmara is not None
    assert resp.cosmara.cost_usd == 0.00001005
    assert_replayed(vcr, 1)


# -- 6. embeddings ------------------------------------------------------------------------------

EMBED_REQUEST: dict[str, Any] = {
    "model": "openai/text-embedding-3-small",
    "input": ["The cat sat on the mat.", "A kitten rested on the rug."],
    "dimensions": 4,
}


def check_embeddings(emb: EmbeddingResponse) -> None:
    assert emb.vectors == [
        [0.51843894, -0.30194157, 0.72110367, -0.34707585],
        [0.49210227, -0.27469742, 0.75531465, -0.32918301],
    ]
    assert emb.model == "text-embedding-3-small"
    assert emb.usage is not None
    assert (emb.usage.prompt_tokens, emb.usage.total_tokens) == (14, 14)
    assert_single_attempt(emb, "openai", "text-embedding-3-small")
    # text-embedding-3-small: $0.02/M input: 14 x 0.02 = 0.28 / 1e6
    assert emb.cosmara is not None
    assert emb.cosmara.cost_usd == 0.00000028


def test_openai_embeddings(vcr: Cassette) -> None:
    with client_for("openai") as client:
        emb = client.embed(**EMBED_REQUEST)
    check_embeddings(emb)
    assert_replayed(vcr, 1)


@pytest.mark.default_cassette("test_openai_embeddings.yaml")
async def test_openai_embeddings_async(vcr: Cassette) -> None:
    async with client_for("openai") as client:
        emb = await client.aembed(**EMBED_REQUEST)
    check_embeddings(emb)
    assert_replayed(vcr, 1)


# -- 7. errors ----------------------------------------------------------------------------------


def chat_error(provider: str, model: str, text: str = "Hello", **extra: Any) -> ProviderError:
    with client_for(provider) as client, pytest.raises(ProviderError) as caught:
        client.chat(model=model, messages=user(text), **extra)
    return caught.value


async def achat_error(provider: str, model: str, text: str = "Hello") -> ProviderError:
    async with client_for(provider) as client:
        with pytest.raises(ProviderError) as caught:
            await client.achat(model=model, messages=user(text))
    return caught.value


def assert_error(
    error: ProviderError,
    cls: type[ProviderError],
    *,
    status: int,
    code: str,
    message: str,
    retryable: bool,
    retry_after: float | None = None,
) -> None:
    assert type(error) is cls
    assert error.status_code == status
    assert error.code == code
    assert error.provider_message == message
    assert error.retryable is retryable
    assert error.retry_after == retry_after
    assert [(a.error, a.status_code) for a in error.attempts] == [(cls.__name__, status)]


def test_error_401_invalid_api_key(vcr: Cassette) -> None:
    error = chat_error("openai", "openai/gpt-4o-mini")
    assert_error(
        error,
        AuthenticationError,
        status=401,
        code="invalid_api_key",
        message="Incorrect API key provided: sk-test. You can find your API key at "
        "https://platform.openai.com/account/api-keys.",
        retryable=False,
    )
    assert (error.provider, error.model) == ("openai", "gpt-4o-mini")
    assert_replayed(vcr, 1)


def test_error_404_model_not_found(vcr: Cassette) -> None:
    error = chat_error("openai", "openai/gpt-4o-mini-nonexistent")
    assert_error(
        error,
        NotFoundError,
        status=404,
        code="model_not_found",
        message="The model `gpt-4o-mini-nonexistent` does not exist or you do not have access "
        "to it.",
        retryable=False,
    )
    assert_replayed(vcr, 1)


def test_error_400_invalid_request(vcr: Cassette) -> None:
    error = chat_error("openai", "openai/o4-mini", temperature=0.2)
    assert_error(
        error,
        BadRequestError,
        status=400,
        code="unsupported_value",
        message="Unsupported value: 'temperature' does not support 0.2 with this model. "
        "Only the default (1) value is supported.",
        retryable=False,
    )
    assert_replayed(vcr, 1)


def test_error_400_context_length_exceeded(vcr: Cassette) -> None:
    error = chat_error("openai", "openai/gpt-4o-mini", "Summarise the attached log.")
    assert_error(
        error,
        ContextWindowExceededError,
        status=400,
        code="context_length_exceeded",
        message="This model's maximum context length is 128000 tokens. However, your messages "
        "resulted in 131309 tokens. Please reduce the length of the messages.",
        retryable=False,
    )
    assert_replayed(vcr, 1)


def test_error_azure_content_filter(vcr: Cassette) -> None:
    error = chat_error("azure", "azure/gpt-4o-mini", "Write a threatening letter to my neighbour.")
    assert_error(
        error,
        ContentFilteredError,
        status=400,
        code="content_filter",
        message="The response was filtered due to the prompt triggering Azure OpenAI's content "
        "management policy. Please modify your prompt and retry. To learn more about our content "
        "filtering policies please read our documentation: "
        "https://go.microsoft.com/fwlink/?linkid=2198766",
        retryable=False,
    )
    inner = error.body["error"]["innererror"]
    assert inner["code"] == "ResponsibleAIPolicyViolation"
    assert inner["content_filter_result"]["violence"] == {"filtered": True, "severity": "medium"}
    assert (error.provider, error.model) == ("azure", "gpt-4o-mini")
    assert_replayed(vcr, 1)


RATE_LIMIT_MESSAGE = (
    "Rate limit reached for gpt-4o-mini in organization org-CosmaraCi0000000000000000 on "
    "requests per min (RPM): Limit 3, Used 3, Requested 1. Please try again in 7s. "
    "Visit https://platform.openai.com/account/rate-limits to learn more."
)


def test_error_429_rate_limit_retry_after(vcr: Cassette) -> None:
    error = chat_error("openai", "openai/gpt-4o-mini")
    assert_error(
        error,
        RateLimitError,
        status=429,
        code="rate_limit_exceeded",
        message=RATE_LIMIT_MESSAGE,
        retryable=True,
        retry_after=7.0,
    )
    assert_replayed(vcr, 1)


@pytest.mark.default_cassette("test_error_429_rate_limit_retry_after.yaml")
async def test_error_429_rate_limit_retry_after_async(vcr: Cassette) -> None:
    error = await achat_error("openai", "openai/gpt-4o-mini")
    assert_error(
        error,
        RateLimitError,
        status=429,
        code="rate_limit_exceeded",
        message=RATE_LIMIT_MESSAGE,
        retryable=True,
        retry_after=7.0,
    )
    assert_replayed(vcr, 1)


def test_error_openrouter_429(vcr: Cassette, monkeypatch: pytest.MonkeyPatch) -> None:
    # No Retry-After: the wait comes from X-Ratelimit-Reset (epoch ms 1768396140000); pin the
    # clock 26 s before it so the figure is exact.
    monkeypatch.setattr(openai_provider, "time", SimpleNamespace(time=lambda: 1768396114.0))
    error = chat_error(
        "openrouter",
        "openrouter/meta-llama/llama-3.3-70b-instruct:free",
        "Say exactly 'cassette' and nothing else.",
    )
    assert_error(
        error,
        RateLimitError,
        status=429,
        code="429",
        message="Rate limit exceeded: limit_rpm/meta-llama/llama-3.3-70b-instruct/"
        "6c7006c0-bd6f-49d7-9a41-f1432a6a1ce1. High demand for "
        "meta-llama/llama-3.3-70b-instruct:free on OpenRouter - limited to 1 requests per "
        "minute. Please retry shortly.",
        retryable=True,
        retry_after=26.0,
    )
    assert error.provider == "openrouter"
    assert_replayed(vcr, 1)


def test_error_429_insufficient_quota(vcr: Cassette) -> None:
    error = chat_error("openai", "openai/gpt-4o-mini")
    assert_error(
        error,
        RateLimitError,
        status=429,
        code="insufficient_quota",
        message="You exceeded your current quota, please check your plan and billing details. "
        "For more information on this error, read the docs: "
        "https://platform.openai.com/docs/guides/error-codes/api-errors.",
        retryable=False,
    )
    assert_replayed(vcr, 1)


# -- 8. Azure OpenAI ----------------------------------------------------------------------------


def test_azure_chat(vcr: Cassette) -> None:
    with client_for("azure") as client:
        resp = client.chat(
            model="azure/gpt-4o-mini", messages=user("Translate 'good morning' into Norwegian.")
        )
    choice = resp.choices[0]
    assert choice.message.content == '"Good morning" in Norwegian is "god morgen".'
    assert choice.finish_reason == "stop"
    assert choice.model_extra is not None
    assert choice.model_extra["content_filter_results"]["violence"] == SAFE
    assert choice.model_extra["content_filter_results"]["protected_material_code"] == {
        "filtered": False,
        "detected": False,
    }
    assert resp.model_extra is not None
    prompt_filter = resp.model_extra["prompt_filter_results"]
    assert prompt_filter[0]["prompt_index"] == 0
    assert prompt_filter[0]["content_filter_results"]["jailbreak"] == {
        "filtered": False,
        "detected": False,
    }
    assert resp.usage is not None
    assert (resp.usage.prompt_tokens, resp.usage.completion_tokens) == (15, 12)
    assert_single_attempt(resp, "azure", "gpt-4o-mini")
    # azure/gpt-4o-mini: 15 x 0.15 + 12 x 0.60 = 2.25 + 7.2 = 9.45 / 1e6
    assert resp.cosmara is not None
    assert resp.cosmara.cost_usd == 0.00000945
    assert_replayed(vcr, 1)


def test_azure_stream(vcr: Cassette) -> None:
    with client_for("azure") as client:
        chunks = list(
            client.stream(model="azure/gpt-4o-mini", messages=user("Count from one to three."))
        )
    body, final = split_stream(chunks)
    prompt_chunk = body[0]  # Azure's own first chunk: no choices, only the prompt filter
    assert prompt_chunk.choices == []
    assert prompt_chunk.id == ""
    assert prompt_chunk.model_extra is not None
    prompt_filter = prompt_chunk.model_extra["prompt_filter_results"]
    assert prompt_filter[0]["content_filter_results"]["hate"] == SAFE
    assert text_of(body) == "One, two, three."
    assert finish_reasons(body) == ["stop"]
    assert body[2].choices[0].model_extra is not None
    assert body[2].choices[0].model_extra["content_filter_results"]["sexual"] == SAFE
    assert final.id == body[1].id
    assert final.usage is not None
    assert (final.usage.prompt_tokens, final.usage.completion_tokens) == (13, 6)
    assert final.cosmara is not None
    assert final.cosmara.provider == "azure"
    # azure/gpt-4o-mini: 13 x 0.15 + 6 x 0.60 = 1.95 + 3.6 = 5.55 / 1e6
    assert final.cosmara.cost_usd == 0.00000555
    assert_replayed(vcr, 1)


# -- 9. Ollama's OpenAI-compatible /v1 ----------------------------------------------------------


def test_ollama_chat(vcr: Cassette, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OLLAMA_HOST", raising=False)  # default base_url http://localhost:11434/v1
    with client_for("ollama_openai") as client:
        resp = client.chat(
            model="ollama_openai/gemma3:4b",
            messages=user("What is the capital of Norway? Answer in one word."),
        )
    assert resp.choices[0].message.content == "Oslo\n"
    assert resp.choices[0].finish_reason == "stop"
    assert resp.system_fingerprint == "fp_ollama"
    assert resp.usage is not None
    assert (resp.usage.prompt_tokens, resp.usage.completion_tokens) == (22, 3)
    assert resp.usage.total_tokens == 25
    assert resp.usage.cached_tokens == 0
    assert_single_attempt(resp, "ollama_openai", "gemma3:4b")
    # ollama/gemma3:4b is in the catalog at $0 in and out: 22 x 0 + 3 x 0 = 0.0
    assert resp.cosmara is not None
    assert resp.cosmara.cost_usd == 0.0
    assert_replayed(vcr, 1)


# -- 10. Hugging Face router, TGI-style tool call -------------------------------------------------


def test_huggingface_router_tool_call(vcr: Cassette) -> None:
    with client_for("huggingface") as client:
        resp = client.chat(
            model="huggingface/meta-llama/Llama-3.3-70B-Instruct",
            messages=user("What is the weather in Bergen?"),
            tools=[WEATHER_TOOL],
        )
    calls = resp.choices[0].message.tool_calls
    assert calls is not None
    # TGI sends arguments as a JSON object; the engine hands back OpenAI's JSON string.
    assert [(c.id, c.function.name, c.function.arguments) for c in calls] == [
        ("0", "get_weather", '{"city":"Bergen"}')
    ]
    assert resp.choices[0].message.content is None
    assert resp.choices[0].finish_reason == "eos_token"  # TGI's own reason, passed through
    assert resp.usage is not None
    assert (resp.usage.prompt_tokens, resp.usage.completion_tokens) == (296, 21)
    assert_single_attempt(resp, "huggingface", "meta-llama/Llama-3.3-70B-Instruct")
    # huggingface/meta-llama/Llama-3.3-70B-Instruct: $0.88/M in and out:
    #   296 x 0.88 + 21 x 0.88 = 260.48 + 18.48 = 278.96 / 1e6
    assert resp.cosmara is not None
    assert resp.cosmara.cost_usd == 0.00027896
    assert_replayed(vcr, 1)


# -- 11. fallback: OpenAI 503, then Groq ----------------------------------------------------------

FALLBACK_REQUEST: dict[str, Any] = {
    "model": "openai/gpt-4o-mini",
    "fallbacks": ["groq/llama-3.1-8b-instant"],
    "messages": user("Say hello in French."),
}


def check_fallback(resp: ChatResponse) -> None:
    assert resp.choices[0].message.content == "Bonjour !"
    assert resp.choices[0].finish_reason == "stop"
    assert resp.cosmara is not None
    assert resp.cosmara.provider == "groq"
    assert resp.cosmara.model == "llama-3.1-8b-instant"
    assert resp.cosmara.route.candidates == ("openai/gpt-4o-mini", "groq/llama-3.1-8b-instant")
    assert [(a.provider, a.model, a.error, a.status_code) for a in resp.cosmara.attempts] == [
        ("openai", "gpt-4o-mini", "ProviderUnavailableError", 503),
        ("groq", "llama-3.1-8b-instant", None, None),
    ]
    assert resp.cosmara.attempts[0].message == "The server is overloaded or not ready yet."
    assert resp.usage is not None
    assert (resp.usage.prompt_tokens, resp.usage.completion_tokens) == (40, 4)
    # groq/llama-3.1-8b-instant: input $0.05/M, output $0.08/M:
    #   40 x 0.05 + 4 x 0.08 = 2.0 + 0.32 = 2.32 / 1e6
    assert resp.cosmara.cost_usd == 0.00000232


def test_fallback_openai_503_to_groq(vcr: Cassette) -> None:
    with client_for("openai", "groq") as client:
        resp = client.chat(**FALLBACK_REQUEST)
    check_fallback(resp)
    assert_replayed(vcr, 2)


@pytest.mark.default_cassette("test_fallback_openai_503_to_groq.yaml")
async def test_fallback_openai_503_to_groq_async(vcr: Cassette) -> None:
    async with client_for("openai", "groq") as client:
        resp = await client.achat(**FALLBACK_REQUEST)
    check_fallback(resp)
    assert_replayed(vcr, 2)
