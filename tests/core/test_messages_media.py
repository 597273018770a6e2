"""The vocabulary's documents and audio: ``file`` and ``input_audio`` parts in OpenAI's shapes.

Good shapes validate on the models; bad ones raise ``RequestValidationError`` from
``Cosmara.chat`` before any network call (the provider points at the discard port, where a
request that got that far would fail with ``ProviderConnectionError`` instead).
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest

from cosmara import (
    ChatRequest,
    Cosmara,
    FileData,
    FilePart,
    ImagePart,
    InputAudioPart,
    RequestValidationError,
    TextPart,
    ToolMessage,
    UserMessage,
)

PDF_URL = "data:application/pdf;base64," + base64.b64encode(b"%PDF-1.4\n%%EOF\n").decode()
WAV = base64.b64encode(b"RIFF\x24\x00\x00\x00WAVE").decode()


@pytest.fixture
def client() -> Iterator[Cosmara]:
    providers = {"openai": {"base_url": "http://127.0.0.1:9/v1", "api_key": "sk-test-0000"}}
    with Cosmara(providers=providers, load_entry_points=False) as cosmara:
        yield cosmara


def _user(*parts: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"role": "user", "content": list(parts)}]


def test_file_and_audio_parts_validate_to_their_classes() -> None:
    request = ChatRequest.model_validate(
        {
            "model": "openai/gpt-4o",
            "messages": _user(
                {"type": "text", "text": "Compare these."},
                {"type": "file", "file": {"file_data": PDF_URL, "filename": "a.pdf"}},
                {"type": "file", "file": {"file_id": "file-abc123"}},
                {"type": "file", "file": {"file_url": "https://example.com/b.pdf"}},
                {"type": "input_audio", "input_audio": {"data": WAV, "format": "WAV"}},
            ),
        }
    )
    message = request.messages[0]
    assert isinstance(message, UserMessage)
    assert isinstance(message.content, list)
    text, inline, by_id, by_url, audio = message.content
    assert isinstance(text, TextPart)
    assert isinstance(inline, FilePart)
    assert inline.file.filename == "a.pdf"
    assert isinstance(by_id, FilePart)
    assert by_id.file.file_id == "file-abc123"
    assert isinstance(by_url, FilePart)
    assert by_url.file.file_url == "https://example.com/b.pdf"
    assert isinstance(audio, InputAudioPart)
    assert audio.input_audio.format == "wav"


def test_a_file_knows_its_type_from_its_data_its_mime_type_or_its_name() -> None:
    assert FileData(file_data=PDF_URL).media_type == "application/pdf"
    assert FileData(file_id="f", mime_type="Audio/MPEG").media_type == "audio/mpeg"
    assert FileData(file_id="f", filename="notes.MD").media_type == "text/markdown"
    assert FileData(file_url="https://e.com/x.pdf?sig=1").media_type == "application/pdf"
    assert FileData(file_id="f").media_type is None


def test_unknown_fields_are_kept_on_the_part_and_the_file() -> None:
    part = FilePart.model_validate(
        {"type": "file", "file": {"file_id": "f", "purpose": "x"}, "cache_control": {"a": 1}}
    )
    assert part.model_dump(exclude_none=True) == {
        "type": "file",
        "file": {"file_id": "f", "purpose": "x"},
        "cache_control": {"a": 1},
    }


def test_a_tool_result_may_hold_images_and_documents() -> None:
    message = ToolMessage.model_validate(
        {
            "role": "tool",
            "tool_call_id": "call_1",
            "content": [
                {"type": "text", "text": "Here it is."},
                {"type": "image_url", "image_url": {"url": "https://e.com/a.png"}},
                {"type": "file", "file": {"file_data": PDF_URL}},
            ],
        }
    )
    assert [type(p) for p in message.content] == [TextPart, ImagePart, FilePart]


BAD_PARTS = [
    ({"type": "file", "file": {}}, "exactly one of file_data"),
    (
        {"type": "file", "file": {"file_id": "f", "file_url": "https://e.com/a.pdf"}},
        "got file_id, file_url",
    ),
    ({"type": "file", "file": {"file_data": "JVBERi0x"}}, "base64 data: URL with a MIME type"),
    ({"type": "file", "file": {"file_data": "data:application/pdf,%PDF"}}, "base64 data: URL"),
    ({"type": "file", "file": {"file_data": "data:;base64,JVBERi0x"}}, "base64 data: URL"),
    ({"type": "file", "file": {"file_data": "data:application/pdf;base64,"}}, "holds no data"),
    ({"type": "file", "file": {"file_url": "report.pdf"}}, "must be an absolute URL"),
    ({"type": "file", "file": {"file_id": ""}}, "at least 1 character"),
    ({"type": "file", "file": {"file_id": "f", "mime_type": "pdf"}}, "is not a MIME type"),
    ({"type": "file", "file_data": PDF_URL}, "file.file: Field required"),
    ({"type": "input_audio", "input_audio": {"data": WAV, "format": "midi"}}, "unknown audio"),
    ({"type": "input_audio", "input_audio": {"data": "", "format": "wav"}}, "at least 1"),
    (
        {
            "type": "input_audio",
            "input_audio": {"data": f"data:audio/wav;base64,{WAV}", "format": "wav"},
        },
        "without a data: URL prefix",
    ),
    ({"type": "input_audio", "input_audio": {"data": WAV}}, "format: Field required"),
    ({"type": "audio", "base64": WAV, "mime_type": "audio/wav"}, "does not match any of the"),
]


@pytest.mark.parametrize(("part", "problem"), BAD_PARTS)
def test_bad_parts_are_refused_before_sending(
    client: Cosmara, part: dict[str, Any], problem: str
) -> None:
    with pytest.raises(RequestValidationError, match=problem):
        client.chat(model="openai/gpt-4o", messages=_user(part))


@pytest.mark.parametrize(
    "message",
    [
        {"role": "system", "content": [{"type": "file", "file": {"file_data": PDF_URL}}]},
        {"role": "assistant", "content": [{"type": "file", "file": {"file_data": PDF_URL}}]},
        {
            "role": "tool",
            "tool_call_id": "c",
            "content": [{"type": "input_audio", "input_audio": {"data": WAV, "format": "wav"}}],
        },
    ],
    ids=["system-file", "assistant-file", "tool-audio"],
)
def test_documents_and_audio_go_only_where_they_belong(
    client: Cosmara, message: dict[str, Any]
) -> None:
    with pytest.raises(RequestValidationError):
        client.chat(model="openai/gpt-4o", messages=[message, {"role": "user", "content": "hi"}])


def test_a_refused_part_is_refused_on_every_path(client: Cosmara) -> None:
    bad = _user({"type": "file", "file": {}})
    with pytest.raises(RequestValidationError):
        client.stream(model="openai/gpt-4o", messages=bad)
