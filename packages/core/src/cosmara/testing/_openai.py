"""OpenAI wire-format payloads produced by the emulator: pure functions, no I/O, no pydantic."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "MODEL_IDS",
    "Completion",
    "RequestError",
    "ScriptedReply",
    "completion_body",
    "dumps",
    "error_body",
    "fault_error",
    "last_user_text",
    "malformed_body",
    "malformed_event",
    "model_object",
    "models_body",
    "plan_completion",
    "positive_int",
    "stream_events",
    "tokens_of",
]

MODEL_IDS = (
    "gpt-4o",
    "gpt-4o-mini",
    "gpt-4.1-mini",
    "o3-mini",
    "text-embedding-3-small",
    "text-embedding-3-large",
)
STREAM_PIECE = 4
ARGUMENT_PIECE = 8
DONE_EVENT = b"data: [DONE]\n\n"

_encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON."""
    return _encode(value).encode("utf-8")


class RequestError(Exception):
    """A request the emulator rejects with an OpenAI-style error (400 unless told otherwise)."""

    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        status: int = 400,
        type: str = "invalid_request_error",
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.status = status
        self.type = type
        self.code = code

    def body(self) -> bytes:
        """The JSON error body."""
        return error_body(self.message, type=self.type, param=self.param, code=self.code)


def error_body(
    message: str, *, type: str, param: str | None = None, code: str | None = None
) -> bytes:
    """``{"error": {...}}`` exactly as OpenAI shapes it."""
    return dumps({"error": {"message": message, "type": type, "param": param, "code": code}})


_FAULT_ERRORS: dict[int, tuple[str, str, str | None]] = {
    400: ("Invalid request (emulated fault).", "invalid_request_error", None),
    401: (
        "Incorrect API key provided. You can find your API key at "
        "https://platform.openai.com/account/api-keys.",
        "invalid_request_error",
        "invalid_api_key",
    ),
    403: ("You are not allowed to perform this request.", "invalid_request_error", "forbidden"),
    404: ("", "invalid_request_error", "model_not_found"),
    408: ("Request timed out (emulated fault).", "invalid_request_error", "timeout"),
    413: ("Request too large (emulated fault).", "invalid_request_error", "request_too_large"),
    429: (
        "Rate limit reached for requests (emulated fault). Please try again later.",
        "requests",
        "rate_limit_exceeded",
    ),
    500: (
        "The server had an error while processing your request. Sorry about that!",
        "server_error",
        None,
    ),
    502: ("Bad gateway (emulated fault).", "server_error", None),
    503: ("The server is overloaded or not ready yet.", "server_error", "service_unavailable"),
    504: ("Gateway timeout (emulated fault).", "server_error", "timeout"),
}


def fault_error(status: int, model: str | None) -> tuple[str, str, str | None]:
    """Default ``(message, type, code)`` of an emulated error with this HTTP status."""
    known = _FAULT_ERRORS.get(status)
    if known is None:
        kind = "server_error" if status >= 500 else "invalid_request_error"
        return (f"Emulated error (HTTP {status}).", kind, None)
    message, kind, code = known
    if status == 404:
        message = (
            f"The model `{model or 'unknown'}` does not exist or you do not have access to it."
        )
    return message, kind, code


# -- chat completions ------------------------------------------------------------------------


@dataclass(frozen=True)
class ScriptedReply:
    """A reply queued with ``Emulator.reply``; ``tool_calls`` items have name/arguments/id.
    ``match_model`` / ``match_text`` keep it for requests with that model, or whose last user
    message contains that text."""

    content: str | None = None
    tool_calls: tuple[Mapping[str, Any], ...] = ()
    finish_reason: str | None = None
    usage: Mapping[str, Any] | None = None
    match_model: str | None = None
    match_text: str | None = None

    def matches(self, model: str | None, last_user: str) -> bool:
        """Whether a request for ``model`` whose last user message is ``last_user`` gets it."""
        if self.match_model is not None and self.match_model != model:
            return False
        return self.match_text is None or self.match_text in last_user


@dataclass
class _Choice:
    content: str | None
    tool_calls: list[dict[str, Any]]
    finish_reason: str


@dataclass
class Completion:
    """A planned chat completion, rendered either as one body or as stream events."""

    id: str
    created: int
    model: str
    choices: list[_Choice] = field(default_factory=list)
    usage: dict[str, Any] = field(default_factory=dict)


