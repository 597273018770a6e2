"""``ChatCosmara``: a LangChain chat model on the Cosmara engine.

Every call goes through ``Cosmara.chat`` / ``achat`` / ``stream`` / ``astream``, so routing,
fallbacks and cost accounting apply to chains, agents and LangGraph graphs unchanged. This
module only translates: LangChain parameters and messages in, LangChain messages out.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from operator import itemgetter
from pathlib import Path
from typing import Any, Literal

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import LanguageModelInput, ModelProfile
from langchain_core.language_models.chat_models import BaseChatModel, LangSmithParams
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.output_parsers import JsonOutputParser, PydanticOutputParser
from langchain_core.output_parsers.openai_tools import (
    JsonOutputKeyToolsParser,
    PydanticToolsParser,
)
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable, RunnableMap, RunnablePassthrough
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from langchain_core.utils.pydantic import is_basemodel_subclass
from pydantic import ConfigDict, Field, PrivateAttr, SecretStr, field_validator, model_validator

from cosmara import Catalog, ChatChunk, ChatRequest, Cosmara, CosmaraConfig, ModelInfo
from langchain_cosmara._client import build_client, coerce_config, config_fingerprint
from langchain_cosmara._convert import (
    chunk_to_generation,
    final_chunk_to_generation,
    response_to_result,
    to_openai_messages,
)

__all__ = ["ChatCosmara"]

# Per-call keywords the engine takes beside the request fields.
_ENGINE_KEYS = ("fallbacks", "timeout", "user", "team", "org")
# Tags and metadata LangChain adds for its own tracing; they are not the caller's labels.
_TRACING_TAG_PREFIXES = ("seq:step:", "graph:step:", "map:key:", "langsmith:")
_TRACING_METADATA_PREFIXES = ("ls_", "lc_")
_TOOL_CHOICE_WORDS = {"any": "required", "required": "required", "auto": "auto", "none": "none"}

StructuredMethod = Literal["function_calling", "json_mode", "json_schema"]


class ChatCosmara(BaseChatModel):
    """Chat model that sends every call through Cosmara: routing, fallbacks, cost accounting.

    ``ChatCosmara(model="openai/gpt-4o-mini")`` replaces ``ChatOpenAI(model="gpt-4o-mini")``;
    ``model`` may also be an alias or a virtual group such as ``"auto"``. Without one, the
    configuration's ``default_model`` is used, as on every surface (no model and no
    ``default_model`` is a ``RequestValidationError`` when called). Keys come from the
    environment, from ``config`` (a ``cosmara.toml`` path or dict), from ``api_key`` (for the
    provider the model name starts with), or from a ready ``client``.

    Every field below except ``config``, ``client``, ``api_key`` and ``base_url`` can be
    overridden per call: ``model.invoke(messages, model="anthropic/claude-3-5-haiku-latest",
    team="support", fallbacks=[...])``. Tags and metadata come from LangChain's own ``tags`` /
    ``metadata`` fields and from the run's config (``invoke(..., config={"tags": [...]})``);
    Cosmara records them with the request and never sends them to a provider.

    ``response_metadata`` carries ``model_name``, ``finish_reason``, ``model_provider``
    (``"cosmara"``) and ``cosmara``: the provider and model that answered, ``cost_usd``,
    ``latency_ms``, every ``attempts`` entry (fallbacks show here) and the ``route``.

    Raises the typed errors of ``cosmara`` (``ProviderError`` and its subclasses,
    ``RequestValidationError``, ``ConfigurationError``).
    """

    model: str | None = None
    """``provider/model``, an alias, or a virtual model group (``auto``, ``fast``, ...);
    ``None``: the configuration's ``default_model``."""
    temperature: float | None = None
    max_tokens: int | None = None
    timeout: float | None = None
    """Seconds for the whole request (each attempt); the configuration's default when None."""
    stop: list[str] | None = None
    max_retries: int | None = None
    """Retries of a failing target (rate limits, outages, timeouts) before any fallback;
    ``None`` keeps the engine's retry policy (two retries with backoff unless configured)."""
    api_key: SecretStr | None = None
    """Key for the provider named by ``model``'s prefix (``openai`` when it has none)."""
    base_url: str | None = None
    """Base URL for that same provider (an OpenAI-compatible endpoint, a proxy)."""
    streaming: bool = False
    """Stream under ``invoke`` too, so callbacks see tokens as they arrive."""
    stream_usage: bool = True
    """Report token usage on the last streamed chunk."""
    fallbacks: list[str] = Field(default_factory=list)
    """Models tried in order when ``model`` fails."""
    config: CosmaraConfig | Path | str | None = None
    """A ``cosmara.toml`` path, a config dict or a ``CosmaraConfig``."""
    client: Cosmara | None = Field(default=None, exclude=True)
    """A ready client to use instead of building one from ``config``."""
    user: str | None = None
    team: str | None = None
    org: str | None = None
    model_kwargs: dict[str, Any] = Field(default_factory=dict)
    """Other request fields sent as they are (``seed``, ``top_p``, ``reasoning_effort``, ...)."""

    model_config = ConfigDict(arbitrary_types_allowed=True, populate_by_name=True)

    _client: Cosmara | None = PrivateAttr(default=None)
    _fingerprint: Any = PrivateAttr(default=None)

    # --- construction, copying, pickling ----------------------------------------------------
    @field_validator("config", mode="before")
    @classmethod
    def _config_as_object(cls, value: Any) -> Any:
        return coerce_config(value)

    @model_validator(mode="after")
    def _profile_from_catalog(self) -> ChatCosmara:
        if self.profile is None:
            catalog = self.client.catalog if self.client is not None else Catalog.builtin()
            name = self.model or self._default_model()
            info = catalog.get(name) if name else None
            if info is not None:
                self.profile = _profile(info)
        self._fingerprint = config_fingerprint(self.config)
        return self

    def _default_model(self) -> str | None:
        """The configuration's ``default_model``, where it is known without building a client
        (a ready client, or a configuration object rather than a file path)."""
        if self.client is not None:
            return self.client.config.default_model
        return self.config.default_model if isinstance(self.config, CosmaraConfig) else None

    def _model_name(self) -> str:
        """The model calls go to: ``model``, else the configuration's ``default_model``."""
        return self.model or self._cosmara().config.default_model or ""

    def _cosmara(self) -> Cosmara:
        if self.client is not None:
            return self.client
        if self._client is None:
            self._client = build_client(
                self.config, model=self.model, api_key=self.api_key, base_url=self.base_url
            )
        return self._client

    def __getstate__(self) -> dict[Any, Any]:
        # Connection pools do not pickle and keys must not: the client is rebuilt on first use,
        # and a literal api_key is left out (keys come back from the environment or config).
        state = super().__getstate__()
        fields = dict(state["__dict__"])
        fields["api_key"] = None
        private = dict(state.get("__pydantic_private__") or {})
        private["_client"] = None
        return {**state, "__dict__": fields, "__pydantic_private__": private}

    def __deepcopy__(self, memo: dict[int, Any] | None = None) -> ChatCosmara:
        memo = {} if memo is None else memo
        if self.client is not None:
            memo[id(self.client)] = self.client  # a caller's client is shared, not cloned
        if self._client is not None:
            memo[id(self._client)] = None  # the copy builds its own on first use
        return super().__deepcopy__(memo)

    # --- LangChain's descriptive hooks ------------------------------------------------------
    @property
    def _llm_type(self) -> str:
        return "cosmara-chat"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        # LangChain's cache keys on these: everything that changes the answer, never a secret.
        return {
            "model": self.model,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "stop": self.stop,
            "timeout": self.timeout,
            "max_retries": self.max_retries,
            "streaming": self.streaming,
            "stream_usage": self.stream_usage,
            "fallbacks": self.fallbacks,
            "base_url": self.base_url,
            "config": self._fingerprint,
            "user": self.user,
            "team": self.team,
            "org": self.org,
            "model_kwargs": self.model_kwargs,
        }

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        params = LangSmithParams(
            ls_provider="cosmara",
            ls_model_name=kwargs.get("model") or self._model_name(),
            ls_model_type="chat",
        )
        temperature = kwargs.get("temperature", self.temperature)
        if temperature is not None:
            params["ls_temperature"] = temperature
        max_tokens = kwargs.get("max_tokens", self.max_tokens)
        if max_tokens is not None:
            params["ls_max_tokens"] = max_tokens
        stop = stop if stop is not None else kwargs.get("stop", self.stop)
        if stop:
            params["ls_stop"] = list(stop)
        return params

    # --- the four native paths --------------------------------------------------------------
    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        args, _ = self._call_args(messages, stop, run_manager, kwargs)
        return response_to_result(self._cosmara().chat(**args))

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        args, _ = self._call_args(messages, stop, run_manager, kwargs)
        return response_to_result(await self._cosmara().achat(**args))

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        args, include_usage = self._call_args(messages, stop, run_manager, kwargs)
        for chunk in self._cosmara().stream(**args):
            generation = _translate_chunk(chunk, include_usage)
            if generation is not None:
                yield generation

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        args, include_usage = self._call_args(messages, stop, run_manager, kwargs)
        async for chunk in self._cosmara().astream(**args):
            generation = _translate_chunk(chunk, include_usage)
            if generation is not None:
                yield generation

    def _call_args(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None,
        run_manager: CallbackManagerForLLMRun | AsyncCallbackManagerForLLMRun | None,
        kwargs: dict[str, Any],
    ) -> tuple[dict[str, Any], bool]:
        """The engine call's keywords from fields, per-call overrides and the run's labels."""
        overrides = dict(kwargs)
        overrides.pop("ls_structured_output_format", None)  # LangChain's tracing hint
        overrides.pop("stream", None)  # LangChain's own switch, already acted on
        include_usage = bool(overrides.pop("stream_usage", self.stream_usage))
        args: dict[str, Any] = {
            "model": self.model,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "stop": self.stop,
            **self.model_kwargs,
            "fallbacks": self.fallbacks,
            "timeout": self.timeout,
            "max_retries": self.max_retries,
            "user": self.user,
            "team": self.team,
            "org": self.org,
            **overrides,
        }
        if stop is not None:
            args["stop"] = stop
        args = {key: value for key, value in args.items() if value is not None}
        if not args.get("stop"):
            args.pop("stop", None)  # ``stop=[]`` means none; providers reject an empty list
        args["messages"] = to_openai_messages(messages)
        tags, metadata = _run_labels(self, run_manager)
        if tags:
            args["tags"] = tags
        if metadata:
            args["metadata"] = metadata
        return args, include_usage

    # --- tools and structured output --------------------------------------------------------
    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: dict[str, Any] | str | bool | None = None,
        strict: bool | None = None,
        parallel_tool_calls: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Bind tools in OpenAI's format.

        ``tool_choice`` is ``"auto"``, ``"none"``, ``"required"``/``"any"``/``True`` (call some
        tool), a tool's name (call that one), or an OpenAI tool-choice dict.
        """
        formatted = [convert_to_openai_tool(tool, strict=strict) for tool in tools]
        if tool_choice is not None and tool_choice is not False:
            kwargs["tool_choice"] = _tool_choice(tool_choice)
        if parallel_tool_calls is not None:
            kwargs["parallel_tool_calls"] = parallel_tool_calls
        return super().bind(tools=formatted, **kwargs)

    def with_structured_output(
        self,
        schema: dict[str, Any] | type | None = None,
        *,
        method: StructuredMethod = "function_calling",
        include_raw: bool = False,
        strict: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, dict[str, Any] | Any]:
        """Answers parsed into ``schema`` (a Pydantic class, TypedDict, or JSON Schema dict).

        ``method``: ``"function_calling"`` (a forced tool call), ``"json_schema"`` (OpenAI's
        structured outputs; ``strict`` asks the provider to enforce the schema) or
        ``"json_mode"`` (any JSON object; describe the shape in the prompt). With
        ``include_raw`` the result is ``{"raw", "parsed", "parsing_error"}`` and parse errors
        are returned instead of raised.
        """
        if kwargs:
            raise ValueError(f"unexpected arguments: {sorted(kwargs)}")
        is_pydantic = isinstance(schema, type) and is_basemodel_subclass(schema)
        trace = {"kwargs": {"method": method, "strict": strict}, "schema": schema}
        llm: Runnable[LanguageModelInput, Any]
        parser: Runnable[Any, Any]
        if method == "function_calling":
            if schema is None:
                raise ValueError("method='function_calling' needs a schema")
            name = convert_to_openai_tool(schema)["function"]["name"]
            llm = self.bind_tools(
                [schema], tool_choice=name, strict=strict, ls_structured_output_format=trace
            )
            parser = (
                PydanticToolsParser(tools=[schema], first_tool_only=True)  # type: ignore[list-item]
                if is_pydantic
                else JsonOutputKeyToolsParser(key_name=name, first_tool_only=True)
            )
        elif method == "json_mode":
            llm = self.bind(
                response_format={"type": "json_object"}, ls_structured_output_format=trace
            )
            parser = (
                PydanticOutputParser(pydantic_object=schema)  # type: ignore[arg-type]
                if is_pydantic
                else JsonOutputParser()
            )
        elif method == "json_schema":
            if schema is None:
                raise ValueError("method='json_schema' needs a schema")
            llm = self.bind(
                response_format=_json_schema_format(schema, strict),
                ls_structured_output_format=trace,
            )
            parser = (
                PydanticOutputParser(pydantic_object=schema)  # type: ignore[arg-type]
                if is_pydantic
                else JsonOutputParser()
            )
        else:
            raise ValueError(
                f"method must be 'function_calling', 'json_mode' or 'json_schema', not {method!r}"
            )
        if not include_raw:
            return llm | parser
        parsed = RunnablePassthrough.assign(
            parsed=itemgetter("raw") | parser, parsing_error=lambda _: None
        )
        failed = RunnablePassthrough.assign(parsed=lambda _: None)
        with_fallback = parsed.with_fallbacks([failed], exception_key="parsing_error")
        return RunnableMap(raw=llm) | with_fallback

    # --- counting ---------------------------------------------------------------------------
    def get_num_tokens_from_messages(
        self,
        messages: list[BaseMessage],
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool] | None = None,
    ) -> int:
        """Prompt tokens as the engine estimates them (tiktoken if cached locally, else a
        character heuristic); never downloads anything."""
        request = ChatRequest(
            model=self._model_name() or "default",  # the name plays no part in the count
            messages=to_openai_messages(messages),  # type: ignore[arg-type]
            tools=[convert_to_openai_tool(tool) for tool in tools] if tools else None,  # type: ignore[misc]
        )
        return self._cosmara().count_tokens(request)

    def get_num_tokens(self, text: str) -> int:
        """Tokens of ``text`` by the engine's local counter (nothing is downloaded)."""
        return self._cosmara().count_text(text)


