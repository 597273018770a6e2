"""Documents and audio through the engine and the emulator: routing passes over targets the
catalog says cannot read them (explicit fallbacks, groups), on every path, and what reaches the
wire is what OpenAI's Chat Completions takes (the emulator applies OpenAI's rules for parts)."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

import cosmara
from cosmara import Cosmara
from cosmara.testing import Emulator, FakeClock, Fault
from tests.support.paths import HOWS, Loop, ask

PDF_URL = "data:application/pdf;base64," + base64.b64encode(b"%PDF-1.4\n%%EOF\n").decode()
WAV = base64.b64encode(b"RIFF\x24\x00\x00\x00WAVEfmt ").decode()
PDF_PART = {"type": "file", "file": {"file_data": PDF_URL, "filename": "memo.pdf"}}
AUDIO_PART = {"type": "input_audio", "input_audio": {"data": WAV, "format": "wav"}}
READ = [{"role": "user", "content": [{"type": "text", "text": "Read it"}, PDF_PART]}]
LISTEN = [{"role": "user", "content": [{"type": "text", "text": "Listen"}, AUDIO_PART]}]


@pytest.fixture
def aio() -> Iterator[Loop]:
    loop = Loop()
    yield loop
    loop.close()


def _client(emulator: Emulator, **config: Any) -> Cosmara:
    providers = {
        name: {"base_url": emulator.base_url, "api_key": f"{name}-test-key-0000"}
        for name in ("openai", "groq")
    }
    # No retries: one failed attempt per target.
    config = {"retry": {"max_retries": 0}, **config}
    return Cosmara({"providers": providers, **config}, clock=FakeClock(), load_entry_points=False)


@pytest.mark.parametrize("how", HOWS)
def test_a_fallback_that_cannot_read_documents_is_skipped_unsent(
    emulator: Emulator, how: str, aio: Loop
) -> None:
    emulator.add_fault(Fault(status=503, match_model="gpt-4o-mini"))
    with _client(emulator) as client:
        answer = ask(
            client,
            how,
            aio,
            model="openai/gpt-4o-mini",
            messages=READ,
            fallbacks=["groq/llama-3.3-70b-versatile", "openai/gpt-4o"],
        )
    assert [(f"{a.provider}/{a.model}", a.error) for a in answer.meta.attempts] == [
        ("openai/gpt-4o-mini", "ProviderUnavailableError"),
        ("groq/llama-3.3-70b-versatile", "UnsupportedCapability"),
        ("openai/gpt-4o", None),
    ]
    assert "documents" in (answer.meta.attempts[1].message or "")
    assert [r.json["model"] for r in emulator.requests] == ["gpt-4o-mini", "gpt-4o"]
    assert all(r.json["messages"][0]["content"][1] == PDF_PART for r in emulator.requests)


def test_audio_skips_catalogued_models_without_audio_input(emulator: Emulator) -> None:
    # gpt-4.1 is catalogued without audio input; gpt-4o-audio-preview is not catalogued at
    # all, so it is tried (the catalog cannot say it lacks anything).
    emulator.add_fault(Fault(status=503, match_model="gpt-4o-mini"))
    with _client(emulator) as client:
        response = client.chat(
            model="openai/gpt-4o-mini",
            messages=LISTEN,
            fallbacks=["openai/gpt-4.1", "openai/gpt-4o-audio-preview"],
        )
    assert response.cosmara is not None
    assert [(a.model, a.error) for a in response.cosmara.attempts] == [
        ("gpt-4o-mini", "ProviderUnavailableError"),
        ("gpt-4.1", "UnsupportedCapability"),
        ("gpt-4o-audio-preview", None),
    ]
    assert emulator.requests[-1].json["messages"][0]["content"][1] == AUDIO_PART


def test_a_group_routes_documents_only_to_models_that_read_them(emulator: Emulator) -> None:
    # By cost alone llama-3.1-8b-instant ($0.05 / $0.08 per M) wins; it reads no documents.
    group = {"models": ["groq/llama-3.1-8b-instant", "openai/gpt-4o-mini"], "strategy": "cost"}
    with _client(emulator, groups={"cheap": group}) as client:
        plain = client.chat(model="cheap", messages=[{"role": "user", "content": "hi"}])
        with_pdf = client.chat(model="cheap", messages=READ)
    assert plain.cosmara is not None
    assert with_pdf.cosmara is not None
    assert plain.cosmara.route.candidates[0] == "groq/llama-3.1-8b-instant"
    assert with_pdf.cosmara.route.candidates == ("openai/gpt-4o-mini",)
    assert [r.json["model"] for r in emulator.requests] == ["llama-3.1-8b-instant", "gpt-4o-mini"]


def test_a_group_without_a_model_for_audio_refuses_before_sending(emulator: Emulator) -> None:
    group = {"models": ["groq/llama-3.3-70b-versatile", "openai/gpt-4o-mini"]}
    with (
        _client(emulator, groups={"chatty": group}) as client,
        pytest.raises(cosmara.RequestValidationError, match="audio_input"),
    ):
        client.chat(model="chatty", messages=LISTEN)
    assert emulator.requests == []


def test_a_tools_document_reaches_openai_in_a_user_message(emulator: Emulator) -> None:
    # The emulator refuses media outside user messages, as OpenAI does: the answer proves the
    # document went in the user message after the tool result.
    messages = [
        {"role": "user", "content": "Get the memo"},
        {
            "role": "assistant",
            "tool_calls": [
                {
                    "id": "call_7",
                    "type": "function",
                    "function": {"name": "memo", "arguments": "{}"},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_7", "content": [PDF_PART]},
    ]
    with _client(emulator) as client:
        response = client.chat(model="openai/gpt-4o-mini", messages=messages)
    assert response.text == "Echo: What tool call call_7 returned:"
    sent = emulator.requests[-1].json["messages"]
    assert sent[2] == {
        "role": "tool",
        "tool_call_id": "call_7",
        "content": "Attached in the next message.",
    }
    assert sent[3]["content"][1] == PDF_PART


@pytest.mark.parametrize(
    ("message", "problem"),
    [
        ({"role": "tool", "tool_call_id": "c", "content": [PDF_PART]}, "only allowed for"),
        (
            {"role": "user", "content": [{"type": "file", "file": {"file_url": "https://e/a"}}]},
            "expected file_data as a base64 data URL",
        ),
        (
            {
                "role": "user",
                "content": [{"type": "input_audio", "input_audio": {"data": WAV, "format": "ogg"}}],
            },
            "expected 'wav' or 'mp3'",
        ),
    ],
)
def test_the_emulator_holds_clients_to_openais_rules_for_parts(
    emulator: Emulator, message: dict[str, Any], problem: str
) -> None:
    response = httpx.post(
        f"{emulator.base_url}/chat/completions",
        json={"model": "gpt-4o-mini", "messages": [message]},
        headers={"authorization": "Bearer sk-test"},
    )
    assert response.status_code == 400
    assert problem in response.json()["error"]["message"]


def test_the_emulator_answers_documents_and_audio(emulator: Emulator) -> None:
    with _client(emulator) as client:
        response = client.chat(
            model="openai/gpt-4o-mini",
            messages=[
                {
                    "role": "user",
                    "content": [{"type": "text", "text": "Both"}, PDF_PART, AUDIO_PART],
                }
            ],
        )
    assert response.text == "Echo: Both"
