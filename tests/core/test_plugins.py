"""Plugins: the installed example package, registration on a client, observers, COSMARA_PLUGINS."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest

import cosmara
from cosmara import Cosmara
from cosmara.hookspecs import ProviderFactory
from cosmara.testing import Emulator, Fault

HI = [{"role": "user", "content": "ping"}]


def test_installed_plugin_is_found_through_its_entry_point() -> None:
    with Cosmara() as client:
        assert "echo" in client.plugins.names()
        response = client.chat(model="echo/parrot", messages=HI)
    assert response.text == "parrot says: ping"
    assert response.cosmara is not None
    assert response.cosmara.provider == "echo"


async def test_installed_plugin_streams_and_answers_async() -> None:
    async with Cosmara() as client:
        chunks = [c async for c in client.astream(model="echo/parrot", messages=HI)]
        response = await client.achat(model="echo/parrot", messages=HI)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == response.text == "parrot says: ping"
    assert chunks[-1].usage == response.usage


@pytest.mark.parametrize(("setting", "loaded"), [("echo", True), ("none", False), ("", False)])
def test_cosmara_plugins_restricts_loading(
    monkeypatch: pytest.MonkeyPatch, setting: str, loaded: bool
) -> None:
    monkeypatch.setenv("COSMARA_PLUGINS", setting)
    with Cosmara() as client:
        assert ("echo" in client.plugins.names()) is loaded
        if not loaded:
            with pytest.raises(cosmara.UnknownModelError):
                client.chat(model="echo/parrot", messages=HI)


def test_builtin_providers_register_through_the_same_hook() -> None:
    with Cosmara(load_entry_points=False) as client:
        kinds = client.plugins.provider_factories()
    assert {"openai", "azure", "openai_compatible", "groq", "ollama", "huggingface"} <= set(kinds)


def test_provider_registered_on_a_client(emulator: Emulator) -> None:
    class Mine(cosmara.providers.OpenAICompatibleProvider):
        kind = "mine"

    class MinePlugin:
        @cosmara.hookimpl
        def cosmara_register_providers(
            self, register: Callable[[str, ProviderFactory], None]
        ) -> None:
            register("mine", Mine)

    providers = {"mine": {"base_url": emulator.base_url}}
    with Cosmara(providers=providers, plugins=[MinePlugin()], load_entry_points=False) as client:
        response = client.chat(model="mine/any", messages=HI)
    assert response.text == "Echo: ping"


def test_two_plugins_claiming_one_kind_is_a_configuration_error() -> None:
    class Impostor:
        @cosmara.hookimpl
        def cosmara_register_providers(
            self, register: Callable[[str, ProviderFactory], None]
        ) -> None:
            register("openai", cosmara.providers.GroqProvider)

    with pytest.raises(cosmara.ConfigurationError, match="openai"):
        Cosmara(plugins=[Impostor()], load_entry_points=False)


def test_observers_see_start_response_error(client: Cosmara, emulator: Emulator) -> None:
    events: list[tuple[str, Any]] = []

    class Observer:
        @cosmara.hookimpl
        def cosmara_request_start(self, request: cosmara.ChatRequest) -> None:
            events.append(("start", request.model))

        @cosmara.hookimpl
        def cosmara_response(self, response: Any, context: cosmara.RequestContext) -> None:
            events.append(("response", (response.cosmara.provider, context.team)))

        @cosmara.hookimpl
        def cosmara_error(self, error: cosmara.ProviderError) -> None:
            events.append(("error", type(error).__name__))

    client.plugins.register(Observer())
    client.chat(model="openai/gpt-4o-mini", messages=HI, team="t1")
    list(client.stream(model="openai/gpt-4o-mini", messages=HI, team="t2"))
    emulator.add_fault(Fault(status=401))
    with pytest.raises(cosmara.AuthenticationError):
        client.chat(model="openai/gpt-4o-mini", messages=HI)
    assert events == [
        ("start", "openai/gpt-4o-mini"),
        ("response", ("openai", "t1")),
        ("start", "openai/gpt-4o-mini"),
        ("response", ("openai", "t2")),
        ("start", "openai/gpt-4o-mini"),
        ("error", "AuthenticationError"),
    ]


def test_a_raising_observer_is_logged_and_never_breaks_a_request(
    client: Cosmara, caplog: pytest.LogCaptureFixture
) -> None:
    calls = []

    class Broken:
        @cosmara.hookimpl
        def cosmara_response(self) -> None:
            raise RuntimeError("observer bug")

    class Healthy:
        @cosmara.hookimpl
        def cosmara_response(self, response: Any) -> None:
            calls.append(response.text)

    client.plugins.register(Broken())
    client.plugins.register(Healthy())
    with caplog.at_level(logging.ERROR, logger="cosmara.plugins"):
        response = client.chat(model="openai/gpt-4o-mini", messages=HI)
    assert response.text == "Echo: ping"
    assert calls == ["Echo: ping"]
    assert "observer bug" in caplog.text
    assert caplog.records[0].getMessage() == "cosmara plugin 'Broken' failed in cosmara_response"


def test_plugins_get_readable_names(client: Cosmara) -> None:
    class Counter:
        @cosmara.hookimpl
        def cosmara_response(self) -> None:
            pass

    client.plugins.register(Counter())
    client.plugins.register(Counter())
    client.plugins.register(Counter(), name="mine")
    names = client.plugins.names()
    assert {"Counter", "Counter#2", "mine"} <= set(names)
    assert not any(name.isdigit() for name in names)  # no object ids


def test_a_failing_installed_observer_is_named_by_its_plugin_and_package(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import cosmara_plugin_echo

    def broken(response: Any) -> None:
        raise RuntimeError("observer bug")

    broken.cosmara_impl = {}  # type: ignore[attr-defined]  # what @hookimpl sets
    monkeypatch.setattr(cosmara_plugin_echo, "cosmara_response", broken, raising=False)
    with Cosmara() as client, caplog.at_level(logging.ERROR, logger="cosmara.plugins"):
        client.chat(model="echo/parrot", messages=HI)
    messages = [r.getMessage() for r in caplog.records if r.name == "cosmara.plugins"]
    assert messages == ["cosmara plugin 'echo (cosmara-plugin-echo)' failed in cosmara_response"]


@pytest.mark.parametrize("setting", ["ech", "none", "", "openai"])
def test_a_plugin_left_out_by_cosmara_plugins_is_named_in_the_error(
    monkeypatch: pytest.MonkeyPatch, setting: str
) -> None:
    monkeypatch.setenv("COSMARA_PLUGINS", setting)
    with Cosmara() as client, pytest.raises(cosmara.UnknownModelError) as caught:
        client.chat(model="echo/parrot", messages=HI)
    assert (
        f"plugin 'echo' (cosmara-plugin-echo) is installed but COSMARA_PLUGINS={setting} "
        "leaves it out"
    ) in str(caught.value)


def test_a_cosmara_plugins_name_nothing_installed_has_is_reported(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("COSMARA_PLUGINS", "echo,ech")
    with caplog.at_level(logging.WARNING, logger="cosmara.plugins"), Cosmara() as client:
        assert client.chat(model="echo/parrot", messages=HI).text == "parrot says: ping"
        with pytest.raises(cosmara.UnknownModelError) as caught:
            client.chat(model="ech/parrot", messages=HI)
    assert "COSMARA_PLUGINS names 'ech', which no installed plugin is called" in caplog.text
    assert "(installed: echo)" in caplog.text
    assert "COSMARA_PLUGINS names 'ech', which no installed plugin is called" in str(caught.value)


def test_without_entry_points_the_error_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COSMARA_PLUGINS", raising=False)
    with Cosmara(load_entry_points=False) as client:
        with pytest.raises(cosmara.UnknownModelError, match="Cosmara\\(load_entry_points=False\\)"):
            client.chat(model="echo/parrot", messages=HI)
        with pytest.raises(cosmara.UnknownModelError) as caught:
            client.chat(model="nowhere/parrot", messages=HI)
    assert "installed plugins left out by" in str(caught.value)
    assert "echo (cosmara-plugin-echo)" in str(caught.value)


def test_a_configured_provider_of_a_left_out_kind_says_why(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COSMARA_PLUGINS", "none")
    with pytest.raises(cosmara.ConfigurationError, match="COSMARA_PLUGINS=none leaves it out"):
        Cosmara(providers={"parrots": {"type": "echo"}})


def test_an_unknown_provider_without_plugins_left_out_says_nothing_more(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("COSMARA_PLUGINS", raising=False)
    with Cosmara() as client, pytest.raises(cosmara.UnknownModelError) as caught:
        client.chat(model="nowhere/parrot", messages=HI)
    assert str(caught.value).endswith("vllm")  # the list of providers, and nothing after it
