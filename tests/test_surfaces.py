"""One rule for every surface: the core, LangChain, LlamaIndex, ``Ask`` and the OpenAI-shaped
client pick the same model, read the same environment and retry the same way, because each
only translates and the engine decides.

Each surface is an adapter below: built from an engine configuration (or a ready engine) and
asked one question.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from langchain_core.messages import HumanMessage

import cosmara
import cosmara_generic
from cosmara import Cosmara
from cosmara.testing import Emulator, FakeClock, Fault
from cosmara_generic import Ask
from langchain_cosmara import ChatCosmara, CosmaraEmbeddings
from llama_index.core.llms import ChatMessage
from llama_index.embeddings.cosmara import CosmaraEmbedding
from llama_index.llms.cosmara import Cosmara as LlamaCosmara

HI = [{"role": "user", "content": "Hi"}]
ENV = ("OPENAI_", "AZURE_OPENAI_", "COSMARA_CONFIG")

# A surface: (how it is built: {"config": ...} or {"client": ...} plus options, model) -> text
Chat = Callable[[dict[str, Any], "str | None"], str]
Embed = Callable[[dict[str, Any], str], list[float]]


def _core(build: dict[str, Any], model: str | None) -> str:
    options = dict(build)
    engine = options.pop("client", None) or Cosmara(options.pop("config"))
    named = {} if model is None else {"model": model}
    return engine.chat(messages=HI, **named, **options).text or ""


def _langchain(build: dict[str, Any], model: str | None) -> str:
    return str(ChatCosmara(model=model, **build).invoke([HumanMessage("Hi")]).content)


def _llamaindex(build: dict[str, Any], model: str | None) -> str:
    llm = LlamaCosmara(model, **build)
    return llm.chat([ChatMessage(role="user", content="Hi")]).message.content or ""


def _ask(build: dict[str, Any], model: str | None) -> str:
    return Ask(model, **build)("Hi")


def _openai_sdk(build: dict[str, Any], model: str | None) -> str:
    assert model is not None, "the SDK always names a model"
    client = cosmara_generic.OpenAI(**build)
    completion = client.chat.completions.create(model=model, messages=HI)  # type: ignore[arg-type]
    return completion.choices[0].message.content or ""


CHAT: dict[str, Chat] = {
    "core": _core,
    "langchain": _langchain,
    "llamaindex": _llamaindex,
    "ask": _ask,
    "openai-sdk": _openai_sdk,
}
MODEL_OPTIONAL = [name for name in CHAT if name != "openai-sdk"]


def _core_embed(build: dict[str, Any], model: str) -> list[float]:
    engine = build.get("client") or Cosmara(build["config"])
    return engine.embed(model=model, input=["Hi"]).vectors[0]


def _langchain_embed(build: dict[str, Any], model: str) -> list[float]:
    return CosmaraEmbeddings(model=model, **build).embed_query("Hi")


def _llamaindex_embed(build: dict[str, Any], model: str) -> list[float]:
    return CosmaraEmbedding(model, **build).get_query_embedding("Hi")


def _openai_sdk_embed(build: dict[str, Any], model: str) -> list[float]:
    client = cosmara_generic.OpenAI(**build)
    return list(client.embeddings.create(model=model, input="Hi").data[0].embedding)


EMBED: dict[str, Embed] = {
    "core": _core_embed,
    "langchain": _langchain_embed,
    "llamaindex": _llamaindex_embed,
    "openai-sdk": _openai_sdk_embed,
}


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No provider variable of the machine running the tests leaks in."""
    import os

    for name in list(os.environ):
        if name.startswith(ENV):
            monkeypatch.delenv(name)
    return monkeypatch


def _providers(emulator: Emulator) -> dict[str, Any]:
    return {"openai": {"base_url": emulator.base_url, "api_key": "sk-surfaces"}}


# --- the model -------------------------------------------------------------------------------
@pytest.mark.parametrize("surface", MODEL_OPTIONAL)
def test_without_a_model_every_surface_uses_default_model(
    emulator: Emulator, clean_env: pytest.MonkeyPatch, surface: str
) -> None:
    config = {"providers": _providers(emulator), "default_model": "openai/gpt-4.1-mini"}
    assert CHAT[surface]({"config": config}, None) == "Echo: Hi"
    assert emulator.requests[-1].json["model"] == "gpt-4.1-mini"


@pytest.mark.parametrize("surface", MODEL_OPTIONAL)
def test_without_a_model_or_default_model_every_surface_says_so(
    emulator: Emulator, clean_env: pytest.MonkeyPatch, surface: str
) -> None:
    config = {"providers": _providers(emulator)}
    with pytest.raises(cosmara.RequestValidationError, match=r"no model.*default_model"):
        CHAT[surface]({"config": config}, None)
    assert emulator.request_count == 0


