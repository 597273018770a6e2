"""Files and audio as the engine sees them: ``data:`` URLs, types, sizes, what a request needs
from a model, and how many tokens its documents and audio are estimated at."""

from __future__ import annotations

import base64
import struct
from typing import Any

import pytest

from cosmara import ChatRequest, load_litellm_prices
from cosmara._media import (
    audio_format_of,
    audio_seconds,
    data_url_head,
    decoded_size,
    extension_for,
    guess_mime,
    parse_data_url,
)
from cosmara._strategies import needed_capabilities
from cosmara._tokens import TokenCounter, most_tokens


def _wav(seconds: float, *, rate: int = 16_000, channels: int = 1) -> bytes:
    """A real PCM WAV file of silence: the canonical 44-byte header, then the samples."""
    byte_rate = rate * channels * 2
    samples = b"\x00" * int(seconds * byte_rate)
    header = b"RIFF" + struct.pack("<I", 36 + len(samples)) + b"WAVE"
    header += b"fmt " + struct.pack("<IHHIIHH", 16, 1, channels, rate, byte_rate, channels * 2, 16)
    return header + b"data" + struct.pack("<I", len(samples)) + samples


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _request(*parts: dict[str, Any], role: str = "user") -> ChatRequest:
    messages: list[dict[str, Any]] = [{"role": "user", "content": "hi"}]
    if role == "tool":
        messages += [
            {
                "role": "assistant",
                "tool_calls": [
                    {"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}
                ],
            },
            {"role": "tool", "tool_call_id": "c", "content": list(parts)},
        ]
    else:
        messages = [{"role": "user", "content": list(parts)}]
    return ChatRequest.model_validate({"model": "m", "messages": messages})


def _file(data: bytes, mime: str, **extra: Any) -> dict[str, Any]:
    return {"type": "file", "file": {"file_data": f"data:{mime};base64,{_b64(data)}", **extra}}


def _audio(data: bytes, format_: str = "wav") -> dict[str, Any]:
    return {"type": "input_audio", "input_audio": {"data": _b64(data), "format": format_}}


# --- data: URLs, types and sizes ---------------------------------------------------------------
def test_a_data_url_is_taken_apart_by_its_header_alone() -> None:
    url = "data:Application/PDF;name=a.pdf;base64,JVBERi0x"
    assert data_url_head(url) == ("application/pdf", len(url) - len("JVBERi0x"))
    assert parse_data_url(url) == ("application/pdf", "JVBERi0x")
    for not_one in ("data:application/pdf,%PDF", "data:;base64,AAAA", "https://e.com/a", ""):
        assert parse_data_url(not_one) is None


def test_the_header_is_found_without_reading_a_huge_payload() -> None:
    url = "data:application/pdf;base64," + "A" * 5_000_000
    assert data_url_head(url) == ("application/pdf", 28)
    assert data_url_head("data:" + "x" * 5_000_000) is None


@pytest.mark.parametrize(
    ("name", "mime"),
    [
        ("report.pdf", "application/pdf"),
        ("https://e.com/dir.v2/Notes.MD?sig=a.b#top", "text/markdown"),
        (
            "s3://bucket/sheet.xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
        ("song.mp3", "audio/mpeg"),
        ("archive.tar.zst", None),
        ("no-extension", None),
        (".pdf", None),
        (None, None),
    ],
)
def test_types_are_guessed_from_known_extensions(name: str | None, mime: str | None) -> None:
    assert guess_mime(name) == mime


def test_audio_formats_and_extensions_map_both_ways() -> None:
    assert audio_format_of("audio/mpeg") == "mp3"
    assert audio_format_of("audio/mp3") == "mp3"
    assert audio_format_of("audio/x-wav; codecs=1") == "wav"
    assert audio_format_of("application/pdf") is None
    assert extension_for("application/pdf") == "pdf"
    assert extension_for("application/x-unknown") is None


@pytest.mark.parametrize("raw", [b"", b"a", b"ab", b"abc", b"abcd", bytes(range(256)) * 9])
def test_decoded_size_matches_what_base64_decodes_to(raw: bytes) -> None:
    assert decoded_size(_b64(raw)) == len(raw)


def test_a_wav_headers_byte_rate_gives_its_length() -> None:
    assert audio_seconds(_b64(_wav(2.0)), "wav") == pytest.approx(2.0)
    assert audio_seconds(_b64(_wav(0.5, rate=44_100, channels=2)), "wav") == pytest.approx(0.5)
    # No header to read: 128 kbit/s is assumed.
    assert audio_seconds(_b64(b"\xff\xfb" * 16_000), "mp3") == pytest.approx(2.0)
    assert audio_seconds(_b64(b"not a wav header at all, no RIFF here"), "wav") > 0


# --- what a request needs from a model ---------------------------------------------------------
@pytest.mark.parametrize(
    ("parts", "needs"),
    [
        ([_file(b"%PDF", "application/pdf")], {"documents"}),
        ([{"type": "file", "file": {"file_id": "f"}}], {"documents"}),
        ([_file(b"\x89PNG", "image/png")], {"vision"}),
        ([{"type": "file", "file": {"file_url": "https://e.com/a.mp3"}}], {"audio_input"}),
        ([_audio(_wav(0.1))], {"audio_input"}),
        (
            [_audio(_wav(0.1)), _file(b"%PDF", "application/pdf")],
            {"audio_input", "documents"},
        ),
    ],
)
def test_documents_and_audio_are_needs(parts: list[dict[str, Any]], needs: set[str]) -> None:
    assert needed_capabilities(_request(*parts)) == needs


def test_a_tool_results_document_is_a_need_too() -> None:
    request = _request(_file(b"%PDF", "application/pdf"), role="tool")
    assert needed_capabilities(request) == {"documents"}


def test_litellm_pdf_and_audio_flags_become_capabilities() -> None:
    (info,) = load_litellm_prices(
        {
            "gemini/gemini-2.5-flash": {
                "litellm_provider": "gemini",
                "mode": "chat",
                "input_cost_per_token": 3e-07,
                "output_cost_per_token": 2.5e-06,
                "supports_pdf_input": True,
                "supports_audio_input": True,
            }
        }
    )
    assert {"documents", "audio_input"} <= info.capabilities


# --- token estimates: base64 is never counted as text -------------------------------------------
def test_a_pdf_counts_as_pages_not_as_its_base64() -> None:
    counter = TokenCounter(use_tiktoken=False)
    small = _request(_file(b"%PDF-1.4" + b"\x00" * 3_000, "application/pdf"))
    big = _request(_file(b"%PDF-1.4" + b"\x00" * 320_000, "application/pdf"))
    base = counter.count_messages(_request({"type": "text", "text": ""}).messages)
    assert counter.count_messages(small.messages) - base == 2000  # at least one page
    assert counter.count_messages(big.messages) - base == 20_000  # 320 kB at 16 bytes a token
    # Counted as text, 320 kB of base64 would be over 100,000 tokens.
    assert (
        counter.count_messages(big.messages) < len(big.messages[0].content[0].file.file_data) // 4
    )  # type: ignore[index, union-attr]


def test_a_text_file_counts_as_its_text_and_an_image_file_as_an_image() -> None:
    counter = TokenCounter(use_tiktoken=False)
    base = counter.count_messages(_request({"type": "text", "text": ""}).messages)
    text = _request(_file(b"x" * 4_000, "text/plain", filename="n.txt"))
    image = _request(_file(b"\x89PNG" + b"\x00" * 50_000, "image/png"))
    by_url = _request({"type": "file", "file": {"file_url": "https://e.com/a.pdf"}})
    assert counter.count_messages(text.messages) - base == 1000
    assert counter.count_messages(image.messages) - base == 765
    assert counter.count_messages(by_url.messages) - base == 2000  # one page: its size is unknown


def test_audio_counts_by_its_length() -> None:
    counter = TokenCounter(use_tiktoken=False)
    base = counter.count_messages(_request({"type": "text", "text": ""}).messages)
    ten_seconds = _request(_audio(_wav(10.0)))
    assert counter.count_messages(ten_seconds.messages) - base == 320  # 32 tokens a second
    audio_file = _request(_file(b"\xff\xfb" * 80_000, "audio/mpeg"))  # 160 kB at 16 kB/s
    assert counter.count_messages(audio_file.messages) - base == 320


def test_most_tokens_bounds_documents_and_audio_without_reading_them() -> None:
    empty = most_tokens(_request({"type": "text", "text": ""}))
    pdf = _request(_file(b"%PDF" + b"\x00" * 399_996, "application/pdf"))
    text = _request(_file(b"x" * 4_000, "text/plain"))
    by_id = _request({"type": "file", "file": {"file_id": "f"}})
    audio = _request(_audio(_wav(10.0)))
    assert most_tokens(pdf) - empty == 100_000  # one token per 4 bytes
    assert most_tokens(text) - empty == 4_000  # one token per character, as for text
    assert most_tokens(by_id) - empty == 4_000
    assert most_tokens(audio) - empty == 320
    counter = TokenCounter(use_tiktoken=False)
    for request in (pdf, text, by_id, audio):
        assert most_tokens(request) >= counter.count_messages(request.messages)
