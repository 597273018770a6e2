"""The emulator's public records (``Fault``, ``RecordedRequest``) and its shared state."""

from __future__ import annotations

import itertools
import random
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from ._openai import ScriptedReply

__all__ = ["Fault", "RecordedRequest", "State"]


@dataclass(frozen=True)
class Fault:
    """A misbehaviour the emulator applies to matching requests.

    The first active fault whose filters match a request applies to it. ``times=None`` keeps
    the fault forever; otherwise each matching request consumes one use.

    Attributes:
        status: answer with this HTTP status and an OpenAI-style error body.
        body: the response body, verbatim (status 200 when ``status`` is not given); bytes
            are sent as they are (invalid UTF-8, a gzip body with a ``content-encoding``
            header), text is encoded as UTF-8.
        events: answer 200 with this ``text/event-stream`` body instead of the computed one,
            one chunk per item, verbatim (ping comments, invalid UTF-8, huge lines, ...).
        drip: seconds between pieces of the body: a ``body`` (or the computed completion)
            is sent ``drip_size`` bytes at a time, ``events`` one item at a time.
        drip_size: bytes per piece of a dripped body.
        headers: extra response headers.
        retry_after: ``Retry-After`` header: seconds, or an HTTP-date string sent verbatim.
        delay: seconds to wait before sending the response headers.
        stall_after_chunks: in a stream, pause for ``stall_seconds`` after this many events.
        stall_seconds: length of that pause.
        cut_after_chunks: in a stream, drop the connection after this many events, without
            the terminating chunk; on a non-streaming request, drop it without any response.
        malformed: answer 200 with a body that is not valid JSON (in a stream: one ``data:``
            event with invalid JSON after the first event).
        times: how many requests the fault applies to; ``None`` means forever.
        probability: the share of matching requests it applies to (drawn per request), for
            flaky providers; a request it spares goes on to the next fault or a normal answer.
        match_model: only requests for this model (the Azure deployment on Azure paths).
        match_path: only requests whose path contains this string, e.g. ``"/embeddings"``.
        message: replaces the generated error message.
        error_type: replaces the generated error ``type``.
        error_code: replaces the generated error ``code``.
    """

    status: int | None = None
    body: str | bytes | None = None
    events: tuple[bytes, ...] | None = None
    drip: float = 0.0
    drip_size: int = 1
    headers: dict[str, str] = field(default_factory=dict, hash=False)
    retry_after: float | str | None = None
    delay: float = 0.0
    stall_after_chunks: int | None = None
    stall_seconds: float = 1.0
    cut_after_chunks: int | None = None
    malformed: bool = False
    times: int | None = None
    match_model: str | None = None
    match_path: str | None = None
    message: str | None = None
    error_type: str | None = None
    error_code: str | None = None
    probability: float = 1.0

    def __post_init__(self) -> None:
        if not 0 < self.probability <= 1:
            raise ValueError("probability must be in (0, 1]")
        if self.status is not None and not 100 <= self.status <= 599:
            raise ValueError(f"status must be an HTTP status code, got {self.status!r}")
        if self.times is not None and self.times < 1:
            raise ValueError("times must be at least 1, or None for a permanent fault")
        if self.delay < 0 or self.stall_seconds < 0 or self.drip < 0:
            raise ValueError("delay, stall_seconds and drip must not be negative")
        if self.drip_size < 1:
            raise ValueError("drip_size must be at least 1")
        if self.events is not None and not all(isinstance(e, bytes) and e for e in self.events):
            raise ValueError("events must be non-empty bytes (an empty chunk ends the body)")
        for name in ("stall_after_chunks", "cut_after_chunks"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ValueError(f"{name} must not be negative")
        if isinstance(self.retry_after, (int, float)) and self.retry_after < 0:
            raise ValueError("retry_after must not be negative")


@dataclass(frozen=True)
class RecordedRequest:
    """One request the emulator received.

    Attributes:
        method: ``"POST"``, ``"GET"``, ...
        path: the path without the query string.
        query: query parameters (the last value wins for repeated names).
        headers: request headers, lowercase names.
        json: the parsed JSON body, or ``None`` when there was none or it did not parse.
        body: the raw body.
    """

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    json: Any
    body: bytes = field(default=b"", repr=False)


class _ActiveFault:
    __slots__ = ("fault", "remaining")

    def __init__(self, fault: Fault) -> None:
        self.fault = fault
        self.remaining = fault.times


class State:
    """What tests set and read, shared by the caller's threads and the server loop.

    Every mutable attribute is guarded by ``lock``.
    """

    def __init__(
        self,
        *,
        max_requests: int,
        max_recorded: int,
        model_prefix: str,
        embedding_dimensions: int = 8,
    ) -> None:
        self.max_requests = max_requests
        self.model_prefix = model_prefix
        self.embedding_dimensions = embedding_dimensions
        self.lock = threading.Lock()
        self.faults: list[_ActiveFault] = []
        self.replies: deque[ScriptedReply] = deque()
        self.recorded: deque[RecordedRequest] = deque(maxlen=max_recorded)
        self.count = 0
        # Bumped by reset(): a request still waiting out a fault's delay when its test ended
        # must not take a reply the next test queued.
        self.generation = 0
        self.serials = itertools.count(1)  # never reset: response ids stay unique
        self.call_ids = itertools.count(1)
        self.random = random.Random(0)  # a seeded draw: fault storms replay the same way

    def admit(self, request: RecordedRequest, model: str | None) -> tuple[bool, Fault | None]:
        """Count and record a request; returns (over ``max_requests``, the fault to apply)."""
        with self.lock:
            self.count += 1
            self.recorded.append(request)
            if self.count > self.max_requests:
                return True, None
            for index, active in enumerate(self.faults):
                fault = active.fault
                if fault.match_path is not None and fault.match_path not in request.path:
                    continue
                if fault.match_model is not None and fault.match_model != model:
                    continue
                if fault.probability < 1 and self.random.random() >= fault.probability:
                    continue
                if active.remaining is not None:
                    active.remaining -= 1
                    if active.remaining <= 0:
                        del self.faults[index]
                return False, fault
            return False, None

    def add_fault(self, fault: Fault) -> None:
        """Append a fault; faults are tried in the order they were added."""
        with self.lock:
            self.faults.append(_ActiveFault(fault))

    def push_reply(self, reply: ScriptedReply) -> None:
        """Queue a scripted reply."""
        with self.lock:
            self.replies.append(reply)

    def pop_reply(
        self, generation: int, model: str | None = None, last_user: str = ""
    ) -> tuple[int, ScriptedReply] | None:
        """The first queued reply meant for this request (its model, its last user message),
        with its place in the queue, for a request that arrived in ``generation`` (none for
        one that arrived before the last ``reset()``)."""
        with self.lock:
            if generation != self.generation:
                return None
            for place, reply in enumerate(self.replies):
                if reply.matches(model, last_user):
                    del self.replies[place]
                    return place, reply
            return None

    def give_back_reply(self, place: int, reply: ScriptedReply) -> None:
        """Put a reply back where it was (its request was rejected)."""
        with self.lock:
            self.replies.insert(min(place, len(self.replies)), reply)

    def reset(self) -> None:
        """Clear faults, replies, recorded requests and the request count."""
        with self.lock:
            self.faults.clear()
            self.replies.clear()
            self.recorded.clear()
            self.count = 0
            self.generation += 1

    def reported_model(self, model: str) -> str:
        """The model name a response reports: the requested one with ``model_prefix``."""
        prefix = self.model_prefix
        return model if model.startswith(prefix) else prefix + model