# --- the environment -------------------------------------------------------------------------
@pytest.mark.parametrize("surface", list(CHAT))
def test_openai_variables_are_read_alike(
    emulator: Emulator, clean_env: pytest.MonkeyPatch, surface: str
) -> None:
    clean_env.setenv("OPENAI_BASE_URL", emulator.base_url)
    clean_env.setenv("OPENAI_API_KEY", "sk-from-the-environment")
    clean_env.setenv("OPENAI_ORG_ID", "org-env")
    clean_env.setenv("OPENAI_PROJECT_ID", "proj-env")
    assert CHAT[surface]({"config": {}}, "openai/gpt-4o-mini") == "Echo: Hi"
    sent = emulator.requests[-1]
    assert sent.path == "/v1/chat/completions"
    assert sent.headers["authorization"] == "Bearer sk-from-the-environment"
    assert (sent.headers["openai-organization"], sent.headers["openai-project"]) == (
        "org-env",
        "proj-env",
    )


@pytest.mark.parametrize("surface", list(EMBED))
def test_openai_variables_are_read_alike_for_embeddings(
    emulator: Emulator, clean_env: pytest.MonkeyPatch, surface: str
) -> None:
    clean_env.setenv("OPENAI_BASE_URL", emulator.base_url)
    clean_env.setenv("OPENAI_API_KEY", "sk-from-the-environment")
    assert len(EMBED[surface]({"config": {}}, "openai/text-embedding-3-small")) > 0
    sent = emulator.requests[-1]
    assert (sent.path, sent.headers["authorization"]) == (
        "/v1/embeddings",
        "Bearer sk-from-the-environment",
    )


@pytest.mark.parametrize("surface", list(CHAT))
def test_the_environment_key_is_not_sent_to_a_configured_host_elsewhere(
    emulator: Emulator, clean_env: pytest.MonkeyPatch, surface: str
) -> None:
    clean_env.setenv("OPENAI_API_KEY", "sk-only-for-openai")
    config = {"providers": {"openai": {"base_url": emulator.base_url}}}
    with pytest.raises(Exception, match="OPENAI_API_KEY is not sent there"):
        CHAT[surface]({"config": config}, "openai/gpt-4o-mini")
    assert emulator.request_count == 0


@pytest.mark.parametrize("surface", list(CHAT))
def test_azure_variables_are_read_alike(
    emulator: Emulator, clean_env: pytest.MonkeyPatch, surface: str
) -> None:
    clean_env.setenv("AZURE_OPENAI_ENDPOINT", emulator.url)
    clean_env.setenv("AZURE_OPENAI_API_KEY", "azure-key-from-the-environment")
    clean_env.setenv("OPENAI_API_VERSION", "2024-06-01")
    assert CHAT[surface]({"config": {}}, "azure/gpt-4o-mini") == "Echo: Hi"
    sent = emulator.requests[-1]
    assert sent.path == "/openai/deployments/gpt-4o-mini/chat/completions"
    assert sent.query == {"api-version": "2024-06-01"}
    assert sent.headers["api-key"] == "azure-key-from-the-environment"
    assert "authorization" not in sent.headers


# --- retries ---------------------------------------------------------------------------------
@pytest.fixture
def engine(emulator: Emulator) -> Iterator[Cosmara]:
    """An engine with the default retry policy, waiting on a fake clock."""
    with Cosmara(
        providers=_providers(emulator), clock=FakeClock(), load_entry_points=False
    ) as client:
        yield client


@pytest.mark.parametrize("surface", list(CHAT))
def test_every_surface_inherits_the_engines_retries(
    emulator: Emulator, engine: Cosmara, surface: str
) -> None:
    emulator.add_fault(Fault(status=503, times=2))
    assert CHAT[surface]({"client": engine}, "openai/gpt-4o-mini") == "Echo: Hi"
    assert emulator.request_count == 3  # two retries, then the answer


@pytest.mark.parametrize("surface", list(CHAT))
def test_a_surfaces_own_max_retries_wins(emulator: Emulator, engine: Cosmara, surface: str) -> None:
    emulator.add_fault(Fault(status=503, times=2))
    with pytest.raises(Exception):  # noqa: B017, PT011 - each surface's own error type
        CHAT[surface]({"client": engine, "max_retries": 0}, "openai/gpt-4o-mini")
    assert emulator.request_count == 1


# --- what a surface's calls cost ---------------------------------------------------------------
def _paid(emulator: Emulator, engine: Cosmara, since: int = 0) -> float:
    """What the requests the emulator answered (from the ``since``-th on) cost at the engine's
    catalog prices: each is sent again, and the emulator's answers are deterministic."""
    costs = []
    for request in emulator.requests[since:]:
        body = request.json
        if request.path.endswith("/chat/completions"):
            costs.append(engine.chat(model="openai/gpt-4o-mini", messages=body["messages"]))
        elif request.path.endswith("/embeddings"):
            costs.append(engine.embed(model="openai/text-embedding-3-small", input=body["input"]))
    metas = [response.cosmara for response in costs]
    assert all(meta is not None and meta.cost_usd for meta in metas)
    return sum(meta.cost_usd or 0.0 for meta in metas if meta is not None)


