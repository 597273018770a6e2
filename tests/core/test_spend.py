"""``cosmara.track_cost()``: the cost of every request made inside a block, on every path."""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

import cosmara
from cosmara import Cosmara, track_cost
from cosmara.testing import Emulator, Fault
from tests.support.paths import HOWS, Loop, ask

MODEL = "openai/gpt-4o-mini"
HI = [{"role": "user", "content": "Hi"}]


@pytest.fixture
def aio() -> Iterator[Loop]:
    loop = Loop()
    yield loop
    loop.close()


def _cost(response: cosmara.ChatResponse) -> float:
    assert response.cosmara is not None
    assert response.cosmara.cost_usd is not None
    return response.cosmara.cost_usd


@pytest.mark.parametrize("how", HOWS)
def test_every_path_adds_its_cost(client: Cosmara, aio: Loop, how: str) -> None:
    with track_cost() as spend:
        first = ask(client, how, aio, model=MODEL)
        second = ask(client, how, aio, model=MODEL, messages=[{"role": "user", "content": "Bye"}])
    assert first.meta.cost_usd is not None
    assert second.meta.cost_usd is not None
    assert spend.usd == pytest.approx(first.meta.cost_usd + second.meta.cost_usd)
    assert (spend.calls, spend.failed, spend.cache_hits, spend.unpriced) == (2, 0, 0, 0)
    ask(client, how, aio, model=MODEL)  # after the block: not counted
    assert spend.calls == 2


def test_embeddings_count_too(client: Cosmara) -> None:
    with track_cost() as spend:
        response = client.embed(model="openai/text-embedding-3-small", input=["a", "b"])
    assert response.cosmara is not None
    assert spend.usd == pytest.approx(response.cosmara.cost_usd)
    assert spend.calls == 1


def test_nothing_is_counted_without_a_block(client: Cosmara) -> None:
    client.chat(model=MODEL, messages=HI)
    with track_cost() as spend:
        pass
    assert (spend.usd, spend.calls) == (0.0, 0)


def test_blocks_nest_and_can_be_rejoined(client: Cosmara) -> None:
    with track_cost() as outer:
        client.chat(model=MODEL, messages=HI)
        with track_cost() as inner:
            client.chat(model=MODEL, messages=HI)
        with track_cost(inner):
            client.chat(model=MODEL, messages=HI)
    assert (outer.calls, inner.calls) == (3, 2)
    assert outer.usd == pytest.approx(inner.usd * 3 / 2)


def test_failures_count_and_a_cut_stream_costs_what_it_streamed(
    client: Cosmara, emulator: Emulator
) -> None:
    emulator.add_fault(Fault(status=503, times=1))
    emulator.add_fault(Fault(cut_after_chunks=4, times=1))
    with track_cost() as spend:
        with pytest.raises(cosmara.ProviderUnavailableError):
            client.chat(model=MODEL, messages=HI)
        with pytest.raises(cosmara.ProviderConnectionError) as cut:
            for _ in client.stream(model=MODEL, messages=HI):
                pass
    assert cut.value.cost_usd is not None
    assert cut.value.cost_usd > 0
    assert (spend.calls, spend.failed) == (0, 2)
    assert spend.usd == pytest.approx(cut.value.cost_usd)


def test_unpriced_answers_are_counted_apart(emulator: Emulator) -> None:
    providers = {"local": {"type": "openai_compatible", "base_url": emulator.base_url}}
    with Cosmara(providers=providers, load_entry_points=False) as client, track_cost() as spend:
        client.chat(model="local/my-fine-tune", messages=HI)
    assert (spend.calls, spend.unpriced, spend.usd) == (1, 1, 0.0)


def test_cache_hits_count_what_they_saved(emulator: Emulator) -> None:
    providers = {"openai": {"base_url": emulator.base_url, "api_key": "sk-x"}}
    config = {"providers": providers, "cache": {"enabled": True}}
    with Cosmara(config, load_entry_points=False) as client, track_cost() as spend:
        paid = client.chat(model=MODEL, messages=HI)
        client.chat(model=MODEL, messages=HI)
    assert (spend.calls, spend.cache_hits) == (2, 1)
    assert spend.usd == pytest.approx(_cost(paid))
    assert spend.saved_usd == pytest.approx(_cost(paid))


async def test_asyncio_tasks_started_inside_count(client: Cosmara) -> None:
    with track_cost() as spend:
        answers = await asyncio.gather(*(client.achat(model=MODEL, messages=HI) for _ in range(5)))
    assert spend.calls == 5
    assert spend.usd == pytest.approx(sum(_cost(a) for a in answers))


def test_threads_count_with_a_copied_context_or_the_spend_itself(client: Cosmara) -> None:
    with track_cost() as spend:
        with ThreadPoolExecutor(4) as pool:
            copies = [contextvars.copy_context() for _ in range(8)]
            list(pool.map(lambda c: c.run(client.chat, model=MODEL, messages=HI), copies))

        def worker() -> None:
            with track_cost(spend):
                client.chat(model=MODEL, messages=HI)

        threads = [threading.Thread(target=worker) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        bare = threading.Thread(target=lambda: client.chat(model=MODEL, messages=HI))
        bare.start()
        bare.join()  # a plain thread starts with an empty context: not counted
    assert spend.calls == 12
    assert repr(spend).startswith("Spend(usd=")
