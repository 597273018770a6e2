"""The chat request vocabulary: OpenAI Chat Completions shapes, validated once for every provider.

Unknown fields are allowed on every model and carried through, so a provider-specific
parameter (``logit_bias``, ``prediction``, a vendor's own option) reaches the provider untouched.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from cosmara._media import AUDIO_FORMATS, data_url_head, guess_mime
from cosmara._schema import json_value_problem, schema_problem

if TYPE_CHECKING:
    from cosmara._stream import Delta

__all__ = [
    "AssistantMessage",
    "ChatRequest",
    "ContentPart",
    "DeveloperMessage",
    "FileData",
    "FilePart",
    "FunctionCall",
    "FunctionDefinition",
    "ImagePart",
    "ImageURL",
    "InputAudio",
    "InputAudioPart",
    "JSONSchemaFormat",
    "Message",
    "NamedToolChoice",
    "ResponseFormat",
    "SystemMessage",
    "TextPart",
    "Tool",
    "ToolCall",
    "ToolContentPart",
    "ToolMessage",
    "UserMessage",
]

_TOOL_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class _Open(BaseModel):
    """Base for wire shapes: extra fields are kept, not dropped."""

    model_config = ConfigDict(defer_build=True, extra="allow")


class TextPart(_Open):
    type: Literal["text"] = "text"
    text: str


class ImageURL(_Open):
    url: str
    detail: Literal["auto", "low", "high"] | None = None


class ImagePart(_Open):
    """An image by URL or ``data:`` URI (base64)."""

    type: Literal["image_url"] = "image_url"
    image_url: ImageURL


_URL_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://[^\s]+$")
_MIME = re.compile(r"^[A-Za-z0-9][\w.+-]*/[\w.+-]+$")


class FileData(_Open):
    """A file, in exactly one of three forms: ``file_data``, a base64 ``data:`` URL (OpenAI's
    form); ``file_id``, a file uploaded to the provider beforehand; or ``file_url``, a URL the
    provider fetches itself (Cosmara's, named as OpenAI's Responses API names it: Chat
    Completions has no URL form, so OpenAI refuses it before sending).

    ``mime_type`` (Cosmara's too, never sent to OpenAI) says what a file given by id or URL
    is, where its name does not; a ``data:`` URL carries its own.
    """

    file_data: str | None = None
    file_id: str | None = Field(default=None, min_length=1)
    file_url: str | None = None
    filename: str | None = None
    mime_type: str | None = None

    @model_validator(mode="after")
    def _one_valid_source(self) -> FileData:
        given = [n for n in ("file_data", "file_id", "file_url") if getattr(self, n) is not None]
        if len(given) != 1:
            raise ValueError(
                "a file needs exactly one of file_data (a base64 data: URL), file_id or "
                f"file_url; got {', '.join(given) or 'none'}"
            )
        if self.file_data is not None:
            head = data_url_head(self.file_data)
            if head is None:
                raise ValueError(
                    "file_data must be a base64 data: URL with a MIME type "
                    "(data:application/pdf;base64,...)"
                )
            if head[1] == len(self.file_data):
                raise ValueError("file_data holds no data")
        if self.file_url is not None and not _URL_SCHEME.match(self.file_url):
            raise ValueError(f"file_url must be an absolute URL, not {self.file_url[:80]!r}")
        if self.mime_type is not None and not _MIME.match(self.mime_type):
            raise ValueError(f"mime_type {self.mime_type!r} is not a MIME type (type/subtype)")
        return self

    @property
    def media_type(self) -> str | None:
        """What the file is: the ``data:`` URL's type, else ``mime_type``, else what the
        file name's or URL's extension says; None when nothing tells."""
        if self.file_data is not None:
            head = data_url_head(self.file_data)
            if head is not None:
                return head[0]
        if self.mime_type:
            return self.mime_type.lower()
        return guess_mime(self.filename) or guess_mime(self.file_url)


class FilePart(_Open):
    """A document (a PDF, a text file...) or another file, in OpenAI's ``file`` part."""

    type: Literal["file"] = "file"
    file: FileData


class InputAudio(_Open):
    data: str = Field(min_length=1, description="The audio, base64-encoded (no data: prefix)")
    format: str = Field(description="wav or mp3 for OpenAI; flac, aac, ogg, opus, m4a, ...")

    @field_validator("data")
    @classmethod
    def _plain_base64(cls, data: str) -> str:
        if data.startswith("data:"):
            raise ValueError("input_audio.data is plain base64, without a data: URL prefix")
        return data

    @field_validator("format")
    @classmethod
    def _known_format(cls, format_: str) -> str:
        format_ = format_.lower()
        if format_ not in AUDIO_FORMATS:
            raise ValueError(
                f"unknown audio format {format_!r}; known: {', '.join(sorted(AUDIO_FORMATS))}"
            )
        return format_


class InputAudioPart(_Open):
    """Audio for the model to listen to, in OpenAI's ``input_audio`` part."""

    type: Literal["input_audio"] = "input_audio"
    input_audio: InputAudio


ContentPart = Annotated[
    TextPart | ImagePart | FilePart | InputAudioPart, Field(discriminator="type")
]
# What a tool's result may hold besides text: the image or document the tool produced.
ToolContentPart = Annotated[TextPart | ImagePart | FilePart, Field(discriminator="type")]


class FunctionCall(_Open):
    name: str
    arguments: str = Field(description="JSON-encoded arguments, exactly as the model produced them")

    @field_validator("arguments", mode="before")
    @classmethod
    def _arguments_as_json_text(cls, value: Any) -> Any:
        # TGI and Ollama return arguments as an object; the vocabulary keeps OpenAI's string.
        return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


class ToolCall(_Open):
    id: str
    type: Literal["function"] = "function"
    function: FunctionCall

    @field_validator("id", mode="before")
    @classmethod
    def _id_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) else value  # TGI numbers its calls


