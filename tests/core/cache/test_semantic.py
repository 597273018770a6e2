"""Semantic namespaces: a paraphrase is answered from the cache; a question that differs in a
number, a negation or a name is refused by the verifier; only the request's partition is
searched; TTL and LRU; pluggable embedders and verifiers; an engine embedding model."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from cosmara import Cosmara, hookimpl
from cosmara.semantic import LocalMiniLM
from cosmara.testing import Emulator, FakeClock, Fault
from tests.core.cache.conftest import MODEL, Make, ask

QUESTION = "How do I reset my password?"
PARAPHRASE = "What is the way to reset my password?"  # cosine 0.97 with all-MiniLM-L6-v2


class SharedModel:
    """A plugin registering the session's MiniLM as the embedder ``minilm`` (loading the
    model once; ``embedder = "local"`` loads its own, tested separately)."""

    def __init__(self, model: LocalMiniLM) -> None:
        self.model = model
        self.clients: list[Cosmara] = []

    @hookimpl
    def cosmara_register_embedders(self, register: Callable[..., None]) -> None:
        register("minilm", self._factory)

    def _factory(self, client: Cosmara) -> LocalMiniLM:
        self.clients.append(client)
        return self.model


@pytest.fixture
def semantic(make: Make, minilm: LocalMiniLM) -> Callable[..., Cosmara]:
    """A client whose ``default`` namespace is semantic (MiniLM, the built-in verifier)."""

    def build(plugins: tuple[object, ...] = (), **settings: Any) -> Cosmara:
        namespace = {"type": "semantic", "embedder": "minilm", **settings}
        return make({"default": namespace}, plugins=(SharedModel(minilm), *plugins))

    return build


def test_a_paraphrase_is_answered_from_the_cache(
    semantic: Callable[..., Cosmara], emulator: Emulator
) -> None:
    client = semantic()
    miss = ask(client, QUESTION)
    hit = ask(client, PARAPHRASE)
    assert emulator.request_count == 1
    assert hit.text == miss.text == f"Echo: {QUESTION}"
    assert hit.cosmara.cache == "hit"
    assert hit.cosmara.cache_similarity is not None
    assert 0.92 <= hit.cosmara.cache_similarity < 1
    assert hit.cosmara.cost_usd == 0
    assert hit.cosmara.cost_saved_usd == miss.cosmara.cost_usd
    assert "semantic (similarity" in hit.cosmara.route.reason
    assert ask(client, QUESTION).cosmara.cache_similarity is None  # the very same: exact


async def test_async_and_streamed_paraphrases_hit(
    semantic: Callable[..., Cosmara], emulator: Emulator
) -> None:
    client = semantic()
    await client.achat(model=MODEL, messages=[{"role": "user", "content": QUESTION}])
    hit = await client.achat(model=MODEL, messages=[{"role": "user", "content": PARAPHRASE}])
    assert hit.cosmara.cache == "hit"
    messages = [{"role": "user", "content": "How can I reset my password?"}]
    chunks = [chunk async for chunk in client.astream(model=MODEL, messages=messages)]
    assert chunks[-1].cosmara.cache == "hit"
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == hit.text
    streamed = list(client.stream(model=MODEL, messages=messages))
    assert streamed[-1].cosmara.cache_similarity == chunks[-1].cosmara.cache_similarity
    assert emulator.request_count == 1


# Pairs close enough to pass a 0.6 threshold whose answers differ.
DIFFERENT = [
    ("Convert 5 km to miles", "Convert 50 km to miles"),  # a number
    ("Book a table for 4 people at 7pm", "Book a table for 6 people at 7pm"),
    ("Is ibuprofen safe with coffee?", "Is ibuprofen not safe with coffee?"),  # a negation
    ("Can I take ibuprofen with alcohol?", "Can I not take ibuprofen with alcohol?"),
    ("How do I read a CSV file in Python?", "How do I read a CSV file in Rust?"),  # names
    ("What is the weather in Paris today?", "What is the weather in London today?"),
    ("What is the population of Texas?", "What is the population of California?"),
]


@pytest.mark.parametrize(("first", "second"), DIFFERENT)
def test_the_verifier_refuses_a_different_detail(
    semantic: Callable[..., Cosmara], emulator: Emulator, first: str, second: str
) -> None:
    checked = semantic(threshold=0.6)
    unchecked = semantic(threshold=0.6, verifier="none", scope="global")
    for client in (checked, unchecked):
        ask(client, first)
    assert ask(checked, second).cosmara.cache == "miss"
    # Without the verifier the same pair is a (false) hit: the verifier is what refused it.
    assert ask(unchecked, second).cosmara.cache == "hit"


def _request(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "model": MODEL,
        "messages": [
            {"role": "system", "content": "You are a support agent."},
            {"role": "user", "content": "Hello"},
            {"role": "assistant", "content": "Hi, how can I help?"},
            {"role": "user", "content": QUESTION},
        ],
        "temperature": 0.2,
        "org": "acme",
    }
    return {**base, **changes}


def _with_system(text: str) -> list[dict[str, str]]:
    messages = _request()["messages"]
    return [
        {"role": "system", "content": text},
        *messages[1:-1],
        {"role": "user", "content": PARAPHRASE},
    ]


TOOL = {"type": "function", "function": {"name": "reset", "parameters": {"type": "object"}}}
PARTITIONS: dict[str, dict[str, Any]] = {
    "model": {"model": "openai/gpt-4o"},
    "system prompt": {"messages": _with_system("You are a pirate.")},
    "earlier turn": {
        "messages": [
            {"role": "system", "content": "You are a support agent."},
            {"role": "user", "content": "Bonjour"},
            {"role": "assistant", "content": "Hi, how can I help?"},
            {"role": "user", "content": PARAPHRASE},
        ]
    },
    "tools": {"tools": [TOOL]},
    "response format": {"response_format": {"type": "json_object"}},
    "temperature": {"temperature": 0.9},
    "max_tokens": {"max_tokens": 20},
    "scope": {"org": "acme2"},
}


@pytest.mark.parametrize("field", list(PARTITIONS))
def test_only_the_requests_partition_is_searched(
    semantic: Callable[..., Cosmara], emulator: Emulator, field: str
) -> None:
    client = semantic()
    client.chat(**_request())
    paraphrased = _request()
    paraphrased["messages"] = [
        *paraphrased["messages"][:-1],
        {"role": "user", "content": PARAPHRASE},
    ]
    for same_last_message in (QUESTION, PARAPHRASE):
        other = {**paraphrased, **PARTITIONS[field]}
        other["messages"] = [
            *other["messages"][:-1],
            {"role": "user", "content": same_last_message},
        ]
        assert client.chat(**other, no_store=True).cosmara.cache == "miss", field
    assert client.chat(**paraphrased).cosmara.cache == "hit"  # the same partition does


def test_a_semantic_entry_expires_with_its_ttl(
    semantic: Callable[..., Cosmara], emulator: Emulator, fake_clock: FakeClock
) -> None:
    client = semantic(ttl=60)
    ask(client, QUESTION)
    fake_clock.advance(30)
    assert ask(client, PARAPHRASE).cosmara.cache == "hit"
    fake_clock.advance(31)
    assert ask(client, PARAPHRASE).cosmara.cache == "miss"  # and stored again
    assert ask(client, "How can I reset my password?").cosmara.cache == "hit"
    assert emulator.request_count == 2


def test_semantic_entries_are_evicted_least_recently_used_first(
    semantic: Callable[..., Cosmara],
) -> None:
    client = semantic(max_entries=2)
    ask(client, QUESTION)
    ask(client, "What is the capital of Australia?")
    assert ask(client, PARAPHRASE).cosmara.cache == "hit"  # a use of the first entry
    ask(client, "How can I cancel my subscription?")  # evicts the capital question
    capital = ask(client, "Which city is the capital of Australia?", no_store=True)
    assert capital.cosmara.cache == "miss"
    assert ask(client, "How can I reset my password?").cosmara.cache == "hit"
    assert ask(client, "How do I cancel my subscription?").cosmara.cache == "hit"


def test_cache_false_still_stores_for_paraphrases(
    semantic: Callable[..., Cosmara], emulator: Emulator
) -> None:
    client = semantic()
    ask(client, QUESTION, cache=False)
    assert ask(client, PARAPHRASE).cosmara.cache == "hit"
    assert emulator.request_count == 1


def test_no_store_adds_nothing_to_the_index(semantic: Callable[..., Cosmara]) -> None:
    client = semantic()
    ask(client, QUESTION, no_store=True)
    assert ask(client, PARAPHRASE).cosmara.cache == "miss"


def test_clearing_forgets_the_vectors_too(semantic: Callable[..., Cosmara]) -> None:
    client = semantic()
    ask(client, QUESTION, org="acme")
    ask(client, QUESTION, org="acme2")
    assert client.cache is not None
    assert client.cache.clear(scope="org:acme") == 1
    assert ask(client, PARAPHRASE, org="acme").cosmara.cache == "miss"
    assert ask(client, PARAPHRASE, org="acme2").cosmara.cache == "hit"


def test_verifier_none_answers_on_similarity_alone(semantic: Callable[..., Cosmara]) -> None:
    client = semantic(verifier="none")
    ask(client, "Is ibuprofen safe with coffee?")
    hit = ask(client, "Is ibuprofen not safe with coffee?")  # cosine 0.995: the false hit
    assert hit.cosmara.cache == "hit"


def test_a_message_that_is_not_text_is_matched_exactly_only(
    semantic: Callable[..., Cosmara], emulator: Emulator
) -> None:
    client = semantic()
    image = {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}

    def with_image(text: str) -> Any:
        content = [{"type": "text", "text": text}, image]
        return client.chat(model=MODEL, messages=[{"role": "user", "content": content}])

    with_image(QUESTION)
    assert with_image(PARAPHRASE).cosmara.cache == "miss"
    assert with_image(QUESTION).cosmara.cache == "hit"


def test_embed_conversation_compares_every_turn(semantic: Callable[..., Cosmara]) -> None:
    client = semantic(embed="conversation")
    client.chat(**_request())
    other = _request()
    other["messages"] = [
        other["messages"][0],
        {"role": "user", "content": "Hi"},  # another greeting: compared by meaning, not exactly
        other["messages"][2],
        {"role": "user", "content": PARAPHRASE},
    ]
    assert client.chat(**other).cosmara.cache == "hit"
    pirate = {**other, "messages": _with_system("You are a pirate.")}
    assert client.chat(**pirate).cosmara.cache == "miss"  # the system prompt still partitions


class Suspicious:
    """A plugin verifier refusing every question that mentions a refund."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, str]] = []

    @hookimpl
    def cosmara_register_verifiers(self, register: Callable[..., None]) -> None:
        register("no-refunds", self)

    def agrees(self, question: str, cached_question: str) -> bool:
        self.asked.append((question, cached_question))
        return "refund" not in question


