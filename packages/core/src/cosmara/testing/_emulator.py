"""``Emulator``: a local OpenAI-shaped LLM provider for offline tests, demos and benchmarks.

It serves ``/v1/chat/completions`` (plain and streamed), ``/v1/embeddings`` and ``/v1/models``
(plus the Azure ``/openai/deployments/{name}/...`` shape) on 127.0.0.1 from an asyncio loop in
a daemon thread. Replies are deterministic; scripted replies and faults (error statuses,
``Retry-After``, delays, stalled or cut streams, malformed bodies) are set from the test::

    with Emulator() as emu:
        emu.add_fault(Fault(status=429, retry_after=2, times=1))
        emu.reply("Hello!")
        ...  # point a client at emu.base_url: the 1st call gets a 429, the 2nd "Hello!"
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any

from ._embeddings import DEFAULT_DIMENSIONS, MAX_DIMENSIONS
from ._openai import ScriptedReply
from ._server import Server
from ._state import Fault, RecordedRequest, State

__all__ = ["Emulator", "Fault", "RecordedRequest"]


class Emulator:
    """A local OpenAI-compatible server running in a background thread.

    Use it as a context manager, or call ``start()`` and ``stop()``; ``base_url`` is what an
    OpenAI-style client needs. Every method is thread-safe. Without scripted replies a chat
    completion answers ``"Echo: "`` plus the last user message, with deterministic token counts.

    Args:
        host: interface to listen on.
        port: port to listen on; 0 picks a free one.
        max_requests: after this many requests every request is answered 503, so runaway
            loops stop by themselves. ``reset()`` starts the count again.
        max_recorded: how many of the latest requests ``requests`` keeps.
        model_prefix: prepended to the model names reported in responses and ``/v1/models``.
        embedding_dimensions: the length of embedding vectors when a request does not ask
            for one (``dimensions``). Similar texts get similar vectors (a hashed bag of
            words); with a few hundred dimensions a retriever reliably finds the document
            sharing a question's words, so a RAG demo works. 8 keeps them small.

    Raises:
        ValueError: a negative bound, or ``embedding_dimensions`` outside 1..8192.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        max_requests: int = 100_000,
        max_recorded: int = 1000,
        model_prefix: str = "",
        embedding_dimensions: int = DEFAULT_DIMENSIONS,
    ) -> None:
        if max_requests < 0 or max_recorded < 0:
            raise ValueError("max_requests and max_recorded must not be negative")
        if not 1 <= embedding_dimensions <= MAX_DIMENSIONS:
            raise ValueError(f"embedding_dimensions must be from 1 to {MAX_DIMENSIONS}")
        self._host = host
        self._state = State(
            max_requests=max_requests,
            max_recorded=max_recorded,
            model_prefix=model_prefix,
            embedding_dimensions=embedding_dimensions,
        )
        self._server = Server(self._state, host=host, port=port)

    def __repr__(self) -> str:
        where = self.url if self._server.bound_port is not None else "stopped"
        return f"<Emulator {where}>"

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> Emulator:
        """Start serving; returns ``self`` once the port is bound."""
        if self._server.running:
            raise RuntimeError("the emulator is already running")
        self._server.start()
        return self

    def stop(self) -> None:
        """Close every connection and the listener and join the thread. Idempotent."""
        self._server.stop()

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- addresses -------------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The bound port."""
        port = self._server.bound_port
        if port is None:
            raise RuntimeError("the emulator is not running; call start() or use `with`")
        return port

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        host = "127.0.0.1" if self._host in ("", "0.0.0.0") else self._host
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/v1``, the base URL OpenAI-style clients expect."""
        return self.url + "/v1"

    # -- scripting and inspection ----------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """The latest recorded requests, oldest first (at most ``max_recorded``)."""
        with self._state.lock:
            return list(self._state.recorded)

    @property
    def request_count(self) -> int:
        """How many requests arrived since the emulator was created or last ``reset()``."""
        with self._state.lock:
            return self._state.count

    def add_fault(self, fault: Fault) -> None:
        """Add a fault; for each request the first matching active fault applies."""
        self._state.add_fault(fault)

    def reply(
        self,
        content: str | None = None,
        *,
        tool_calls: Sequence[Mapping[str, Any]] | None = None,
        finish_reason: str | None = None,
        usage: Mapping[str, Any] | None = None,
        match_model: str | None = None,
        match_text: str | None = None,
    ) -> None:
        """Queue the reply of a coming chat completion (FIFO; defaults once the queue is empty).

        Each tool call is ``{"name": ..., "arguments": dict | str, "id": optional}``; string
        arguments are sent verbatim, so malformed arguments can be scripted. With tool calls
        and no ``content`` the message content is ``null``. ``finish_reason`` replaces the
        computed one; ``usage`` keys replace the computed token counts.

        ``match_model`` (the model as sent, e.g. ``"gpt-4o-mini"``; the deployment on Azure
        paths) and ``match_text`` (a substring of the last user message) keep the reply for
        the request it is meant for: the first queued reply whose filters match a request
        answers it, and other requests (a framework's own side questions: a query rewrite, a
        title, a summary) pass it by and take the next one, or the echo.
        """
        calls = tuple(dict(call) for call in tool_calls or ())
        for call in calls:
            if not isinstance(call.get("name"), str):
                raise ValueError("every tool call needs a string 'name'")
        usage_copy = dict(usage) if usage else None
        self._state.push_reply(
            ScriptedReply(content, calls, finish_reason, usage_copy, match_model, match_text)
        )

    def reset(self) -> None:
        """Clear faults, queued replies, recorded requests and the request count."""
        self._state.reset()
