"""A hostile provider: every answer below ends in a typed ``ProviderError`` that fails over to
the fallback (with one ``cosmara_error`` when nothing is left), on every path, within bounds.

The first target (``openai/gpt-4o-mini``) is the emulator misbehaving; the fallback
(``groq/llama-3.1-8b-instant``) is the same emulator behaving.
"""

from __future__ import annotations

import gzip
import math
import tracemalloc
import zlib
from collections.abc import Iterator
from typing import Any

import pytest

import cosmara
from cosmara import Cosmara, hookimpl
from cosmara.testing import Emulator, FakeClock, Fault
from tests.support.paths import HOWS, STREAMS, Loop, ask

FIRST, FIRST_MODEL = "openai/gpt-4o-mini", "gpt-4o-mini"
FALLBACK = "groq/llama-3.1-8b-instant"
DEEP = b"[" * 100_000 + b"]" * 100_000  # JSON nested 100,000 levels

every_path = pytest.mark.parametrize("how", HOWS)
stream_paths = pytest.mark.parametrize("how", STREAMS)
plain_paths = pytest.mark.parametrize("how", ["chat", "achat"])


class Ends:
    """Records each request's end event."""

    def __init__(self) -> None:
        self.errors: list[BaseException] = []
        self.responses = 0

    @hookimpl
    def cosmara_error(self, error: BaseException) -> None:
        self.errors.append(error)

    @hookimpl
    def cosmara_response(self) -> None:
        self.responses += 1


@pytest.fixture
def aio() -> Iterator[Loop]:
    loop = Loop()
    yield loop
    loop.close()


def _client(emulator: Emulator, *plugins: object, **config: Any) -> Cosmara:
    providers = {
        "openai": {"base_url": emulator.base_url, "api_key": "sk-test-emulator-key-0000"},
        "groq": {"base_url": emulator.base_url, "api_key": "gsk-test-emulator-key-0000"},
    }
    return Cosmara(
        # No retries: each hostile answer is one failed attempt, then the fallback.
        {
            "providers": providers,
            "breaker": {"enabled": False},
            "retry": {"max_retries": 0},
            **config,
        },
        clock=FakeClock(),
        plugins=plugins,
        load_entry_points=False,
    )


def _fails_over(
    emulator: Emulator, how: str, aio: Loop, fault: Fault, error: type[Exception], **config: Any
) -> cosmara.ProviderError:
    """The faulty target fails with ``error``, the fallback answers; alone, the same fault
    raises ``error`` with its attempt and exactly one end event. Returns that error."""
    emulator.add_fault(fault)
    ends = Ends()
    with _client(emulator, ends, **config) as client:
        answer = ask(client, how, aio, model=FIRST, fallbacks=[FALLBACK])
        assert [(a.provider, a.error) for a in answer.meta.attempts] == [
            ("openai", error.__name__),
            ("groq", None),
        ]
        assert answer.text == "Echo: Hello there"
        with pytest.raises(error) as caught:
            ask(client, how, aio, model=FIRST)
    assert caught.value.attempts[0].error == error.__name__
    assert ends.responses == 1
    assert ends.errors == [caught.value]
    return caught.value


# --- 4. invalid UTF-8 ------------------------------------------------------------------------
@stream_paths
def test_invalid_utf8_in_a_stream_line(emulator: Emulator, how: str, aio: Loop) -> None:
    fault = Fault(events=(b"data: \xff\xfe\n\n", b"data: [DONE]\n\n"), match_model=FIRST_MODEL)
    _fails_over(emulator, how, aio, fault, cosmara.InvalidResponseError)


@plain_paths
def test_invalid_utf8_body(emulator: Emulator, how: str, aio: Loop) -> None:
    fault = Fault(body=b'{"id": "\xff\xfe"}', match_model=FIRST_MODEL)
    _fails_over(emulator, how, aio, fault, cosmara.InvalidResponseError)


