"""Scopes: an entry is shared only by the requests of its scope (global, org, team, user),
never across; clearing a scope clears it and the scopes within it, never a sibling."""

from __future__ import annotations

import itertools

import pytest

from cosmara import RequestValidationError
from cosmara.cache import scope_key
from cosmara.testing import Emulator
from tests.core.cache.conftest import Make, ask

ORGS = ["acme", "acme2", None]
TEAMS = ["support", "sales", None]
USERS = ["ana", "bob", None]
CONTEXTS = list(itertools.product(ORGS, TEAMS, USERS))


def _sharing(scope: str, org: str | None, team: str | None, user: str | None) -> tuple:
    """Who may share an entry at ``scope``: the context down to that level."""
    levels = {"global": 0, "org": 1, "team": 2, "user": 3}[scope]
    return (org, team, user)[:levels]


def test_zero_cross_scope_hits(make: Make, emulator: Emulator) -> None:
    namespaces = {scope: {"scope": scope} for scope in ("global", "org", "team", "user")}
    client = make(namespaces, org=None)
    wrong_hits = missed_hits = 0
    for scope in namespaces:
        writers: dict[tuple, str] = {}  # the first context of each sharing group wrote its entry
        for org, team, user in CONTEXTS:
            who = f"{scope}:{org}/{team}/{user}"
            emulator.reply(f"answer for {who}")  # used only if the call reaches the provider
            group = _sharing(scope, org, team, user)
            resp = ask(
                client, "Same question", cache_namespace=scope, org=org, team=team, user=user
            )
            emulator.reset()  # drops the scripted reply a hit left unused
            if group in writers:
                if resp.cosmara.cache != "hit":
                    missed_hits += 1
                elif resp.text != f"answer for {writers[group]}":
                    wrong_hits += 1  # a hit, but from another group's entry
            else:
                writers[group] = who
                if resp.cosmara.cache == "hit":
                    wrong_hits += 1
    assert wrong_hits == 0
    assert missed_hits == 0
    assert client.cache is not None
    counts = {name: client.cache.namespace(name).count() for name in namespaces}
    assert counts == {"global": 1, "org": 3, "team": 9, "user": 27}


def test_the_default_scope_is_the_org(make_memory: Make, emulator: Emulator) -> None:
    client = make_memory(org=None)
    ask(client, org="acme", team="support", user="ana")
    assert ask(client, org="acme", team="sales", user="bob").cosmara.cache == "hit"
    assert ask(client, org="acme2", team="support", user="ana").cosmara.cache == "miss"
    assert ask(client).cosmara.cache == "miss"  # no org at all is a scope of its own
    assert emulator.request_count == 3


def _fill(make: Make) -> tuple:
    namespaces = {scope: {"scope": scope} for scope in ("global", "org", "team", "user")}
    client = make(namespaces, org=None)
    for (org, team, user), scope in itertools.product(
        [("acme", "support", "ana"), ("acme", "sales", "bob"), ("acme2", "support", "ana")],
        namespaces,
    ):
        ask(client, cache_namespace=scope, org=org, team=team, user=user)
    assert client.cache is not None
    return client, client.cache


def _counts(cache: object) -> dict[str, int]:
    return {name: cache.namespace(name).count() for name in ("global", "org", "team", "user")}  # type: ignore[attr-defined]


def test_clearing_an_org_clears_its_teams_and_users_never_a_sibling(make: Make) -> None:
    _client, cache = _fill(make)
    assert _counts(cache) == {"global": 1, "org": 2, "team": 3, "user": 3}
    dropped = cache.clear(scope="org:acme")
    # org:acme (1), its teams (2) and users (2); not org:acme2's 3 entries, nor the global one.
    assert dropped == 5
    assert _counts(cache) == {"global": 1, "org": 1, "team": 1, "user": 1}


def test_clearing_a_team_leaves_the_org_and_other_teams(make: Make) -> None:
    _client, cache = _fill(make)
    assert cache.clear(scope="org:acme/team:support") == 2  # the team's and ana's
    assert _counts(cache) == {"global": 1, "org": 2, "team": 2, "user": 2}
    assert cache.clear("user", scope="org:acme/team:sales/user:bob") == 1
    assert _counts(cache) == {"global": 1, "org": 2, "team": 2, "user": 1}


def test_clearing_one_namespace_or_all(make: Make) -> None:
    _client, cache = _fill(make)
    assert cache.clear("team") == 3
    assert _counts(cache) == {"global": 1, "org": 2, "team": 0, "user": 3}
    assert cache.clear() == 6
    assert sum(_counts(cache).values()) == 0


def test_a_cleared_scope_misses_then_stores_again(make_memory: Make, emulator: Emulator) -> None:
    client = make_memory()
    ask(client, org="acme")
    ask(client, org="acme2")
    assert client.cache is not None
    client.cache.clear(scope="org:acme")
    assert ask(client, org="acme").cosmara.cache == "miss"
    assert ask(client, org="acme2").cosmara.cache == "hit"
    assert ask(client, org="acme").cosmara.cache == "hit"
    assert emulator.request_count == 3


def test_clearing_the_global_scope_clears_every_scope(make: Make) -> None:
    _client, cache = _fill(make)
    assert cache.clear(scope="global") == 9
    assert sum(_counts(cache).values()) == 0


def test_a_written_scope_is_quoted_as_keys_are() -> None:
    assert scope_key("org:acme") == "org:acme"
    assert scope_key("org:a b/team:x:y") == "org:a%20b/team:x%3Ay"
    assert scope_key("global") == "*"


@pytest.mark.parametrize(
    "scope",
    [
        "org:acme/",
        "acme",
        "team:support",
        "org:acme/user:ana",
        "org:",
        "org:a/team:b/user:c/x:d",
        5,
    ],
)
def test_a_malformed_scope_is_refused(make_memory: Make, scope: object) -> None:
    client = make_memory()
    assert client.cache is not None
    with pytest.raises(RequestValidationError, match="scope"):
        client.cache.clear(scope=scope)  # type: ignore[arg-type]
