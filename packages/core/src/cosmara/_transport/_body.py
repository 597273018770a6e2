"""Response bodies read within limits: bytes as received in, decompressed bytes out.

Decompression is done here, not by the HTTP library, so that a small compressed body cannot
inflate past ``decoded_bytes`` in one step (a gzip bomb): every output is bounded as it is made.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator

from cosmara._errors import InvalidResponseError

__all__ = ["ACCEPT_ENCODING", "STEP", "BodyDecoder", "TooLarge"]

ACCEPT_ENCODING = "gzip, deflate"  # what the transports ask for: what this module can bound
STEP = 1024 * 1024  # the most decompressed bytes made in one go


class TooLarge(Exception):
    """A body passed one of its limits; ``what`` names it for the error message."""

    def __init__(self, what: str, limit: int) -> None:
        super().__init__(what, limit)
        self.what = what
        self.limit = limit

    def error(self, provider: str) -> InvalidResponseError:
        return InvalidResponseError(
            f"the response's {self.what} passed the client's limit of {self.limit:,} bytes "
            "(limits in the configuration); not read further",
            provider=provider,
            code="response_too_large",
            retryable=False,
        )


class BodyDecoder:
    """Counts and decompresses one body. ``truncate`` keeps the first ``decoded_limit`` bytes
    and drops the rest instead of raising (error bodies: their first part says enough)."""

    def __init__(
        self,
        content_encoding: str | None,
        *,
        wire_limit: int,
        decoded_limit: int,
        truncate: bool = False,
    ) -> None:
        self._wire_limit = wire_limit
        self._decoded_limit = decoded_limit
        self._truncate = truncate
        self._wire = 0
        self._decoded = 0
        self.full = False  # a truncating decoder has kept all it will keep
        self._inflaters = [_inflater(name) for name in _codings(content_encoding)]

    def feed(self, data: bytes) -> Iterator[bytes]:
        """The decoded pieces ``data`` completes, none over ``STEP`` bytes, so a limit stops a
        bomb before the rest of it is inflated.

        Raises:
            TooLarge: a limit passed (unless truncating).
            InvalidResponseError: the bytes do not decompress, or the encoding is unknown.
        """
        self._wire += len(data)
        if self._wire > self._wire_limit and not self._truncate:
            raise TooLarge("body as received", self._wire_limit)
        yield from self._counted(self._inflated(data, len(self._inflaters)))

    def flush(self) -> Iterator[bytes]:
        """What remains once the body has ended."""
        yield from self._counted(self._inflated(b"", len(self._inflaters), end=True))

    def _inflated(self, data: bytes, depth: int, *, end: bool = False) -> Iterator[bytes]:
        # The last coding applied comes off first: each layer feeds the one below, piecewise.
        if depth == 0:
            if data:
                yield data
            return
        inflater = self._inflaters[depth - 1]
        for piece in inflater.inflate(data, end=end):
            yield from self._inflated(piece, depth - 1)
        if end:
            yield from self._inflated(b"", depth - 1, end=True)

    def _counted(self, pieces: Iterator[bytes]) -> Iterator[bytes]:
        for piece in pieces:
            if self.full:
                return
            self._decoded += len(piece)
            if self._decoded > self._decoded_limit:
                if not self._truncate:
                    raise TooLarge("decompressed body", self._decoded_limit)
                self.full = True
                piece = piece[: len(piece) - (self._decoded - self._decoded_limit)]
                self._decoded = self._decoded_limit
            if self._truncate and self._wire >= self._wire_limit:
                self.full = True
            yield piece


def _codings(header: str | None) -> list[str]:
    if not header:
        return []
    names = [name.strip().lower() for name in header.split(",")]
    return [name for name in names if name and name != "identity"]


class _Inflater:
    """zlib, inflating at most ``STEP`` bytes at a time (a compressed body can hold a thousand
    times its size)."""

    def __init__(self, wbits: int, name: str) -> None:
        self._name = name
        self._zlib = zlib.decompressobj(wbits)
        self._started = False

    def inflate(self, data: bytes, *, end: bool = False) -> Iterator[bytes]:
        while data:
            try:
                piece = self._zlib.decompress(data, STEP)
            except zlib.error:
                if self._name == "deflate" and not self._started:
                    # "deflate" should be zlib-wrapped; some servers send it raw.
                    self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
                    self._started = True
                    continue
                raise InvalidResponseError(
                    f"the response body is not valid {self._name} data"
                ) from None
            self._started = True
            data = self._zlib.unconsumed_tail
            if piece:
                yield piece
        if end:
            rest = self._zlib.flush()
            if rest:
                yield rest


def _inflater(name: str) -> _Inflater:
    if name in ("gzip", "x-gzip"):
        return _Inflater(zlib.MAX_WBITS | 16, name)
    if name == "deflate":
        return _Inflater(zlib.MAX_WBITS, name)
    raise InvalidResponseError(
        f"the response uses content-encoding {name!r}; only {ACCEPT_ENCODING} were asked for"
    )
