"""The ``cosmara`` command line."""

from __future__ import annotations

import io
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from cosmara import Cosmara
from cosmara._cli import main
from cosmara.testing import Emulator
from cosmara.testing._command import run_emulator


def test_demo_runs_offline_and_shows_each_step() -> None:
    out = io.StringIO()
    assert main(["demo"], out=out) == 0
    text = out.getvalue()
    assert "OFFLINE" in text
    assert "1. A routed request" in text
    assert "2. A streamed answer" in text
    step_three = text[text.index("3. A provider outage") :]
    assert step_three.count("openai/gpt-4o-mini failed: ProviderUnavailableError 503") == 3
    assert "groq/llama-3.1-8b-instant answered" in step_three
    # Each step says its route once, and its tokens and cost, the streamed one too.
    assert "route: alias 'assistant' -> openai/gpt-4o-mini, groq/llama-3.1-8b-instant" in text
    assert "route: alias - " not in text
    assert text.count("tokens 12 in / ") == 3
    assert text.count("cost $") == 3


def test_help_is_plain_text() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "cosmara._cli", "--help"], capture_output=True, text=True, check=True
    )
    assert "``" not in result.stdout
    for command in ("demo", "emulator", "chat"):
        assert command in result.stdout


def test_chat_uses_the_configured_default_model(
    emulator: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "cosmara.toml"
    config.write_text(
        'default_model = "openai/gpt-4.1-mini"\n'
        f'[providers.openai]\nbase_url = "{emulator.base_url}"\napi_key = "sk-x"\n'
    )
    assert main(["chat", "Hello", "--config", str(config)]) == 0
    assert capsys.readouterr().out == "Echo: Hello\n"
    assert emulator.requests[-1].json["model"] == "gpt-4.1-mini"


def test_emulator_serves_until_stopped() -> None:
    out = io.StringIO()
    stop = threading.Event()
    server = threading.Thread(
        target=run_emulator, args=("127.0.0.1", 0, out), kwargs={"stop": stop}
    )
    server.start()
    try:
        base_url = _first_line(out)
        with Cosmara(providers={"openai": {"base_url": base_url, "api_key": "sk-any"}}) as client:
            reply = client.chat(
                model="openai/gpt-4o-mini", messages=[{"role": "user", "content": "Hi"}]
            )
        assert reply.text == "Echo: Hi"
    finally:
        stop.set()
        server.join(10)
    assert not server.is_alive()
    assert out.getvalue().endswith("emulator stopped\n")


def test_emulator_command_prints_its_url_and_stops_on_ctrl_c() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "cosmara._cli", "emulator", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        base_url = process.stdout.readline().strip()
        assert base_url.startswith("http://127.0.0.1:")
        assert base_url.endswith("/v1")
        with Cosmara(providers={"openai": {"base_url": base_url, "api_key": "sk-any"}}) as client:
            reply = client.chat(
                model="openai/gpt-4o", messages=[{"role": "user", "content": "up?"}]
            )
        assert reply.text == "Echo: up?"
        process.send_signal(signal.SIGINT)
        assert process.wait(10) == 0
        assert "emulator stopped" in process.stdout.read()
    finally:
        if process.poll() is None:
            process.kill()


def _first_line(out: io.StringIO) -> str:
    """The first line ``run_emulator`` writes, once it is there (the server starts first)."""
    for _ in range(1000):
        text = out.getvalue()
        if "\n" in text:
            return text.split("\n", 1)[0]
        threading.Event().wait(0.01)
    raise AssertionError("the emulator printed no URL")


def test_chat_without_key_fails_cleanly(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    assert main(["chat", "hello", "--model", "openai/gpt-4o-mini"]) == 1
    assert "MissingCredentialsError" in capsys.readouterr().err


def test_console_script_is_installed() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "cosmara._cli", "--help"], capture_output=True, text=True, check=True
    )
    assert "demo" in result.stdout
