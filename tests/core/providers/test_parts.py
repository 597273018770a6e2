"""Documents, audio and tool-result media, translated for every provider: the exact JSON each
sends, and the typed refusal (naming the provider and the part) where one cannot take a part.

No real recording holds a document or an audio part, so the expected shapes follow each
provider's API reference: OpenAI's Chat Completions ``file`` / ``input_audio`` parts, Anthropic's
``document`` blocks and Files API source, Gemini's ``inlineData`` / ``fileData``, and Bedrock
Converse's ``DocumentBlock`` / ``AudioBlock``.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from cosmara import ChatRequest, RequestValidationError
from cosmara._config import ProviderSettings
from cosmara.providers._base import HttpProvider, HttpRequest
from cosmara.providers._parts import document_name
from cosmara.providers.anthropic import FILES_BETA, AnthropicProvider
from cosmara.providers.azure import AzureOpenAIProvider
from cosmara.providers.bedrock import BedrockProvider
from cosmara.providers.cohere import CohereProvider
from cosmara.providers.compatible import GroqProvider, OpenRouterProvider
from cosmara.providers.gemini import GeminiProvider
from cosmara.providers.ollama import OllamaProvider
from cosmara.providers.openai import OpenAIProvider
from cosmara.providers.tgi import TGIProvider

PDF = base64.b64encode(b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\n%%EOF\n").decode()
PDF_URL = f"data:application/pdf;base64,{PDF}"
TEXT = base64.b64encode(b"Quarterly notes: sales up 4%.").decode()
WAV = base64.b64encode(b"RIFF\x24\x00\x00\x00WAVEfmt ").decode()
PNG = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk"
    "YPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)

PDF_PART = {"type": "file", "file": {"file_data": PDF_URL, "filename": "report_2024.pdf"}}
AUDIO_PART = {"type": "input_audio", "input_audio": {"data": WAV, "format": "wav"}}
ASK = {"type": "text", "text": "Summarise this."}
CALL = {
    "role": "assistant",
    "content": None,
    "tool_calls": [
        {"id": "call_1", "type": "function", "function": {"name": "fetch_pdf", "arguments": "{}"}},
        {"id": "call_2", "type": "function", "function": {"name": "fetch_pdf", "arguments": "{}"}},
    ],
}


def _request(*messages: dict[str, Any]) -> ChatRequest:
    return ChatRequest.model_validate({"model": "m", "messages": list(messages)})


def _user(*parts: dict[str, Any]) -> dict[str, Any]:
    return {"role": "user", "content": list(parts)}


def _tool(call_id: str, content: Any) -> dict[str, Any]:
    return {"role": "tool", "tool_call_id": call_id, "content": content}


def _sent(provider: HttpProvider, request: ChatRequest) -> HttpRequest:
    return provider.chat_request(request, "m", stream=False)


def _body(provider: HttpProvider, *messages: dict[str, Any]) -> dict[str, Any]:
    http = _sent(provider, _request(*messages))
    assert http.body is not None
    body: dict[str, Any] = json.loads(http.body)
    return body


def _openai() -> OpenAIProvider:
    return OpenAIProvider("openai", ProviderSettings(api_key="sk-test"))


def _anthropic(**settings: Any) -> AnthropicProvider:
    return AnthropicProvider("anthropic", ProviderSettings(api_key="k", **settings))


def _gemini() -> GeminiProvider:
    return GeminiProvider("gemini", ProviderSettings(api_key="k"))


def _bedrock() -> BedrockProvider:
    return BedrockProvider("bedrock", ProviderSettings.model_validate({"region": "us-east-1"}))


@pytest.fixture(autouse=True)
def _bedrock_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_BEARER_TOKEN_BEDROCK", "bedrock-test-key")


# --- OpenAI, Azure and the OpenAI-compatible vendors ------------------------------------------
def test_openai_sends_files_and_audio_as_they_are() -> None:
    body = _body(_openai(), _user(ASK, PDF_PART, AUDIO_PART))
    assert body["messages"] == [_user(ASK, PDF_PART, AUDIO_PART)]


def test_openai_sends_a_file_id_and_names_inline_data_that_has_no_name() -> None:
    by_id = {"type": "file", "file": {"file_id": "file-abc123"}}
    unnamed = {"type": "file", "file": {"file_data": PDF_URL}}
    body = _body(_openai(), _user(by_id, unnamed))
    assert body["messages"][0]["content"] == [
        {"type": "file", "file": {"file_id": "file-abc123"}},
        {"type": "file", "file": {"file_data": PDF_URL, "filename": "document.pdf"}},
    ]


def test_openai_drops_cosmaras_mime_type_and_keeps_unknown_fields() -> None:
    part = {
        "type": "file",
        "file": {"file_id": "file-abc123", "mime_type": "application/pdf", "purpose": "x"},
        "cache_control": {"type": "ephemeral"},
    }
    body = _body(_openai(), _user(part))
    assert body["messages"][0]["content"] == [
        {
            "type": "file",
            "file": {"file_id": "file-abc123", "purpose": "x"},
            "cache_control": {"type": "ephemeral"},
        }
    ]


def test_openai_moves_media_from_a_run_of_tool_results_to_one_user_message() -> None:
    image = {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}}
    body = _body(
        _openai(),
        _user(ASK),
        CALL,
        _tool("call_1", [{"type": "text", "text": "Here it is."}, PDF_PART]),
        _tool("call_2", [image]),
        {"role": "user", "content": "Thanks"},
    )
    assert body["messages"][2:] == [
        {
            "role": "tool",
            "tool_call_id": "call_1",
            "content": [{"type": "text", "text": "Here it is."}],
        },
        {"role": "tool", "tool_call_id": "call_2", "content": "Attached in the next message."},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What tool call call_1 returned:"},
                PDF_PART,
                {"type": "text", "text": "What tool call call_2 returned:"},
                image,
            ],
        },
        {"role": "user", "content": "Thanks"},
    ]


def test_openai_tool_media_at_the_end_of_the_conversation_follows_it() -> None:
    body = _body(_openai(), _user(ASK), CALL, _tool("call_1", [PDF_PART]), _tool("call_2", "ok"))
    assert [m["role"] for m in body["messages"]] == ["user", "assistant", "tool", "tool", "user"]
    assert body["messages"][-1]["content"][1] == PDF_PART


@pytest.mark.parametrize(
    ("part", "why"),
    [
        (
            {"type": "file", "file": {"file_url": "https://example.com/a.pdf"}},
            "not by URL",
        ),
        (
            {"type": "file", "file": {"file_data": f"data:text/plain;base64,{TEXT}"}},
            "only application/pdf files",
        ),
        ({"type": "input_audio", "input_audio": {"data": WAV, "format": "flac"}}, "mp3 or wav"),
    ],
)
@pytest.mark.parametrize(
    "provider",
    [
        _openai(),
        AzureOpenAIProvider(
            "azure", ProviderSettings(api_key="k", base_url="https://r.openai.azure.com")
        ),
    ],
)
def test_openai_and_azure_refuse_what_chat_completions_cannot_take(
    provider: HttpProvider, part: dict[str, Any], why: str
) -> None:
    with pytest.raises(RequestValidationError, match=why) as caught:
        _sent(provider, _request(_user(part)))
    assert str(caught.value).startswith(f"{provider.name} cannot take a")


def test_azure_sends_openais_parts_to_the_deployment() -> None:
    provider = AzureOpenAIProvider(
        "azure", ProviderSettings(api_key="k", base_url="https://r.openai.azure.com")
    )
    http = _sent(provider, _request(_user(ASK, PDF_PART, AUDIO_PART)))
    assert http.url == "https://r.openai.azure.com/openai/deployments/m/chat/completions"
    assert json.loads(http.body or b"")["messages"] == [_user(ASK, PDF_PART, AUDIO_PART)]


def test_compatible_vendors_pass_other_types_and_formats_through() -> None:
    text_file = {
        "type": "file",
        "file": {"file_data": f"data:text/plain;base64,{TEXT}", "filename": "n.txt"},
    }
    flac = {"type": "input_audio", "input_audio": {"data": WAV, "format": "flac"}}
    body = _body(GroqProvider("groq", ProviderSettings(api_key="k")), _user(text_file, flac))
    assert body["messages"][0]["content"] == [text_file, flac]
    with pytest.raises(RequestValidationError, match=r"groq cannot take a 'file' part.*by URL"):
        _sent(
            GroqProvider("groq", ProviderSettings(api_key="k")),
            _request(_user({"type": "file", "file": {"file_url": "https://e.com/a.pdf"}})),
        )


def test_openrouter_takes_a_file_url_in_file_data() -> None:
    part = {"type": "file", "file": {"file_url": "https://example.com/a.pdf", "filename": "a.pdf"}}
    body = _body(OpenRouterProvider("openrouter", ProviderSettings(api_key="k")), _user(part))
    assert body["messages"][0]["content"] == [
        {"type": "file", "file": {"file_data": "https://example.com/a.pdf", "filename": "a.pdf"}}
    ]


def test_tgi_refuses_documents_and_audio() -> None:
    provider = TGIProvider("tgi", ProviderSettings(base_url="http://127.0.0.1:9"))
    with pytest.raises(RequestValidationError, match="tgi cannot take a 'file' part"):
        _sent(provider, _request(_user(PDF_PART)))
    with pytest.raises(RequestValidationError, match="tgi cannot take an 'input_audio' part"):
        _sent(provider, _request(_user(AUDIO_PART)))


# --- Anthropic --------------------------------------------------------------------------------
def test_anthropic_turns_files_into_document_blocks() -> None:
    parts = [
        PDF_PART,
        {"type": "file", "file": {"file_url": "https://example.com/a.pdf"}},
        {
            "type": "file",
            "file": {"file_data": f"data:text/plain;base64,{TEXT}", "filename": "notes.txt"},
            "citations": {"enabled": True},
        },
        {"type": "file", "file": {"file_data": f"data:image/png;base64,{PNG}"}},
    ]
    body = _body(_anthropic(), _user(ASK, *parts))
    assert body["messages"][0]["content"] == [
        {"type": "text", "text": "Summarise this."},
        {
            "type": "document",
            "source": {"type": "base64", "media_type": "application/pdf", "data": PDF},
            "title": "report_2024.pdf",
        },
        {"type": "document", "source": {"type": "url", "url": "https://example.com/a.pdf"}},
        {
            "type": "document",
            "source": {
                "type": "text",
                "media_type": "text/plain",
                "data": "Quarterly notes: sales up 4%.",
            },
            "citations": {"enabled": True},
            "title": "notes.txt",
        },
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
    ]


def test_anthropic_sends_file_ids_through_the_files_api_beta() -> None:
    provider = _anthropic(beta="prompt-caching-2024-07-31")
    part = {"type": "file", "file": {"file_id": "file_011CNha8iCJcU1wXNR6q4V8w"}}
    http = _sent(provider, _request(_user(ASK, part)))
    assert http.headers["anthropic-beta"] == f"prompt-caching-2024-07-31,{FILES_BETA}"
    assert http.params == {"beta": "true"}
    content = json.loads(http.body or b"")["messages"][0]["content"]
    assert content[1] == {
        "type": "document",
        "source": {"type": "file", "file_id": "file_011CNha8iCJcU1wXNR6q4V8w"},
    }
    # Without a file id, no beta is added.
    plain = _sent(_anthropic(), _request(_user(ASK, PDF_PART)))
    assert "anthropic-beta" not in plain.headers
    assert plain.params is None


def test_anthropic_puts_a_tools_documents_inside_its_tool_result() -> None:
    body = _body(
        _anthropic(),
        _user(ASK),
        CALL,
        _tool("call_1", [{"type": "text", "text": "Here it is."}, PDF_PART]),
        _tool("call_2", "nothing"),
    )
    assert body["messages"][2] == {
        "role": "user",
        "content": [
            {
                "type": "tool_result",
                "tool_use_id": "call_1",
                "content": [
                    {"type": "text", "text": "Here it is."},
                    {
                        "type": "document",
                        "source": {"type": "base64", "media_type": "application/pdf", "data": PDF},
                        "title": "report_2024.pdf",
                    },
                ],
            },
            {"type": "tool_result", "tool_use_id": "call_2", "content": "nothing"},
        ],
    }


@pytest.mark.parametrize(
    ("part", "why"),
    [
        (AUDIO_PART, "anthropic cannot take an 'input_audio' part \\(wav\\) in a user message"),
        (
            {"type": "file", "file": {"file_data": "data:application/msword;base64,AAAA"}},
            "anthropic cannot take a 'file' part \\(application/msword, inline\\)",
        ),
        (
            {"type": "file", "file": {"file_url": "https://example.com/notes.txt"}},
            "fetches only PDF documents",
        ),
        ({"type": "file", "file": {"file_url": "s3://bucket/a.pdf"}}, "only http\\(s\\) URLs"),
        (
            {"type": "file", "file": {"file_data": "data:text/plain;base64,//79"}},
            "not UTF-8 text",
        ),
    ],
)
def test_anthropic_refuses_what_it_cannot_read(part: dict[str, Any], why: str) -> None:
    with pytest.raises(RequestValidationError, match=why):
        _sent(_anthropic(), _request(_user(part)))


# --- Gemini -----------------------------------------------------------------------------------
def test_gemini_sends_inline_data_and_file_data_with_their_types() -> None:
    parts = [
        PDF_PART,
        {"type": "file", "file": {"file_url": "https://example.com/paper.pdf"}},
        {
            "type": "file",
            "file": {
                "file_id": "https://generativelanguage.googleapis.com/v1beta/files/abc123",
                "mime_type": "audio/mpeg",
            },
        },
        AUDIO_PART,
        {"type": "input_audio", "input_audio": {"data": WAV, "format": "mp3"}},
    ]
    body = _body(_gemini(), _user(ASK, *parts))
    assert body["contents"][0]["parts"] == [
        {"text": "Summarise this."},
        {"inlineData": {"mimeType": "application/pdf", "data": PDF}},
        {"fileData": {"mimeType": "application/pdf", "fileUri": "https://example.com/paper.pdf"}},
        {
            "fileData": {
                "mimeType": "audio/mpeg",
                "fileUri": "https://generativelanguage.googleapis.com/v1beta/files/abc123",
            }
        },
        {"inlineData": {"mimeType": "audio/wav", "data": WAV}},
        {"inlineData": {"mimeType": "audio/mp3", "data": WAV}},
    ]


def test_gemini_puts_a_tools_files_after_the_turns_function_responses() -> None:
    body = _body(_gemini(), _user(ASK), CALL, _tool("call_1", [PDF_PART]), _tool("call_2", "ok"))
    assert body["contents"][2] == {
        "role": "user",
        "parts": [
            {"functionResponse": {"name": "fetch_pdf", "response": {"output": ""}, "id": "call_1"}},
            {
                "functionResponse": {
                    "name": "fetch_pdf",
                    "response": {"output": "ok"},
                    "id": "call_2",
                }
            },
            {"inlineData": {"mimeType": "application/pdf", "data": PDF}},
        ],
    }


@pytest.mark.parametrize(
    ("part", "why"),
    [
        ({"type": "file", "file": {"file_id": "files/abc123"}}, "needs the file's type"),
        (
            {"type": "input_audio", "input_audio": {"data": WAV, "format": "opus"}},
            "Gemini takes aac, aiff",
        ),
    ],
)
def test_gemini_refuses_a_file_of_unknown_type_and_unlisted_audio(
    part: dict[str, Any], why: str
) -> None:
    with pytest.raises(RequestValidationError, match=f"gemini cannot take .*{why}"):
        _sent(_gemini(), _request(_user(part)))


# --- Bedrock Converse -------------------------------------------------------------------------
def test_bedrock_sends_document_and_audio_blocks() -> None:
    parts = [
        PDF_PART,
        {
            "type": "file",
            "file": {"file_data": f"data:text/csv;base64,{TEXT}", "filename": "report_2024.csv"},
        },
        {
            "type": "file",
            "file": {"file_url": "s3://bucket/q3.docx", "filename": "Q3 results.docx"},
        },
        AUDIO_PART,
        {"type": "file", "file": {"file_data": f"data:audio/mpeg;base64,{WAV}"}},
    ]
    body = _body(_bedrock(), _user(ASK, *parts))
    assert body["messages"][0]["content"] == [
        {"text": "Summarise this."},
        {"document": {"format": "pdf", "name": "report-2024", "source": {"bytes": PDF}}},
        {"document": {"format": "csv", "name": "report-2024-2", "source": {"bytes": TEXT}}},
        {
            "document": {
                "format": "docx",
                "name": "Q3 results",
                "source": {"s3Location": {"uri": "s3://bucket/q3.docx"}},
            }
        },
        {"audio": {"format": "wav", "source": {"bytes": WAV}}},
        {"audio": {"format": "mp3", "source": {"bytes": WAV}}},
    ]


def test_bedrock_puts_a_tools_documents_inside_its_tool_result() -> None:
    body = _body(_bedrock(), _user(ASK), CALL, _tool("call_1", [PDF_PART]), _tool("call_2", "ok"))
    assert body["messages"][2]["content"] == [
        {
            "toolResult": {
                "toolUseId": "call_1",
                "content": [
                    {"document": {"format": "pdf", "name": "report-2024", "source": {"bytes": PDF}}}
                ],
            }
        },
        {"toolResult": {"toolUseId": "call_2", "content": [{"text": "ok"}]}},
    ]


@pytest.mark.parametrize(
    ("part", "why"),
    [
        (
            {"type": "file", "file": {"file_url": "https://example.com/a.pdf"}},
            "inline or from an s3:// location",
        ),
        ({"type": "file", "file": {"file_id": "file-abc"}}, "inline or from an s3:// location"),
        (
            {"type": "file", "file": {"file_data": "data:application/zip;base64,UEsDBA=="}},
            "Converse reads pdf",
        ),
        ({"type": "input_audio", "input_audio": {"data": WAV, "format": "aiff"}}, "no aiff"),
        (
            {"type": "file", "file": {"file_data": "data:application/pdf;base64,not base64!"}},
            "not valid base64",
        ),
    ],
)
def test_bedrock_refuses_what_converse_cannot_take(part: dict[str, Any], why: str) -> None:
    with pytest.raises(RequestValidationError, match=why):
        _sent(_bedrock(), _request(_user(part)))


@pytest.mark.parametrize(
    ("filename", "expected"),
    [
        (None, "document"),
        ("report_2024.pdf", "report-2024"),
        ("Q3 results (final) [v2].pdf", "Q3 results (final) [v2]"),
        ("a  b\tc.txt", "a b c"),
        ("../../etc/passwd", "passwd"),
        ("***.pdf", "document"),
    ],
)
def test_bedrock_document_names_follow_converses_rules(filename: str | None, expected: str) -> None:
    assert document_name(filename, set()) == expected


# --- providers that take neither --------------------------------------------------------------
@pytest.mark.parametrize(
    "provider",
    [
        CohereProvider("cohere", ProviderSettings(api_key="k")),
        OllamaProvider("ollama", ProviderSettings(base_url="http://127.0.0.1:9")),
    ],
    ids=["cohere", "ollama"],
)
@pytest.mark.parametrize(
    ("messages", "named"),
    [
        ([_user(ASK, PDF_PART)], "a 'file' part (application/pdf, inline) in a user message"),
        ([_user(ASK, AUDIO_PART)], "an 'input_audio' part (wav) in a user message"),
        (
            [_user(ASK), CALL, _tool("call_1", [PDF_PART])],
            "a 'file' part (application/pdf, inline) in a tool result",
        ),
    ],
)
def test_cohere_and_ollama_refuse_documents_and_audio(
    provider: HttpProvider, messages: list[dict[str, Any]], named: str
) -> None:
    with pytest.raises(RequestValidationError) as caught:
        _sent(provider, _request(*messages))
    assert str(caught.value).startswith(f"{provider.name} cannot take {named}")


def test_ollama_sends_a_tools_images_with_its_result() -> None:
    image = {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}}
    body = _body(
        OllamaProvider("ollama", ProviderSettings(base_url="http://127.0.0.1:9")),
        _user(ASK),
        CALL,
        _tool("call_1", [{"type": "text", "text": "a chart"}, image]),
    )
    assert body["messages"][2] == {
        "role": "tool",
        "content": "a chart",
        "images": [PNG],
        "tool_name": "fetch_pdf",
    }
