"""``Cosmara``: a LlamaIndex ``FunctionCallingLLM`` whose every call goes through Cosmara.

The class only translates: LlamaIndex messages, tools and structured-output requests become
``cosmara.ChatRequest`` fields, and the engine's responses and stream chunks become LlamaIndex
``ChatResponse`` objects. Routing, fallbacks, retries and cost accounting happen in the engine.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cosmara import (
    AssistantMessage,
    ChatChunk,
    CosmaraError,
    ModelInfo,
    StreamAccumulator,
)
from cosmara import Cosmara as CosmaraClient
from llama_index.core.base.llms.generic_utils import (
    achat_to_completion_decorator,
    astream_chat_to_completion_decorator,
    chat_to_completion_decorator,
    stream_chat_to_completion_decorator,
)
from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    ChatResponseAsyncGen,
    ChatResponseGen,
    CompletionResponse,
    CompletionResponseAsyncGen,
    CompletionResponseGen,
    ContentBlock,
    LLMMetadata,
    MessageRole,
    TextBlock,
    ThinkingBlock,
    ToolCallBlock,
)
from llama_index.core.bridge.pydantic import Field, PrivateAttr
from llama_index.core.constants import DEFAULT_CONTEXT_WINDOW, DEFAULT_NUM_OUTPUTS
from llama_index.core.llms.callbacks import llm_chat_callback, llm_completion_callback
from llama_index.core.llms.function_calling import FunctionCallingLLM
from llama_index.core.llms.llm import ToolSelection
from llama_index.core.llms.utils import parse_partial_json
from llama_index.core.prompts import PromptTemplate
from llama_index.core.types import Model, PydanticProgramMode
from llama_index.embeddings.cosmara.base import engine_for, labels, rebuild

from ._convert import to_cosmara_messages, to_llama_message, to_llama_response, usage_kwargs

if TYPE_CHECKING:
    from llama_index.core.tools import BaseTool

__all__ = ["Cosmara"]


class Cosmara(FunctionCallingLLM):
    """Cosmara as a LlamaIndex LLM: routing, fallbacks and cost accounting for any provider.

    Args:
        model: ``provider/model``, a bare catalog name, or a configured alias (``"fast"``);
            ``None`` uses the configuration's ``default_model``.
        temperature, max_tokens: sent with every request when set.
        fallbacks: models tried in order when ``model`` fails.
        timeout: seconds for the whole request (the configuration's default otherwise).
        max_retries: retries of a failing target before any fallback; ``None`` keeps the
            engine's retry policy (two retries with backoff unless configured).
        config: a ``cosmara.toml`` path or a configuration dict for the engine.
        api_key: a key for the provider named in ``model`` (``provider/model``). It is kept only
            inside the engine's configuration, never in this object's fields, dumps or pickles.
        client: a ready ``cosmara.Cosmara`` engine to use instead of building one (shared
            connection pools, tests); ``config`` and ``api_key`` must then be omitted.
        org, team, user, tags, metadata: the request context recorded with every call.
        additional_kwargs: extra request fields (``seed``, ``stop``, ``reasoning_effort``, ...).

    Raises:
        ConfigurationError: the configuration is invalid, or ``api_key`` cannot be placed.

    Calls raise Cosmara's typed errors (``cosmara.RateLimitError``, ...) unchanged.
    """

    model: str | None = Field(default=None, description="provider/model, catalog name or alias")
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    max_tokens: int | None = Field(default=None, gt=0)
    fallbacks: list[str] = Field(default_factory=list)
    timeout: float | None = Field(default=None, gt=0)
    max_retries: int | None = Field(default=None, ge=0)
    org: str | None = None
    team: str | None = None
    user: str | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    request_metadata: dict[str, Any] = Field(
        default_factory=dict, description="Free-form request metadata (never sent to a provider)"
    )
    additional_kwargs: dict[str, Any] = Field(default_factory=dict)

    _client: CosmaraClient = PrivateAttr()

    def __init__(
        self,
        model: str | None = None,
        *,
        config: Mapping[str, Any] | str | Path | None = None,
        api_key: str | None = None,
        client: CosmaraClient | None = None,
        tags: Mapping[str, str] | Sequence[str] | None = None,
        metadata: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if metadata is not None:
            kwargs["request_metadata"] = dict(metadata)
        super().__init__(model=model, tags=labels(tags), **kwargs)
        self._client = engine_for(client, config, api_key, model)

    @classmethod
    def class_name(cls) -> str:
        return "cosmara_llm"

    @property
    def client(self) -> CosmaraClient:
        """The Cosmara engine this LLM calls."""
        return self._client

    def __setstate__(self, state: dict[str, Any]) -> None:
        rebuild(self, state)

    # --- metadata -------------------------------------------------------------------------
    def _candidates(self) -> list[ModelInfo | None]:
        """Catalog entries of every model a request may be served by, as the engine plans it
        (aliases, groups and fallbacks expanded); none when the engine cannot plan it yet."""
        client = self._client
        try:
            return client.candidates(
                self.model or client.config.default_model or "", self.fallbacks
            )
        except CosmaraError:
            return []

    @property
    def metadata(self) -> LLMMetadata:
        """From the catalog; for an alias or fallbacks, what every candidate can honour."""
        infos = self._candidates()
        known = [info for info in infos if info is not None]
        windows = [info.context_window for info in known if info.context_window]
        outputs = [info.max_output_tokens for info in known if info.max_output_tokens]
        context_window = min(windows) if windows else DEFAULT_CONTEXT_WINDOW
        num_output = self.max_tokens or (min(outputs) if outputs else DEFAULT_NUM_OUTPUTS)
        # A model missing from the catalog is assumed able to call tools (OpenAI-compatible
        # endpoints mostly can); the provider's own error says so if it cannot.
        return LLMMetadata(
            context_window=context_window,
            # Leave room for the prompt: LlamaIndex subtracts num_output from the window.
            num_output=min(num_output, context_window // 2),
            is_chat_model=True,
            is_function_calling_model=all(info.supports("tools") for info in known),
            model_name=self.model or self._client.config.default_model or "cosmara",
            system_role=MessageRole.SYSTEM,
        )

    def _supports_json_schema(self) -> bool:
        infos = self._candidates()
        return bool(infos) and all(
            info is not None and info.supports("json_schema") for info in infos
        )

    # --- request building -----------------------------------------------------------------
    def _request(self, messages: Sequence[ChatMessage], kwargs: dict[str, Any]) -> dict[str, Any]:
        request: dict[str, Any] = {"messages": to_cosmara_messages(messages)}
        if self.model is not None:
            request["model"] = self.model
        if self.temperature is not None:
            request["temperature"] = self.temperature
        if self.max_tokens is not None:
            request["max_tokens"] = self.max_tokens
        if self.fallbacks:
            request["fallbacks"] = self.fallbacks
        if self.timeout is not None:
            request["timeout"] = self.timeout
        if self.max_retries is not None:
            request["max_retries"] = self.max_retries
        for key in ("org", "team", "user"):
            value = getattr(self, key)
            if value is not None:
                request[key] = value
        if self.tags:
            request["tags"] = self.tags
        if self.request_metadata:
            request["metadata"] = self.request_metadata
        request.update(self.additional_kwargs)
        request.update(kwargs)
        return request

    # --- chat -----------------------------------------------------------------------------
    @llm_chat_callback()
    def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        return self._chat(messages, **kwargs)

    def _chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        return to_llama_response(self._client.chat(**self._request(messages, kwargs)))

    @llm_chat_callback()
    async def achat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        return await self._achat(messages, **kwargs)

    async def _achat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        return to_llama_response(await self._client.achat(**self._request(messages, kwargs)))

    @llm_chat_callback()
    def stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseGen:
        return self._stream_chat(messages, **kwargs)

    def _stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseGen:
        # The engine validates and plans now, so a bad request raises here, not on iteration.
        chunks = self._client.stream(**self._request(messages, kwargs))

        def gen() -> ChatResponseGen:
            stream = _StreamState()
            for chunk in chunks:
                yield stream.add(chunk)

        return gen()

    @llm_chat_callback()
    async def astream_chat(
        self, messages: Sequence[ChatMessage], **kwargs: Any
    ) -> ChatResponseAsyncGen:
        return await self._astream_chat(messages, **kwargs)

    async def _astream_chat(
        self, messages: Sequence[ChatMessage], **kwargs: Any
    ) -> ChatResponseAsyncGen:
        chunks: AsyncIterator[ChatChunk] = self._client.astream(**self._request(messages, kwargs))

        async def gen() -> ChatResponseAsyncGen:
            stream = _StreamState()
            async for chunk in chunks:
                yield stream.add(chunk)

        return gen()

    # --- completion (a one-message chat) ---------------------------------------------------
    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        return chat_to_completion_decorator(self._chat)(prompt, **kwargs)

    @llm_completion_callback()
    async def acomplete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponse:
        return await achat_to_completion_decorator(self._achat)(prompt, **kwargs)

    @llm_completion_callback()
    def stream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseGen:
        return stream_chat_to_completion_decorator(self._stream_chat)(prompt, **kwargs)

    @llm_completion_callback()
    async def astream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseAsyncGen:
        return await astream_chat_to_completion_decorator(self._astream_chat)(prompt, **kwargs)

    # --- tools ----------------------------------------------------------------------------
    def _prepare_chat_with_tools(
        self,
        tools: Sequence[BaseTool],
        user_msg: str | ChatMessage | None = None,
        chat_history: list[ChatMessage] | None = None,
        verbose: bool = False,
        allow_parallel_tool_calls: bool = False,
        tool_required: bool = False,
        tool_choice: str | dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        kwargs.pop("strict", None)  # OpenAI-only switch; the engine's tools carry no strictness
        specs = [tool.metadata.to_openai_tool(skip_length_check=True) for tool in tools]
        messages = list(chat_history or [])
        if isinstance(user_msg, str):
            user_msg = ChatMessage(role=MessageRole.USER, content=user_msg)
        if user_msg is not None:
            messages.append(user_msg)
        prepared: dict[str, Any] = {"messages": messages, **kwargs}
        if specs:
            prepared["tools"] = specs
            prepared["tool_choice"] = _tool_choice(tool_choice, tool_required)
            prepared["parallel_tool_calls"] = allow_parallel_tool_calls
        return prepared

    def _validate_chat_with_tools_response(
        self,
        response: ChatResponse,
        tools: Sequence[BaseTool],
        allow_parallel_tool_calls: bool = False,
        **kwargs: Any,
    ) -> ChatResponse:
        if not allow_parallel_tool_calls:
            _keep_first_tool_call(response)
        return response

    def get_tool_calls_from_response(
        self,
        response: ChatResponse,
        error_on_no_tool_call: bool = True,
        **kwargs: Any,
    ) -> list[ToolSelection]:
        """The ``ToolCallBlock``s of a response (a stream's last chunk has all of them).

        Raises:
            ValueError: no tool call, when ``error_on_no_tool_call`` (LlamaIndex's contract).
        """
        blocks = [b for b in response.message.blocks if isinstance(b, ToolCallBlock)]
        if not blocks and error_on_no_tool_call:
            raise ValueError("Expected at least one tool call, but got 0 tool calls.")
        return [
            ToolSelection(
                tool_id=block.tool_call_id or "",
                tool_name=block.tool_name,
                tool_kwargs=_arguments(block.tool_kwargs),
            )
            for block in blocks
        ]

    # --- structured output ----------------------------------------------------------------
    def _use_json_schema(self) -> bool:
        return (
            self.pydantic_program_mode == PydanticProgramMode.DEFAULT
            and self._supports_json_schema()
        )

    def structured_predict(
        self,
        output_cls: type[Model],
        prompt: PromptTemplate,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> Model:
        """Structured output in the provider's JSON-schema mode where the catalog lists it,
        else through a forced tool call (LlamaIndex's function-calling program)."""
        llm_kwargs = dict(llm_kwargs or {})
        if self._use_json_schema():
            messages = self._extend_messages(prompt.format_messages(**prompt_args))
            response = self.chat(messages, **_with_schema(llm_kwargs, output_cls))
            return output_cls.model_validate_json(response.message.content or "")
        llm_kwargs.setdefault("tool_choice", "required")
        return super().structured_predict(output_cls, prompt, llm_kwargs=llm_kwargs, **prompt_args)

    async def astructured_predict(
        self,
        output_cls: type[Model],
        prompt: PromptTemplate,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> Model:
        """Async ``structured_predict``."""
        llm_kwargs = dict(llm_kwargs or {})
        if self._use_json_schema():
            messages = self._extend_messages(prompt.format_messages(**prompt_args))
            response = await self.achat(messages, **_with_schema(llm_kwargs, output_cls))
            return output_cls.model_validate_json(response.message.content or "")
        llm_kwargs.setdefault("tool_choice", "required")
        return await super().astructured_predict(
            output_cls, prompt, llm_kwargs=llm_kwargs, **prompt_args
        )


class _StreamState:
    """Turns engine chunks into LlamaIndex responses: the message so far plus the delta.

    The engine's last chunk (no choices) carries usage and Cosmara metadata; its response
    carries the complete message, tool calls included, which is where FunctionAgent reads them.
    """

    def __init__(self) -> None:
        self._accumulator = StreamAccumulator()
        self._text = ""
        self._reasoning = ""
        self._calls: list[ContentBlock] = []

    def add(self, chunk: ChatChunk) -> ChatResponse:
        self._accumulator.add(chunk)
        if not chunk.choices:
            built = self._accumulator.response()
            message = built.choices[0].message if built.choices else AssistantMessage(content="")
            return ChatResponse(
                message=to_llama_message(message),
                delta="",
                raw=chunk,
                additional_kwargs=usage_kwargs(chunk.usage, chunk.cosmara),
            )
        delta = next((c.delta for c in chunk.choices if c.index == 0), None)
        text_delta = (delta.content or "") if delta is not None else ""
        thinking_delta = (delta.reasoning_content or "") if delta is not None else ""
        self._text += text_delta
        self._reasoning += thinking_delta
        if delta is not None and delta.tool_calls:
            calls = self._accumulator.response().choices[0].message.tool_calls or []
            self._calls = [
                ToolCallBlock(
                    tool_call_id=call.id,
                    tool_name=call.function.name,
                    tool_kwargs=call.function.arguments,
                )
                for call in calls
            ]
        blocks: list[ContentBlock] = []
        if self._reasoning:
            blocks.append(ThinkingBlock(content=self._reasoning))
        blocks.append(TextBlock(text=self._text))
        blocks.extend(self._calls)
        extra = {"thinking_delta": thinking_delta} if thinking_delta else {}
        return ChatResponse(
            message=ChatMessage(role=MessageRole.ASSISTANT, blocks=blocks),
            delta=text_delta,
            raw=chunk,
            additional_kwargs=extra,
        )


def _tool_choice(choice: str | dict[str, Any] | None, required: bool) -> str | dict[str, Any]:
    if choice is None:
        return "required" if required else "auto"
    if isinstance(choice, dict) or choice in ("none", "auto", "required"):
        return choice
    return {"type": "function", "function": {"name": choice}}  # a tool's name


def _keep_first_tool_call(response: ChatResponse) -> None:
    blocks = response.message.blocks
    calls = [block for block in blocks if isinstance(block, ToolCallBlock)]
    if len(calls) > 1:
        response.message.blocks = [
            b for b in blocks if not isinstance(b, ToolCallBlock) or b is calls[0]
        ]
        legacy = response.message.additional_kwargs.get("tool_calls")
        if legacy:
            response.message.additional_kwargs["tool_calls"] = legacy[:1]


def _arguments(arguments: dict[str, Any] | str) -> dict[str, Any]:
    if isinstance(arguments, dict):
        return arguments
    if not arguments:
        return {}
    try:
        # Complete or partial (mid-stream) JSON, as LlamaIndex's own integrations parse it.
        parsed = parse_partial_json(arguments)
    except (ValueError, TypeError):
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _with_schema(llm_kwargs: dict[str, Any], output_cls: type[Model]) -> dict[str, Any]:
    llm_kwargs.pop("tool_choice", None)
    llm_kwargs["response_format"] = {
        "type": "json_schema",
        "json_schema": {
            "name": "".join(c if c.isalnum() or c in "_-" else "_" for c in output_cls.__name__),
            "schema": output_cls.model_json_schema(),
        },
    }
    return llm_kwargs