# --- 5. JSON nested 100,000 levels -----------------------------------------------------------
@plain_paths
def test_deep_json_answer(emulator: Emulator, how: str, aio: Loop) -> None:
    fault = Fault(body=DEEP, match_model=FIRST_MODEL)
    _fails_over(emulator, how, aio, fault, cosmara.InvalidResponseError)


@every_path
def test_deep_json_error_body(emulator: Emulator, how: str, aio: Loop) -> None:
    fault = Fault(status=500, body=DEEP, match_model=FIRST_MODEL)
    error = _fails_over(emulator, how, aio, fault, cosmara.ProviderUnavailableError)
    assert error.status_code == 500


@stream_paths
def test_deep_json_stream_event(emulator: Emulator, how: str, aio: Loop) -> None:
    fault = Fault(events=(b"data: " + DEEP + b"\n\n",), match_model=FIRST_MODEL)
    _fails_over(emulator, how, aio, fault, cosmara.InvalidResponseError)


# --- 6. Retry-After that is not a number of seconds -----------------------------------------
@pytest.mark.parametrize(
    "headers",
    [
        {"retry-after": "nan"},
        {"retry-after": "inf"},
        {"retry-after": "-5"},
        {"retry-after-ms": "nan"},
        {"retry-after-ms": "-inf"},
    ],
)
@every_path
def test_unusable_retry_after_is_ignored(
    emulator: Emulator, how: str, aio: Loop, headers: dict[str, str]
) -> None:
    emulator.add_fault(Fault(status=429, headers=headers, times=1))
    clock = FakeClock()
    retry = {"max_retries": 1, "initial_delay": 0.25, "jitter": 0}
    providers = {"openai": {"base_url": emulator.base_url, "api_key": "sk-x"}}
    with Cosmara(
        {"providers": providers, "retry": retry}, clock=clock, load_entry_points=False
    ) as client:
        answer = ask(client, how, aio, model=FIRST)
    assert [a.error for a in answer.meta.attempts] == ["RateLimitError", None]
    assert clock.slept == [0.25]  # the backoff, not a NaN, an infinity or a negative wait
    assert all(math.isfinite(wait) for wait in clock.slept)


def test_retry_after_parsing_ignores_non_finite_values() -> None:
    from cosmara.providers._base import retry_after_seconds

    for value in ("nan", "inf", "-inf", "-1", "1e999"):
        assert retry_after_seconds({"retry-after": value}) is None
        assert retry_after_seconds({"retry-after-ms": value}) is None
    assert retry_after_seconds({"retry-after": "2.5"}) == 2.5


# --- 7. error objects in a 200, unexpected redirects -----------------------------------------
@pytest.mark.parametrize(
    "body",
    [
        b'{"error": {"message": "The server is overloaded"}}',
        b'{"error": "overloaded"}',
        b'{"error": {"message": "busy", "code": "server_busy"}}',
    ],
)
@plain_paths
def test_error_object_in_a_200_fails_over(
    emulator: Emulator, how: str, aio: Loop, body: bytes
) -> None:
    fault = Fault(body=body, match_model=FIRST_MODEL)
    _fails_over(emulator, how, aio, fault, cosmara.ProviderUnavailableError)


@pytest.mark.parametrize("status", [301, 302, 307, 308])
@every_path
def test_unexpected_redirect_fails_over(
    emulator: Emulator, how: str, aio: Loop, status: int
) -> None:
    fault = Fault(
        status=status,
        body="",
        headers={"location": "http://127.0.0.1:9/elsewhere"},
        match_model=FIRST_MODEL,
    )
    error = _fails_over(emulator, how, aio, fault, cosmara.InvalidResponseError)
    assert error.status_code == status
    assert not error.retryable


# --- 12. every buffer has a bound ------------------------------------------------------------
def _bomb(megabytes: int) -> bytes:
    """gzip of ``megabytes`` MiB of zeros: about a thousandth of that on the wire."""
    packer = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    zeros = bytes(1024 * 1024)
    return b"".join(packer.compress(zeros) for _ in range(megabytes)) + packer.flush()


