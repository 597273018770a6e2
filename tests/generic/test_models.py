"""``models.list`` / ``models.retrieve`` answer for every name ``create`` accepts."""

from __future__ import annotations

from collections.abc import Iterator

import openai
import pytest

import cosmara_generic
from cosmara import Cosmara
from cosmara.testing import Emulator


@pytest.fixture
def engine(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cosmara]:
    for variable in ("ANTHROPIC_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY", "COHERE_API_KEY"):
        monkeypatch.delenv(variable, raising=False)
    providers = {"openai": {"base_url": emulator.base_url, "api_key": "sk-test"}}
    with Cosmara(
        providers=providers,
        aliases={"support-bot": "openai/gpt-4o-mini"},
        load_entry_points=False,
    ) as engine:
        yield engine


def test_list(engine: Cosmara) -> None:
    listed = {
        model.id: model.owned_by for model in cosmara_generic.OpenAI(client=engine).models.list()
    }
    assert listed["openai/gpt-4o-mini"] == "openai"
    assert listed["support-bot"] == "cosmara"
    assert listed["cheap"] == "cosmara"  # a built-in group with openai candidates
    # Only providers that are configured or have a key.
    assert not [name for name in listed if name.startswith("anthropic/")]


@pytest.mark.parametrize(
    ("name", "owner"),
    [
        ("gpt-4o-mini", "openai"),  # a bare catalog name, as create() takes it
        ("openai/gpt-4o-mini", "openai"),
        ("support-bot", "cosmara"),
        ("cheap", "cosmara"),
    ],
)
def test_retrieve(engine: Cosmara, name: str, owner: str) -> None:
    model = cosmara_generic.OpenAI(client=engine).models.retrieve(name)
    assert (model.id, model.owned_by, model.object) == (name, owner, "model")


def test_retrieve_a_name_only_a_base_url_knows(emulator: Emulator) -> None:
    with cosmara_generic.OpenAI(
        base_url=emulator.base_url, api_key="sk-test", load_entry_points=False
    ) as client:
        assert client.models.retrieve("my-local-llama").id == "my-local-llama"


@pytest.mark.parametrize("name", ["no-such-model", "openai-nope/x", "anthropic/claude-sonnet-4-5"])
def test_retrieve_unknown_or_without_key_is_not_found(engine: Cosmara, name: str) -> None:
    with pytest.raises(openai.NotFoundError) as info:
        cosmara_generic.OpenAI(client=engine).models.retrieve(name)
    assert info.value.code == "model_not_found"


async def test_async(engine: Cosmara) -> None:
    client = cosmara_generic.AsyncOpenAI(client=engine)
    listed = [model.id async for model in client.models.list()]
    assert "openai/gpt-4o-mini" in listed
    assert (await client.models.retrieve("gpt-4o-mini")).owned_by == "openai"
