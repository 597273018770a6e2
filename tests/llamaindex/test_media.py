"""LlamaIndex's ``DocumentBlock``, ``AudioBlock`` and ``ImageBlock`` in real ``ChatMessage``s,
through the ``Cosmara`` LLM to the emulator: what goes on the wire, and what is refused."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from cosmara import RequestValidationError
from cosmara.testing import Emulator
from llama_index.core.base.llms.types import (
    AudioBlock,
    ChatMessage,
    DocumentBlock,
    ImageBlock,
    MessageRole,
    TextBlock,
    ToolCallBlock,
    VideoBlock,
)
from llama_index.llms.cosmara import Cosmara
from llama_index.llms.cosmara._convert import to_cosmara_message
from tests.support.media import tiny_pdf, tiny_png, tiny_wav

PDF = tiny_pdf()
WAV = tiny_wav()
PDF_DATA = "data:application/pdf;base64," + base64.b64encode(PDF).decode()


def _user(*blocks: object) -> ChatMessage:
    return ChatMessage(role=MessageRole.USER, blocks=[TextBlock(text="Read"), *blocks])


def _sent_parts(emulator: Emulator) -> list[dict[str, object]]:
    parts = emulator.requests[-1].json["messages"][-1]["content"]
    assert isinstance(parts, list)
    return parts[1:]


def test_a_document_block_is_sent_as_a_file_part(llm: Cosmara, emulator: Emulator) -> None:
    response = llm.chat([_user(DocumentBlock(data=PDF, title="memo.pdf"))])
    assert response.message.content == "Echo: Read"
    assert _sent_parts(emulator) == [
        {"type": "file", "file": {"file_data": PDF_DATA, "filename": "memo.pdf"}}
    ]


def test_a_document_from_a_path_keeps_its_name(
    llm: Cosmara, emulator: Emulator, tmp_path: Path
) -> None:
    path = tmp_path / "q3_report.pdf"
    path.write_bytes(PDF)
    llm.chat([_user(DocumentBlock(path=path))])
    assert _sent_parts(emulator) == [
        {"type": "file", "file": {"file_data": PDF_DATA, "filename": "q3_report.pdf"}}
    ]


def test_a_document_by_url_is_not_downloaded_here() -> None:
    message = to_cosmara_message(_user(DocumentBlock(url="https://example.com/paper.pdf")))
    assert message["content"][1] == {
        "type": "file",
        "file": {"file_url": "https://example.com/paper.pdf", "mime_type": "application/pdf"},
    }


def test_an_audio_block_is_sent_as_input_audio(llm: Cosmara, emulator: Emulator) -> None:
    # The emulator takes audio on any model; OpenAI itself only on its audio models.
    llm.chat([_user(AudioBlock(audio=WAV))])
    assert _sent_parts(emulator) == [
        {
            "type": "input_audio",
            "input_audio": {"data": base64.b64encode(WAV).decode(), "format": "wav"},
        }
    ]


def test_audio_by_url_is_a_file_with_its_type() -> None:
    block = AudioBlock(url="https://example.com/call.mp3", format="mp3")
    assert to_cosmara_message(_user(block))["content"][1] == {
        "type": "file",
        "file": {"file_url": "https://example.com/call.mp3", "mime_type": "audio/mpeg"},
    }


def test_image_blocks_from_bytes_keep_their_type(llm: Cosmara, emulator: Emulator) -> None:
    llm.chat([_user(ImageBlock(image=tiny_png(), image_mimetype="image/png"))])
    url = _sent_parts(emulator)[0]["image_url"]["url"]  # type: ignore[index]
    assert url == "data:image/png;base64," + base64.b64encode(tiny_png()).decode()


def test_a_tools_document_reaches_the_model_after_its_result(
    llm: Cosmara, emulator: Emulator
) -> None:
    history = [
        ChatMessage(role=MessageRole.USER, content="Fetch the memo"),
        ChatMessage(
            role=MessageRole.ASSISTANT,
            blocks=[ToolCallBlock(tool_call_id="call_3", tool_name="memo", tool_kwargs={})],
        ),
        ChatMessage(
            role=MessageRole.TOOL,
            blocks=[TextBlock(text="Here it is."), DocumentBlock(data=PDF, title="memo.pdf")],
            additional_kwargs={"tool_call_id": "call_3"},
        ),
    ]
    llm.chat(history)
    sent = emulator.requests[-1].json["messages"]
    assert sent[2] == {
        "role": "tool",
        "tool_call_id": "call_3",
        "content": [{"type": "text", "text": "Here it is."}],
    }
    assert sent[3] == {
        "role": "user",
        "content": [
            {"type": "text", "text": "What tool call call_3 returned:"},
            {"type": "file", "file": {"file_data": PDF_DATA, "filename": "memo.pdf"}},
        ],
    }


def test_blocks_that_cannot_be_sent_are_refused_before_sending(
    llm: Cosmara, emulator: Emulator
) -> None:
    untyped = DocumentBlock(data=b"just some bytes")
    assert untyped.document_mimetype is None
    for block in (untyped, AudioBlock(audio=b"\x00\x01\x02"), VideoBlock(url="https://e.com/v")):
        with pytest.raises(RequestValidationError):
            llm.chat([_user(block)])
    assert emulator.requests == []
