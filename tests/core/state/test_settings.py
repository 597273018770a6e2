"""StateSettings and open_store: the right backend, clear errors, and no leaked passwords."""

from __future__ import annotations

import pickle
import subprocess
import sys
import traceback
from pathlib import Path

import pytest

from cosmara import ConfigurationError
from cosmara.state import (
    MemoryStore,
    RedisStore,
    SQLiteStore,
    StateSettings,
    StateStoreError,
    open_store,
)

PASSWORD = "hunter2-very-secret"


def test_memory_is_the_default() -> None:
    assert StateSettings().backend == "memory"
    assert isinstance(open_store(), MemoryStore)
    assert isinstance(open_store({}), MemoryStore)


def test_sqlite_from_settings(tmp_path: Path) -> None:
    with open_store({"backend": "sqlite", "path": str(tmp_path / "state.db")}) as store:
        assert isinstance(store, SQLiteStore)
        store.kv.put("c", "k", b"v")
    with open_store(StateSettings(backend="sqlite", path=tmp_path / "state.db")) as store:
        assert store.kv.get("c", "k") == b"v"


def test_redis_from_settings(redis_url: str) -> None:
    with open_store({"backend": "redis", "url": redis_url, "prefix": "settings:"}) as store:
        assert isinstance(store, RedisStore)
        assert store.prefix == "settings:"
        store.kv.put("c", "k", b"v")
        assert store.kv.get("c", "k") == b"v"


def test_redis_url_from_the_environment(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = StateSettings(backend="redis", url="${STATE_TEST_REDIS_URL}")
    with pytest.raises(ConfigurationError, match=r"\$\{STATE_TEST_REDIS_URL\} is not set"):
        open_store(settings)
    monkeypatch.setenv("STATE_TEST_REDIS_URL", redis_url)
    with open_store(settings) as store:
        assert store.kv.count("c") == 0
    assert pickle.loads(pickle.dumps(settings)).url.env == "STATE_TEST_REDIS_URL"


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"backend": "sqlite"}, "needs a path"),
        ({"backend": "sqlite", "path": "/no/such/folder/state.db"}, "folder does not exist"),
        ({"backend": "redis"}, "needs a URL"),
        ({"backend": "redis", "url": f"http://:{PASSWORD}@host"}, "must start with redis://"),
        ({"backend": "postgres"}, "backend"),
        ({"timeout": 0}, "timeout"),
        ({"prefix": ""}, "prefix"),
        ({"url": f"redis://:{PASSWORD}@host", "bogus": 1}, "bogus"),
    ],
)
def test_bad_settings_are_configuration_errors(settings: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message) as caught:
        open_store(settings)
    assert PASSWORD not in str(caught.value)


def test_a_password_never_shows(tmp_path: Path) -> None:
    settings = StateSettings(backend="redis", url=f"redis://:{PASSWORD}@127.0.0.1:6379/0")
    shown = [
        repr(settings),
        str(settings),
        str(settings.model_dump()),
        settings.model_dump_json(),
        pickle.dumps(settings).decode("latin-1"),
    ]
    assert all(PASSWORD not in text for text in shown)
    assert settings.url is not None
    assert settings.url.get() == f"redis://:{PASSWORD}@127.0.0.1:6379/0"


def test_store_repr_and_errors_hide_the_password() -> None:
    import socket

    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"redis://user:{PASSWORD}@127.0.0.1:{port}/3"
    store = open_store({"backend": "redis", "url": url, "timeout": 1})
    assert repr(store) == f"RedisStore('redis://127.0.0.1:{port}/3', prefix='cosmara:')"
    with pytest.raises(StateStoreError, match=f"127.0.0.1:{port}") as caught:
        store.kv.get("c", "k")
    printed = "".join(traceback.format_exception(caught.value))
    assert PASSWORD not in printed
    assert PASSWORD not in repr(caught.value)
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(store)
    store.close()


def test_missing_redis_package_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "redis", None)  # import redis now raises ImportError
    with pytest.raises(ConfigurationError, match=r"pip install 'cosmara\[redis\]'"):
        open_store({"backend": "redis", "url": "redis://127.0.0.1:6379/0"})


def test_importing_loads_neither_sqlite3_nor_redis() -> None:
    code = (
        "import sys, cosmara; "
        "backends = {'sqlite3', 'redis', 'cosmara.state._sqlite', 'cosmara.state._redis'}; "
        "assert not backends & set(sys.modules), 'cosmara'; "
        "import cosmara.state; "
        "assert not {'sqlite3', 'redis'} & set(sys.modules), 'cosmara.state'; "
        "cosmara.state.open_store(); "
        "assert not {'sqlite3', 'redis'} & set(sys.modules), 'memory store'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
