"""Routing through the engine: rule order, time-of-day rules on a ``FakeClock``, capability
filtering for every strategy and for explicit fallbacks, and what each strategy picks.

What counts is what the emulator received: the ``model`` (and ``tools``) of each request.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import pytest

import cosmara
from cosmara import ChatResponse, Cosmara
from cosmara.testing import Emulator, FakeClock, Fault
from tests.support.paths import HOWS, Loop, ask, sent

HI = [{"role": "user", "content": "hi"}]
TOOL = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}
MONDAY_8AM = datetime(2026, 1, 5, 8, tzinfo=timezone.utc)
MONDAY_NOON = datetime(2026, 1, 5, 12, tzinfo=timezone.utc)
HOUR = 3600.0


@pytest.fixture
def aio() -> Iterator[Loop]:
    loop = Loop()
    yield loop
    loop.close()


@pytest.fixture
def seeded() -> Iterator[None]:
    """The weighted draw, made repeatable."""
    state = random.getstate()
    random.seed(20260105)
    yield
    random.setstate(state)


def _client(emulator: Emulator, clock: FakeClock | None = None, **config: Any) -> Cosmara:
    providers = {
        name: {"base_url": emulator.base_url, "api_key": f"{name}-test-key-0000"}
        for name in ("openai", "groq", "deepseek")
    }
    # No retries: one failed attempt per target.
    config = {"retry": {"max_retries": 0}, **config}
    return Cosmara(
        {"providers": providers, **config}, clock=clock or FakeClock(), load_entry_points=False
    )


def _served(response: ChatResponse) -> str:
    assert response.cosmara is not None
    return f"{response.cosmara.provider}/{response.cosmara.model}"


def _last_model(emulator: Emulator) -> str:
    return str(emulator.requests[-1].json["model"])


# --- rules: the first match decides ----------------------------------------------------------
RULES = [
    {"when": {"team": ["research"], "tags": {"tier": "gold"}}, "use": "openai/gpt-4o"},
    {"when": {"team": ["research"]}, "use": "openai/gpt-4o-mini"},
    {"when": {"metadata": {"priority": "high"}}, "use": "groq/llama-3.3-70b-versatile"},
    {"when": {"hours": [9, 17]}, "use": "openai/gpt-4.1-mini"},
]
GOLD_RESEARCH: dict[str, Any] = {
    "team": "research",
    "tags": {"tier": "gold"},
    "metadata": {"priority": "high"},
}
RESEARCH: dict[str, Any] = {"team": "research", "metadata": {"priority": "high"}}
URGENT: dict[str, Any] = {"team": "support", "metadata": {"priority": "high"}}
SUPPORT: dict[str, Any] = {"team": "support"}


def _group(rules: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "assistant": {"models": ["groq/llama-3.1-8b-instant"], "strategy": "cost", "rules": rules}
    }


@pytest.mark.parametrize(
    ("who", "number", "expected"),
    [
        (GOLD_RESEARCH, 1, "openai/gpt-4o"),  # matches rules 1, 2, 3 and 4
        (RESEARCH, 2, "openai/gpt-4o-mini"),  # matches 2, 3 and 4
        (URGENT, 3, "groq/llama-3.3-70b-versatile"),  # matches 3 and 4
        (SUPPORT, 4, "openai/gpt-4.1-mini"),  # matches 4 only (it is noon)
    ],
)
def test_overlapping_rules_first_match_wins(
    emulator: Emulator, who: dict[str, Any], number: int, expected: str
) -> None:
    clock = FakeClock(start=MONDAY_NOON)
    with _client(emulator, clock, groups=_group(RULES)) as client:
        response = client.chat(model="assistant", messages=HI, **who)
    assert _served(response) == expected
    assert _last_model(emulator) == expected.split("/", 1)[1]
    route = response.cosmara.route  # type: ignore[union-attr]
    assert route.strategy == "rules"
    assert route.reason.startswith(f"group 'assistant' rule {number} matched: use {expected!r}")
    assert route.candidates == (expected,)
    assert emulator.request_count == 1


def test_swapping_rule_order_changes_the_target(emulator: Emulator) -> None:
    clock = FakeClock(start=MONDAY_NOON)
    with _client(emulator, clock, groups=_group(RULES[::-1])) as client:
        # At noon the hours rule now comes first and takes everyone.
        for who in (GOLD_RESEARCH, RESEARCH, URGENT, SUPPORT):
            response = client.chat(model="assistant", messages=HI, **who)
            assert _served(response) == "openai/gpt-4.1-mini"
            assert "rule 1 matched" in response.cosmara.route.reason  # type: ignore[union-attr]
        clock.advance(8 * HOUR)  # 20:00: past the hours rule, the metadata rule comes next
        response = client.chat(model="assistant", messages=HI, **GOLD_RESEARCH)
        assert _served(response) == "groq/llama-3.3-70b-versatile"
        assert "rule 2 matched" in response.cosmara.route.reason  # type: ignore[union-attr]
        # No rule holds: the group's own models and strategy.
        response = client.chat(model="assistant", messages=HI, **SUPPORT)
        assert _served(response) == "groq/llama-3.1-8b-instant"
        assert response.cosmara.route.strategy == "cost"  # type: ignore[union-attr]
    assert [r.json["model"] for r in emulator.requests] == ["gpt-4.1-mini"] * 4 + [
        "llama-3.3-70b-versatile",
        "llama-3.1-8b-instant",
    ]


@pytest.mark.parametrize("how", HOWS)
def test_rules_route_every_path_alike(emulator: Emulator, how: str, aio: Loop) -> None:
    clock = FakeClock(start=MONDAY_NOON)
    with _client(emulator, clock, groups=_group(RULES)) as client:
        answer = ask(client, how, aio, model="assistant", **GOLD_RESEARCH)
        assert (answer.meta.provider, answer.meta.model) == ("openai", "gpt-4o")
        assert answer.meta.route.strategy == "rules"
        assert answer.meta.context.team == "research"
        clock.advance(8 * HOUR)
        answer = ask(client, how, aio, model="assistant", **SUPPORT)
        assert answer.meta.model == "llama-3.1-8b-instant"
    assert sent(emulator, "gpt-4o") == sent(emulator, "llama-3.1-8b-instant") == 1


# --- time of day -----------------------------------------------------------------------------
def test_time_of_day_rules_follow_the_clock(emulator: Emulator) -> None:
    rules = [
        {"when": {"hours": [9, 17], "days": ["mon", "tue", "wed", "thu", "fri"]}, "use": "office"},
        {"when": {"hours": [22, 6]}, "use": "groq/llama-3.3-70b-versatile"},  # wraps midnight
    ]
    config = {
        "aliases": {"office": "openai/gpt-4o"},
        "groups": _group(rules),
    }
    clock = FakeClock(start=MONDAY_8AM)

    def target() -> str:
        return _served(client.chat(model="assistant", messages=HI))

    with _client(emulator, clock, **config) as client:
        assert target() == "groq/llama-3.1-8b-instant"  # 08:00: before office hours
        clock.advance(HOUR)
        assert target() == "openai/gpt-4o"  # 09:00: in
        clock.advance(8 * HOUR - 1)
        assert target() == "openai/gpt-4o"  # 16:59:59: still in
        clock.advance(1)
        assert target() == "groq/llama-3.1-8b-instant"  # 17:00: the end is excluded
        clock.advance(5 * HOUR)
        assert target() == "groq/llama-3.3-70b-versatile"  # 22:00: the night rule
        clock.advance(7 * HOUR)
        assert target() == "groq/llama-3.3-70b-versatile"  # Tuesday 05:00: still night
        clock.advance(HOUR)
        assert target() == "groq/llama-3.1-8b-instant"  # 06:00
        clock.advance(4 * 24 * HOUR + 6 * HOUR)
        assert clock.now().strftime("%a %H") == "Sat 12"
        assert target() == "groq/llama-3.1-8b-instant"  # office hours, but not a weekday
    assert clock.slept == []


# --- capability filtering --------------------------------------------------------------------
# Two models without tools that every strategy would otherwise like best: llama-3.1-8b-instant
# (made tool-less here: the cheapest) and deepseek-reasoner (no tools in the catalog: the best).
TOOL_CAPABLE = {"openai/gpt-4o-mini", "openai/gpt-4o", "groq/llama-3.3-70b-versatile"}
TOOL_LESS = {"groq/llama-3.1-8b-instant", "deepseek/deepseek-reasoner"}
NO_TOOLS_OVERRIDE = {"groq/llama-3.1-8b-instant": {"capabilities": ["json_mode", "streaming"]}}


def _mixed_group(strategy: str) -> dict[str, Any]:
    group: dict[str, Any] = {"models": sorted(TOOL_CAPABLE | TOOL_LESS), "strategy": strategy}
    if strategy == "weighted":
        group["weights"] = {model: 1 for model in TOOL_LESS}  # no traffic share for the rest
    return {"mixed": group}


STRATEGIES = ["cost", "quality", "balanced", "latency", "weighted", "sticky"]


@pytest.mark.usefixtures("seeded")
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_tools_only_ever_reach_tool_capable_models(emulator: Emulator, strategy: str) -> None:
    # Planning is the same on every path (the explicit-fallback test below runs all four).
    config: dict[str, Any] = {"groups": _mixed_group(strategy), "models": NO_TOOLS_OVERRIDE}
    with _client(emulator, **config) as client:
        for model in sorted(TOOL_LESS):  # the tool-less models are the measured, fast ones
            client.chat(model=model, messages=HI)
        # Unfiltered, the strategy prefers a tool-less model (sticky: for some users).
        plain = {_served(client.chat(model="mixed", messages=HI, user=f"u{i}")) for i in range(8)}
        assert plain & TOOL_LESS
        emulator.reset()
        # One tool-capable model is down, so the group's own fallbacks are used too; the
        # call's explicit fallback has no tools and must be passed over.
        emulator.add_fault(Fault(status=503, match_model="gpt-4o-mini"))
        for i in range(8):
            response = client.chat(
                model="mixed",
                messages=HI,
                tools=[TOOL],
                user=f"u{i}",
                fallbacks=["deepseek/deepseek-reasoner"],
            )
            assert _served(response) in TOOL_CAPABLE
            route = response.cosmara.route  # type: ignore[union-attr]
            assert set(route.candidates) <= TOOL_CAPABLE | {"deepseek/deepseek-reasoner"}
    received = [r.json for r in emulator.requests]
    assert len(received) >= 8
    assert all(body["tools"] for body in received)
    assert {body["model"] for body in received} <= {m.split("/", 1)[1] for m in TOOL_CAPABLE}


@pytest.mark.parametrize("how", HOWS)
def test_explicit_fallback_without_tools_is_skipped_unsent(
    emulator: Emulator, how: str, aio: Loop
) -> None:
    emulator.add_fault(Fault(status=503, match_model="gpt-4o-mini"))
    with _client(emulator) as client:
        answer = ask(
            client,
            how,
            aio,
            model="openai/gpt-4o-mini",
            tools=[TOOL],
            fallbacks=["deepseek/deepseek-reasoner", "groq/llama-3.3-70b-versatile"],
        )
    assert [(f"{a.provider}/{a.model}", a.error) for a in answer.meta.attempts] == [
        ("openai/gpt-4o-mini", "ProviderUnavailableError"),
        ("deepseek/deepseek-reasoner", "UnsupportedCapability"),
        ("groq/llama-3.3-70b-versatile", None),
    ]
    skipped = answer.meta.attempts[1]
    assert skipped.latency_ms == 0.0
    assert "tools" in (skipped.message or "")
    assert [r.json["model"] for r in emulator.requests] == [
        "gpt-4o-mini",
        "llama-3.3-70b-versatile",
    ]
    assert all(r.json["tools"] for r in emulator.requests)


@pytest.mark.parametrize("how", HOWS)
def test_the_first_named_model_is_tried_whatever_the_catalog_says(
    emulator: Emulator, how: str, aio: Loop
) -> None:
    with _client(emulator) as client:
        answer = ask(client, how, aio, model="deepseek/deepseek-reasoner", tools=[TOOL])
    assert [(a.model, a.error) for a in answer.meta.attempts] == [("deepseek-reasoner", None)]
    (request,) = emulator.requests
    assert request.json["model"] == "deepseek-reasoner"
    assert request.json["tools"][0]["function"]["name"] == "f"


def test_a_rule_target_without_tools_is_tried_but_its_fallbacks_are_filtered(
    emulator: Emulator,
) -> None:
    rules = [{"when": {"team": ["research"]}, "use": "reasoners"}]
    config: dict[str, Any] = {
        "aliases": {"reasoners": ["deepseek/deepseek-reasoner", "groq/llama-3.1-8b-instant"]},
        "groups": _group(rules),
        "models": NO_TOOLS_OVERRIDE,
    }
    emulator.add_fault(Fault(status=503, match_model="deepseek-reasoner"))
    with _client(emulator, **config) as client, pytest.raises(cosmara.ProviderError) as caught:
        client.chat(model="assistant", messages=HI, tools=[TOOL], team="research")
    assert [(a.model, a.error) for a in caught.value.attempts] == [
        ("deepseek-reasoner", "ProviderUnavailableError"),
        ("llama-3.1-8b-instant", "UnsupportedCapability"),
    ]
    assert [r.json["model"] for r in emulator.requests] == ["deepseek-reasoner"]


def test_a_skipped_fallback_does_not_hide_the_real_failure(emulator: Emulator) -> None:
    emulator.add_fault(Fault(status=503, match_model="gpt-4o-mini"))
    with _client(emulator) as client, pytest.raises(cosmara.ProviderError) as caught:
        client.chat(
            model="openai/gpt-4o-mini",
            messages=HI,
            tools=[TOOL],
            fallbacks=["deepseek/deepseek-reasoner"],
        )
    assert [a.error for a in caught.value.attempts] == [
        "ProviderUnavailableError",
        "UnsupportedCapability",
    ]
    # The provider was down: a caller catching ProviderUnavailableError to retry later must
    # see one, not a BadRequestError saying its request is wrong.
    assert isinstance(caught.value, cosmara.ProviderUnavailableError)


# --- what each strategy picks ----------------------------------------------------------------
FIVE = sorted(TOOL_CAPABLE | TOOL_LESS)


def _pick(client: Cosmara, group: str, **kwargs: Any) -> str:
    return _served(client.chat(model=group, messages=HI, **kwargs))


@pytest.mark.parametrize(
    ("strategy", "balance", "expected"),
    [
        ("cost", None, "groq/llama-3.1-8b-instant"),  # $0.05/$0.08 per M
        ("quality", None, "deepseek/deepseek-reasoner"),  # quality 88
        # Default 0.4 cost / 0.4 quality / 0.2 latency: deepseek-reasoner is nearly the
        # cheapest and the best.
        ("balanced", None, "deepseek/deepseek-reasoner"),
        ("balanced", {"cost": 1, "quality": 0, "latency": 0}, "groq/llama-3.1-8b-instant"),
        ("balanced", {"cost": 0, "quality": 1, "latency": 0}, "deepseek/deepseek-reasoner"),
    ],
)
def test_static_strategies_on_five_models(
    emulator: Emulator, strategy: str, balance: dict[str, float] | None, expected: str
) -> None:
    group: dict[str, Any] = {"models": FIVE, "strategy": strategy, "max_candidates": 5}
    if balance is not None:
        group["balance"] = balance
    with _client(emulator, groups={"g": group}) as client:
        response = client.chat(model="g", messages=HI)
    assert _served(response) == expected
    route = response.cosmara.route  # type: ignore[union-attr]
    assert route.strategy == strategy
    assert route.candidates[0] == expected
    assert sorted(route.candidates) == FIVE
    assert route.reason.startswith(f"group 'g': {expected}, ")


def test_cost_and_quality_orders_and_their_tie_breaks(emulator: Emulator) -> None:
    overrides = {
        # Same quality as gpt-4o: the cheaper one must win under "quality".
        "openai/gpt-4o-mini": {"quality": 80},
        # Same prices as gpt-4o-mini: the better one must win under "cost".
        "groq/llama-3.3-70b-versatile": {"input": 0.15, "output": 0.6, "quality": 74},
    }
    models = ["openai/gpt-4o", "openai/gpt-4o-mini", "groq/llama-3.3-70b-versatile"]
    groups = {
        "q": {"models": models, "strategy": "quality"},
        "c": {"models": models, "strategy": "cost"},
    }
    with _client(emulator, groups=groups, models=overrides) as client:
        quality = client.chat(model="q", messages=HI).cosmara.route.candidates  # type: ignore[union-attr]
        cost = client.chat(model="c", messages=HI).cosmara.route.candidates  # type: ignore[union-attr]
    assert quality == ("openai/gpt-4o-mini", "openai/gpt-4o", "groq/llama-3.3-70b-versatile")
    assert cost == ("openai/gpt-4o-mini", "groq/llama-3.3-70b-versatile", "openai/gpt-4o")


def test_max_candidates_trims_the_plan_before_the_calls_fallbacks(emulator: Emulator) -> None:
    group = {"models": FIVE, "strategy": "cost", "max_candidates": 2}
    with _client(emulator, groups={"g": group}) as client:
        route = client.chat(model="g", messages=HI, fallbacks=["openai/gpt-4.1-nano"]).cosmara.route  # type: ignore[union-attr]
    assert route.candidates == (
        "groq/llama-3.1-8b-instant",
        "deepseek/deepseek-reasoner",
        "openai/gpt-4.1-nano",
    )


def test_latency_follows_the_observed_latency(emulator: Emulator) -> None:
    models = ["openai/gpt-4o", "openai/gpt-4o-mini", "groq/llama-3.3-70b-versatile"]
    groups = {
        "fast": {"models": models, "strategy": "latency"},
        "speedy": {
            "models": models,
            "strategy": "balanced",
            "balance": {"cost": 0, "quality": 0, "latency": 1},
        },
    }
    emulator.add_fault(Fault(delay=0.15, match_model="gpt-4o"))
    with _client(emulator, groups=groups) as client:
        # Nothing measured yet: unmeasured targets go best first (and gpt-4o is slow).
        assert _pick(client, "fast") == "openai/gpt-4o"
        client.chat(model="openai/gpt-4o-mini", messages=HI)  # measured: fast
        route = client.chat(model="fast", messages=HI).cosmara.route  # type: ignore[union-attr]
        # Measured ones first, fastest first; the unmeasured one last.
        assert route.candidates == (
            "openai/gpt-4o-mini",
            "openai/gpt-4o",
            "groq/llama-3.3-70b-versatile",
        )
        assert _pick(client, "speedy") == "openai/gpt-4o-mini"
        health = client.health()
    assert health["openai/gpt-4o"].latency_ms > health["openai/gpt-4o-mini"].latency_ms  # type: ignore[operator]


@pytest.mark.usefixtures("seeded")
def test_weighted_never_draws_a_zero_weight_first(emulator: Emulator) -> None:
    weights = {"openai/gpt-4o-mini": 1, "openai/gpt-4o": 0, "groq/llama-3.3-70b-versatile": 3}
    group = {"models": list(weights), "strategy": "weighted", "weights": weights}
    with _client(emulator, groups={"split": group}) as client:
        routes = [
            client.chat(model="split", messages=HI).cosmara.route.candidates  # type: ignore[union-attr]
            for _ in range(40)
        ]
    assert {route[0] for route in routes} == {
        "openai/gpt-4o-mini",
        "groq/llama-3.3-70b-versatile",
    }
    # After the draw, the rest follow by weight: the zero-weight model always comes last.
    assert all(route[-1] == "openai/gpt-4o" for route in routes)


def test_sticky_follows_the_conversation_over_the_user(emulator: Emulator) -> None:
    with _client(emulator, groups={"chat": {"models": FIVE, "strategy": "sticky"}}) as client:
        for conversation in ("c-1", "c-2", "c-3"):
            picks = {
                _pick(client, "chat", user=user, metadata={"conversation_id": conversation})
                for user in ("ana", "bo", "cy", "dee")
            }
            assert len(picks) == 1  # one conversation, one target, whoever asks
        spread = {_pick(client, "chat", metadata={"conversation_id": f"c-{i}"}) for i in range(40)}
    assert len(spread) >= 3  # conversations spread over the group


# --- groups and the catalog ------------------------------------------------------------------
def test_a_group_of_uncatalogued_models_serves_plain_requests(emulator: Emulator) -> None:
    group = {"models": ["openai/ft-gpt-4o-mini-acme", "groq/my-local-llama"], "strategy": "cost"}
    with _client(emulator, groups={"own": group}) as client:
        response = client.chat(model="own", messages=HI)
    assert _served(response) in group["models"]
