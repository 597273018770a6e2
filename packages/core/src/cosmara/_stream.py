"""Stream chunks (OpenAI's ``chat.completion.chunk`` shape) and their accumulation.

Every provider's stream comes out as these chunks: text deltas, tool-call deltas keyed by an
integer ``index`` with ``id`` and ``name`` on the first fragment and argument fragments after,
and a final chunk with empty ``choices`` carrying ``usage`` and ``cosmara`` metadata.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from cosmara._messages import AssistantMessage, FunctionCall, ToolCall, _lift_reasoning
from cosmara._meta import CosmaraMeta
from cosmara._response import ChatResponse, Choice, Usage

__all__ = [
    "ChatChunk",
    "ChunkChoice",
    "Delta",
    "FunctionDelta",
    "StreamAccumulator",
    "ToolCallDelta",
]


class _Open(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="allow")


class FunctionDelta(_Open):
    name: str | None = None
    arguments: str | None = None


class ToolCallDelta(_Open):
    index: int
    id: str | None = None
    type: Literal["function"] | None = None
    function: FunctionDelta | None = None

    @field_validator("id", mode="before")
    @classmethod
    def _id_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) else value  # TGI numbers its calls


class Delta(_Open):
    role: Literal["assistant"] | None = None
    content: str | None = None
    tool_calls: list[ToolCallDelta] | None = None
    refusal: str | None = None
    reasoning_content: str | None = None

    @model_validator(mode="after")
    def _reasoning_alias(self) -> Delta:
        return _lift_reasoning(self)


class ChunkChoice(_Open):
    index: int = 0
    delta: Delta
    finish_reason: str | None = None
    logprobs: Any = None


class ChatChunk(_Open):
    id: str = ""
    # Azure's first chunk (prompt filter results) has ``"object": ""``: accept any string.
    object: str = "chat.completion.chunk"
    created: int = 0
    model: str = ""
    choices: list[ChunkChoice]
    usage: Usage | None = None
    system_fingerprint: str | None = None
    cosmara: CosmaraMeta | None = None


class _ChoiceState:
    __slots__ = ("content", "extra", "finish_reason", "reasoning", "refusal", "tool_calls")

    def __init__(self) -> None:
        self.content: list[str] = []
        self.reasoning: list[str] = []
        self.refusal: list[str] = []
        self.tool_calls: dict[int, dict[str, Any]] = {}
        self.finish_reason: str | None = None
        # Provider fields that must survive into the rebuilt message (signatures, tool plans).
        self.extra: dict[str, Any] = {}


class StreamAccumulator:
    """Merges chunks into the ``ChatResponse`` the same request would have returned unstreamed."""

    def __init__(self) -> None:
        self.id = ""
        self.model = ""
        self.created = 0
        self.system_fingerprint: str | None = None
        self.usage: Usage | None = None
        self._choices: dict[int, _ChoiceState] = {}

    @property
    def has_content(self) -> bool:
        """Whether any text, reasoning or tool-call fragment has arrived yet."""
        return any(
            state.content or state.reasoning or state.tool_calls or state.refusal
            for state in self._choices.values()
        )

    @property
    def text(self) -> str:
        state = self._choices.get(0)
        return "".join(state.content) if state else ""

    def add(self, chunk: ChatChunk) -> None:
        self.id = self.id or chunk.id
        self.model = self.model or chunk.model
        self.created = self.created or chunk.created
        self.system_fingerprint = self.system_fingerprint or chunk.system_fingerprint
        if chunk.usage is not None:
            self.usage = chunk.usage
        for choice in chunk.choices:
            state = self._choices.get(choice.index)
            if state is None:
                state = self._choices[choice.index] = _ChoiceState()
            delta = choice.delta
            if delta.content:
                state.content.append(delta.content)
            if delta.reasoning_content:
                state.reasoning.append(delta.reasoning_content)
            if delta.refusal:
                state.refusal.append(delta.refusal)
            extra = delta.__pydantic_extra__  # model_extra, without a property call per chunk
            if extra:
                _merge_extra(state.extra, extra)
            for call in delta.tool_calls or ():
                slot = state.tool_calls.setdefault(
                    call.index, {"id": "", "name": "", "args": [], "extra": {}}
                )
                slot["id"] = slot["id"] or (call.id or "")
                if call.model_extra:
                    _merge_extra(slot["extra"], call.model_extra)
                if call.function is not None:
                    slot["name"] = slot["name"] or (call.function.name or "")
                    if call.function.arguments:
                        slot["args"].append(call.function.arguments)
            if choice.finish_reason:
                state.finish_reason = choice.finish_reason

    def response(self) -> ChatResponse:
        choices = [
            Choice(
                index=index,
                message=AssistantMessage(
                    content="".join(state.content) or (None if state.tool_calls else ""),
                    tool_calls=[
                        ToolCall(
                            id=slot["id"],
                            function=FunctionCall(
                                name=slot["name"], arguments="".join(slot["args"])
                            ),
                            **slot["extra"],
                        )
                        for _, slot in sorted(state.tool_calls.items())
                    ]
                    or None,
                    refusal="".join(state.refusal) or None,
                    reasoning_content="".join(state.reasoning) or None,
                    **state.extra,
                ),
                finish_reason=state.finish_reason,
            )
            for index, state in sorted(self._choices.items())
        ]
        return ChatResponse(
            id=self.id,
            created=self.created,
            model=self.model,
            choices=choices,
            usage=self.usage,
            system_fingerprint=self.system_fingerprint,
        )


def _merge_extra(into: dict[str, Any], extra: dict[str, Any]) -> None:
    """Provider fields spread over deltas: text pieces join, lists extend, others replace."""
    for key, value in extra.items():
        previous: Any = into.get(key)
        joinable = isinstance(previous, (str, list)) and type(previous) is type(value)
        into[key] = previous + value if joinable else value