@every_path
def test_gzip_bomb_is_stopped_at_the_decoded_limit(emulator: Emulator, how: str, aio: Loop) -> None:
    fault = Fault(body=_bomb(256), headers={"content-encoding": "gzip"}, match_model=FIRST_MODEL)
    if how in STREAMS:
        fault = Fault(
            events=(_bomb(256),),
            headers={"content-encoding": "gzip"},
            match_model=FIRST_MODEL,
        )
    tracemalloc.start()
    try:
        error = _fails_over(emulator, how, aio, fault, cosmara.InvalidResponseError)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert error.code == "response_too_large"
    assert not error.retryable
    assert peak < 200 * 1024 * 1024  # the default 64 MiB limit, not 256 MiB per attempt


@plain_paths
def test_large_body_passes_the_response_limit(emulator: Emulator, how: str, aio: Loop) -> None:
    body = b'{"id": "' + b"x" * (3 * 1024 * 1024) + b'"}'
    fault = Fault(body=body, match_model=FIRST_MODEL)
    limits = {"response_bytes": 1024 * 1024}
    error = _fails_over(emulator, how, aio, fault, cosmara.InvalidResponseError, limits=limits)
    assert error.code == "response_too_large"


@every_path
def test_huge_error_body_is_cut(emulator: Emulator, how: str, aio: Loop) -> None:
    text = "overloaded " * 500_000  # 5.5 MB
    fault = Fault(status=503, body=text, match_model=FIRST_MODEL)
    error = _fails_over(emulator, how, aio, fault, cosmara.ProviderUnavailableError)
    assert len(error.message) < 4100
    assert len(error.provider_message or "") < 4100
    assert error.message.startswith("overloaded overloaded")
    assert "more characters" in error.message
    assert len(error.body) <= 1024 * 1024


@stream_paths
def test_stream_line_without_end_is_bounded(emulator: Emulator, how: str, aio: Loop) -> None:
    piece = b"x" * (256 * 1024)
    fault = Fault(events=(b"data: ", *([piece] * 12)), match_model=FIRST_MODEL)
    limits = {"event_bytes": 1024 * 1024}
    error = _fails_over(emulator, how, aio, fault, cosmara.InvalidResponseError, limits=limits)
    assert error.code == "response_too_large"


@stream_paths
def test_stream_total_is_bounded(emulator: Emulator, how: str, aio: Loop) -> None:
    event = b'data: {"choices": [{"index": 0, "delta": {"content": "' + b"y" * 60_000 + b'"}}]}\n\n'
    emulator.add_fault(Fault(events=(event,) * 40, match_model=FIRST_MODEL))
    with (
        _client(emulator, limits={"decoded_bytes": 1024 * 1024}) as client,
        pytest.raises(cosmara.InvalidResponseError) as caught,
    ):
        ask(client, how, aio, model=FIRST)
    assert caught.value.code == "response_too_large"
    assert caught.value.partial_text  # content had reached the caller: no silent takeover


def test_compressed_answers_are_read(emulator: Emulator) -> None:
    body = (
        b'{"id": "c1", "object": "chat.completion", "created": 1, "model": "gpt-4o-mini", '
        b'"choices": [{"index": 0, "message": {"role": "assistant", "content": "zipped"}, '
        b'"finish_reason": "stop"}]}'
    )
    for encoding, packed in (
        ("gzip", gzip.compress(body)),
        ("deflate", zlib.compress(body)),
        ("deflate", zlib.compress(body)[2:-4]),  # raw deflate, as some servers send it
    ):
        emulator.reset()
        emulator.add_fault(Fault(body=packed, headers={"content-encoding": encoding}))
        with _client(emulator) as client:
            response = client.chat(model=FIRST, messages=[{"role": "user", "content": "Hi"}])
        assert response.text == "zipped"


@plain_paths
def test_unknown_content_encoding_fails_over(emulator: Emulator, how: str, aio: Loop) -> None:
    fault = Fault(body=b"\x00\x01", headers={"content-encoding": "br"}, match_model=FIRST_MODEL)
    _fails_over(emulator, how, aio, fault, cosmara.InvalidResponseError)