def _translate_chunk(chunk: ChatChunk, include_usage: bool) -> ChatGenerationChunk | None:
    if chunk.cosmara is not None and not chunk.choices:
        return final_chunk_to_generation(chunk, include_usage=include_usage)
    return chunk_to_generation(chunk)


def _run_labels(
    model: ChatCosmara,
    run_manager: CallbackManagerForLLMRun | AsyncCallbackManagerForLLMRun | None,
) -> tuple[list[str], dict[str, Any]]:
    """The caller's tags and metadata: the model's own plus the run config's."""
    tags = run_manager.tags if run_manager is not None else model.tags or []
    found = run_manager.metadata if run_manager is not None else model.metadata or {}
    tags = [tag for tag in tags if not tag.startswith(_TRACING_TAG_PREFIXES)]
    metadata = {
        key: value for key, value in found.items() if not key.startswith(_TRACING_METADATA_PREFIXES)
    }
    return list(dict.fromkeys(tags)), metadata


def _tool_choice(choice: dict[str, Any] | str | bool) -> dict[str, Any] | str:
    if choice is True:
        return "required"
    if isinstance(choice, Mapping):
        return dict(choice)
    if choice in _TOOL_CHOICE_WORDS:
        return _TOOL_CHOICE_WORDS[choice]
    return {"type": "function", "function": {"name": choice}}


