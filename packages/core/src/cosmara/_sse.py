"""A sans-I/O Server-Sent Events decoder: bytes in, events out.

Follows the WHATWG event-stream parsing rules that providers rely on: events end at a blank
line, ``data:`` lines join with newlines, lines starting with ``:`` are comments (OpenRouter's
keep-alives), and ``\\r\\n``, ``\\r`` or ``\\n`` may end a line. Chunk boundaries may fall anywhere.
Each byte is scanned for a line ending a bounded number of times (as it arrives, and once
more when its line completes), so a line that arrives in many pieces costs time in proportion
to its length; how long a line may grow is the engine's limit to enforce.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["LineSplitter", "SSEDecoder", "SSEEvent"]


class SSEEvent(NamedTuple):  # one per streamed chunk: a tuple is the cheapest record to make
    data: str
    event: str = "message"
    id: str | None = None


class LineSplitter:
    """Bytes in, complete lines out (without their endings), for SSE and NDJSON streams.

    ``\\n``, ``\\r\\n`` and a lone ``\\r`` end a line; a ``\\r`` at the end of the bytes so far
    waits to see whether ``\\n`` follows.
    """

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._scanned = 0  # bytes of the buffer already known to hold no line ending

    def feed(self, data: bytes) -> list[bytes]:
        buffer = self._buffer
        if b"\r" not in data and not buffer.endswith(b"\r"):
            # The usual stream ends its lines with \n alone: one C-level split. Only the new
            # bytes are searched until a line completes, so a line arriving in many pieces
            # still costs time in proportion to its length.
            buffer += data
            if b"\n" not in data:
                self._scanned = len(buffer)
                return []
            *lines, rest = bytes(buffer).split(b"\n")
            self._buffer = bytearray(rest)
            self._scanned = len(rest)
            return lines
        buffer += data
        lines = []
        start, position = 0, self._scanned
        while True:
            end = _next_ending(buffer, position)
            if end == -1:
                position = len(buffer)
                break
            if buffer[end] == 0x0D:  # \r
                if end + 1 == len(buffer):
                    position = end  # a \n may follow in the next piece
                    break
                lines.append(bytes(buffer[start:end]))
                position = end + (2 if buffer[end + 1] == 0x0A else 1)
            else:
                lines.append(bytes(buffer[start:end]))
                position = end + 1
            start = position
        del buffer[:start]
        self._scanned = position - start
        return lines

    def close(self) -> bytes:
        """What is left after the last line ending (a held-back ``\\r`` ended a line)."""
        rest = bytes(self._buffer).removesuffix(b"\r")
        self._buffer.clear()
        self._scanned = 0
        return rest


def _next_ending(buffer: bytearray, position: int) -> int:
    newline = buffer.find(b"\n", position)
    carriage = buffer.find(b"\r", position, newline if newline != -1 else len(buffer))
    return carriage if carriage != -1 else newline


class SSEDecoder:
    def __init__(self) -> None:
        self._lines = LineSplitter()
        self._data: list[str] = []
        self._event = ""
        self._id: str | None = None

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        """Consume bytes; return the events completed by them.

        Raises:
            UnicodeDecodeError: a line is not UTF-8.
        """
        events: list[SSEEvent] = []
        for line in self._lines.feed(chunk):
            text = line.decode("utf-8")
            if text.startswith("data: "):  # most lines: an event's data (what _line does)
                self._data.append(text[6:])
                continue
            event = self._line(text)
            if event is not None:
                events.append(event)
        return events

    def close(self) -> list[SSEEvent]:
        """The byte stream ended: flush a final event that lacked its blank line."""
        events = []
        rest = self._lines.close()
        if rest:
            event = self._line(rest.decode("utf-8"))
            if event is not None:
                events.append(event)
        event = self._line("")
        if event is not None:
            events.append(event)
        return events

    def _line(self, line: str) -> SSEEvent | None:
        if not line:
            if not self._data:
                self._event = ""
                return None
            event = SSEEvent(
                data="\n".join(self._data), event=self._event or "message", id=self._id
            )
            self._data = []
            self._event = ""
            return event
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id":
            self._id = value
        return None