class SystemMessage(_Open):
    role: Literal["system"] = "system"
    content: str | list[TextPart]
    name: str | None = None


class DeveloperMessage(_Open):
    role: Literal["developer"] = "developer"
    content: str | list[TextPart]
    name: str | None = None


class UserMessage(_Open):
    role: Literal["user"] = "user"
    content: str | list[ContentPart]
    name: str | None = None


class AssistantMessage(_Open):
    """An assistant turn: in a request's history, and as the message of a response choice."""

    role: Literal["assistant"] = "assistant"
    content: str | list[TextPart] | None = None
    name: str | None = None
    tool_calls: list[ToolCall] | None = None
    refusal: str | None = None
    reasoning_content: str | None = Field(
        default=None, description="Reasoning or thinking text, for providers that expose it"
    )

    @model_validator(mode="after")
    def _reasoning_alias(self) -> AssistantMessage:
        return _lift_reasoning(self)


class ToolMessage(_Open):
    role: Literal["tool"] = "tool"
    content: str | list[ToolContentPart]
    tool_call_id: str


_Reasoning = TypeVar("_Reasoning", bound="AssistantMessage | Delta")


def _lift_reasoning(message: _Reasoning) -> _Reasoning:
    """OpenRouter, Groq and newer vLLM call it ``reasoning``; DeepSeek ``reasoning_content``.

    Run after validation (a before-validator would make pydantic build a dict of every
    response's JSON first): ``reasoning`` is then one of the message's extra fields."""
    extra = message.__pydantic_extra__
    if extra and message.reasoning_content is None:
        reasoning = extra.get("reasoning")
        if isinstance(reasoning, str):
            message.reasoning_content = reasoning
    return message


Message = Annotated[
    SystemMessage | DeveloperMessage | UserMessage | AssistantMessage | ToolMessage,
    Field(discriminator="role"),
]


