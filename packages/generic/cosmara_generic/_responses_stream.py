"""``ResponsesStreamEncoder``: engine chunks to the Responses API's stream events. Pure.

The events come in the order OpenAI emits them, numbered by ``sequence_number``::

    response.created, response.in_progress
    per output item, in the order the model produced them:
      response.output_item.added
        message:       content_part.added, output_text.delta ..., output_text.done,
                       content_part.done (a refusal: refusal.delta ..., refusal.done)
        reasoning:     content_part.added, reasoning_text.delta ..., reasoning_text.done,
                       content_part.done
        function_call: function_call_arguments.delta ..., function_call_arguments.done
      response.output_item.done
    response.completed (response.incomplete when cut by max_output_tokens) with usage,
    or response.failed when the provider failed after the first token.
"""

from __future__ import annotations

from typing import Any

import cosmara
from cosmara_generic._errors import error_reply
from cosmara_generic._reply import sse_event
from cosmara_generic._responses import (
    ResponseShape,
    function_call_item,
    message_item,
    new_id,
    output_text,
    reasoning_item,
)

__all__ = ["ResponsesStreamEncoder"]

# Per kind of content part: its empty form, its delta event and its done event (with the key
# that holds the whole text).
_PARTS: dict[str, tuple[dict[str, Any], str, str, str]] = {
    "output_text": (
        output_text(""),
        "response.output_text.delta",
        "response.output_text.done",
        "text",
    ),
    "refusal": (
        {"type": "refusal", "refusal": ""},
        "response.refusal.delta",
        "response.refusal.done",
        "refusal",
    ),
    "reasoning_text": (
        {"type": "reasoning_text", "text": ""},
        "response.reasoning_text.delta",
        "response.reasoning_text.done",
        "text",
    ),
}