def last_user_text(body: Any) -> str:
    """The text of a chat request's last user message ("" when there is none)."""
    messages = body.get("messages") if isinstance(body, Mapping) else None
    found: list[Any] = messages if isinstance(messages, list) else []
    for message in reversed(found):
        if isinstance(message, Mapping) and message.get("role") == "user":
            return _text(message.get("content"))
    return ""


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            part["text"]
            for part in content
            if isinstance(part, dict) and isinstance(part.get("text"), str)
        )
    return ""


_MEDIA_PARTS = frozenset({"image_url", "file", "input_audio"})


def _check_parts(message: Mapping[str, Any], index: int) -> None:
    """Chat Completions' rules for non-text parts, so a client that breaks them finds out
    here: media only in user messages; a file inline as a data: URL or by file_id; wav or mp3
    audio. The parts themselves are not read (the emulator answers from the text)."""
    content = message.get("content")
    if not isinstance(content, list):
        return
    role = message.get("role")
    for position, part in enumerate(content):
        kind = part.get("type") if isinstance(part, dict) else None
        param = f"messages[{index}].content[{position}]"
        if kind in _MEDIA_PARTS and role != "user":
            raise RequestError(
                f"Invalid '{param}'. Parts of type '{kind}' are only allowed for messages with "
                f"role 'user', but this message has role '{role}'.",
                param=param,
            )
        if kind == "file":
            file = part.get("file")
            data = file.get("file_data") if isinstance(file, dict) else None
            if not isinstance(file, dict) or not (
                isinstance(file.get("file_id"), str)
                or (isinstance(data, str) and data.startswith("data:") and ";base64," in data)
            ):
                raise RequestError(
                    f"Invalid '{param}.file': expected file_data as a base64 data URL, or a "
                    "file_id.",
                    param=f"{param}.file",
                )
        elif kind == "input_audio":
            audio = part.get("input_audio")
            if not isinstance(audio, dict) or audio.get("format") not in ("wav", "mp3"):
                raise RequestError(
                    f"Invalid '{param}.input_audio.format': expected 'wav' or 'mp3'.",
                    param=f"{param}.input_audio.format",
                )