def test_a_plugin_verifier_decides(semantic: Callable[..., Cosmara]) -> None:
    verifier = Suspicious()
    client = semantic(plugins=(verifier,), verifier="no-refunds")
    ask(client, QUESTION)
    assert ask(client, PARAPHRASE).cosmara.cache == "hit"
    assert verifier.asked == [(PARAPHRASE, QUESTION)]
    ask(client, "How do I get a refund?")
    assert ask(client, "How can I get a refund?").cosmara.cache == "miss"


def test_a_plugin_embedder_is_built_once_per_client(
    semantic: Callable[..., Cosmara], minilm: LocalMiniLM
) -> None:
    plugin = SharedModel(minilm)
    client = semantic(plugins=())
    ask(client, QUESTION)
    ask(client, PARAPHRASE)
    assert plugin.clients == []  # this one was not registered on that client
    shared = next(p for p in client.plugins.manager.get_plugins() if isinstance(p, SharedModel))
    assert shared.clients == [client]


class Letters:
    """A plugin embedder counting letters: questions with the same letters are "equivalent"."""

    name = "letters-v1"
    dimensions = 26

    def embed(self, texts: list[str]) -> Any:
        import numpy as np

        rows = np.zeros((len(texts), 26), dtype=np.float32)
        for row, text in enumerate(texts):
            for char in text.lower():
                if "a" <= char <= "z":
                    rows[row, ord(char) - 97] += 1
        return rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-9)

    async def aembed(self, texts: list[str]) -> Any:
        return self.embed(texts)

    @hookimpl
    def cosmara_register_embedders(self, register: Callable[..., None]) -> None:
        register("letters", lambda client: self)


