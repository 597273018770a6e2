"""Secrets at the configuration level: API keys never show in reprs, dumps or pickles."""

from __future__ import annotations

import pickle

import pytest

from cosmara import Cosmara, CosmaraConfig, ProviderSettings, Secret

LITERAL = "sk-literal-123"
AD_TOKEN = "ad-token-literal-456"
MASK = "**********"


@pytest.fixture
def literal_config() -> CosmaraConfig:
    return CosmaraConfig.load(
        {"providers": {"openai": {"api_key": LITERAL, "base_url": "http://127.0.0.1:9/v1"}}}
    )


@pytest.fixture
def reference_config() -> CosmaraConfig:
    return CosmaraConfig.load({"providers": {"openai": {"api_key": "${MY_KEY}"}}})


# --- a literal key never shows -------------------------------------------------------------


def test_literal_key_is_a_secret_holding_the_value(literal_config: CosmaraConfig) -> None:
    secret = literal_config.providers["openai"].api_key
    assert isinstance(secret, Secret)
    assert secret.get() == LITERAL
    assert secret.env is None
    assert secret


def test_literal_key_not_in_repr_or_str(literal_config: CosmaraConfig) -> None:
    assert LITERAL not in repr(literal_config)
    assert LITERAL not in str(literal_config)
    assert MASK in repr(literal_config)


def test_literal_key_not_in_model_dump(literal_config: CosmaraConfig) -> None:
    dumped = literal_config.model_dump()
    assert LITERAL not in str(dumped)
    assert dumped["providers"]["openai"]["api_key"] == MASK


def test_literal_key_not_in_model_dump_json(literal_config: CosmaraConfig) -> None:
    text = literal_config.model_dump_json()
    assert LITERAL not in text
    assert f'"api_key":"{MASK}"' in text


def test_literal_key_not_in_provider_settings_repr(literal_config: CosmaraConfig) -> None:
    settings = literal_config.providers["openai"]
    assert LITERAL not in repr(settings)
    assert LITERAL not in str(settings)
    direct = ProviderSettings(api_key=LITERAL)  # type: ignore[arg-type]
    assert LITERAL not in repr(direct)
    assert direct.api_key is not None
    assert direct.api_key.get() == LITERAL


def test_literal_key_not_in_pickle(literal_config: CosmaraConfig) -> None:
    data = pickle.dumps(literal_config)
    assert LITERAL.encode() not in data
    restored = pickle.loads(data)
    secret = restored.providers["openai"].api_key
    assert isinstance(secret, Secret)
    assert secret.get() is None  # a literal is dropped, not carried
    assert restored.providers["openai"].base_url == "http://127.0.0.1:9/v1"


def test_literal_key_not_in_engine_repr_or_pickle() -> None:
    client = Cosmara({}, load_entry_points=False, providers={"openai": {"api_key": LITERAL}})
    try:
        assert LITERAL not in repr(client)
        assert LITERAL not in repr(client.config)
        assert LITERAL.encode() not in pickle.dumps(client)
    finally:
        client.close()


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_unpickled_literal_secret_has_no_value(protocol: int) -> None:
    data = pickle.dumps(Secret(LITERAL), protocol=protocol)
    assert LITERAL.encode() not in data
    restored = pickle.loads(data)
    assert restored.get() is None
    assert restored.env is None
    assert not restored


# --- an env reference stays a reference ----------------------------------------------------


def test_reference_stays_a_reference(reference_config: CosmaraConfig) -> None:
    secret = reference_config.providers["openai"].api_key
    assert secret == Secret(env="MY_KEY")
    assert repr(secret) == "Secret(env='MY_KEY')"