def tokens_of(text: str) -> int:
    """The emulator's token count of a text: a quarter of its characters, at least one."""
    return max(1, len(text) // 4)


def positive_int(body: Mapping[str, Any], name: str) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise RequestError(f"Invalid '{name}': expected a positive integer.", param=name)
    return value


def _forced_tool(body: Mapping[str, Any]) -> str | None:
    tools = body.get("tools")
    choice = body.get("tool_choice")
    if not isinstance(tools, list) or not tools or choice in (None, "auto", "none"):
        return None
    if isinstance(choice, dict):
        function = choice.get("function")
        name = function.get("name") if isinstance(function, dict) else choice.get("name")
        return name if isinstance(name, str) else None
    if choice != "required":
        return None
    first = tools[0] if isinstance(tools[0], dict) else {}
    function = first.get("function")
    name = function.get("name") if isinstance(function, dict) else first.get("name")
    return name if isinstance(name, str) else None


def _wire_call(spec: Mapping[str, Any], call_ids: Iterator[int]) -> dict[str, Any]:
    arguments = spec.get("arguments", {})
    if not isinstance(arguments, str):
        arguments = _encode(arguments)
    call_id = spec.get("id") or f"call_emu_{next(call_ids)}"
    return {
        "id": call_id,
        "type": "function",
        "function": {"name": spec["name"], "arguments": arguments},
    }


def plan_completion(
    body: Mapping[str, Any],
    *,
    model: str,
    serial: int,
    created: int,
    reply: ScriptedReply | None,
    call_ids: Iterator[int],
) -> Completion:
    """Decide what a chat completion request gets; raises ``RequestError`` for bad input."""
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise RequestError("'messages' must be a non-empty array.", param="messages")
    n = positive_int(body, "n") or 1
    if n > 128:
        raise RequestError("Invalid 'n': at most 128.", param="n")
    limit = positive_int(body, "max_completion_tokens") or positive_int(body, "max_tokens")
    prompt = 0
    last_user = ""
    for index, message in enumerate(messages):
        if not isinstance(message, dict):
            raise RequestError("Each message must be an object.", param="messages")
        _check_parts(message, index)
        text = _text(message.get("content"))
        prompt += 4 + len(text) // 4
        if message.get("role") == "user":
            last_user = text

    content: str | None
    calls: Sequence[Mapping[str, Any]]
    finish_override: str | None = None
    if reply is not None:
        content, calls, finish_override = reply.content, reply.tool_calls, reply.finish_reason
        if content is None and not calls:
            content = ""
    else:
        forced = _forced_tool(body)
        if forced is not None:
            content, calls = None, ({"name": forced, "arguments": "{}"},)
        else:
            content, calls = "Echo: " + last_user, ()

    completion = Completion(id=f"chatcmpl-emu-{serial}", created=created, model=model)
    completion_tokens = 0
    for _ in range(n):
        wire_calls = [_wire_call(call, call_ids) for call in calls]
        text_out = content
        finish = "tool_calls" if wire_calls else "stop"
        if not wire_calls and text_out is not None and limit and tokens_of(text_out) > limit:
            text_out, finish = text_out[: limit * 4], "length"
        tokens = len(text_out or "") + sum(
            len(c["function"]["name"]) + len(c["function"]["arguments"]) for c in wire_calls
        )
        completion_tokens += max(1, tokens // 4)
        completion.choices.append(_Choice(text_out, wire_calls, finish_override or finish))

    usage: dict[str, Any] = {
        "prompt_tokens": prompt,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt + completion_tokens,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }
    if reply is not None and reply.usage:
        usage.update(reply.usage)
        if "total_tokens" not in reply.usage:
            usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
    completion.usage = usage
    return completion


def completion_body(completion: Completion) -> dict[str, Any]:
    """The non-streaming ``chat.completion`` object."""
    choices = []
    for index, choice in enumerate(completion.choices):
        message: dict[str, Any] = {"role": "assistant", "content": choice.content}
        if choice.tool_calls:
            message["tool_calls"] = choice.tool_calls
        message["refusal"] = None
        message["annotations"] = []
        choices.append(
            {
                "index": index,
                "message": message,
                "logprobs": None,
                "finish_reason": choice.finish_reason,
            }
        )
    return {
        "id": completion.id,
        "object": "chat.completion",
        "created": completion.created,
        "model": completion.model,
        "choices": choices,
        "usage": completion.usage,
        "service_tier": "default",
        "system_fingerprint": "fp_emulator",
    }


def stream_events(completion: Completion, *, include_usage: bool) -> list[bytes]:
    """Every SSE event of the streamed completion, ``data: [DONE]`` included."""
    base: dict[str, Any] = {
        "id": completion.id,
        "object": "chat.completion.chunk",
        "created": completion.created,
        "model": completion.model,
        "service_tier": "default",
        "system_fingerprint": "fp_emulator",
        "choices": [],
    }
    if include_usage:
        base["usage"] = None
    events: list[bytes] = []

    def emit(index: int, delta: dict[str, Any], finish_reason: str | None = None) -> None:
        choice = {"index": index, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        events.append(b"data: " + dumps({**base, "choices": [choice]}) + b"\n\n")

    for index, choice in enumerate(completion.choices):
        text = choice.content
        emit(
            index,
            {"role": "assistant", "content": "" if text is not None else None, "refusal": None},
        )
        for start in range(0, len(text or ""), STREAM_PIECE):
            emit(index, {"content": (text or "")[start : start + STREAM_PIECE]})
        for call_index, call in enumerate(choice.tool_calls):
            function = call["function"]
            emit(
                index,
                {
                    "tool_calls": [
                        {
                            "index": call_index,
                            "id": call["id"],
                            "type": "function",
                            "function": {"name": function["name"], "arguments": ""},
                        }
                    ]
                },
            )
            arguments = function["arguments"]
            for start in range(0, len(arguments), ARGUMENT_PIECE):
                piece = arguments[start : start + ARGUMENT_PIECE]
                emit(
                    index, {"tool_calls": [{"index": call_index, "function": {"arguments": piece}}]}
                )
        emit(index, {}, choice.finish_reason)
    if include_usage:
        usage_chunk = {**base, "choices": [], "usage": completion.usage}
        events.append(b"data: " + dumps(usage_chunk) + b"\n\n")
    events.append(DONE_EVENT)
    return events


def malformed_body(serial: int) -> bytes:
    """A 200 body that starts like a completion but is not valid JSON."""
    return b'{"id":"chatcmpl-emu-%d","object":"chat.completion","choices":[{"index":0,' % serial


def malformed_event(serial: int) -> bytes:
    """An SSE ``data:`` event whose payload is not valid JSON."""
    return b'data: {"id":"chatcmpl-emu-%d","object":"chat.completion.chunk","choices":[{\n\n' % (
        serial
    )


# -- models ----------------------------------------------------------------------------------


def model_object(model_id: str) -> dict[str, Any]:
    """One entry of ``/v1/models``."""
    return {"id": model_id, "object": "model", "created": 0, "owned_by": "emulator"}


def models_body(prefix: str) -> dict[str, Any]:
    """The ``/v1/models`` list."""
    return {"object": "list", "data": [model_object(prefix + m) for m in MODEL_IDS]}
