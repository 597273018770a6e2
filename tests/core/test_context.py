"""RequestContext: who a request is for, and the labels it carries."""

from __future__ import annotations

import pickle

import pytest
from pydantic import ValidationError

from cosmara import RequestContext, RequestValidationError


@pytest.fixture
def base() -> RequestContext:
    return RequestContext.build(
        org="acme",
        team="search",
        user="u-1",
        tags={"env": "prod", "feature": "faq"},
        metadata={"trace": "t-1", "shard": 3},
    )


def test_defaults() -> None:
    context = RequestContext()
    assert (context.org, context.team, context.user) == (None, None, None)
    assert context.tags == {}
    assert context.metadata == {}
    assert RequestContext.build() == context


def test_build_without_base() -> None:
    context = RequestContext.build(org="acme", user="u-9", tags={"a": "1"}, metadata={"k": [1]})
    assert context.org == "acme"
    assert context.team is None
    assert context.user == "u-9"
    assert context.tags == {"a": "1"}
    assert context.metadata == {"k": [1]}


def test_tags_list_becomes_dict_with_empty_values() -> None:
    assert RequestContext.build(tags=["beta", "faq"]).tags == {"beta": "", "faq": ""}
    assert RequestContext.build(tags=("x",)).tags == {"x": ""}
    assert RequestContext.build(tags=[]).tags == {}


def test_tags_list_over_base_merges(base: RequestContext) -> None:
    merged = RequestContext.build(tags=["beta"], base=base)
    assert merged.tags == {"env": "prod", "feature": "faq", "beta": ""}


def test_build_with_nothing_copies_base(base: RequestContext) -> None:
    assert RequestContext.build(base=base) == base


def test_per_call_values_override_base(base: RequestContext) -> None:
    merged = RequestContext.build(
        user="u-2",
        tags={"feature": "chat", "ab": "b"},
        metadata={"shard": 4, "extra": True},
        base=base,
    )
    assert merged.org == "acme"  # from base
    assert merged.team == "search"  # from base
    assert merged.user == "u-2"  # per call wins
    assert merged.tags == {"env": "prod", "feature": "chat", "ab": "b"}
    assert merged.metadata == {"trace": "t-1", "shard": 4, "extra": True}


def test_empty_string_overrides_base(base: RequestContext) -> None:
    # Only None means "not given"; an empty string is a value.
    assert RequestContext.build(team="", base=base).team == ""


def test_build_does_not_mutate_base(base: RequestContext) -> None:
    RequestContext.build(tags={"new": "1"}, metadata={"new": 1}, base=base)
    assert base.tags == {"env": "prod", "feature": "faq"}
    assert base.metadata == {"trace": "t-1", "shard": 3}


def test_build_copies_caller_mappings() -> None:
    tags = {"a": "1"}
    metadata = {"m": 1}
    context = RequestContext.build(tags=tags, metadata=metadata)
    tags["b"] = "2"
    metadata["n"] = 2
    assert context.tags == {"a": "1"}
    assert context.metadata == {"m": 1}


def test_frozen(base: RequestContext) -> None:
    with pytest.raises(ValidationError, match="frozen"):
        base.user = "someone-else"  # type: ignore[misc]
    assert base.user == "u-1"


def test_equality_ignores_mapping_order(base: RequestContext) -> None:
    same = RequestContext.build(
        org="acme",
        team="search",
        user="u-1",
        tags={"feature": "faq", "env": "prod"},
        metadata={"shard": 3, "trace": "t-1"},
    )
    assert same == base


def test_unknown_field_is_rejected() -> None:
    with pytest.raises(ValidationError, match="project"):
        RequestContext(project="x")  # type: ignore[call-arg]


def test_tag_values_must_be_strings() -> None:
    with pytest.raises(RequestValidationError, match="tags"):
        RequestContext.build(tags={"n": 1})  # type: ignore[dict-item]


def test_pickle_round_trip(base: RequestContext) -> None:
    assert pickle.loads(pickle.dumps(base)) == base


def test_single_string_tag_is_not_split_into_characters() -> None:
    assert RequestContext.build(tags="faq").tags == {"faq": ""}
