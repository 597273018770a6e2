"""The pipeline as stages: plugins add theirs where they ask; a stage can answer, refuse or
change a request before any provider is called; every entered stage sees the outcome once,
in reverse order, on every path (a stream closed early and a cancelled task too)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from typing import Any

import pytest

import cosmara
from cosmara import (
    AssistantMessage,
    Call,
    ChatResponse,
    Choice,
    Cosmara,
    Outcome,
    Stage,
    Usage,
    hookimpl,
)
from cosmara.testing import Emulator, Fault
from tests.support.paths import HOWS, Loop, ask

MODEL = "openai/gpt-4o-mini"


class Recording(Stage):
    """Writes down the way out and the way back."""

    def __init__(self, name: str, log: list[str]) -> None:
        self.log = log
        self._name = name

    @property  # type: ignore[override]
    def name(self) -> str:  # a per-instance name, for several in one test
        return self._name

    def before(self, call: Call) -> None:
        self.log.append(f"{self.name} out")

    def after(self, call: Call, outcome: Outcome) -> None:
        kind = (
            "cancelled"
            if outcome.cancelled
            else type(outcome.error).__name__
            if outcome.error
            else outcome.served
        )
        self.log.append(f"{self.name} back: {kind}")


class Placing:
    def __init__(self, *stages: tuple[Stage, dict[str, str]]) -> None:
        self._stages = stages

    @hookimpl
    def cosmara_register_stages(self, register: Any) -> None:
        for stage, where in self._stages:
            register(stage, **where)


class Events:
    def __init__(self) -> None:
        self.responses = 0
        self.errors: list[BaseException] = []

    @hookimpl
    def cosmara_response(self) -> None:
        self.responses += 1

    @hookimpl
    def cosmara_error(self, error: BaseException) -> None:
        self.errors.append(error)


@pytest.fixture
def aio() -> Iterator[Loop]:
    loop = Loop()
    yield loop
    loop.close()


def _client(emulator: Emulator, *plugins: object) -> Cosmara:
    providers = {
        "openai": {"base_url": emulator.base_url, "api_key": "sk-x"},
        "groq": {"base_url": emulator.base_url, "api_key": "gsk-x"},
    }
    # No retries: a failure is one attempt.
    config = {"providers": providers, "retry": {"max_retries": 0}}
    return Cosmara(config, plugins=plugins, load_entry_points=False)


# --- placement ---------------------------------------------------------------------------------
def test_stages_in_order_with_plugins_where_they_asked(emulator: Emulator) -> None:
    log: list[str] = []
    placing = Placing(
        (Recording("late", log), {}),
        (Recording("early", log), {"before": "route"}),
        (Recording("first", log), {"after": "validate"}),
        (Recording("planned", log), {"after": "route"}),
    )
    client = _client(emulator, placing)
    assert client.stages == [
        "validate",
        "first",
        "events",
        "early",
        "route",
        "planned",
        "spend",
        "late",
        "attempts",
    ]
    client.chat(model=MODEL, messages=[{"role": "user", "content": "hi"}])
    assert log == [
        "first out",
        "early out",
        "planned out",
        "late out",
        "late back: provider",
        "planned back: provider",
        "early back: provider",
        "first back: provider",
    ]


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ({"before": "nowhere"}, "not a stage"),
        ({"before": "route", "after": "route"}, "not both"),
    ],
)
def test_bad_placements_are_configuration_errors(
    emulator: Emulator, where: dict[str, str], message: str
) -> None:
    with pytest.raises(cosmara.ConfigurationError, match=message):
        _client(emulator, Placing((Recording("x", []), where)))


def test_a_stage_needs_a_unique_name(emulator: Emulator) -> None:
    with pytest.raises(cosmara.ConfigurationError, match="two stages"):
        _client(emulator, Placing((Recording("route", []), {})))
    with pytest.raises(cosmara.ConfigurationError, match="named"):
        _client(emulator, Placing((Stage(), {})))


# --- answer, refuse, change ---------------------------------------------------------------------
class Canned(Stage):
    name = "canned"

    def before(self, call: Call) -> ChatResponse:
        response = ChatResponse(
            id="canned-1",
            model="canned",
            choices=[
                Choice(message=AssistantMessage(content="from a stage"), finish_reason="stop")
            ],
            usage=Usage(prompt_tokens=1, completion_tokens=2, total_tokens=3),
        )
        response.cosmara = cosmara.CosmaraMeta(
            provider="cosmara",
            model="canned",
            cost_usd=0.0,
            latency_ms=0.0,
            route=cosmara.Route(strategy="stage", reason="answered by a stage"),
            context=call.context,
        )
        return response


@pytest.mark.parametrize("how", HOWS)
def test_a_stage_can_answer(emulator: Emulator, aio: Loop, how: str) -> None:
    log: list[str] = []
    events = Events()
    client = _client(
        emulator, Placing((Canned(), {}), (Recording("outer", log), {"before": "route"})), events
    )
    answer = ask(client, how, aio, model=MODEL)
    assert answer.text == "from a stage"
    assert answer.meta.provider == "cosmara"
    assert emulator.request_count == 0
    assert log == ["outer out", "outer back: canned"]
    assert events.responses == 1
    if answer.chunks:  # replayed as the stream that would have brought it
        assert answer.chunks[0].choices[0].delta.role == "assistant"
        assert answer.chunks[-1].usage is not None
        assert answer.chunks[-1].usage.total_tokens == 3


class Guard(Stage):
    name = "guard"

    def before(self, call: Call) -> None:
        text = call.request.messages[-1].content
        if "password" in text:
            raise cosmara.RequestRefusedError("no passwords, please", stage=self.name)


@pytest.mark.parametrize("how", HOWS)
def test_a_stage_can_refuse(emulator: Emulator, aio: Loop, how: str) -> None:
    log: list[str] = []
    events = Events()
    client = _client(emulator, Placing((Recording("outer", log), {}), (Guard(), {})), events)
    with pytest.raises(cosmara.RequestRefusedError, match="passwords") as caught:
        ask(client, how, aio, model=MODEL, messages=[{"role": "user", "content": "my password"}])
    assert caught.value.stage == "guard"
    assert emulator.request_count == 0
    assert log == ["outer out", "outer back: RequestRefusedError"]
    assert events.errors == [caught.value]


class Mask(Stage):
    name = "mask"

    def before(self, call: Call) -> None:
        messages = list(call.request.messages)
        last = messages[-1].model_copy(update={"content": "[masked]"})
        call.request = call.request.model_copy(update={"messages": [*messages[:-1], last]})


class Downgrade(Stage):
    name = "downgrade"

    def before(self, call: Call) -> None:
        call.request = call.request.model_copy(update={"model": "groq/llama-3.1-8b-instant"})


@pytest.mark.parametrize("how", HOWS)
def test_a_stage_can_change_the_request(emulator: Emulator, aio: Loop, how: str) -> None:
    client = _client(emulator, Placing((Mask(), {}), (Downgrade(), {"before": "route"})))
    answer = ask(client, how, aio, model=MODEL, messages=[{"role": "user", "content": "secret"}])
    assert emulator.requests[-1].json["messages"][-1]["content"] == "[masked]"
    assert answer.meta.provider == "groq"  # the route stage planned the changed model
    assert answer.text == "Echo: [masked]"


# --- the way back, exactly once ---------------------------------------------------------------
@pytest.mark.parametrize("how", HOWS)
def test_the_way_back_sees_failures(emulator: Emulator, aio: Loop, how: str) -> None:
    emulator.add_fault(Fault(status=503))
    log: list[str] = []
    client = _client(emulator, Placing((Recording("outer", log), {})))
    with pytest.raises(cosmara.ProviderUnavailableError):
        ask(client, how, aio, model=MODEL)
    assert log == ["outer out", "outer back: ProviderUnavailableError"]


def test_a_stream_closed_early_still_goes_back(emulator: Emulator) -> None:
    log: list[str] = []
    client = _client(emulator, Placing((Recording("outer", log), {})))
    stream = client.stream(model=MODEL, messages=[{"role": "user", "content": "a long answer"}])
    next(stream)
    stream.close()
    assert log == ["outer out", "outer back: cancelled"]


async def test_a_cancelled_task_still_goes_back(emulator: Emulator) -> None:
    emulator.add_fault(Fault(delay=2))
    log: list[str] = []
    client = _client(emulator, Placing((Recording("outer", log), {})))
    task = asyncio.ensure_future(
        client.achat(model=MODEL, messages=[{"role": "user", "content": "hi"}])
    )
    await asyncio.sleep(0.2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert log == ["outer out", "outer back: cancelled"]
    await client.aclose()


class Broken(Stage):
    name = "broken"

    def after(self, call: Call, outcome: Outcome) -> None:
        raise RuntimeError("the ledger is down")


def test_a_stage_failing_on_the_way_back_keeps_the_answer(
    emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    log: list[str] = []
    events = Events()
    client = _client(emulator, Placing((Recording("outer", log), {}), (Broken(), {})), events)
    with caplog.at_level(logging.ERROR):
        response = client.chat(model=MODEL, messages=[{"role": "user", "content": "hi"}])
    assert response.text == "Echo: hi"
    assert log == ["outer out", "outer back: provider"]  # the other stages still settled
    assert events.responses == 1
    assert "'broken' failed on the way back" in caplog.text


class Options(Stage):
    name = "options"
    options = frozenset({"shadow_mode"})
    seen: list[Any] = []

    def before(self, call: Call) -> None:
        self.seen.append(call.options.get("shadow_mode"))


def test_stage_options_reach_the_stage_not_the_provider(emulator: Emulator) -> None:
    Options.seen = []
    client = _client(emulator, Placing((Options(), {})))
    client.chat(model=MODEL, messages=[{"role": "user", "content": "hi"}], shadow_mode=True)
    client.chat(model=MODEL, messages=[{"role": "user", "content": "hi"}])
    assert Options.seen == [True, None]
    assert "shadow_mode" not in emulator.requests[0].json
