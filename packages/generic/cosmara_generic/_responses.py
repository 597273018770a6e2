"""``/responses``: the Responses API translated to and from Chat Completions. Pure: no I/O.

Every provider Cosmara reaches speaks (through its adapter) Chat Completions, so a Responses
request becomes a chat request: ``instructions`` a system message, ``input`` items messages
(``function_call`` items an assistant turn's tool calls, ``function_call_output`` items tool
messages), function tools chat tools, ``text.format`` the ``response_format``. The answer
comes back as a ``response`` object whose output items are what the chat message held: its
reasoning, its text (or refusal), its tool calls.

Cosmara keeps no state between calls, so what needs OpenAI's servers (``previous_response_id``,
conversations, stored prompts, background runs, hosted tools such as web search) is refused
with a clear 400 before anything is sent.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import cosmara
from cosmara_generic._chat import validated

__all__ = [
    "ResponseShape",
    "chat_from_responses",
    "function_call_item",
    "message_item",
    "new_id",
    "output_text",
    "reasoning_item",
]

# Stateful or hosted features a stateless engine cannot honour, with what to do instead.
_REFUSED = {
    "previous_response_id": "Cosmara keeps no responses: send the whole conversation as input",
    "conversation": "Cosmara keeps no conversations: send the whole conversation as input",
    "prompt": "stored prompts live on OpenAI's servers: send instructions and input instead",
    "background": "background responses need OpenAI's servers",
}
# Responses fields with a Chat Completions field of the same meaning.
_SAME = ("temperature", "top_p", "parallel_tool_calls", "user", "service_tier")
_PASSED = ("prompt_cache_key", "safety_identifier")
# Accepted and answered in the response object, but nothing to send: Cosmara stores nothing,
# and the rest shape what OpenAI's servers keep or return beyond the answer itself.
_ECHOED_ONLY = frozenset(
    {"store", "metadata", "include", "truncation", "stream_options", "max_tool_calls"}
)
_TRANSLATED = {"model", "input", "instructions", "tools", "tool_choice", "text", "reasoning"}
_KNOWN = frozenset(
    {*_TRANSLATED, *_SAME, *_PASSED, *_ECHOED_ONLY, *_REFUSED, "max_output_tokens", "stream"}
)


def chat_from_responses(body: dict[str, Any]) -> tuple[cosmara.ChatRequest, bool, ResponseShape]:
    """The chat request for a Responses body, whether to stream, and the response's shape.

    Raises:
        cosmara.RequestValidationError: the body asks for something a chat request cannot
            carry (see the module docstring), or is malformed.
    """
    for key, why in _REFUSED.items():
        if body.get(key):
            raise cosmara.RequestValidationError(f"`{key}` is not supported: {why}")
    unknown = sorted(set(body) - _KNOWN)
    if unknown:
        raise cosmara.RequestValidationError(f"unsupported Responses parameters: {unknown}")
    stream = bool(body.pop("stream", False))
    chat: dict[str, Any] = {
        "model": body.get("model"),
        "messages": _messages(body.get("input"), body.get("instructions")),
    }
    chat.update({key: body[key] for key in (*_SAME, *_PASSED) if body.get(key) is not None})
    if body.get("max_output_tokens") is not None:
        chat["max_tokens"] = body["max_output_tokens"]
    if body.get("tools"):
        chat["tools"] = [_tool(tool) for tool in body["tools"]]
    if body.get("tool_choice") is not None:
        chat["tool_choice"] = _tool_choice(body["tool_choice"])
    text_format = (body.get("text") or {}).get("format")
    if text_format and text_format.get("type") != "text":
        chat["response_format"] = _response_format(text_format)
    effort = (body.get("reasoning") or {}).get("effort")
    if effort is not None:
        chat["reasoning_effort"] = effort
    return validated(cosmara.ChatRequest, chat), stream, ResponseShape(body)


class ResponseShape:
    """The ``response`` object's fields that echo the request, and its identity."""

    def __init__(self, body: dict[str, Any]) -> None:
        self.id = f"resp_{uuid.uuid4().hex}"
        self.created_at = int(time.time())
        text = body.get("text") or {"format": {"type": "text"}}
        self.echo: dict[str, Any] = {
            "instructions": body.get("instructions"),
            "max_output_tokens": body.get("max_output_tokens"),
            "metadata": body.get("metadata") or {},
            "parallel_tool_calls": body.get("parallel_tool_calls", True),
            "previous_response_id": None,
            "reasoning": {"effort": None, "summary": None, **(body.get("reasoning") or {})},
            "store": False,
            "temperature": body.get("temperature"),
            "text": text,
            "tool_choice": body.get("tool_choice", "auto"),
            "tools": body.get("tools") or [],
            "top_p": body.get("top_p"),
            "truncation": body.get("truncation") or "disabled",
            "user": body.get("user"),
            "background": False,
        }

    def response(
        self,
        model: str,
        status: str,
        output: list[dict[str, Any]],
        usage: cosmara.Usage | None = None,
        *,
        finish_reason: str | None = None,
        error: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """A ``response`` object in ``status`` (``in_progress``, ``completed``, ...)."""
        incomplete = {"length": "max_output_tokens", "content_filter": "content_filter"}
        reason = incomplete.get(finish_reason or "")
        if status == "completed" and reason is not None:
            status = "incomplete"
        return {
            "id": self.id,
            "object": "response",
            "created_at": self.created_at,
            "status": status,
            "error": error,
            "incomplete_details": {"reason": reason} if status == "incomplete" else None,
            "model": model,
            "output": output,
            "usage": _usage(usage) if usage is not None else None,
            **self.echo,
        }

    def from_chat(self, response: cosmara.ChatResponse) -> dict[str, Any]:
        """The ``response`` object of a whole chat answer."""
        choice = response.choices[0] if response.choices else None
        output: list[dict[str, Any]] = []
        finish = choice.finish_reason if choice else None
        done = "incomplete" if finish == "length" else "completed"
        if choice is not None:
            message = choice.message
            if message.reasoning_content:
                output.append(reasoning_item(new_id("rs"), message.reasoning_content, "completed"))
            parts = []
            text = _text(message.content)
            if text:
                parts.append(output_text(text))
            if message.refusal:
                parts.append({"type": "refusal", "refusal": message.refusal})
            if parts:
                output.append(message_item(new_id("msg"), parts, done))
            for call in message.tool_calls or ():
                item = function_call_item(new_id("fc"), call.id, call.function.name)
                output.append({**item, "arguments": call.function.arguments, "status": "completed"})
        return self.response(
            response.model, "completed", output, response.usage, finish_reason=finish
        )


def message_item(item_id: str, content: list[dict[str, Any]], status: str) -> dict[str, Any]:
    return {
        "id": item_id,
        "type": "message",
        "status": status,
        "role": "assistant",
        "content": content,
    }


def function_call_item(item_id: str, call_id: str, name: str) -> dict[str, Any]:
    return {
        "id": item_id,
        "type": "function_call",
        "status": "in_progress",
        "call_id": call_id,
        "name": name,
        "arguments": "",
    }


def reasoning_item(item_id: str, text: str, status: str) -> dict[str, Any]:
    content = [{"type": "reasoning_text", "text": text}] if text else []
    return {"id": item_id, "type": "reasoning", "summary": [], "content": content, "status": status}


def output_text(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


def _usage(usage: cosmara.Usage) -> dict[str, Any]:
    return {
        "input_tokens": usage.prompt_tokens,
        "input_tokens_details": {
            "cached_tokens": usage.cached_tokens,
            "cache_write_tokens": usage.cache_write_tokens,
        },
        "output_tokens": usage.completion_tokens,
        "output_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
        "total_tokens": usage.total_tokens,
    }


def _text(content: Any) -> str:
    if content is None or isinstance(content, str):
        return content or ""
    return "".join(part.text for part in content)


# --- request translation ---------------------------------------------------------------------


def _messages(items: Any, instructions: Any) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    if instructions:
        if not isinstance(instructions, str):
            raise cosmara.RequestValidationError("`instructions` must be a string")
        messages.append({"role": "system", "content": instructions})
    if isinstance(items, str):
        messages.append({"role": "user", "content": items})
        return messages
    if not isinstance(items, list):
        raise cosmara.RequestValidationError("`input` must be a string or a list of items")
    for item in items:
        if not isinstance(item, dict):
            raise cosmara.RequestValidationError("every `input` item must be an object")
        kind = item.get("type", "message")
        if kind == "message":
            messages.append(_message(item))
        elif kind == "function_call":
            _add_tool_call(messages, item)
        elif kind == "function_call_output":
            output = item.get("output")
            content = output if isinstance(output, str) else _parts_text(output)
            messages.append(
                {"role": "tool", "tool_call_id": item.get("call_id"), "content": content}
            )
        elif kind == "reasoning":
            continue  # the model's own earlier reasoning: chat requests do not carry it back
        else:
            raise cosmara.RequestValidationError(
                f"input items of type {kind!r} are not supported: Cosmara translates messages, "
                "function_call and function_call_output items"
            )
    return messages


def _message(item: dict[str, Any]) -> dict[str, Any]:
    role, content = item.get("role"), item.get("content")
    if isinstance(content, str):
        return {"role": role, "content": content}
    if not isinstance(content, list):
        raise cosmara.RequestValidationError("a message's content must be a string or a list")
    if role == "assistant":
        return {"role": role, "content": _parts_text(content)}
    parts = [_part(part) for part in content]
    return {"role": role, "content": parts}


def _part(part: dict[str, Any]) -> dict[str, Any]:
    kind = part.get("type")
    if kind in ("input_text", "output_text"):
        return {"type": "text", "text": part.get("text", "")}
    if kind == "input_image" and part.get("image_url"):
        image = {"url": part["image_url"]}
        if part.get("detail"):
            image["detail"] = part["detail"]
        return {"type": "image_url", "image_url": image}
    raise cosmara.RequestValidationError(
        f"content parts of type {kind!r} are not supported: Cosmara translates input_text and "
        "input_image (by URL or data URL)"
    )


def _parts_text(parts: Any) -> str:
    if not isinstance(parts, list):
        raise cosmara.RequestValidationError("content must be a string or a list of parts")
    texts = []
    for part in parts:
        kind = part.get("type") if isinstance(part, dict) else None
        if kind in ("output_text", "input_text"):
            texts.append(part.get("text", ""))
        elif kind == "refusal":
            texts.append(part.get("refusal", ""))
        else:
            raise cosmara.RequestValidationError(f"content parts of type {kind!r} are not text")
    return "".join(texts)


def _add_tool_call(messages: list[dict[str, Any]], item: dict[str, Any]) -> None:
    """A ``function_call`` item: a tool call of the assistant turn it belongs to (the
    assistant message just before it, or a new one)."""
    call = {
        "id": item.get("call_id"),
        "type": "function",
        "function": {"name": item.get("name"), "arguments": item.get("arguments", "")},
    }
    last = messages[-1] if messages else None
    if last is not None and last["role"] == "assistant":
        last.setdefault("tool_calls", []).append(call)
    else:
        messages.append({"role": "assistant", "content": None, "tool_calls": [call]})


def _tool(tool: Any) -> dict[str, Any]:
    if not isinstance(tool, dict) or tool.get("type") != "function":
        kind = tool.get("type") if isinstance(tool, dict) else tool
        raise cosmara.RequestValidationError(
            f"tools of type {kind!r} run on OpenAI's servers: Cosmara sends function tools only"
        )
    function = {key: tool[key] for key in ("name", "description", "strict") if key in tool}
    if tool.get("parameters") is not None:
        function["parameters"] = tool["parameters"]
    return {"type": "function", "function": function}


def _tool_choice(choice: Any) -> Any:
    if isinstance(choice, str):
        return choice
    if isinstance(choice, dict) and choice.get("type") == "function":
        return {"type": "function", "function": {"name": choice.get("name")}}
    raise cosmara.RequestValidationError(
        f"tool_choice {choice!r} is not supported: use auto, none, required or a function"
    )


def _response_format(text_format: dict[str, Any]) -> dict[str, Any]:
    kind = text_format.get("type")
    if kind == "json_object":
        return {"type": "json_object"}
    if kind == "json_schema":
        schema = {
            k: text_format[k]
            for k in ("name", "schema", "description", "strict")
            if k in text_format
        }
        return {"type": "json_schema", "json_schema": schema}
    raise cosmara.RequestValidationError(f"text.format of type {kind!r} is not supported")
