"""ChatCosmara and CosmaraEmbeddings in real LangChain usage, against the local emulator."""

from __future__ import annotations

import copy
import pickle
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, ToolMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.tools import tool
from pydantic import BaseModel

from cosmara import Cosmara
from cosmara.testing import Emulator, Fault
from langchain_cosmara import ChatCosmara, CosmaraEmbeddings

KEY = "sk-test-very-secret-0000"


@pytest.fixture
def llm(client: Cosmara) -> ChatCosmara:
    return ChatCosmara(model="openai/gpt-4o-mini", client=client)


@tool
def get_weather(city: str) -> str:
    """Current weather in a city."""
    return f"Sunny in {city}"


class Person(BaseModel):
    name: str
    age: int


def test_lcel_chain_batch_and_per_call_override(llm: ChatCosmara, emulator: Emulator) -> None:
    chain = ChatPromptTemplate.from_messages([("user", "Say {word}")]) | llm | StrOutputParser()
    assert chain.invoke({"word": "hi"}) == "Echo: Say hi"
    assert chain.batch([{"word": "a"}, {"word": "b"}]) == ["Echo: Say a", "Echo: Say b"]
    reply = llm.invoke("x", model="openai/gpt-4o", team="support")
    assert emulator.requests[-1].json["model"] == "gpt-4o"
    assert reply.response_metadata["model_name"] == "openai/gpt-4o"
    assert reply.response_metadata["cosmara"]["provider"] == "openai"
    assert reply.response_metadata["cosmara"]["cost_usd"] > 0


async def test_astream_events_and_usage_once(llm: ChatCosmara) -> None:
    events = [event async for event in llm.astream_events("hello", version="v2")]
    streamed = [e["data"]["chunk"] for e in events if e["event"] == "on_chat_model_stream"]
    assert "".join(chunk.content for chunk in streamed) == "Echo: hello"
    assert sum(chunk.usage_metadata is not None for chunk in streamed) == 1
    assert streamed[-1].chunk_position == "last"
    merged = streamed[0]
    for chunk in streamed[1:]:
        merged += chunk
    assert merged.response_metadata["model_name"] == "openai/gpt-4o-mini"  # not concatenated
    assert merged.response_metadata["finish_reason"] == "stop"
    assert merged.usage_metadata["input_token_details"] == {"cache_read": 0}


def test_stream_usage_off(llm: ChatCosmara) -> None:
    chunks = list(llm.stream("hi", stream_usage=False))
    assert all(chunk.usage_metadata is None for chunk in chunks)