@pytest.fixture
def priced(emulator: Emulator) -> Iterator[Cosmara]:
    with Cosmara(providers=_providers(emulator), load_entry_points=False) as client:
        yield client


def test_track_cost_sees_a_langchain_chain_and_its_batch(
    emulator: Emulator, priced: Cosmara
) -> None:
    from langchain_core.output_parsers import StrOutputParser
    from langchain_core.prompts import ChatPromptTemplate

    llm = ChatCosmara(model="openai/gpt-4o-mini", client=priced)
    chain = ChatPromptTemplate.from_messages([("user", "Say {word}")]) | llm | StrOutputParser()
    with cosmara.track_cost() as spend:
        chain.invoke({"word": "hi"})
        chain.batch([{"word": w} for w in ("a", "b", "c", "d")])  # in LangChain's threads
    assert spend.calls == 5
    assert spend.usd == pytest.approx(_paid(emulator, priced))


async def test_track_cost_sees_an_async_langchain_batch(
    emulator: Emulator, priced: Cosmara
) -> None:
    llm = ChatCosmara(model="openai/gpt-4o-mini", client=priced)
    with cosmara.track_cost() as spend:
        await llm.abatch(["one", "two", "three"])
        async for _ in llm.astream("four"):
            pass
    assert spend.calls == 4
    assert spend.usd == pytest.approx(_paid(emulator, priced))


def test_track_cost_sees_a_llamaindex_query_engine(emulator: Emulator, priced: Cosmara) -> None:
    from llama_index.core import Document, VectorStoreIndex

    embed_model = CosmaraEmbedding("openai/text-embedding-3-small", client=priced)
    index = VectorStoreIndex.from_documents(
        [Document(text="The Eiffel Tower was finished in 1889.")], embed_model=embed_model
    )
    engine = index.as_query_engine(llm=LlamaCosmara("openai/gpt-4o-mini", client=priced))
    before = emulator.request_count
    with cosmara.track_cost() as spend:
        response = engine.query("When was the Eiffel Tower finished?")
    assert str(response).startswith("Echo: ")
    assert (spend.calls, spend.unpriced) == (2, 0)  # the question's embedding, the answer
    assert spend.usd == pytest.approx(_paid(emulator, priced, since=before))


async def test_track_cost_sees_an_async_llamaindex_query_engine(
    emulator: Emulator, priced: Cosmara
) -> None:
    from llama_index.core import Document, VectorStoreIndex

    embed_model = CosmaraEmbedding("openai/text-embedding-3-small", client=priced)
    index = VectorStoreIndex.from_documents([Document(text="Paris.")], embed_model=embed_model)
    engine = index.as_query_engine(llm=LlamaCosmara("openai/gpt-4o-mini", client=priced))
    before = emulator.request_count
    with cosmara.track_cost() as spend:
        await asyncio.gather(engine.aquery("Where?"), engine.aquery("When?"))
    assert spend.calls == 4
    assert spend.usd == pytest.approx(_paid(emulator, priced, since=before))


def test_track_cost_sees_the_openai_sdk_client(emulator: Emulator, priced: Cosmara) -> None:
    client = cosmara_generic.OpenAI(client=priced)
    with cosmara.track_cost() as spend:
        client.chat.completions.create(model="gpt-4o-mini", messages=HI)  # type: ignore[arg-type]
        stream = client.chat.completions.create(
            model="gpt-4o-mini",
            messages=HI,  # type: ignore[arg-type]
            stream=True,
        )
        for _ in stream:
            pass
    assert spend.calls == 2
    assert spend.usd == pytest.approx(_paid(emulator, priced))


async def test_track_cost_sees_the_async_openai_sdk_client(
    emulator: Emulator, priced: Cosmara
) -> None:
    client = cosmara_generic.AsyncOpenAI(client=priced)
    with cosmara.track_cost() as spend:
        await asyncio.gather(
            *(client.chat.completions.create(model="gpt-4o-mini", messages=HI) for _ in range(3))  # type: ignore[arg-type]
        )
    assert spend.calls == 3
    assert spend.usd == pytest.approx(_paid(emulator, priced))


async def test_track_cost_sees_ask(emulator: Emulator, priced: Cosmara) -> None:
    ask = Ask("openai/gpt-4o-mini", client=priced)
    with cosmara.track_cost() as spend:
        ask("Hi")
        await ask.acall("Hello")
        "".join(ask.stream("Stream"))
    assert spend.calls == 3
    assert spend.usd == pytest.approx(_paid(emulator, priced))