def test_reference_dumps_as_the_reference(
    reference_config: CosmaraConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MY_KEY", "sk-from-env-789")
    assert reference_config.model_dump()["providers"]["openai"]["api_key"] == "${MY_KEY}"
    text = reference_config.model_dump_json()
    assert '"api_key":"${MY_KEY}"' in text
    assert "sk-from-env-789" not in text
    assert "sk-from-env-789" not in repr(reference_config)


def test_reference_resolves_at_get_time(
    reference_config: CosmaraConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = reference_config.providers["openai"].api_key
    assert secret is not None
    monkeypatch.delenv("MY_KEY", raising=False)
    assert secret.get() is None
    assert not secret
    monkeypatch.setenv("MY_KEY", "sk-first")
    assert secret.get() == "sk-first"
    monkeypatch.setenv("MY_KEY", "sk-rotated")
    assert secret.get() == "sk-rotated"


def test_reference_survives_pickling(
    reference_config: CosmaraConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MY_KEY", "sk-from-env-789")
    data = pickle.dumps(reference_config)
    assert b"sk-from-env-789" not in data
    restored = pickle.loads(data)
    secret = restored.providers["openai"].api_key
    assert secret == Secret(env="MY_KEY")
    assert secret.get() == "sk-from-env-789"


def test_dumped_reference_reloads_as_a_reference(reference_config: CosmaraConfig) -> None:
    again = CosmaraConfig.load(reference_config.model_dump())
    assert again.providers["openai"].api_key == Secret(env="MY_KEY")


def test_reference_with_default_is_resolved_at_load(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MY_KEY", raising=False)
    config = CosmaraConfig.load({"providers": {"openai": {"api_key": "${MY_KEY:-sk-default}"}}})
    secret = config.providers["openai"].api_key
    assert secret is not None
    assert secret.get() == "sk-default"
    assert secret.env is None  # a literal now, so it is masked and not pickled
    assert "sk-default" not in repr(config)
    assert b"sk-default" not in pickle.dumps(config)


def test_embedded_reference_is_substituted_into_a_literal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MY_KEY", "abc")
    config = CosmaraConfig.load({"providers": {"openai": {"api_key": "sk-${MY_KEY}-x"}}})
    secret = config.providers["openai"].api_key
    assert secret is not None
    assert secret.get() == "sk-abc-x"
    assert "sk-abc-x" not in config.model_dump_json()


# --- other secret-looking keys -------------------------------------------------------------


@pytest.fixture
def azure_config() -> CosmaraConfig:
    return CosmaraConfig.load(
        {
            "providers": {
                "azure": {
                    "api_key": LITERAL,
                    "azure_ad_token": AD_TOKEN,
                    "api_version": "2024-10-21",
                }
            }
        }
    )


def test_azure_ad_token_extra_becomes_a_secret(azure_config: CosmaraConfig) -> None:
    extra = azure_config.providers["azure"].model_extra
    assert extra is not None
    token = extra["azure_ad_token"]
    assert isinstance(token, Secret)
    assert token.get() == AD_TOKEN
    assert extra["api_version"] == "2024-10-21"  # not secret-looking: stays a plain string


def test_azure_ad_token_not_in_repr_dump_or_pickle(azure_config: CosmaraConfig) -> None:
    assert AD_TOKEN not in repr(azure_config)
    assert AD_TOKEN not in repr(azure_config.providers["azure"])
    assert AD_TOKEN not in str(azure_config.model_dump())
    data = pickle.dumps(azure_config)
    assert AD_TOKEN.encode() not in data
    assert LITERAL.encode() not in data
    restored = pickle.loads(data)
    assert restored.providers["azure"].model_extra["azure_ad_token"].get() is None


def test_azure_ad_token_not_in_model_dump_json(azure_config: CosmaraConfig) -> None:
    text = azure_config.model_dump_json()
    assert AD_TOKEN not in text
    assert LITERAL not in text
    assert f'"azure_ad_token":"{MASK}"' in text
    assert azure_config.model_dump()["providers"]["azure"]["azure_ad_token"] == MASK


def test_azure_ad_token_reference(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZ_TOKEN", AD_TOKEN)
    config = CosmaraConfig.load({"providers": {"azure": {"azure_ad_token": "${AZ_TOKEN}"}}})
    token = config.providers["azure"].model_extra["azure_ad_token"]  # type: ignore[index]
    assert token == Secret(env="AZ_TOKEN")
    assert token.get() == AD_TOKEN
    assert config.model_dump()["providers"]["azure"]["azure_ad_token"] == "${AZ_TOKEN}"
    assert AD_TOKEN not in config.model_dump_json()
    assert AD_TOKEN.encode() not in pickle.dumps(config)


@pytest.mark.parametrize(
    "key",
    ["api_key", "azure_ad_token", "aws_secret", "db_password", "key", "token", "client_secret"],
)
def test_secret_looking_keys_become_secrets(key: str) -> None:
    config = CosmaraConfig.load({"providers": {"custom": {key: "hunter2-literal"}}})
    value = getattr(config.providers["custom"], key)
    assert isinstance(value, Secret)
    assert value.get() == "hunter2-literal"
    assert "hunter2-literal" not in repr(config)


@pytest.mark.parametrize("key", ["organization", "keyring", "max_tokens", "tokenizer", "monkey"])
def test_other_keys_stay_plain(key: str) -> None:
    config = CosmaraConfig.load({"providers": {"custom": {key: "plain"}}})
    assert getattr(config.providers["custom"], key) == "plain"


def test_directly_built_provider_settings_mask_secret_extras() -> None:
    settings = ProviderSettings(api_key=LITERAL, azure_ad_token=AD_TOKEN)  # type: ignore[arg-type]
    assert AD_TOKEN not in repr(settings)


# --- Secret itself ---------------------------------------------------------------------------


def test_secret_repr_and_str_are_masked() -> None:
    secret = Secret(LITERAL)
    assert repr(secret) == f"Secret({MASK!r})"
    assert str(secret) == repr(secret)
    assert f"{secret}" == repr(secret)
    assert LITERAL not in f"{[secret]}"


def test_secret_coerce() -> None:
    assert Secret.coerce("${OPENAI_API_KEY}") == Secret(env="OPENAI_API_KEY")
    assert Secret.coerce("plain") == Secret("plain")
    assert Secret.coerce("${NOT A NAME}") == Secret("${NOT A NAME}")
    existing = Secret("x")
    assert Secret.coerce(existing) is existing
    with pytest.raises(ValueError, match="must be a string"):
        Secret.coerce(123)


def test_secret_equality_and_hash() -> None:
    assert Secret("a") == Secret("a")
    assert Secret("a") != Secret("b")
    assert Secret("a") != "a"
    assert hash(Secret(env="X")) == hash(Secret(env="X"))
    assert len({Secret("a"), Secret("a"), Secret(env="A")}) == 2


def test_empty_secret_is_falsy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMPTY_KEY", "")
    assert not Secret("")
    assert not Secret(env="EMPTY_KEY")
    assert not Secret()
