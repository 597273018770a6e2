"""One request on any of the engine's four paths (chat, achat, stream, astream), so a test can
be parametrized over them and still assert on one shape of answer."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

from cosmara import ChatChunk, Cosmara, CosmaraMeta
from cosmara.testing import Emulator

__all__ = ["HOWS", "STREAMS", "Answer", "Loop", "ask", "sent", "text_of"]

HOWS = ("chat", "achat", "stream", "astream")
STREAMS = ("stream", "astream")
HI = [{"role": "user", "content": "Hello there"}]

T = TypeVar("T")


class Loop:
    """One event loop for a test's async calls, so they share its connection pools (a new
    loop per call would build new clients, and TLS contexts, every time)."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
        return self._loop.run_until_complete(coroutine)

    def close(self) -> None:
        if self._loop is not None:
            self._loop.run_until_complete(self._loop.shutdown_asyncgens())  # closes the pools
            self._loop.close()


@dataclass
class Answer:
    """What the caller got: the text, the engine's metadata, and (streams) every chunk."""

    text: str
    meta: CosmaraMeta
    chunks: list[ChatChunk] = field(default_factory=list)


def text_of(chunks: list[ChatChunk]) -> str:
    return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


def ask(
    client: Cosmara,
    how: str,
    aio: Loop,
    received: list[ChatChunk] | None = None,
    **kwargs: Any,
) -> Answer:
    """One request on the path ``how``; a stream's chunks also go to ``received`` as they come
    (so a test still has them when the stream raises)."""
    kwargs.setdefault("messages", HI)
    if how in ("chat", "achat"):
        response = client.chat(**kwargs) if how == "chat" else aio.run(client.achat(**kwargs))
        assert response.cosmara is not None
        return Answer(response.text or "", response.cosmara)
    chunks = [] if received is None else received
    if how == "stream":
        for chunk in client.stream(**kwargs):
            chunks.append(chunk)
    elif how == "astream":

        async def collect() -> None:
            async for chunk in client.astream(**kwargs):
                chunks.append(chunk)

        aio.run(collect())
    else:
        raise ValueError(f"unknown path {how!r}")
    meta = chunks[-1].cosmara
    assert meta is not None
    return Answer(text_of(chunks), meta, chunks)


def sent(emulator: Emulator, model: str) -> int:
    """How many requests for ``model`` reached the emulator."""
    return sum(1 for r in emulator.requests if r.json and r.json.get("model") == model)
