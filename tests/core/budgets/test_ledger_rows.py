"""The ledger through the engine: one row per request, whatever became of it, with what it
cost, what it saved and why; on every store, queried and exported."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

import cosmara
from cosmara import Cosmara
from cosmara.ledger import LedgerRow
from cosmara.pipeline import Call, Stage
from cosmara.testing import Emulator, FakeClock, Fault
from tests.support.paths import HOWS, Loop, ask

MODEL = "openai/gpt-4o-mini"
PROMPT = [{"role": "user", "content": "What is the capital of France?"}]


@pytest.fixture
def aio() -> Iterator[Loop]:
    loop = Loop()
    yield loop
    loop.close()


def _client(emulator: Emulator, *plugins: object, **config: Any) -> Cosmara:
    providers = {
        "openai": {"base_url": emulator.base_url, "api_key": "sk-ledger-secret"},
        "groq": {"base_url": emulator.base_url, "api_key": "gsk-ledger-secret"},
    }
    ledger = {"enabled": True, **config.pop("ledger", {})}
    clock = config.pop("clock", None) or FakeClock()
    return Cosmara(
        {"providers": providers, "ledger": ledger, **config},
        plugins=plugins,
        clock=clock,
        load_entry_points=False,
    )


def _rows(client: Cosmara) -> list[LedgerRow]:
    assert client.ledger is not None
    return client.ledger.rows()


@pytest.mark.parametrize("how", HOWS)
def test_one_row_per_answered_request(emulator: Emulator, aio: Loop, how: str) -> None:
    client = _client(emulator)
    answer = ask(
        client,
        how,
        aio,
        model=MODEL,
        messages=PROMPT,
        org="acme",
        team="search",
        user="ana",
        tags={"feature": "faq"},
        metadata={"key": "vk-7"},
    )
    [row] = _rows(client)
    assert (row.org, row.team, row.user, row.key, row.tags) == (
        "acme",
        "search",
        "ana",
        "vk-7",
        {"feature": "faq"},
    )
    assert (row.kind, row.stream) == ("chat", how in ("stream", "astream"))
    assert (row.requested_model, row.provider, row.model) == (MODEL, "openai", "gpt-4o-mini")
    assert (row.outcome, row.error, row.attempts) == ("ok", None, 1)
    assert row.input_tokens > 0
    assert row.output_tokens > 0
    assert row.cost_usd == answer.meta.cost_usd
    assert row.latency_ms == answer.meta.latency_ms
    assert row.time == FakeClock().now().timestamp()
    assert (row.saved_usd, row.saved_reason) == (0, None)
    assert (row.prompt, row.answer) == (None, None)  # no text unless configured


def test_embeddings_are_rows_too(emulator: Emulator) -> None:
    client = _client(emulator)
    response = client.embed(model="openai/text-embedding-3-small", input=["one", "two"])
    [row] = _rows(client)
    assert (row.kind, row.outcome, row.output_tokens) == ("embed", "ok", 0)
    assert row.input_tokens == response.usage.prompt_tokens
    assert row.cost_usd == response.cosmara.cost_usd


@pytest.mark.parametrize("how", HOWS)
def test_failures_are_rows_with_their_error_class(emulator: Emulator, aio: Loop, how: str) -> None:
    client = _client(emulator)
    emulator.add_fault(Fault(status=503))
    with pytest.raises(cosmara.ProviderUnavailableError):
        ask(client, how, aio, model=MODEL, messages=PROMPT, max_retries=1)
    [row] = _rows(client)
    assert (row.outcome, row.error, row.attempts) == ("error", "ProviderUnavailableError", 2)
    assert (row.provider, row.model, row.cost_usd) == (None, None, 0)


def test_retries_and_fallbacks_count_as_attempts(emulator: Emulator) -> None:
    client = _client(emulator)
    emulator.add_fault(Fault(status=503, match_model="gpt-4o-mini"))
    response = client.chat(
        model=MODEL, messages=PROMPT, fallbacks=["groq/llama-3.1-8b-instant"], max_retries=1
    )
    [row] = _rows(client)
    assert (row.requested_model, row.provider, row.model) == (
        MODEL,
        "groq",
        "llama-3.1-8b-instant",
    )
    assert row.attempts == len(response.cosmara.attempts) == 3


def test_the_answer_of_last_resort_is_its_own_outcome(emulator: Emulator) -> None:
    client = _client(emulator, fallback_message="Busy; try later.")
    emulator.add_fault(Fault(status=503))
    assert client.chat(model=MODEL, messages=PROMPT, max_retries=0).text == "Busy; try later."
    [row] = _rows(client)
    assert (row.outcome, row.error, row.cost_usd) == (
        "fallback_message",
        "ProviderUnavailableError",
        0,
    )


class Refuse(Stage):
    name = "refuse"

    def before(self, call: Call) -> None:
        raise cosmara.RequestRefusedError("not today", stage=self.name)


class Plugin:
    @cosmara.hookimpl
    def cosmara_register_stages(self, register: Any) -> None:
        register(Refuse())


def test_refusals_are_blocked_rows(emulator: Emulator) -> None:
    client = _client(emulator, Plugin())
    with pytest.raises(cosmara.RequestRefusedError):
        client.chat(model=MODEL, messages=PROMPT, team="t")
    budgeted = _client(emulator, budgets={"t": {"level": "team", "amount_usd": 1e-9}})
    with pytest.raises(cosmara.BudgetExceededError):
        budgeted.chat(model=MODEL, messages=PROMPT, team="t")
    assert emulator.request_count == 0
    for client_, error in [(client, "RequestRefusedError"), (budgeted, "BudgetExceededError")]:
        [row] = _rows(client_)
        assert (row.outcome, row.error, row.cost_usd, row.attempts) == ("blocked", error, 0, 0)
        assert row.team == "t"


@pytest.mark.parametrize("how", ["stream", "astream"])
def test_a_stream_cut_part_way_records_what_was_paid(
    emulator: Emulator, aio: Loop, how: str
) -> None:
    client = _client(emulator)
    emulator.add_fault(Fault(cut_after_chunks=4))
    with pytest.raises(cosmara.ProviderConnectionError) as caught:
        ask(client, how, aio, model=MODEL, messages=PROMPT)
    [row] = _rows(client)
    assert (row.outcome, row.error) == ("error", "ProviderConnectionError")
    assert row.cost_usd == caught.value.cost_usd
    assert row.cost_usd > 0
    assert row.output_tokens > 0


def test_a_cancelled_call_is_a_row(emulator: Emulator, aio: Loop) -> None:
    import asyncio

    client = _client(emulator)
    emulator.add_fault(Fault(delay=5.0))

    async def cancel() -> None:
        task = asyncio.ensure_future(client.achat(model=MODEL, messages=PROMPT))
        await asyncio.sleep(0.2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    aio.run(cancel())
    [row] = _rows(client)
    assert (row.outcome, row.cost_usd) == ("cancelled", 0)


# --- savings, row by row ---------------------------------------------------------------------
def test_a_cache_hit_saves_what_the_provider_charged(emulator: Emulator) -> None:
    client = _client(emulator, cache={"enabled": True})
    first = client.chat(model=MODEL, messages=PROMPT)
    client.chat(model=MODEL, messages=PROMPT)
    paid, hit = _rows(client)
    assert (paid.outcome, hit.outcome) == ("ok", "cached")
    assert (hit.cost_usd, hit.saved_reason) == (0, "cache")
    assert hit.saved_usd == pytest.approx(first.cosmara.cost_usd)
    assert hit.attempts == 0
    assert client.ledger.total().saved_by == {"cache": pytest.approx(paid.cost_usd)}  # type: ignore[union-attr]


def test_routing_saves_against_a_baseline(emulator: Emulator) -> None:
    groups = {"cheap": {"models": [MODEL, "openai/gpt-4o"], "strategy": "cost"}}
    client = _client(emulator, groups=groups, ledger={"baseline_model": "openai/gpt-4o"})
    response = client.chat(model="cheap", messages=PROMPT)
    client.chat(model=MODEL, messages=PROMPT)  # named directly: routing chose nothing
    routed, named = _rows(client)
    assert (routed.requested_model, routed.model) == ("cheap", "gpt-4o-mini")
    assert routed.saved_reason == "routing"
    gpt_4o = client.catalog.get("openai/gpt-4o")
    assert gpt_4o is not None
    baseline = cosmara.cost_of_usage(gpt_4o, response.usage)
    assert routed.saved_usd == pytest.approx(baseline - routed.cost_usd)
    assert (named.saved_usd, named.saved_reason) == (0, None)


# --- text, secrets, bounds -------------------------------------------------------------------
def test_text_only_when_configured_and_never_a_key(emulator: Emulator, tmp_path: Path) -> None:
    state = {"backend": "sqlite", "path": str(tmp_path / "state.db")}
    client = _client(emulator, ledger={"record_text": True}, state=state)
    response = client.chat(model=MODEL, messages=PROMPT, metadata={"key": "vk-public-id"})
    [row] = _rows(client)
    assert row.prompt == "user: What is the capital of France?"
    assert row.answer == response.text
    client.close()
    stored = (tmp_path / "state.db").read_bytes()
    assert b"sk-ledger-secret" not in stored
    assert b"gsk-ledger-secret" not in stored


def test_a_memory_ledger_keeps_at_most_max_rows(emulator: Emulator) -> None:
    client = _client(emulator, ledger={"max_rows": 3})
    for n in range(5):
        client.chat(model=MODEL, messages=PROMPT, user=f"u{n}")
    assert [row.user for row in _rows(client)] == ["u2", "u3", "u4"]


def test_a_shared_store_keeps_one_ledger_for_every_client(
    emulator: Emulator, shared_backend: dict[str, str]
) -> None:
    first = _client(emulator, state=shared_backend)
    second = _client(emulator, state=shared_backend)
    first.chat(model=MODEL, messages=PROMPT, team="a")
    second.chat(model=MODEL, messages=PROMPT, team="b")
    reader = _client(emulator, state=shared_backend)
    assert sorted(row.team or "" for row in _rows(reader)) == ["a", "b"]
    for client in (first, second, reader):
        client.close()


# --- reading it back -------------------------------------------------------------------------
def test_summaries_filters_and_exports(emulator: Emulator) -> None:
    clock = FakeClock(datetime(2026, 3, 1, 23, 30, tzinfo=timezone.utc))
    client = _client(emulator, clock=clock)
    client.chat(model=MODEL, messages=PROMPT, team="a", tags={"feature": "faq"})
    client.chat(model="openai/gpt-4o", messages=PROMPT, team="a")
    clock.advance(3600)  # the next day (UTC)
    client.chat(model=MODEL, messages=PROMPT, team="b", tags={"feature": "faq"})
    ledger = client.ledger
    assert ledger is not None
    rows = ledger.rows()

    by_team = {s.group["team"]: s for s in ledger.summary(by=["team"])}
    assert by_team["a"].requests == 2
    assert by_team["a"].cost_usd == pytest.approx(rows[0].cost_usd + rows[1].cost_usd)
    days = ledger.summary(by=["day"])
    assert sorted(s.group["day"] or "" for s in days) == ["2026-03-01", "2026-03-02"]
    assert {s.group["tag:feature"] for s in ledger.summary(by=["tag:feature"])} == {"faq", None}
    assert len(ledger.rows(team="a", model="gpt-4o")) == 1
    assert len(ledger.rows(since=datetime(2026, 3, 2, tzinfo=timezone.utc))) == 1
    assert ledger.total().cost_usd == pytest.approx(sum(r.cost_usd for r in rows))
    with pytest.raises(cosmara.RequestValidationError, match="colour"):
        ledger.summary(by=["colour"])

    out = io.StringIO()
    assert ledger.to_csv(out) == 3
    table = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert [r["team"] for r in table] == ["a", "a", "b"]
    assert json.loads(table[0]["tags"]) == {"feature": "faq"}
    lines = io.StringIO()
    assert ledger.to_jsonl(lines) == 3
    assert [LedgerRow(**json.loads(line)) for line in lines.getvalue().splitlines()] == rows


def test_text_that_is_not_unicode_never_loses_a_row(emulator: Emulator) -> None:
    client = _client(emulator, ledger={"record_text": True})
    with pytest.raises(cosmara.RequestValidationError):  # the provider cannot be sent it
        client.chat(model=MODEL, messages=[{"role": "user", "content": "a\ud800b"}])
    client.chat(model=MODEL, messages=PROMPT, team="t\udc00")
    rows = _rows(client)
    assert [row.outcome for row in rows] == ["error", "ok"]
    assert rows[0].prompt == "user: a?b"
    assert rows[1].team == "t?"
