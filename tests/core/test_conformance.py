"""One suite, every provider: the same requests must give the same results everywhere.

Cassettes: ``cassettes/conformance/<provider>/<scenario>.yaml``, in each provider's real wire
format (see cassettes/README.md). Besides the parsed results, every request Cosmara sends is
compared with the request body recorded in the cassette.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import cosmara
from cosmara import Cosmara, StreamAccumulator
from tests.core.conformance import scenarios as s
from tests.core.conformance.cases import ProviderCase, all_cases
from tests.support.recordings import cassette, replay

CASES = all_cases()
CHAT = [
    pytest.param(case, scenario, id=f"{case.name}-{scenario}")
    for case in CASES
    for scenario in case.scenarios
    if scenario != "embeddings"
]
EMBED = [pytest.param(case, id=case.name) for case in CASES if "embeddings" in case.scenarios]
ERRORS = [
    pytest.param(case, scenario, id=f"{case.name}-{scenario}")
    for case in CASES
    for scenario in case.errors
]


def _client(case: ProviderCase) -> Cosmara:
    # A cassette holds one answer per request: a recorded error is not retried.
    return Cosmara(
        {"retry": {"max_retries": 0}},
        providers={case.name: case.settings},
        load_entry_points=False,
    )


def _approx(expected: float | None) -> object:
    return None if expected is None else pytest.approx(expected, rel=1e-9, abs=1e-15)


def _recorded_bodies(case: ProviderCase, scenario: str) -> list[object]:
    return [i.request_json for i in cassette(case.cassette(scenario)) if i.request_body]


def _assert_usage_and_cost(case: ProviderCase, scenario: str, usage, meta) -> None:  # type: ignore[no-untyped-def]
    assert usage is not None
    assert (usage.prompt_tokens, usage.completion_tokens) == case.usage[scenario]
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    assert meta is not None
    assert meta.provider == case.name
    assert meta.cost_usd == _approx(case.costs[scenario])


@pytest.mark.parametrize(("case", "scenario"), CHAT)
def test_chat_scenario(
    case: ProviderCase, scenario: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in case.env.items():
        monkeypatch.setenv(key, value)
    ids = case.stream_call_ids if scenario == "stream_tools" else case.call_ids
    arguments = {"model": case.model, **s.request_for(scenario, case.call_ids)}
    interactions = cassette(case.cassette(scenario))
    with _client(case) as client, replay(interactions, tmp_path) as sent:
        if scenario.startswith("stream"):
            chunks = list(client.stream(**arguments))
            accumulator = StreamAccumulator()
            for chunk in chunks:
                accumulator.add(chunk)
            response = accumulator.response()
            final = chunks[-1]
            assert final.choices == []
            assert [c.usage is not None for c in chunks].count(True) == 1
            _assert_usage_and_cost(case, scenario, final.usage, final.cosmara)
            _assert_tool_call_deltas(chunks, ids if scenario == "stream_tools" else [])
        else:
            response = client.chat(**arguments)
            _assert_usage_and_cost(case, scenario, response.usage, response.cosmara)
    message = response.choices[0].message
    finish = response.choices[0].finish_reason
    if scenario in ("plain", "stream"):
        assert response.text == s.ANSWER
        assert finish == "stop"
    elif scenario in ("tools", "stream_tools"):
        assert message.tool_calls is not None
        assert [c.id for c in message.tool_calls] == ids
        assert [c.function.name for c in message.tool_calls] == ["get_weather", "get_weather"]
        assert [json.loads(c.function.arguments) for c in message.tool_calls] == s.TOOL_ARGUMENTS
        assert finish == "tool_calls"
    elif scenario == "tool_result":
        assert response.text == s.WEATHER_ANSWER
        assert finish == "stop"
    elif scenario == "structured":
        assert json.loads(response.text) == s.STRUCTURED_ANSWER
        assert finish == "stop"
    assert sent == _recorded_bodies(case, scenario)


def _assert_tool_call_deltas(chunks: list[cosmara.ChatChunk], ids: list[str]) -> None:
    """Same shape for every provider: index, id and name first; argument fragments after."""
    seen: dict[int, int] = {}
    for chunk in chunks:
        for choice in chunk.choices:
            for delta in choice.delta.tool_calls or ():
                count = seen.get(delta.index, 0)
                if count == 0:
                    assert delta.id == ids[delta.index]
                    assert delta.function is not None
                    assert delta.function.name == "get_weather"
                else:
                    assert delta.id is None
                    assert delta.function is None or delta.function.name is None
                seen[delta.index] = count + 1
    assert sorted(seen) == list(range(len(ids)))


@pytest.mark.parametrize("case", EMBED)
def test_embeddings(case: ProviderCase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in case.env.items():
        monkeypatch.setenv(key, value)
    interactions = cassette(case.cassette("embeddings"))
    assert case.embed_model is not None
    with _client(case) as client, replay(interactions, tmp_path) as sent:
        result = client.embed(
            model=case.embed_model, input=s.EMBED_INPUT, dimensions=case.embed_dimensions
        )
    assert len(result.vectors) == 2
    assert all(len(v) == len(result.vectors[0]) > 0 for v in result.vectors)
    assert result.vectors[0] != result.vectors[1]
    assert result.cosmara is not None
    assert result.cosmara.cost_usd == _approx(case.costs["embeddings"])
    assert sent == _recorded_bodies(case, "embeddings")


@pytest.mark.parametrize(("case", "scenario"), ERRORS)
def test_error_scenario(
    case: ProviderCase, scenario: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in case.env.items():
        monkeypatch.setenv(key, value)
    error_class = getattr(cosmara, s.ERROR_SCENARIOS[scenario])
    interactions = cassette(case.cassette(scenario))
    arguments = {"model": case.model, **s.request_for(scenario, [])}
    with (
        _client(case) as client,
        replay(interactions, tmp_path),
        pytest.raises(error_class) as caught,
    ):
        client.chat(**arguments)
    error = caught.value
    assert isinstance(error, error_class)
    assert error.provider == case.name
    assert error.status_code == interactions[0].status
    assert error.provider_message
    assert error.retryable is (scenario in ("error_rate_limit", "error_unavailable"))
    assert len(error.attempts) == 1
