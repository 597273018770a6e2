"""Only complete, successful answers from a provider are stored: never an error, an
interrupted stream, a stream the caller abandoned, an answer cut by a content filter, nor the
answer of last resort (``fallback_message``)."""

from __future__ import annotations

import pytest

from cosmara import ProviderError
from cosmara.testing import Emulator, Fault
from tests.core.cache.conftest import MODEL, Make, ask

MESSAGES = [{"role": "user", "content": "Tell me a long story about caching"}]


def _count(client: object) -> int:
    return client.cache.namespace("default").count()  # type: ignore[attr-defined]


@pytest.mark.parametrize("status", [400, 429, 500, 503])
def test_an_error_is_not_stored(make: Make, emulator: Emulator, status: int) -> None:
    client = make()
    emulator.add_fault(Fault(status=status, times=1))
    with pytest.raises(ProviderError):
        ask(client, max_retries=0)
    assert _count(client) == 0
    assert ask(client).cosmara.cache == "miss"
    assert ask(client).cosmara.cache == "hit"


def test_an_answer_after_a_fallback_is_stored_under_the_model_asked_for(
    make_memory: Make, emulator: Emulator
) -> None:
    client = make_memory()
    emulator.add_fault(Fault(status=503, match_model="gpt-4o-mini"))
    first = ask(client, fallbacks=["openai/gpt-4o"], max_retries=0)
    assert first.cosmara.model == "gpt-4o"
    hit = ask(client, fallbacks=["openai/gpt-4o"])
    assert (hit.cosmara.cache, hit.cosmara.model) == ("hit", "gpt-4o")


def test_the_answer_of_last_resort_is_not_stored(make: Make, emulator: Emulator) -> None:
    client = make()
    emulator.add_fault(Fault(status=503, times=1))
    stand_in = ask(client, max_retries=0, fallback_message="Sorry, try later.")
    assert stand_in.text == "Sorry, try later."
    assert _count(client) == 0
    assert ask(client).text == "Echo: What is 2+2?"
    assert _count(client) == 1


def test_the_answer_of_last_resort_is_not_stored_from_a_stream(
    make_memory: Make, emulator: Emulator
) -> None:
    client = make_memory()
    emulator.add_fault(Fault(status=503, times=1))
    chunks = list(
        client.stream(model=MODEL, messages=MESSAGES, max_retries=0, fallback_message="Later.")
    )
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Later."
    assert _count(client) == 0


def test_an_interrupted_stream_is_not_stored(make: Make, emulator: Emulator) -> None:
    client = make()
    emulator.add_fault(Fault(cut_after_chunks=3, times=1))
    with pytest.raises(ProviderError) as caught:
        list(client.stream(model=MODEL, messages=MESSAGES, max_retries=0))
    assert caught.value.partial_text  # content had reached the caller
    assert _count(client) == 0
    assert client.chat(model=MODEL, messages=MESSAGES).cosmara.cache == "miss"


async def test_an_interrupted_async_stream_is_not_stored(make: Make, emulator: Emulator) -> None:
    client = make()
    emulator.add_fault(Fault(cut_after_chunks=3, times=1))
    with pytest.raises(ProviderError):
        async for _ in client.astream(model=MODEL, messages=MESSAGES, max_retries=0):
            pass
    assert _count(client) == 0


def test_a_stream_the_caller_abandons_is_not_stored(make: Make, emulator: Emulator) -> None:
    client = make()
    stream = client.stream(model=MODEL, messages=MESSAGES)
    next(stream)
    next(stream)
    stream.close()  # type: ignore[attr-defined]
    assert _count(client) == 0
    assert client.chat(model=MODEL, messages=MESSAGES).cosmara.cache == "miss"


async def test_an_async_stream_the_caller_abandons_is_not_stored(make: Make) -> None:
    client = make()
    stream = client.astream(model=MODEL, messages=MESSAGES)
    await stream.__anext__()
    await stream.__anext__()
    await stream.aclose()  # type: ignore[attr-defined]
    assert _count(client) == 0


def test_a_stream_read_to_its_end_is_stored(make: Make) -> None:
    client = make()
    chunks = list(client.stream(model=MODEL, messages=MESSAGES))
    assert chunks[-1].cosmara is not None
    assert chunks[-1].cosmara.cache == "miss"
    assert _count(client) == 1


def test_an_answer_cut_by_a_content_filter_is_not_stored(
    make_memory: Make, emulator: Emulator
) -> None:
    client = make_memory()
    emulator.reply("I can't help with th", finish_reason="content_filter")
    ask(client)
    assert _count(client) == 0


def test_an_answer_cut_at_max_tokens_is_stored(make_memory: Make, emulator: Emulator) -> None:
    # max_tokens is part of the key: the same request gets the same cut answer.
    client = make_memory()
    emulator.reply("Once upon a", finish_reason="length")
    ask(client, max_tokens=3)
    assert ask(client, max_tokens=3).text == "Once upon a"
    assert ask(client, max_tokens=30).cosmara.cache == "miss"


def test_a_hit_is_not_stored_again(make: Make) -> None:
    events: list[str] = []

    class Observer:
        from cosmara import hookimpl

        @hookimpl
        def cosmara_cache_store(self, namespace: str) -> None:
            events.append(namespace)

    client = make(plugins=(Observer(),))
    ask(client)
    ask(client)
    ask(client)
    assert events == ["default"]