class ResponsesStreamEncoder:
    """Feed it the engine's chunks; each call returns the SSE bytes of the events it made."""

    def __init__(self, shape: ResponseShape, model: str) -> None:
        self._shape = shape
        self._model = model
        self._sequence = 0
        self._started = False
        self._items: list[dict[str, Any]] = []  # every output item, in order, as it grows
        self._index: dict[str, int] = {}  # output_index by item id
        self._open: dict[str, Any] | None = None  # the message or reasoning item being written
        self._part: dict[str, Any] | None = None  # its content part being written
        self._calls: dict[int, dict[str, Any]] = {}  # function_call items by tool-call index
        self._finish: str | None = None
        self._usage: cosmara.Usage | None = None

    def feed(self, chunk: cosmara.ChatChunk) -> bytes:
        events = self._start()
        if chunk.model:
            self._model = chunk.model
        if chunk.usage is not None:
            self._usage = chunk.usage
        for choice in chunk.choices:
            if choice.index != 0:
                continue  # a Response has one answer
            delta = choice.delta
            if delta.reasoning_content:
                events += self._write("reasoning", "reasoning_text", delta.reasoning_content)
            if delta.content:
                events += self._write("message", "output_text", delta.content)
            if delta.refusal:
                events += self._write("message", "refusal", delta.refusal)
            for call in delta.tool_calls or ():
                events += self._call(call)
            self._finish = choice.finish_reason or self._finish
        return events

    def close(self) -> bytes:
        """The end of a complete answer: every item done, then the response with usage."""
        status = "incomplete" if self._finish == "length" else "completed"
        events = self._start() + self._close_open(status)
        for item in self._calls.values():
            item["status"] = "completed"
            events += self._event(
                "response.function_call_arguments.done",
                item_id=item["id"],
                output_index=self._index[item["id"]],
                name=item["name"],
                arguments=item["arguments"],
            )
            events += self._event(
                "response.output_item.done", output_index=self._index[item["id"]], item=item
            )
        final = self._shape.response(
            self._model, "completed", self._items, self._usage, finish_reason=self._finish
        )
        return events + self._event(f"response.{final['status']}", response=final)

    def fail(self, error: cosmara.CosmaraError) -> bytes:
        """A failure after the first token: ``response.failed`` with what was produced."""
        inner = error_reply(error).body["error"]
        code = (
            "rate_limit_exceeded" if isinstance(error, cosmara.RateLimitError) else "server_error"
        )
        failed = self._shape.response(
            self._model,
            "failed",
            self._items,
            error={"code": code, "message": inner["message"]},
        )
        return self._start() + self._event("response.failed", response=failed)

    # --- events ------------------------------------------------------------------------------
    def _event(self, kind: str, **fields: Any) -> bytes:
        event = {"type": kind, "sequence_number": self._sequence, **fields}
        self._sequence += 1
        return sse_event(event)

    def _start(self) -> bytes:
        if self._started:
            return b""
        self._started = True
        opened = self._shape.response(self._model, "in_progress", [])
        return self._event("response.created", response=opened) + self._event(
            "response.in_progress", response=opened
        )

    def _add(self, item: dict[str, Any]) -> bytes:
        self._index[item["id"]] = len(self._items)
        self._items.append(item)
        return self._event(
            "response.output_item.added", output_index=len(self._items) - 1, item=item
        )

    def _write(self, kind: str, part_kind: str, text: str) -> bytes:
        """``text`` added to the open item of ``kind``, in a ``part_kind`` content part."""
        events = b""
        item = self._open
        if item is None or item["type"] != kind:
            events += self._close_open("completed")
            if kind == "message":
                item = message_item(new_id("msg"), [], "in_progress")
            else:
                item = reasoning_item(new_id("rs"), "", "in_progress")
            events += self._add(item)
            self._open = item
        where = {"item_id": item["id"], "output_index": self._index[item["id"]]}
        if self._part is None or self._part["type"] != part_kind:
            events += self._close_part()
            empty, _, _, _ = _PARTS[part_kind]
            self._part = dict(empty)
            item["content"].append(self._part)
            events += self._event(
                "response.content_part.added",
                **where,
                content_index=len(item["content"]) - 1,
                part=empty,
            )
        _, delta_event, _, key = _PARTS[part_kind]
        self._part[key] += text
        extra = {"logprobs": []} if part_kind == "output_text" else {}
        return events + self._event(
            delta_event, **where, content_index=len(item["content"]) - 1, delta=text, **extra
        )

    def _close_part(self) -> bytes:
        item, part = self._open, self._part
        if item is None or part is None:
            return b""
        self._part = None
        _, _, done_event, key = _PARTS[part["type"]]
        where = {
            "item_id": item["id"],
            "output_index": self._index[item["id"]],
            "content_index": len(item["content"]) - 1,  # the open part is the latest
        }
        extra = {"logprobs": []} if part["type"] == "output_text" else {}
        return self._event(done_event, **where, **{key: part[key]}, **extra) + self._event(
            "response.content_part.done", **where, part=part
        )

    def _close_open(self, status: str) -> bytes:
        item = self._open
        if item is None:
            return b""
        events = self._close_part()
        self._open = None
        item["status"] = status
        return events + self._event(
            "response.output_item.done", output_index=self._index[item["id"]], item=item
        )

    def _call(self, call: cosmara.ToolCallDelta) -> bytes:
        events = b""
        item = self._calls.get(call.index)
        if item is None:
            events += self._close_open("completed")  # the text before the calls is complete
            name = call.function.name if call.function else None
            item = function_call_item(new_id("fc"), call.id or new_id("call"), name or "")
            self._calls[call.index] = item
            events += self._add(item)
        arguments = call.function.arguments if call.function else None
        if arguments:
            item["arguments"] += arguments
            events += self._event(
                "response.function_call_arguments.delta",
                item_id=item["id"],
                output_index=self._index[item["id"]],
                delta=arguments,
            )
        return events
