"""The model catalog: the shipped models.json, lookups, overrides, and LiteLLM price import."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import cosmara
from cosmara import Catalog, ConfigurationError, Cosmara, ModelInfo, load_litellm_prices

# --- the builtin catalog -------------------------------------------------------------------


@pytest.fixture
def catalog() -> Catalog:
    return Catalog.builtin()


def test_builtin_has_more_than_fifty_models(catalog: Catalog) -> None:
    assert len(catalog) > 50
    assert len(list(catalog)) == len(catalog)
    ids = [info.id for info in catalog]
    assert len(ids) == len(set(ids))


def test_builtin_entries_are_well_formed(catalog: Catalog) -> None:
    for info in catalog:
        assert info.provider, info
        assert info.model, info
        assert info.input >= 0, info.id
        assert info.output >= 0, info.id
        if info.mode == "embedding":
            assert info.supports("embeddings"), info.id
        else:
            assert info.max_output_tokens is not None, info.id


def test_get_by_id(catalog: Catalog) -> None:
    info = catalog.get("openai/gpt-4o")
    assert info is not None
    assert (info.provider, info.model, info.id) == ("openai", "gpt-4o", "openai/gpt-4o")
    assert info.mode == "chat"
    assert info.input == 2.5
    assert info.cached_input == 1.25
    assert info.output == 10.0
    assert info.max_output_tokens == 16384
    assert info.supports("tools")
    assert info.supports("vision")
    assert not info.supports("embeddings")
    assert "openai/gpt-4o" in catalog


def test_get_unknown_is_none(catalog: Catalog) -> None:
    assert catalog.get("openai/gpt-99") is None
    assert "openai/gpt-99" not in catalog
    assert catalog.get("gpt-4o") is None  # get wants provider/model


def test_dated_alias_resolves_to_the_main_entry(catalog: Catalog) -> None:
    main = catalog.get("openai/gpt-4o")
    assert catalog.get("openai/gpt-4o-2024-08-06") is main
    assert catalog.get("openai/gpt-4o-2024-11-20") is main
    assert "openai/gpt-4o-2024-08-06" in catalog


def test_alias_entries_are_not_counted_twice(catalog: Catalog) -> None:
    assert sum(1 for info in catalog if info.id == "openai/gpt-4o") == 1


def test_find_by_bare_name(catalog: Catalog) -> None:
    offers = catalog.find("gpt-4o")
    assert [info.id for info in offers] == ["openai/gpt-4o", "azure/gpt-4o"]


def test_find_by_dated_alias(catalog: Catalog) -> None:
    assert {info.id for info in catalog.find("claude-3-5-haiku-20241022")} == {
        "anthropic/claude-3-5-haiku-latest"
    }


def test_find_model_with_slash_in_its_name(catalog: Catalog) -> None:
    info = catalog.get("groq/openai/gpt-oss-120b")
    assert info is not None
    assert (info.provider, info.model) == ("groq", "openai/gpt-oss-120b")
    assert catalog.find("openai/gpt-oss-120b") == [info]


def test_find_unknown_is_empty(catalog: Catalog) -> None:
    assert catalog.find("no-such-model") == []


def test_embedding_model_entry(catalog: Catalog) -> None:
    info = catalog.get("openai/text-embedding-3-small")
    assert info is not None
    assert info.mode == "embedding"
    assert info.input == 0.02
    assert info.output == 0.0
    assert info.supports("embeddings")


def test_model_info_is_frozen(catalog: Catalog) -> None:
    info = catalog.get("openai/gpt-4o")
    assert info is not None
    with pytest.raises(Exception, match="frozen"):
        info.input = 0.0  # type: ignore[misc]


# --- overrides -----------------------------------------------------------------------------


def test_override_changes_a_price_and_keeps_the_rest(catalog: Catalog) -> None:
    catalog.override("openai/gpt-4o", {"input": 3.0, "quality": 50})
    info = catalog.get("openai/gpt-4o")
    assert info is not None
    assert info.input == 3.0
    assert info.quality == 50
    assert info.output == 10.0
    assert info.cached_input == 1.25
    assert info.context_window == 128000
    assert [i.input for i in catalog.find("gpt-4o") if i.provider == "openai"] == [3.0]
    assert sum(1 for i in catalog if i.id == "openai/gpt-4o") == 1


def test_override_is_seen_through_dated_alias(catalog: Catalog) -> None:
    catalog.override("openai/gpt-4o", {"input": 3.0})
    alias = catalog.get("openai/gpt-4o-2024-08-06")
    assert alias is not None
    assert alias.input == 3.0


def test_override_adds_a_new_model(catalog: Catalog) -> None:
    before = len(catalog)
    catalog.override(
        "openai/my-finetune",
        {"input": 0.5, "output": 1.5, "context_window": 8192, "capabilities": ["tools"]},
    )
    info = catalog.get("openai/my-finetune")
    assert info is not None
    assert (info.input, info.output, info.context_window) == (0.5, 1.5, 8192)
    assert info.capabilities == frozenset({"tools"})
    assert len(catalog) == before + 1
    assert catalog.find("my-finetune") == [info]


@pytest.mark.parametrize("key", ["gpt-4o", "openai/", "/gpt-4o", ""])
def test_override_with_bad_key_raises_configuration_error(catalog: Catalog, key: str) -> None:
    with pytest.raises(ConfigurationError, match="must be 'provider/model'"):
        catalog.override(key, {"input": 1.0})


def test_override_with_invalid_price_fails(catalog: Catalog) -> None:
    with pytest.raises(cosmara.ConfigurationError, match="input"):
        catalog.override("openai/gpt-4o", {"input": -1})


def test_override_with_a_misspelt_field_fails(catalog: Catalog) -> None:
    # Silently ignoring "input_cost" would leave the model priced at the old rate.
    with pytest.raises(cosmara.ConfigurationError, match=r"unknown field.*input_cost"):
        catalog.override("openai/gpt-4o", {"input_cost": 1.0})


def test_from_json_shipped_format() -> None:
    catalog = Catalog.from_json(
        {"models": {"acme/rocket-1": {"input": 1, "output": 2, "aliases": ["rocket-1-2025-01-01"]}}}
    )
    info = catalog.get("acme/rocket-1")
    assert info is not None
    assert catalog.get("acme/rocket-1-2025-01-01") is info
    assert len(catalog) == 1


def test_engine_applies_config_overrides() -> None:
    config = {"models": {"openai/gpt-4o": {"input": 4.0}, "openai/custom": {"input": 1.0}}}
    with Cosmara(config, load_entry_points=False) as client:
        gpt4o = client.catalog.get("openai/gpt-4o")
        custom = client.catalog.get("openai/custom")
    assert gpt4o is not None
    assert gpt4o.input == 4.0
    assert custom is not None
    assert custom.input == 1.0


def test_engine_bad_override_key_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="'gpt-4o'"):
        Cosmara({"models": {"gpt-4o": {"input": 1.0}}}, load_entry_points=False)


# --- LiteLLM import ------------------------------------------------------------------------

# A small excerpt in the real format of LiteLLM's model_prices_and_context_window.json.
LITELLM: dict[str, Any] = {
    "sample_spec": {
        "input_cost_per_token": 0.0,
        "litellm_provider": "one of https://docs.litellm.ai/docs/providers",
        "max_input_tokens": "max input tokens, if the provider specifies it",
        "max_output_tokens": "max output tokens, if the provider specifies it",
        "max_tokens": "LEGACY parameter",
        "mode": "one of: chat, embedding, completion, image_generation, ...",
        "output_cost_per_token": 0.0,
        "supports_function_calling": True,
    },
    "gpt-4o": {
        "cache_read_input_token_cost": 1.25e-06,
        "input_cost_per_token": 2.5e-06,
        "litellm_provider": "openai",
        "max_input_tokens": 128000,
        "max_output_tokens": 16384,
        "max_tokens": 16384,
        "mode": "chat",
        "output_cost_per_token": 1e-05,
        "supports_function_calling": True,
        "supports_parallel_function_calling": True,
        "supports_prompt_caching": True,
        "supports_response_schema": True,
        "supports_system_messages": True,
        "supports_vision": True,
    },
    "anthropic/claude-3-5-haiku-20241022": {
        "cache_creation_input_token_cost": 1e-06,
        "cache_read_input_token_cost": 8e-08,
        "input_cost_per_token": 8e-07,
        "litellm_provider": "anthropic",
        "max_input_tokens": 200000,
        "max_output_tokens": 8192,
        "max_tokens": 8192,
        "mode": "chat",
        "output_cost_per_token": 4e-06,
        "supports_function_calling": True,
        "supports_prompt_caching": True,
    },
    "o3-mini": {
        "input_cost_per_token": 1.1e-06,
        "litellm_provider": "openai",
        "max_input_tokens": 200000,
        "max_output_tokens": 100000,
        "mode": "chat",
        "output_cost_per_token": 4.4e-06,
        "output_cost_per_reasoning_token": 8.8e-06,
        "supports_reasoning": True,
    },
    "together_ai/meta-llama/Llama-3.3-70B-Instruct-Turbo": {
        "input_cost_per_token": 8.8e-07,
        "litellm_provider": "together_ai",
        "max_tokens": 131072,
        "mode": "chat",
        "output_cost_per_token": 8.8e-07,
        "supports_function_calling": True,
    },
    "command-r-plus-08-2024": {
        "input_cost_per_token": 2.5e-06,
        "litellm_provider": "cohere_chat",
        "max_input_tokens": 128000,
        "max_output_tokens": 4096,
        "mode": "chat",
        "output_cost_per_token": 1e-05,
    },
    "text-embedding-3-small": {
        "input_cost_per_token": 2e-08,
        "litellm_provider": "openai",
        "max_input_tokens": 8191,
        "max_tokens": 8191,
        "mode": "embedding",
        "output_cost_per_token": 0.0,
        "output_vector_size": 1536,
    },
    "gemini-1.5-pro": {  # Vertex AI: a provider Cosmara does not ship
        "input_cost_per_token": 1.25e-06,
        "litellm_provider": "vertex_ai-language-models",
        "max_input_tokens": 2097152,
        "mode": "chat",
        "output_cost_per_token": 5e-06,
    },
    "1024-x-1024/dall-e-2": {
        "input_cost_per_pixel": 1.9e-08,
        "litellm_provider": "openai",
        "mode": "image_generation",
        "output_cost_per_pixel": 0.0,
    },
    "gpt-3.5-turbo-instruct": {
        "input_cost_per_token": 1.5e-06,
        "litellm_provider": "text-completion-openai",
        "max_tokens": 4096,
        "mode": "completion",
        "output_cost_per_token": 2e-06,
    },
}


def by_id(infos: list[ModelInfo]) -> dict[str, ModelInfo]:
    return {info.id: info for info in infos}


def test_litellm_per_token_prices_become_per_million() -> None:
    info = by_id(load_litellm_prices(LITELLM))["openai/gpt-4o"]
    assert info.input == 2.5  # 2.5e-06 * 1e6
    assert info.cached_input == 1.25  # 1.25e-06 * 1e6
    assert info.output == 10.0  # 1e-05 * 1e6
    assert info.cache_write is None
    assert info.reasoning is None
    assert info.context_window == 128000
    assert info.max_output_tokens == 16384


def test_litellm_cache_write_and_prefix_stripping() -> None:
    info = by_id(load_litellm_prices(LITELLM))["anthropic/claude-3-5-haiku-20241022"]
    assert info.model == "claude-3-5-haiku-20241022"
    assert info.input == 0.8
    assert info.cached_input == 0.08
    assert info.cache_write == 1.0
    assert info.output == 4.0


def test_litellm_reasoning_price() -> None:
    info = by_id(load_litellm_prices(LITELLM))["openai/o3-mini"]
    assert info.reasoning == 8.8
    assert info.supports("reasoning")


@pytest.mark.parametrize(
    ("key", "cosmara_provider"),
    [
        ("together_ai/meta-llama/Llama-3.3-70B-Instruct-Turbo", "together"),
        ("command-r-plus-08-2024", "cohere"),
        ("anthropic/claude-3-5-haiku-20241022", "anthropic"),
        ("gpt-4o", "openai"),
    ],
)
def test_litellm_provider_mapping(key: str, cosmara_provider: str) -> None:
    (info,) = load_litellm_prices({key: LITELLM[key]})
    assert info.provider == cosmara_provider


def test_litellm_cohere_chat_entry() -> None:
    info = by_id(load_litellm_prices(LITELLM))["cohere/command-r-plus-08-2024"]
    assert (info.input, info.output) == (2.5, 10.0)
    assert info.context_window == 128000
    assert info.max_output_tokens == 4096


def test_litellm_together_entry_maps_to_together() -> None:
    together = [info for info in load_litellm_prices(LITELLM) if info.provider == "together"]
    assert len(together) == 1
    assert together[0].input == 0.88
    assert together[0].context_window == 131072  # max_tokens when max_input_tokens is absent


def test_litellm_together_key_prefix_is_stripped() -> None:
    infos = by_id(load_litellm_prices(LITELLM))
    assert "together/meta-llama/Llama-3.3-70B-Instruct-Turbo" in infos


def test_litellm_capabilities_from_supports_flags() -> None:
    infos = by_id(load_litellm_prices(LITELLM))
    assert infos["openai/gpt-4o"].capabilities == frozenset(
        {
            "tools",
            "parallel_tools",
            "vision",
            "json_schema",
            "json_mode",
            "prompt_caching",
            "streaming",
        }
    )
    assert infos["anthropic/claude-3-5-haiku-20241022"].capabilities == frozenset(
        {"tools", "prompt_caching", "streaming"}
    )
    assert infos["cohere/command-r-plus-08-2024"].capabilities == frozenset({"streaming"})


def test_litellm_embedding_entry() -> None:
    info = by_id(load_litellm_prices(LITELLM))["openai/text-embedding-3-small"]
    assert info.mode == "embedding"
    assert info.input == 0.02
    assert info.capabilities == frozenset({"embeddings"})
    assert info.max_output_tokens is None
    assert info.context_window == 8191


def test_litellm_skipped_entries() -> None:
    infos = load_litellm_prices(LITELLM)
    # 10 entries: sample_spec, an unsupported provider, image_generation and completion skipped.
    assert len(infos) == 6
    assert sorted(info.provider for info in infos) == [
        "anthropic",
        "cohere",
        "openai",
        "openai",
        "openai",
        "together",
    ]
    models = {info.model for info in load_litellm_prices(LITELLM)}
    assert "sample_spec" not in models  # skipped by name
    assert "gemini-1.5-pro" not in models  # unsupported provider
    assert "1024-x-1024/dall-e-2" not in models  # image_generation mode
    assert "gpt-3.5-turbo-instruct" not in models  # completion mode


def test_litellm_non_mapping_entries_are_skipped() -> None:
    assert load_litellm_prices({"weird": "not an object", "list": [1, 2]}) == []


def test_litellm_missing_prices_default_to_zero() -> None:
    (info,) = load_litellm_prices({"gpt-x": {"litellm_provider": "openai", "mode": "chat"}})
    assert (info.input, info.output) == (0.0, 0.0)
    assert info.cached_input is None


def test_litellm_mode_defaults_to_chat() -> None:
    (info,) = load_litellm_prices({"gpt-y": {"litellm_provider": "openai"}})
    assert info.mode == "chat"
    assert info.supports("streaming")


@pytest.mark.parametrize("as_str", [False, True])
def test_litellm_from_json_file_path(tmp_path: Path, as_str: bool) -> None:
    path = tmp_path / "model_prices_and_context_window.json"
    path.write_text(json.dumps(LITELLM), encoding="utf-8")
    infos = load_litellm_prices(str(path) if as_str else path)
    assert by_id(infos) == by_id(load_litellm_prices(LITELLM))
    assert by_id(infos)["openai/gpt-4o"].input == 2.5


def test_litellm_prices_feed_the_engine_catalog(tmp_path: Path) -> None:
    path = tmp_path / "prices.json"
    path.write_text(
        json.dumps(
            {
                "gpt-4o": {**LITELLM["gpt-4o"], "input_cost_per_token": 5e-06},
                "gpt-new": {
                    "litellm_provider": "openai",
                    "mode": "chat",
                    "input_cost_per_token": 1e-06,
                    "output_cost_per_token": 2e-06,
                },
            }
        ),
        encoding="utf-8",
    )
    config = {"litellm_prices": str(path), "models": {"openai/gpt-new": {"output": 3.0}}}
    with Cosmara(config, load_entry_points=False) as client:
        gpt4o = client.catalog.get("openai/gpt-4o")
        new = client.catalog.get("openai/gpt-new")
    assert gpt4o is not None
    assert gpt4o.input == 5.0
    assert new is not None
    assert (new.input, new.output) == (1.0, 3.0)
