"""The chat request vocabulary: ChatRequest, messages, tools, tool_choice and response_format.

Validation is tested twice: on the pydantic models directly, and through ``Cosmara.chat`` /
``Cosmara.stream``, where a bad input must raise ``RequestValidationError`` before any network
call. The engine's openai provider points at 127.0.0.1:9 (discard port, nothing listens), so a
request that got as far as the network would fail with ``ProviderConnectionError`` instead.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import ValidationError

import cosmara
from cosmara import (
    AssistantMessage,
    ChatChunk,
    ChatRequest,
    ChatResponse,
    Cosmara,
    DeveloperMessage,
    FunctionCall,
    FunctionDefinition,
    ImagePart,
    JSONSchemaFormat,
    NamedToolChoice,
    ResponseFormat,
    SystemMessage,
    TextPart,
    Tool,
    ToolCall,
    ToolMessage,
    UserMessage,
)

MODEL = "openai/gpt-4o"
USER = [{"role": "user", "content": "Hello"}]
PNG_DATA_URI = (
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk"
    "YPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)
WEATHER_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}


def request(**fields: Any) -> ChatRequest:
    return ChatRequest.model_validate({"model": MODEL, "messages": USER, **fields})


def tool_named(name: str, parameters: dict[str, Any] | None = None) -> dict[str, Any]:
    function: dict[str, Any] = {"name": name}
    if parameters is not None:
        function["parameters"] = parameters
    return {"type": "function", "function": function}


# --- messages of every role ---------------------------------------------------------------


def test_every_role_validates_to_its_own_class() -> None:
    req = ChatRequest.model_validate(
        {
            "model": MODEL,
            "messages": [
                {"role": "system", "content": "Be terse."},
                {"role": "developer", "content": "Answer in French."},
                {"role": "user", "content": "Weather in Paris?", "name": "alice"},
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                        }
                    ],
                },
                {"role": "tool", "tool_call_id": "call_1", "content": "18C, sunny"},
                {"role": "assistant", "content": "Il fait 18C."},
            ],
        }
    )
    kinds = [type(message) for message in req.messages]
    assert kinds == [
        SystemMessage,
        DeveloperMessage,
        UserMessage,
        AssistantMessage,
        ToolMessage,
        AssistantMessage,
    ]
    assert req.messages[2].name == "alice"
    call = req.messages[3].tool_calls[0]  # type: ignore[union-attr,index]
    assert isinstance(call, ToolCall)
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Paris"}
    tool_message = req.messages[4]
    assert isinstance(tool_message, ToolMessage)
    assert tool_message.tool_call_id == "call_1"
    assert tool_message.content == "18C, sunny"


@pytest.mark.parametrize(
    ("url", "detail"),
    [
        ("https://example.com/cat.png", None),
        ("https://example.com/cat.png", "low"),
        (PNG_DATA_URI, "high"),
        (PNG_DATA_URI, "auto"),
    ],
)
def test_user_image_parts_by_url_and_data_uri(url: str, detail: str | None) -> None:
    image_url: dict[str, Any] = {"url": url}
    if detail is not None:
        image_url["detail"] = detail
    req = request(
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is in this picture?"},
                    {"type": "image_url", "image_url": image_url},
                ],
            }
        ]
    )
    content = req.messages[0].content
    assert isinstance(content, list)
    text, image = content
    assert isinstance(text, TextPart)
    assert text.text == "What is in this picture?"
    assert isinstance(image, ImagePart)
    assert image.image_url.url == url
    assert image.image_url.detail == detail


def test_multi_part_text_content_on_system_and_tool_messages() -> None:
    req = request(
        messages=[
            {
                "role": "system",
                "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}],
            },
            {"role": "user", "content": "go"},
            {"role": "tool", "tool_call_id": "c", "content": [{"type": "text", "text": "42"}]},
        ]
    )
    system, _, tool = req.messages
    assert [part.text for part in system.content] == ["a", "b"]  # type: ignore[union-attr]
    assert [part.text for part in tool.content] == ["42"]  # type: ignore[union-attr]


def test_image_detail_outside_the_enum_fails() -> None:
    with pytest.raises(ValidationError, match="detail"):
        request(
            messages=[
                {
                    "role": "user",
                    "content": [{"type": "image_url", "image_url": {"url": "x", "detail": "max"}}],
                }
            ]
        )


def test_image_part_is_rejected_in_a_system_message() -> None:
    with pytest.raises(ValidationError):
        request(
            messages=[
                {
                    "role": "system",
                    "content": [{"type": "image_url", "image_url": {"url": "https://x/y.png"}}],
                }
            ]
        )


def test_unknown_content_part_type_fails() -> None:
    with pytest.raises(ValidationError, match="audio"):
        request(messages=[{"role": "user", "content": [{"type": "audio", "audio": "..."}]}])


def test_unknown_role_fails() -> None:
    with pytest.raises(ValidationError, match="narrator"):
        request(messages=[{"role": "narrator", "content": "Once upon a time"}])


def test_empty_messages_list_fails() -> None:
    with pytest.raises(ValidationError, match="messages"):
        request(messages=[])


def test_tool_message_needs_tool_call_id() -> None:
    with pytest.raises(ValidationError, match="tool_call_id"):
        request(messages=[{"role": "tool", "content": "42"}])


def test_empty_model_name_fails() -> None:
    with pytest.raises(ValidationError, match="model"):
        ChatRequest.model_validate({"model": "", "messages": USER})


# --- tools and tool_choice ----------------------------------------------------------------


def test_tool_definition_is_parsed() -> None:
    req = request(tools=[WEATHER_TOOL])
    assert req.tools is not None
    (tool,) = req.tools
    assert isinstance(tool, Tool)
    assert isinstance(tool.function, FunctionDefinition)
    assert tool.function.name == "get_weather"
    assert tool.function.description == "Current weather for a city"
    assert tool.function.parameters["required"] == ["city"]


def test_tool_without_parameters_gets_an_empty_object_schema() -> None:
    req = request(tools=[tool_named("ping")])
    assert req.tools is not None
    assert req.tools[0].function.parameters == {"type": "object", "properties": {}}


@pytest.mark.parametrize("choice", ["none", "auto", "required"])
def test_tool_choice_literals(choice: str) -> None:
    assert request(tools=[WEATHER_TOOL], tool_choice=choice).tool_choice == choice


def test_tool_choice_named_tool() -> None:
    req = request(
        tools=[WEATHER_TOOL, tool_named("other")],
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
    )
    assert isinstance(req.tool_choice, NamedToolChoice)
    assert req.tool_choice.function.name == "get_weather"


def test_tool_choice_naming_an_absent_tool_fails() -> None:
    with pytest.raises(ValidationError, match="'missing', which is not among"):
        request(
            tools=[WEATHER_TOOL],
            tool_choice={"type": "function", "function": {"name": "missing"}},
        )


def test_tool_choice_named_without_any_tools_fails() -> None:
    with pytest.raises(ValidationError, match="not among the request's tools"):
        request(tool_choice={"type": "function", "function": {"name": "get_weather"}})


def test_tool_choice_required_without_tools_fails() -> None:
    with pytest.raises(ValidationError, match="'required' needs at least one tool"):
        request(tool_choice="required")


@pytest.mark.parametrize("choice", ["none", "auto"])
def test_tool_choice_none_or_auto_without_tools_is_fine(choice: str) -> None:
    assert request(tool_choice=choice).tool_choice == choice


def test_tool_choice_unknown_literal_fails() -> None:
    with pytest.raises(ValidationError, match="tool_choice"):
        request(tools=[WEATHER_TOOL], tool_choice="any")


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ({"type": "string"}, "of type 'object'"),
        ({"type": "object", "properties": ["city"]}, "parameters.properties must be an object"),
        ({"type": "object", "properties": {}, "required": "city"}, "required must be a list"),
        (
            {"type": "object", "properties": {}, "required": ["city", 3]},
            "parameters.required must be a list",
        ),
    ],
    ids=["type-string", "properties-list", "required-string", "required-non-str-item"],
)
def test_malformed_tool_schema_fails(parameters: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        request(tools=[tool_named("f", parameters)])


def test_parameters_without_type_count_as_object() -> None:
    schema = {"properties": {"q": {"type": "string"}}}
    req = request(tools=[tool_named("search", schema)])
    assert req.tools is not None
    assert req.tools[0].function.parameters == schema


@pytest.mark.parametrize(
    "name",
    ["get weather", "a" * 65, "", "get.weather", "caf\u00e9"],
    ids=["space", "65-chars", "empty", "dot", "non-ascii"],
)
def test_invalid_tool_names_fail(name: str) -> None:
    with pytest.raises(ValidationError, match="must be 1-64 characters"):
        request(tools=[tool_named(name)])


@pytest.mark.parametrize("name", ["a", "A" * 64, "get_weather-v2", "123"])
def test_valid_tool_names(name: str) -> None:
    req = request(tools=[tool_named(name)])
    assert req.tools is not None
    assert req.tools[0].function.name == name


# --- response_format ----------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["text", "json_object"])
def test_response_format_simple_types(kind: str) -> None:
    req = request(response_format={"type": kind})
    assert isinstance(req.response_format, ResponseFormat)
    assert req.response_format.type == kind
    assert req.response_format.json_schema is None


def test_response_format_json_schema() -> None:
    schema = {"type": "object", "properties": {"answer": {"type": "string"}}}
    req = request(
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "answer", "schema": schema, "strict": True},
        }
    )
    assert req.response_format is not None
    json_schema = req.response_format.json_schema
    assert isinstance(json_schema, JSONSchemaFormat)
    assert json_schema.name == "answer"
    assert json_schema.schema_ == schema
    assert json_schema.strict is True


def test_response_format_json_schema_without_schema_object_fails() -> None:
    with pytest.raises(ValidationError, match="needs a 'json_schema' object"):
        request(response_format={"type": "json_schema"})


def test_response_format_json_schema_needs_name_and_schema() -> None:
    with pytest.raises(ValidationError, match="schema"):
        request(response_format={"type": "json_schema", "json_schema": {"name": "x"}})


def test_response_format_unknown_type_fails() -> None:
    with pytest.raises(ValidationError, match="response_format"):
        request(response_format={"type": "yaml"})


def test_schema_alias_round_trips() -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}}
    req = request(
        response_format={"type": "json_schema", "json_schema": {"name": "n", "schema": schema}}
    )
    dumped = req.model_dump(by_alias=True, exclude_none=True)
    assert dumped["response_format"]["json_schema"] == {"name": "n", "schema": schema}
    assert "schema_" not in json.loads(req.model_dump_json())["response_format"]["json_schema"]
    again = ChatRequest.model_validate(dumped)
    assert again.response_format is not None
    assert again.response_format.json_schema is not None
    assert again.response_format.json_schema.schema_ == schema


def test_json_schema_format_accepts_field_name_too() -> None:
    fmt = JSONSchemaFormat(name="x", schema_={"type": "object"})
    assert fmt.model_dump(by_alias=True) == {
        "name": "x",
        "schema": {"type": "object"},
        "description": None,
        "strict": None,
    }


# --- numeric bounds -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("temperature", 2.1),
        ("temperature", -0.1),
        ("top_p", -0.1),
        ("top_p", 1.1),
        ("max_tokens", 0),
        ("max_tokens", -5),
        ("n", 0),
    ],
)
def test_out_of_range_values_fail(field: str, value: float) -> None:
    with pytest.raises(ValidationError, match=field):
        request(**{field: value})


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("temperature", 0),
        ("temperature", 2),
        ("top_p", 0),
        ("top_p", 1),
        ("max_tokens", 1),
        ("n", 1),
    ],
)
def test_boundary_values_pass(field: str, value: float) -> None:
    assert getattr(request(**{field: value}), field) == value


def test_empty_stop_sequence_fails() -> None:
    with pytest.raises(ValidationError, match="stop sequences must be non-empty"):
        request(stop=["END", ""])


def test_reasoning_effort_outside_the_enum_fails() -> None:
    with pytest.raises(ValidationError, match="reasoning_effort"):
        request(reasoning_effort="extreme")


# --- pass-through and normalisation -------------------------------------------------------


def test_unknown_extra_fields_are_kept_and_dumped() -> None:
    req = request(
        logit_bias={"50256": -100},
        prediction={"type": "content", "content": "x"},
        messages=[{"role": "user", "content": "hi", "vendor_flag": True}],
    )
    dumped = req.model_dump()
    assert dumped["logit_bias"] == {"50256": -100}
    assert dumped["prediction"] == {"type": "content", "content": "x"}
    assert dumped["messages"][0]["vendor_flag"] is True
    wire = json.loads(req.model_dump_json(exclude_none=True))
    assert wire["logit_bias"] == {"50256": -100}


def test_extra_fields_on_tools_are_kept() -> None:
    req = request(tools=[{**WEATHER_TOOL, "cache_control": {"type": "ephemeral"}}])
    assert req.model_dump()["tools"][0]["cache_control"] == {"type": "ephemeral"}


def test_tool_call_arguments_given_as_dict_become_json_text() -> None:
    call = ToolCall.model_validate(
        {"id": "c1", "function": {"name": "f", "arguments": {"city": "Paris", "days": [1, 2]}}}
    )
    assert isinstance(call.function.arguments, str)
    assert call.function.arguments == '{"city":"Paris","days":[1,2]}'
    assert json.loads(call.function.arguments) == {"city": "Paris", "days": [1, 2]}


def test_tool_call_string_arguments_are_kept_verbatim() -> None:
    raw = '{ "city" : "Paris" }'
    assert FunctionCall(name="f", arguments=raw).arguments == raw


def test_assistant_reasoning_lifts_to_reasoning_content() -> None:
    message = AssistantMessage.model_validate(
        {"role": "assistant", "content": "4", "reasoning": "2+2 is 4"}
    )
    assert message.reasoning_content == "2+2 is 4"


def test_explicit_reasoning_content_wins_over_reasoning() -> None:
    message = AssistantMessage.model_validate(
        {"role": "assistant", "content": "4", "reasoning": "a", "reasoning_content": "b"}
    )
    assert message.reasoning_content == "b"


def test_reasoning_lift_inside_a_request() -> None:
    req = request(
        messages=[
            {"role": "user", "content": "2+2?"},
            {"role": "assistant", "content": "4", "reasoning": "adding"},
            {"role": "user", "content": "and 3+3?"},
        ]
    )
    assistant = req.messages[1]
    assert isinstance(assistant, AssistantMessage)
    assert assistant.reasoning_content == "adding"


def test_request_round_trips_through_model_dump() -> None:
    req = request(
        tools=[WEATHER_TOOL],
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
        temperature=0.3,
        stop=["END"],
        seed=7,
    )
    again = ChatRequest.model_validate(req.model_dump(by_alias=True))
    assert again == req


# --- through the engine: validation before any network call --------------------------------


@pytest.fixture
def engine() -> Iterator[Cosmara]:
    with Cosmara(
        {},  # not $COSMARA_CONFIG
        load_entry_points=False,
        providers={"openai": {"api_key": "k", "base_url": "http://127.0.0.1:9/v1"}},
    ) as client:
        yield client


BAD_INPUTS: list[tuple[dict[str, Any], str]] = [
    ({"temperature": 2.1}, "temperature"),
    ({"top_p": -0.1}, "top_p"),
    ({"max_tokens": 0}, "max_tokens"),
    ({"max_tokens": -1}, "max_tokens"),
    ({"n": 0}, "n"),
    ({"messages": []}, "messages"),
    ({"messages": [{"role": "narrator", "content": "x"}]}, "messages"),
    ({"tool_choice": "required"}, "tool_choice"),
    (
        {"tools": [WEATHER_TOOL], "tool_choice": {"type": "function", "function": {"name": "x"}}},
        "tool_choice",
    ),
    ({"tools": [tool_named("bad name")]}, "tools"),
    ({"tools": [tool_named("f", {"type": "string"})]}, "tools"),
    ({"response_format": {"type": "json_schema"}}, "json_schema"),
]


@pytest.mark.parametrize(("bad", "field"), BAD_INPUTS)
def test_engine_chat_rejects_bad_input_before_sending(
    engine: Cosmara, bad: dict[str, Any], field: str
) -> None:
    kwargs: dict[str, Any] = {"model": MODEL, "messages": USER, **bad}
    with pytest.raises(cosmara.RequestValidationError, match=field) as caught:
        engine.chat(**kwargs)
    assert isinstance(caught.value, ValueError)
    assert isinstance(caught.value, cosmara.CosmaraError)
    assert not isinstance(caught.value, cosmara.ProviderError)


@pytest.mark.parametrize(("bad", "field"), BAD_INPUTS[:4])
def test_engine_stream_rejects_bad_input_at_call_time(
    engine: Cosmara, bad: dict[str, Any], field: str
) -> None:
    kwargs: dict[str, Any] = {"model": MODEL, "messages": USER, **bad}
    with pytest.raises(cosmara.RequestValidationError, match=field):
        engine.stream(**kwargs)  # raises here, not on first iteration


async def test_engine_achat_rejects_bad_input(engine: Cosmara) -> None:
    with pytest.raises(cosmara.RequestValidationError, match="temperature"):
        await engine.achat(model=MODEL, messages=USER, temperature=5)


def test_engine_validates_a_request_object_merged_with_kwargs(engine: Cosmara) -> None:
    with pytest.raises(cosmara.RequestValidationError, match="temperature"):
        engine.chat(request(), temperature=3)


def test_engine_missing_messages_names_the_field(engine: Cosmara) -> None:
    with pytest.raises(cosmara.RequestValidationError, match="messages"):
        engine.chat(model=MODEL)


def test_engine_valid_request_reaches_the_network(engine: Cosmara) -> None:
    # The control experiment: a valid request does try port 9 and fails to connect.
    with pytest.raises(cosmara.ProviderConnectionError):
        engine.chat(model=MODEL, messages=USER, max_retries=0)


def test_engine_unknown_provider_prefix(engine: Cosmara) -> None:
    with pytest.raises(cosmara.UnknownModelError, match="unknown provider 'foo'") as caught:
        engine.chat(model="foo/bar", messages=USER)
    message = str(caught.value)
    for provider in ("openai", "azure", "groq"):
        assert provider in message
    assert isinstance(caught.value, cosmara.RequestValidationError)
    assert isinstance(caught.value, LookupError)


def test_engine_unknown_bare_model(engine: Cosmara) -> None:
    with pytest.raises(cosmara.UnknownModelError, match="unknown model 'no-such-model'") as caught:
        engine.chat(model="no-such-model", messages=USER)
    assert "openai" in str(caught.value)
    assert "provider/model" in str(caught.value)


def test_engine_missing_credentials_names_the_env_var(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("COSMARA_CONFIG", raising=False)
    with (
        Cosmara(load_entry_points=False) as client,
        pytest.raises(cosmara.MissingCredentialsError, match="OPENAI_API_KEY") as caught,
    ):
        client.chat(model=MODEL, messages=USER)
    assert isinstance(caught.value, cosmara.ConfigurationError)
    assert "openai" in str(caught.value)


def test_engine_validation_comes_before_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("COSMARA_CONFIG", raising=False)
    with (
        Cosmara(load_entry_points=False) as client,
        pytest.raises(cosmara.RequestValidationError, match="temperature"),
    ):
        client.chat(model=MODEL, messages=USER, temperature=9)


def test_reasoning_lifts_when_parsed_from_json() -> None:
    # Provider answers are parsed from JSON bytes, where the lift runs after validation.
    body = (
        b'{"choices": [{"message": {"role": "assistant", "content": "4", "reasoning": "r"}}],'
        b' "usage": {"prompt_tokens": 9, "cached_tokens": 4}}'
    )
    response = ChatResponse.model_validate_json(body)
    message = response.choices[0].message
    assert message.reasoning_content == "r"
    assert "reasoning_content" in message.model_fields_set
    assert response.usage is not None
    assert response.usage.cached_tokens == 4
    chunk = ChatChunk.model_validate_json(
        b'{"choices": [{"index": 0, "delta": {"reasoning": "step"}}]}'
    )
    assert chunk.choices[0].delta.reasoning_content == "step"
    nested = ChatResponse.model_validate_json(
        b'{"choices": [], "usage": {"cached_tokens": 4,'
        b' "prompt_tokens_details": {"cached_tokens": 1}}}'
    )
    assert nested.usage is not None
    assert nested.usage.cached_tokens == 1