def test_streamed_tool_call_chunks(llm: ChatCosmara, emulator: Emulator) -> None:
    emulator.reply(tool_calls=[{"name": "get_weather", "arguments": {"city": "Oslo"}}])
    chunks = list(llm.bind_tools([get_weather], tool_choice="get_weather").stream("weather?"))
    first = next(chunk for chunk in chunks if chunk.tool_call_chunks)
    assert first.tool_call_chunks[0]["index"] == 0
    assert first.tool_call_chunks[0]["name"] == "get_weather"
    assert first.tool_call_chunks[0]["id"]
    merged: AIMessageChunk = chunks[0]
    for chunk in chunks[1:]:
        merged += chunk
    assert merged.tool_calls[0]["args"] == {"city": "Oslo"}
    sent = emulator.requests[-1].json
    assert sent["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}


def test_agent_calls_tool_and_answers(llm: ChatCosmara, emulator: Emulator) -> None:
    emulator.reply(tool_calls=[{"name": "get_weather", "arguments": {"city": "Oslo"}}])
    emulator.reply("It is sunny in Oslo.")
    agent = create_agent(llm, tools=[get_weather])
    result = agent.invoke({"messages": [HumanMessage("Weather in Oslo?")]})
    tool_result = next(m for m in result["messages"] if isinstance(m, ToolMessage))
    assert tool_result.content == "Sunny in Oslo"
    assert result["messages"][-1].content == "It is sunny in Oslo."
    call_id = result["messages"][1].tool_calls[0]["id"]
    second = emulator.requests[-1].json["messages"]
    assert second[-1] == {"role": "tool", "tool_call_id": call_id, "content": "Sunny in Oslo"}


def test_fallback_visible_in_response_metadata(client: Cosmara, emulator: Emulator) -> None:
    emulator.add_fault(Fault(status=503, match_model="gpt-4o", times=1))
    llm = ChatCosmara(model="openai/gpt-4o", fallbacks=["openai/gpt-4o-mini"], client=client)
    reply = llm.invoke("hi")
    attempts = reply.response_metadata["cosmara"]["attempts"]
    assert [a["model"] for a in attempts] == ["gpt-4o", "gpt-4o-mini"]
    assert attempts[0]["status_code"] == 503
    assert reply.response_metadata["model_name"] == "openai/gpt-4o-mini"


@pytest.mark.parametrize("method", ["function_calling", "json_schema", "json_mode"])
def test_structured_output(llm: ChatCosmara, emulator: Emulator, method: str) -> None:
    if method == "function_calling":
        emulator.reply(tool_calls=[{"name": "Person", "arguments": {"name": "Ana", "age": 3}}])
    else:
        emulator.reply('{"name": "Ana", "age": 3}')
    out = llm.with_structured_output(Person, method=method, include_raw=True).invoke("who")
    assert out["parsed"] == Person(name="Ana", age=3)
    assert isinstance(out["raw"], AIMessage)
    sent = emulator.requests[-1].json
    if method == "json_schema":
        assert sent["response_format"]["json_schema"]["name"] == "Person"
    elif method == "json_mode":
        assert sent["response_format"] == {"type": "json_object"}


def test_messages_translated(llm: ChatCosmara, emulator: Emulator) -> None:
    history = [
        HumanMessage("hi", name="ana"),
        AIMessage(
            content=[
                {"type": "tool_use", "id": "tu_1", "name": "get_weather", "input": {"city": "X"}}
            ]
        ),
        ToolMessage(
            content=[
                {"type": "text", "text": "chart"},
                {"type": "image", "base64": "iVBORw0KGgo=", "mime_type": "image/png"},
            ],
            tool_call_id="tu_1",
        ),
    ]
    llm.invoke(history)
    sent = emulator.requests[-1].json["messages"]
    assert sent[0] == {"role": "user", "content": "hi", "name": "ana"}
    assert sent[1]["tool_calls"][0]["id"] == "tu_1"
    assert sent[2]["role"] == "tool"
    assert sent[2]["content"] == [{"type": "text", "text": "chart"}]
    # Chat Completions takes only text in a tool message: the engine moves the image to a
    # user message right after it.
    assert sent[3] == {
        "role": "user",
        "content": [
            {"type": "text", "text": "What tool call tu_1 returned:"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
        ],
    }


def test_secrets_never_leak(emulator: Emulator) -> None:
    llm = ChatCosmara(model="openai/gpt-4o-mini", api_key=KEY, base_url=emulator.base_url)
    assert llm.invoke("hi").content == "Echo: hi"  # the key works
    assert emulator.requests[-1].headers["authorization"] == f"Bearer {KEY}"
    for text in (repr(llm), str(llm.model_dump()), str(llm._identifying_params)):
        assert KEY not in text
    assert KEY.encode() not in pickle.dumps(llm)
    configured = ChatCosmara(config={"providers": {"openai": {"api_key": KEY}}})
    assert KEY not in repr(configured)
    assert KEY.encode() not in pickle.dumps(configured)


def test_pickle_and_copy_rebuild_the_client(emulator: Emulator) -> None:
    config = {"providers": {"openai": {"base_url": emulator.base_url, "api_key": "${EMU_KEY}"}}}
    llm = ChatCosmara(model="openai/gpt-4o-mini", config=config)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("EMU_KEY", "sk-from-env")
        llm.invoke("a")
        clone = pickle.loads(pickle.dumps(llm))
        assert clone.invoke("b").content == "Echo: b"
        assert copy.deepcopy(llm).invoke("c").content == "Echo: c"
        assert llm.model_copy().invoke("d").content == "Echo: d"


def test_tokens_and_profile(llm: ChatCosmara) -> None:
    assert llm.get_num_tokens_from_messages([HumanMessage("hello world")]) > 0
    assert llm.get_num_tokens("hello world") > 0
    assert llm.profile is not None
    assert llm.profile["max_input_tokens"] == 128000
    assert llm._get_ls_params(model="x")["ls_model_name"] == "x"
    # From the catalog: gpt-4o-mini reads PDFs, and hears no audio.
    assert llm.profile["pdf_inputs"] is True
    assert llm.profile["pdf_tool_message"] is True
    assert llm.profile["audio_inputs"] is False
    gemini = ChatCosmara(model="gemini/gemini-2.5-flash", api_key="k")
    assert gemini.profile is not None
    assert gemini.profile["audio_inputs"] is True


def test_run_tags_and_metadata_reach_the_engine(llm: ChatCosmara) -> None:
    seen: list[Any] = []
    llm.client.plugins.register(_Recorder(seen))  # type: ignore[union-attr]
    llm.invoke("hi", config={"tags": ["faq"], "metadata": {"ticket": 7}}, user="u1")
    context = seen[-1]
    assert context.tags == {"faq": ""}
    assert context.metadata == {"ticket": 7}
    assert context.user == "u1"


class _Recorder:
    def __init__(self, seen: list[Any]) -> None:
        self.seen = seen

    from cosmara import hookimpl

    @hookimpl
    def cosmara_request_start(self, request: Any, context: Any) -> None:
        self.seen.append(context)


def test_embeddings_batches(client: Cosmara, emulator: Emulator) -> None:
    embeddings = CosmaraEmbeddings(client=client, chunk_size=2)
    vectors = embeddings.embed_documents(["a", "b", "c"])
    assert len(vectors) == 3
    assert vectors[0] == embeddings.embed_query("a")
    assert [len(r.json["input"]) for r in emulator.requests[:2]] == [2, 1]


async def test_embeddings_async(client: Cosmara) -> None:
    embeddings = CosmaraEmbeddings(client=client, chunk_size=1)
    vectors = await embeddings.aembed_documents(["a", "b"])
    assert vectors == embeddings.embed_documents(["a", "b"])
    assert await embeddings.aembed_query("a") == vectors[0]
