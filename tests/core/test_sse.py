"""The sans-I/O Server-Sent Events decoder: bytes in, events out, whatever the chunking."""

from __future__ import annotations

import random
import re
from collections.abc import Iterable

import pytest

from cosmara._sse import LineSplitter, SSEDecoder, SSEEvent


def decode(chunks: Iterable[bytes], *, close: bool = True) -> list[SSEEvent]:
    decoder = SSEDecoder()
    events: list[SSEEvent] = []
    for chunk in chunks:
        events.extend(decoder.feed(chunk))
    if close:
        events.extend(decoder.close())
    return events


def one_byte_at_a_time(data: bytes) -> list[bytes]:
    return [data[i : i + 1] for i in range(len(data))]


OPENAI_STREAM = (
    b'data: {"choices":[{"delta":{"content":"Hel"}}]}\n\n'
    b'data: {"choices":[{"delta":{"content":"lo"}}]}\n\n'
    b"data: [DONE]\n\n"
)
OPENAI_EVENTS = [
    SSEEvent(data='{"choices":[{"delta":{"content":"Hel"}}]}'),
    SSEEvent(data='{"choices":[{"delta":{"content":"lo"}}]}'),
    SSEEvent(data="[DONE]"),
]


def test_whole_stream_in_one_chunk() -> None:
    assert decode([OPENAI_STREAM]) == OPENAI_EVENTS


def test_events_are_returned_by_the_feed_that_completes_them() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\n") == []
    assert decoder.feed(b"\n") == [SSEEvent(data="a")]
    assert decoder.feed(b"data: b\n\ndata: c\n\n") == [SSEEvent(data="b"), SSEEvent(data="c")]
    assert decoder.close() == []


def test_one_byte_at_a_time() -> None:
    assert decode(one_byte_at_a_time(OPENAI_STREAM)) == OPENAI_EVENTS


def test_one_byte_at_a_time_yields_each_event_before_close() -> None:
    assert decode(one_byte_at_a_time(OPENAI_STREAM), close=False) == OPENAI_EVENTS


@pytest.mark.parametrize("cut", range(1, len(OPENAI_STREAM)))
def test_every_two_way_split(cut: int) -> None:
    assert decode([OPENAI_STREAM[:cut], OPENAI_STREAM[cut:]]) == OPENAI_EVENTS


@pytest.mark.parametrize("ending", [b"\n", b"\r\n", b"\r"], ids=["lf", "crlf", "cr"])
def test_line_endings(ending: bytes) -> None:
    stream = ending.join([b"event: delta", b"data: one", b"", b"data: two", b"", b""])
    expected = [SSEEvent(data="one", event="delta"), SSEEvent(data="two")]
    assert decode([stream]) == expected
    assert decode(one_byte_at_a_time(stream)) == expected


def test_crlf_split_between_cr_and_lf_is_one_line_ending() -> None:
    # A "\r" at a chunk's end must not be taken for a line ending of its own before the "\n".
    events = decode([b"data: a\r", b"\n\r", b"\ndata: b\r\n\r\n"])
    assert events == [SSEEvent(data="a"), SSEEvent(data="b")]


def test_mixed_line_endings_in_one_stream() -> None:
    events = decode([b"data: a\r\ndata: b\rdata: c\n\r\n"])
    assert events == [SSEEvent(data="a\nb\nc")]


def test_comments_are_ignored() -> None:
    stream = (
        b": OPENROUTER PROCESSING\n\n"
        b": OPENROUTER PROCESSING\n\n"
        b"data: {}\n"
        b": keep-alive in the middle of an event\n"
        b"\n"
    )
    assert decode(one_byte_at_a_time(stream)) == [SSEEvent(data="{}")]


def test_comment_only_stream_yields_nothing() -> None:
    assert decode([b":ping\n\n:ping\n\n"]) == []


def test_multi_line_data_is_joined_with_newlines() -> None:
    stream = b"data: first\ndata: second\ndata:\ndata: fourth\n\n"
    assert decode([stream]) == [SSEEvent(data="first\nsecond\n\nfourth")]


def test_event_and_id_fields() -> None:
    stream = (
        b'event: message_start\nid: 1\ndata: {"a":1}\n\n'
        b'event: content_block_delta\nid: 2\ndata: {"b":2}\n\n'
    )
    assert decode(one_byte_at_a_time(stream)) == [
        SSEEvent(data='{"a":1}', event="message_start", id="1"),
        SSEEvent(data='{"b":2}', event="content_block_delta", id="2"),
    ]


def test_event_type_resets_after_each_event() -> None:
    events = decode([b"event: ping\ndata: 1\n\ndata: 2\n\n"])
    assert [event.event for event in events] == ["ping", "message"]