def test_a_plugin_embedder_is_used(make: Make, emulator: Emulator) -> None:
    client = make(
        {"default": {"type": "semantic", "embedder": "letters", "threshold": 0.99}},
        plugins=(Letters(),),
    )
    ask(client, "listen to me")
    assert ask(client, "silent to me").cosmara.cache == "hit"  # an anagram: same letters
    assert ask(client, "listen to you").cosmara.cache == "miss"
    assert emulator.request_count == 2


def test_the_local_embedder_by_name(make_memory: Make, emulator: Emulator) -> None:
    client = make_memory({"default": {"type": "semantic", "embedder": "local"}})
    ask(client, QUESTION)
    assert ask(client, PARAPHRASE).cosmara.cache == "hit"
    assert client.cache is not None
    assert (
        client.cache.namespace("default").embedder.name == "sentence-transformers/all-MiniLM-L6-v2"
    )  # type: ignore[attr-defined]


def _embeddings_body(vector: list[float]) -> str:
    return json.dumps(
        {
            "object": "list",
            "data": [{"object": "embedding", "index": 0, "embedding": vector}],
            "model": "text-embedding-3-small",
            "usage": {"prompt_tokens": 5, "total_tokens": 5},
        }
    )


def test_an_engine_embedding_model(make: Make, emulator: Emulator) -> None:
    """The plumbing: questions embedded through the engine (the emulator's vectors are random
    per text, so every question is given the same vector here)."""
    client = make({"default": {"type": "semantic", "embedder": "openai/text-embedding-3-small"}})
    emulator.add_fault(Fault(body=_embeddings_body([0.6, 0.8, 0.0]), match_path="/embeddings"))
    ask(client, QUESTION)
    hit = ask(client, PARAPHRASE)
    assert hit.cosmara.cache == "hit"
    assert hit.cosmara.cache_similarity == 1.0
    paths = [request.path for request in emulator.requests]
    assert paths == ["/v1/embeddings", "/v1/chat/completions", "/v1/embeddings"]
    assert emulator.requests[0].json == {"model": "text-embedding-3-small", "input": [QUESTION]}
    # The verifier still checks what the vectors cannot tell apart.
    assert ask(client, "How do I reset my password in 5 minutes?").cosmara.cache == "miss"


async def test_an_engine_embedding_model_async(make: Make, emulator: Emulator) -> None:
    client = make({"default": {"type": "semantic", "embedder": "openai/text-embedding-3-small"}})
    emulator.add_fault(Fault(body=_embeddings_body([1.0, 0.0]), match_path="/embeddings"))
    messages = [{"role": "user", "content": QUESTION}]
    await client.achat(model=MODEL, messages=messages)
    messages = [{"role": "user", "content": PARAPHRASE}]
    assert (await client.achat(model=MODEL, messages=messages)).cosmara.cache == "hit"


def test_a_failing_embedding_model_lets_the_call_through(make: Make, emulator: Emulator) -> None:
    client = make({"default": {"type": "semantic", "embedder": "openai/text-embedding-3-small"}})
    emulator.add_fault(Fault(status=500, match_path="/embeddings"))
    answer = ask(client, QUESTION, max_retries=0)
    assert answer.text == f"Echo: {QUESTION}"
    assert answer.cosmara.cache is None
