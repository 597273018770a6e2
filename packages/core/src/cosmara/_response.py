"""The chat response: OpenAI's ``chat.completion`` shape plus ``.cosmara`` metadata."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from cosmara._messages import AssistantMessage
from cosmara._meta import CosmaraMeta

__all__ = [
    "ChatResponse",
    "Choice",
    "CompletionTokensDetails",
    "FinishReason",
    "PromptTokensDetails",
    "Usage",
]

FinishReason = Literal["stop", "length", "tool_calls", "content_filter", "function_call"]


class _Open(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="allow")


class PromptTokensDetails(_Open):
    cached_tokens: int = 0
    cache_write_tokens: int = Field(default=0, description="Tokens written to a prompt cache")
    audio_tokens: int | None = None


class CompletionTokensDetails(_Open):
    reasoning_tokens: int = 0
    audio_tokens: int | None = None
    accepted_prediction_tokens: int | None = None
    rejected_prediction_tokens: int | None = None


class Usage(_Open):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    prompt_tokens_details: PromptTokensDetails | None = None
    completion_tokens_details: CompletionTokensDetails | None = None

    @model_validator(mode="after")
    def _top_level_cached_tokens(self) -> Usage:
        # Some OpenAI-compatible hosts (Together via the HF router) report cached tokens flat.
        # (After validation: a before-validator would make pydantic build a dict of the JSON.)
        extra = self.__pydantic_extra__
        cached = extra.get("cached_tokens") if extra else None
        details = self.prompt_tokens_details
        if cached and (details is None or not (details.model_fields_set or details.model_extra)):
            self.prompt_tokens_details = PromptTokensDetails.model_validate(
                {"cached_tokens": cached}
            )
        return self

    @property
    def cached_tokens(self) -> int:
        details = self.prompt_tokens_details
        return details.cached_tokens if details else 0

    @property
    def cache_write_tokens(self) -> int:
        details = self.prompt_tokens_details
        return details.cache_write_tokens if details else 0

    @property
    def reasoning_tokens(self) -> int:
        details = self.completion_tokens_details
        return details.reasoning_tokens if details else 0


class Choice(_Open):
    index: int = 0
    message: AssistantMessage
    finish_reason: str | None = None
    logprobs: Any = None


class ChatResponse(_Open):
    """A completed chat call. ``cosmara`` is set by the engine on every response it returns."""

    id: str = ""
    object: str = "chat.completion"
    created: int = 0
    model: str = ""
    choices: list[Choice]
    usage: Usage | None = None
    system_fingerprint: str | None = None
    service_tier: str | None = None
    cosmara: CosmaraMeta | None = None

    @property
    def text(self) -> str:
        """The first choice's text content ('' when it has none)."""
        if not self.choices:
            return ""
        content = self.choices[0].message.content
        if content is None:
            return ""
        if isinstance(content, str):
            return content
        return "".join(part.text for part in content)