def _json_schema_format(schema: dict[str, Any] | type, strict: bool | None) -> dict[str, Any]:
    function = convert_to_openai_tool(schema, strict=strict)["function"]
    spec: dict[str, Any] = {"name": function["name"], "schema": function["parameters"]}
    if function.get("description"):
        spec["description"] = function["description"]
    if strict is not None:
        spec["strict"] = strict
    return {"type": "json_schema", "json_schema": spec}


def _profile(info: ModelInfo) -> ModelProfile:
    """LangChain's model profile from the catalog entry."""
    vision = info.supports("vision")
    documents = info.supports("documents")
    profile = ModelProfile(
        text_inputs=True,
        text_outputs=True,
        image_inputs=vision,
        image_url_inputs=vision,
        pdf_inputs=documents,
        audio_inputs=info.supports("audio_input"),
        # The engine delivers a tool's images and PDFs wherever the provider reads them.
        image_tool_message=vision,
        pdf_tool_message=documents,
        tool_calling=info.supports("tools"),
        tool_choice=info.supports("tools"),
        structured_output=info.supports("json_schema"),
        reasoning_output=info.supports("reasoning"),
    )
    if info.context_window is not None:
        profile["max_input_tokens"] = info.context_window
    if info.max_output_tokens is not None:
        profile["max_output_tokens"] = info.max_output_tokens
    return profile