def test_last_event_id_persists_until_changed() -> None:
    # WHATWG: the last event ID buffer is not reset when an event is dispatched.
    events = decode([b"id: 7\ndata: a\n\ndata: b\n\nid: 8\ndata: c\n\n"])
    assert [event.id for event in events] == ["7", "7", "8"]


def test_event_without_data_is_not_dispatched() -> None:
    # An event: line with no data: lines dispatches nothing, and its type does not leak on.
    assert decode([b"event: ping\n\ndata: x\n\n"]) == [SSEEvent(data="x")]


@pytest.mark.parametrize(
    ("line", "data"),
    [
        (b"data:no-space", "no-space"),
        (b"data: one-space", "one-space"),
        (b"data:  two-spaces", " two-spaces"),
        (b"data", ""),
        (b"data: a: b", "a: b"),
    ],
)
def test_field_value_parsing(line: bytes, data: str) -> None:
    assert decode([line + b"\n\n"]) == [SSEEvent(data=data)]


def test_unknown_fields_are_ignored() -> None:
    assert decode([b"retry: 1000\nfoo: bar\ndata: x\n\n"]) == [SSEEvent(data="x")]


def test_close_flushes_a_final_event_without_blank_line() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\n\ndata: last") == [SSEEvent(data="a")]
    assert decoder.close() == [SSEEvent(data="last")]


def test_close_flushes_a_final_event_ending_in_one_newline() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"event: end\ndata: last\n") == []
    assert decoder.close() == [SSEEvent(data="last", event="end")]


def test_close_flushes_a_final_event_ending_in_crlf() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: last\r\n") == []
    assert decoder.close() == [SSEEvent(data="last")]


def test_close_flushes_a_final_event_ending_in_a_lone_cr() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: last\r") == []
    assert decoder.close() == [SSEEvent(data="last")]


def test_close_on_empty_or_complete_stream_yields_nothing() -> None:
    assert SSEDecoder().close() == []
    decoder = SSEDecoder()
    decoder.feed(b"data: a\n\n")
    assert decoder.close() == []


def test_close_after_a_trailing_comment_yields_nothing() -> None:
    assert decode([b": bye"]) == []


# --- UTF-8 -----------------------------------------------------------------------------------

TEXT = "caf\u00e9 \u20ac \u4e2d\u6587 \U0001f600"  # 2-, 3-, 3- and 4-byte characters


def test_multibyte_characters_in_one_chunk() -> None:
    assert decode([f"data: {TEXT}\n\n".encode()]) == [SSEEvent(data=TEXT)]


def test_multibyte_character_split_across_two_feeds() -> None:
    encoded = f"data: {TEXT}\n\n".encode()
    emoji_start = encoded.index("\U0001f600".encode())
    for cut in range(emoji_start + 1, emoji_start + 4):  # inside the 4-byte sequence
        assert decode([encoded[:cut], encoded[cut:]]) == [SSEEvent(data=TEXT)]


def test_multibyte_characters_one_byte_at_a_time() -> None:
    encoded = f"event: t\u00e9st\ndata: {TEXT}\ndata: {TEXT}\n\n".encode()
    assert decode(one_byte_at_a_time(encoded)) == [
        SSEEvent(data=f"{TEXT}\n{TEXT}", event="t\u00e9st")
    ]


def test_multibyte_character_split_in_the_unterminated_last_line() -> None:
    encoded = f"data: {TEXT}".encode()
    assert decode(one_byte_at_a_time(encoded)) == [SSEEvent(data=TEXT)]


@pytest.mark.parametrize("seed", range(40))
def test_line_splitting_agrees_with_a_plain_split_under_any_chunking(seed: int) -> None:
    # Streams that end lines with \n alone take a faster path than ones with \r: chunkings
    # that move between the two (and split \r\n) must give the same lines as a plain split.
    rng = random.Random(seed)
    endings = [b"\n", b"\n", b"\n", b"\r\n", b"\r"] if seed % 2 else [b"\n"]
    data = b"".join(
        bytes(rng.choice(b"ab:{} ") for _ in range(rng.randrange(0, 12))) + rng.choice(endings)
        for _ in range(rng.randrange(1, 30))
    ) + bytes(rng.choice(b"ab") for _ in range(rng.randrange(0, 5)))
    *expected, rest = re.split(rb"\r\n|\r|\n", data)
    splitter, lines, position = LineSplitter(), [], 0
    while position < len(data):
        step = rng.randrange(1, 9)
        lines += splitter.feed(data[position : position + step])
        position += step
    tail = splitter.close()
    if data.endswith(b"\r"):  # a final \r waits for a \n that never comes: close ends its line
        expected, rest = expected[:-1], expected[-1]
    assert lines == expected
    assert tail == rest
