"""Real LlamaIndex pipelines on Cosmara: RAG query engines, a chat engine and agents."""

from __future__ import annotations

import pytest

from cosmara import AuthenticationError
from cosmara import Cosmara as CosmaraClient
from cosmara.testing import Emulator, Fault
from llama_index.core import Document, Settings, VectorStoreIndex
from llama_index.core.agent.workflow import FunctionAgent, ReActAgent
from llama_index.core.callbacks import CallbackManager, TokenCountingHandler
from llama_index.core.tools import FunctionTool
from llama_index.embeddings.cosmara import CosmaraEmbedding
from llama_index.llms.cosmara import Cosmara
from tests.llamaindex.conftest import EMBED_MODEL

DOCS = [
    Document(text="Cosmara routes every request to the cheapest capable provider."),
    Document(text="The Eiffel Tower is in Paris and was finished in 1889."),
]


def chats(emulator: Emulator) -> list[dict]:
    return [r.json for r in emulator.requests if r.path.endswith("/chat/completions")]


def sent_text(body: dict) -> str:
    return " ".join(str(m.get("content")) for m in body["messages"])


@pytest.fixture
def index(embed_model: CosmaraEmbedding) -> VectorStoreIndex:
    return VectorStoreIndex.from_documents(DOCS, embed_model=embed_model)


def test_index_embeds_documents_through_cosmara(
    index: VectorStoreIndex, emulator: Emulator
) -> None:
    embedded = [r.json for r in emulator.requests if r.path.endswith("/embeddings")]
    assert embedded
    assert all(body["model"] == "text-embedding-3-small" for body in embedded)
    assert sum(len(body["input"]) for body in embedded) == len(DOCS)


def test_query_engine_answers_from_retrieved_context(
    index: VectorStoreIndex, llm: Cosmara, emulator: Emulator
) -> None:
    emulator.reply("It was finished in 1889.")
    engine = index.as_query_engine(llm=llm, similarity_top_k=2)
    response = engine.query("When was the Eiffel Tower finished?")
    assert str(response) == "It was finished in 1889."
    prompt = sent_text(chats(emulator)[-1])
    assert "finished in 1889" in prompt
    assert "When was the Eiffel Tower finished?" in prompt
    assert len(response.source_nodes) == 2


def test_retrieval_finds_the_document_that_shares_the_question_words(
    client: CosmaraClient, llm: Cosmara, emulator: Emulator
) -> None:
    library = [
        Document(text="Mount Everest is the highest mountain on Earth."),
        Document(text="The Eiffel Tower is in Paris and was finished in 1889."),
        Document(text="Python is a programming language created by Guido van Rossum."),
        Document(text="The Mona Lisa was painted by Leonardo da Vinci."),
    ]
    embed_model = CosmaraEmbedding(EMBED_MODEL, client=client, dimensions=256)
    index = VectorStoreIndex.from_documents(library, embed_model=embed_model)
    # Only the answering call takes the reply: it is the one that carries the question.
    emulator.reply("Leonardo da Vinci.", match_text="Who painted the Mona Lisa?")
    engine = index.as_query_engine(llm=llm, similarity_top_k=1)
    for question, expected in [
        ("Who painted the Mona Lisa?", library[3]),
        ("Which mountain is the highest?", library[0]),
        ("Who created the Python language?", library[2]),
    ]:
        response = engine.query(question)
        assert [node.node.get_content() for node in response.source_nodes] == [expected.text]
        assert expected.text in sent_text(chats(emulator)[-1])
        if "Mona Lisa" in question:
            assert str(response) == "Leonardo da Vinci."


async def test_aquery(index: VectorStoreIndex, llm: Cosmara, emulator: Emulator) -> None:
    emulator.reply("Paris.")
    response = await index.as_query_engine(llm=llm).aquery("Where is the Eiffel Tower?")
    assert str(response) == "Paris."


def test_streaming_query(index: VectorStoreIndex, llm: Cosmara, emulator: Emulator) -> None:
    emulator.reply("The tower stands in Paris.")
    response = index.as_query_engine(llm=llm, streaming=True).query("Where?")
    assert "".join(response.response_gen) == "The tower stands in Paris."
    assert chats(emulator)[-1]["stream"] is True


def test_chat_engine_keeps_history(
    index: VectorStoreIndex, llm: Cosmara, emulator: Emulator
) -> None:
    engine = index.as_chat_engine(chat_mode="condense_plus_context", llm=llm)
    emulator.reply("Paris.")
    assert str(engine.chat("Where is the Eiffel Tower?")) == "Paris."
    emulator.reply("When was it finished?")  # the condensed standalone question
    emulator.reply("In 1889.")
    assert str(engine.chat("And when was it finished?")) == "In 1889."
    assert "Where is the Eiffel Tower?" in sent_text(chats(emulator)[-2])
    assert "Paris." in sent_text(chats(emulator)[-1])


def test_token_counting_over_a_query(
    index: VectorStoreIndex, llm: Cosmara, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    counter = TokenCountingHandler(tokenizer=lambda text: [])  # counts only reported usage
    # Query engines hand the LLM the global callback manager: LlamaIndex's documented way.
    monkeypatch.setattr(Settings, "callback_manager", CallbackManager([counter]))
    emulator.reply("Paris.", usage={"prompt_tokens": 120, "completion_tokens": 3})
    index.as_query_engine(llm=llm).query("Where?")
    assert (counter.prompt_llm_token_count, counter.completion_llm_token_count) == (120, 3)


def test_typed_error_surfaces_through_a_query_engine(
    index: VectorStoreIndex, llm: Cosmara, emulator: Emulator
) -> None:
    emulator.add_fault(Fault(status=401, match_path="/chat/completions"))
    with pytest.raises(AuthenticationError):
        index.as_query_engine(llm=llm).query("Where?")


def multiply(a: int, b: int) -> int:
    """Multiply two integers."""
    multiply.calls.append((a, b))  # type: ignore[attr-defined]
    return a * b


async def test_function_agent_calls_a_tool_and_answers(llm: Cosmara, emulator: Emulator) -> None:
    multiply.calls = []  # type: ignore[attr-defined]
    emulator.reply(tool_calls=[{"name": "multiply", "arguments": {"a": 6, "b": 7}, "id": "c1"}])
    emulator.reply("6 times 7 is 42.")
    agent = FunctionAgent(tools=[FunctionTool.from_defaults(fn=multiply)], llm=llm)
    assert agent.streaming  # the default: tool calls are read from the stream's last chunk
    result = await agent.run("What is 6 times 7?")
    assert str(result) == "6 times 7 is 42."
    assert multiply.calls == [(6, 7)]  # type: ignore[attr-defined]
    second = chats(emulator)[-1]
    assert second["stream"] is True
    assistant, tool = second["messages"][-2:]
    assert assistant["tool_calls"][0]["id"] == "c1"
    assert tool == {"role": "tool", "content": "42", "tool_call_id": "c1"}


async def test_react_agent(llm: Cosmara, emulator: Emulator) -> None:
    multiply.calls = []  # type: ignore[attr-defined]
    emulator.reply('Thought: I need a tool.\nAction: multiply\nAction Input: {"a": 6, "b": 7}')
    emulator.reply("Thought: I can answer without using any more tools.\nAnswer: 42")
    agent = ReActAgent(tools=[FunctionTool.from_defaults(fn=multiply)], llm=llm)
    result = await agent.run("What is 6 times 7?")
    assert "42" in str(result)
    assert multiply.calls == [(6, 7)]  # type: ignore[attr-defined]
    assert "Observation: 42" in sent_text(chats(emulator)[-1])
