"""Response bodies read within limits: bytes as received in, decompressed bytes out.

Decompression is done here, not by the HTTP library, so that a small compressed body cannot
inflate past ``decoded_bytes`` in one step (a gzip bomb): every output is bounded as it is made.
"""

from __future__ import annotations

import zlib

from cosmara._errors import InvalidResponseError

__all__ = ["ACCEPT_ENCODING", "BodyDecoder", "TooLarge"]

ACCEPT_ENCODING = "gzip, deflate"  # what the transports ask for: what this module can bound


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

    def feed(self, data: bytes) -> bytes:
        """The decoded bytes ``data`` completes.

        Raises:
            TooLarge: a limit passed (unless truncating).
            InvalidResponseError: the bytes do not decompress, or the encoding is unknown.
        """
        self._wire += len(data)
        if self._wire > self._wire_limit and not self._truncate:
            raise TooLarge("body as received", self._wire_limit)
        for inflater in reversed(self._inflaters):  # the last coding applied comes off first
            data = inflater.inflate(data, self._room())
        return self._count(data)

    def flush(self) -> bytes:
        """What remains once the body has ended."""
        data = b""
        for inflater in reversed(self._inflaters):
            data = inflater.inflate(data, self._room()) + inflater.flush(self._room())
        return self._count(data)

    def _room(self) -> int:
        # One byte more than allowed is enough to know the limit has passed.
        return max(self._decoded_limit - self._decoded + 1, 1)

    def _count(self, data: bytes) -> bytes:
        self._decoded += len(data)
        if self._decoded > self._decoded_limit:
            if not self._truncate:
                raise TooLarge("decompressed body", self._decoded_limit)
            self.full = True
            data = data[: len(data) - (self._decoded - self._decoded_limit)]
            self._decoded = self._decoded_limit
        if self._truncate and self._wire >= self._wire_limit:
            self.full = True
        return data


def _codings(header: str | None) -> list[str]:
    if not header:
        return []
    names = [name.strip().lower() for name in header.split(",")]
    return [name for name in names if name and name != "identity"]


class _Inflater:
    """zlib with every output bounded: unconsumed input waits for the next call."""

    def __init__(self, wbits: int, name: str) -> None:
        self._name = name
        self._wbits = wbits
        self._zlib = zlib.decompressobj(wbits)
        self._pending = b""
        self._started = False

    def inflate(self, data: bytes, room: int) -> bytes:
        data = self._pending + data
        try:
            out = self._zlib.decompress(data, room)
        except zlib.error:
            if self._name == "deflate" and not self._started:
                # "deflate" should be zlib-wrapped; some servers send it raw.
                self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
                self._started = True
                return self.inflate(data, room)
            raise InvalidResponseError(
                f"the response body is not valid {self._name} data"
            ) from None
        self._started = True
        self._pending = self._zlib.unconsumed_tail
        return out

    def flush(self, room: int) -> bytes:
        out = self.inflate(b"", room) if self._pending else b""
        return out + self._zlib.flush(room) if room > len(out) else out


def _inflater(name: str) -> _Inflater:
    if name in ("gzip", "x-gzip"):
        return _Inflater(zlib.MAX_WBITS | 16, name)
    if name == "deflate":
        return _Inflater(zlib.MAX_WBITS, name)
    raise InvalidResponseError(
        f"the response uses content-encoding {name!r}; only {ACCEPT_ENCODING} were asked for"
    )