class FunctionDefinition(_Open):
    name: str
    description: str | None = None
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})
    strict: bool | None = None

    @field_validator("name")
    @classmethod
    def _name_is_valid(cls, name: str) -> str:
        if not _TOOL_NAME.match(name):
            raise ValueError(
                f"tool name {name!r} must be 1-64 characters of letters, digits, '_' or '-'"
            )
        return name

    @field_validator("parameters")
    @classmethod
    def _parameters_are_object_schema(cls, schema: dict[str, Any]) -> dict[str, Any]:
        if schema.get("type", "object") != "object":
            raise ValueError("tool parameters must be a JSON Schema of type 'object'")
        problem = schema_problem(schema, "parameters")
        if problem is not None:
            raise ValueError(problem)
        return schema


class Tool(_Open):
    type: Literal["function"] = "function"
    function: FunctionDefinition


class _NamedFunction(_Open):
    name: str


class NamedToolChoice(_Open):
    type: Literal["function"] = "function"
    function: _NamedFunction


class JSONSchemaFormat(_Open):
    name: str
    schema_: dict[str, Any] = Field(alias="schema")
    description: str | None = None
    strict: bool | None = None

    model_config = ConfigDict(
        defer_build=True, extra="allow", populate_by_name=True, serialize_by_alias=True
    )

    @field_validator("schema_")
    @classmethod
    def _is_a_schema(cls, schema: dict[str, Any]) -> dict[str, Any]:
        problem = schema_problem(schema, "schema")
        if problem is not None:
            raise ValueError(problem)
        return schema


class ResponseFormat(_Open):
    type: Literal["text", "json_object", "json_schema"]
    json_schema: JSONSchemaFormat | None = None

    @model_validator(mode="after")
    def _schema_present(self) -> ResponseFormat:
        if self.type == "json_schema" and self.json_schema is None:
            raise ValueError("response_format of type 'json_schema' needs a 'json_schema' object")
        return self


class ChatRequest(_Open):
    """One chat completion request, in OpenAI's vocabulary, for any provider."""

    model: str = Field(min_length=1)
    messages: list[Message] = Field(min_length=1)
    tools: list[Tool] | None = None
    tool_choice: Literal["none", "auto", "required"] | NamedToolChoice | None = None
    parallel_tool_calls: bool | None = None
    response_format: ResponseFormat | None = None
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    max_tokens: int | None = Field(default=None, ge=1)
    stop: str | list[str] | None = None
    seed: int | None = None
    n: int | None = Field(default=None, ge=1)
    reasoning_effort: Literal["none", "minimal", "low", "medium", "high"] | None = None
    user: str | None = None

    @field_validator("stop")
    @classmethod
    def _stop_not_empty(cls, stop: str | list[str] | None) -> str | list[str] | None:
        if isinstance(stop, list) and not all(stop):
            raise ValueError("stop sequences must be non-empty strings")
        return stop

    @field_validator("tools")
    @classmethod
    def _tool_names_unique(cls, tools: list[Tool] | None) -> list[Tool] | None:
        seen: set[str] = set()
        for tool in tools or ():
            if tool.function.name in seen:
                raise ValueError(f"two tools are named {tool.function.name!r}")
            seen.add(tool.function.name)
        return tools

    @model_validator(mode="after")
    def _extra_fields_are_json(self) -> ChatRequest:
        # Provider-specific parameters travel as they are: they must be JSON.
        for name, value in (self.model_extra or {}).items():
            problem = json_value_problem(value, name)
            if problem is not None:
                raise ValueError(problem)
        return self

    @model_validator(mode="after")
    def _tool_choice_matches_tools(self) -> ChatRequest:
        if isinstance(self.tool_choice, NamedToolChoice):
            names = {tool.function.name for tool in self.tools or ()}
            if self.tool_choice.function.name not in names:
                raise ValueError(
                    f"tool_choice names {self.tool_choice.function.name!r}, "
                    "which is not among the request's tools"
                )
        elif self.tool_choice == "required" and not self.tools:
            raise ValueError("tool_choice 'required' needs at least one tool")
        return self
