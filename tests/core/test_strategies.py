"""Strategies rank whole groups per request: checked against their plain definitions, and
against live health (open circuits passed over, then taken back after their cooldown)."""

from __future__ import annotations

import random
from itertools import pairwise
from typing import Any

import pytest

import cosmara
from cosmara import ChatRequest, Cosmara, ModelInfo, ProviderSettings, RequestContext
from cosmara._health import BreakerPolicy, HealthMonitor
from cosmara._routing import Target
from cosmara._strategies import BUILTIN_STRATEGIES, Candidates
from cosmara.providers.compatible import OpenAICompatibleProvider
from cosmara.testing import Emulator, FakeClock, Fault

HI = [{"role": "user", "content": "hi"}]


def _targets(rng: random.Random, count: int) -> list[Target]:
    provider = OpenAICompatibleProvider("acme", ProviderSettings(base_url="http://127.0.0.1:9/v1"))
    targets = []
    for n in range(count):
        priced = rng.random() > 0.1
        info = ModelInfo(
            provider="acme",
            model=f"m{n}",
            input=rng.choice([0.1, 0.5, 1.0, 3.0]) if priced else 0.0,
            output=rng.choice([0.4, 2.0, 8.0, 15.0]) if priced else 0.0,
            quality=rng.choice([60, 70, 80, 90]),
        )
        targets.append(Target(provider, f"m{n}", info if priced else None))
    return targets


def _naive_balanced(
    targets: list[Target], request: ChatRequest, health: HealthMonitor, weights: dict[str, float]
) -> dict[str, float]:
    """The definition: each of cheapness, quality and speed scaled 0..1 over the group."""

    def cost(t: Target) -> float | None:
        if t.info is None:
            return None
        prompt = max(sum(len(m.content) for m in request.messages) / 4, 1.0)  # type: ignore[arg-type]
        return prompt * t.info.input + (request.max_tokens or 500) * t.info.output

    def closeness(values: list[float | None], unknown: float) -> list[float]:
        known = [v for v in values if v is not None]
        if not known:
            return [unknown] * len(values)
        low, high = min(known), max(known)
        return [
            unknown if v is None else 0.5 if high == low else (high - v) / (high - low)
            for v in values
        ]

    cheap = closeness([cost(t) for t in targets], 0.0)
    fast = closeness([health.latency_ms(t.id) for t in targets], 0.5)
    qualities = [(t.info.quality or 0) if t.info else 0 for t in targets]
    low, high = min(qualities), max(qualities)
    good = [0.5 if high == low else (q - low) / (high - low) for q in qualities]
    return {
        t.id: weights["cost"] * c + weights["quality"] * g + weights["latency"] * f
        for t, c, g, f in zip(targets, cheap, good, fast, strict=True)
    }


@pytest.mark.parametrize("seed", range(25))
def test_balanced_ranks_as_its_definition(seed: int) -> None:
    rng = random.Random(seed)
    targets = _targets(rng, rng.randint(2, 50))
    health = HealthMonitor(BreakerPolicy())
    for target in targets:
        if rng.random() > 0.3:
            health.record(target.id, ok=True, latency_ms=rng.choice([100.0, 250.0, 900.0]))
    request = ChatRequest(model="g", messages=HI, max_tokens=rng.choice([None, 50, 4000]))
    weights = {"cost": rng.random(), "quality": rng.random(), "latency": rng.random()}
    ranked = BUILTIN_STRATEGIES["balanced"](
        Candidates(targets), request, RequestContext(), health, {"balance": weights}
    )
    score = _naive_balanced(targets, request, health, weights)
    scores = [score[t.id] for t in ranked]
    assert sorted(t.id for t in ranked) == sorted(score)
    assert all(a >= b - 1e-9 for a, b in pairwise(scores)), scores


@pytest.mark.parametrize("name", sorted(BUILTIN_STRATEGIES))
def test_every_strategy_takes_a_plain_list_too(name: str) -> None:
    # A custom strategy may delegate to a built-in one with any sequence of targets.
    targets = _targets(random.Random(7), 8)
    request = ChatRequest(model="g", messages=HI)
    options: dict[str, Any] = {"weights": {targets[2].id: 1.0}}
    ranked = BUILTIN_STRATEGIES[name](
        list(targets), request, RequestContext(user="u1"), HealthMonitor(BreakerPolicy()), options
    )
    assert sorted(t.id for t in ranked) == sorted(t.id for t in targets)


def test_cost_and_quality_break_ties_by_the_other() -> None:
    targets = _targets(random.Random(3), 30)
    request = ChatRequest(model="g", messages=HI)
    health = HealthMonitor(BreakerPolicy())
    by_cost = BUILTIN_STRATEGIES["cost"](Candidates(targets), request, RequestContext(), health, {})
    by_quality = BUILTIN_STRATEGIES["quality"](
        Candidates(targets), request, RequestContext(), health, {}
    )
    costs = Candidates(targets).costs(request)
    cost_of = {t.id: c for t, c in zip(targets, costs, strict=True)}

    def quality(t: Target) -> int:
        return (t.info.quality or 0) if t.info else 0

    assert [t.id for t in by_cost] == [
        t.id for t in sorted(targets, key=lambda t: (cost_of[t.id], -quality(t)))
    ]
    assert [t.id for t in by_quality] == [
        t.id for t in sorted(targets, key=lambda t: (-quality(t), cost_of[t.id]))
    ]


def test_open_circuits_are_passed_over_until_their_cooldown_ends(emulator: Emulator) -> None:
    # Only the cheapest is planned (max_candidates=1): were its open circuit merely skipped,
    # every request would fail while other candidates are healthy.
    clock = FakeClock()
    providers = {
        "openai": {"base_url": emulator.base_url, "api_key": "sk-x"},
        "groq": {"base_url": emulator.base_url, "api_key": "gsk-x"},
    }
    group = {
        "models": ["groq/llama-3.1-8b-instant", "openai/gpt-4o-mini"],
        "strategy": "cost",
        "max_candidates": 1,
    }
    config = {
        "providers": providers,
        "groups": {"team": group},
        "breaker": {"consecutive_failures": 1, "cooldown_seconds": 30},
    }
    with Cosmara(config, load_entry_points=False, clock=clock) as client:
        emulator.add_fault(Fault(status=503, match_model="llama-3.1-8b-instant", times=1))
        with pytest.raises(cosmara.ProviderUnavailableError):
            client.chat(model="team", messages=HI)
        response = client.chat(model="team", messages=HI)
        assert response.cosmara is not None
        assert response.cosmara.model == "gpt-4o-mini"
        assert [a.error for a in response.cosmara.attempts] == [None]  # no skip recorded
        assert "passing over 1 whose circuit is open" in response.cosmara.route.reason
        clock.advance(30)
        response = client.chat(model="team", messages=HI)  # the probe, and it succeeds
        assert response.cosmara is not None
        assert response.cosmara.model == "llama-3.1-8b-instant"
