"""LangChain's standard integration suites, replayed from cassettes in OpenAI's wire format.

The cassettes in ``cassettes/test_standard_integration/`` were recorded from this suite run
against ``cosmara.testing.Emulator`` (which answers in OpenAI's Chat Completions format) with
``COSMARA_RECORD=1 uv run pytest tests/langchain/test_standard_integration.py
--record-mode=all``, then their emulator address was replaced with ``https://api.openai.com``
so replay needs no server. Replies the suite needs from a real model (tool calls with the
right arguments, JSON for structured output) are scripted on the emulator per test below.

The media tests (PDF, audio, image) first download a file from the internet inside the test.
Their cassettes serve that download from bytes made here (``tests/support/media.py``: a
one-page PDF, a WAV tone, a PNG), never fetched: ``seed_downloads()`` writes each such
cassette with only its download, then ``COSMARA_RECORD=1 uv run pytest
tests/langchain/test_standard_integration.py -k "pdf or audio or image or anthropic_inputs"
--record-mode=new_episodes`` replays the download and records the calls to the emulator.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from langchain_tests.integration_tests import ChatModelIntegrationTests, EmbeddingsIntegrationTests

from cosmara import Cosmara
from cosmara.testing import Emulator
from langchain_cosmara import ChatCosmara, CosmaraEmbeddings
from tests.langchain._capabilities import ChatCosmaraCapabilities
from tests.support.media import tiny_pdf, tiny_png, tiny_wav

pytestmark = [
    pytest.mark.vcr,
    # The audio test asks for a user agent for its wikimedia.org download; it is replayed.
    pytest.mark.filterwarnings("ignore:LANGCHAIN_TESTS_USER_AGENT"),
]

RECORDING = os.environ.get("COSMARA_RECORD") == "1"
REPLAY_BASE_URL = "https://api.openai.com/v1"
CASSETTES = Path(__file__).resolve().parents[2] / "cassettes" / "test_standard_integration"

# What each media test downloads (the URLs are LangChain's), served from bytes made here.
_PDF_URL = "https://www.w3.org/WAI/ER/tests/xhtml/testfiles/resources/pdf/dummy.pdf"
_WAV_URL = "https://upload.wikimedia.org/wikipedia/commons/6/6a/Northern_Flicker_202280456.wav"
_PNG_URL = (
    "https://raw.githubusercontent.com/langchain-ai/docs/"
    "4d11d08b6b0e210bd456943f7a22febbd168b543/src/images/agentic-rag-output.png"
)
DOWNLOADS: dict[str, tuple[str, str]] = {
    "test_pdf_inputs": (_PDF_URL, "application/pdf"),
    "test_pdf_tool_message": (_PDF_URL, "application/pdf"),
    "test_audio_inputs": (_WAV_URL, "audio/wav"),
    "test_image_inputs": (_PNG_URL, "image/png"),
    "test_image_tool_message": (_PNG_URL, "image/png"),
    "test_anthropic_inputs": (_PNG_URL, "image/png"),
}
_MADE_HERE = {"application/pdf": tiny_pdf, "audio/wav": tiny_wav, "image/png": tiny_png}


def seed_downloads() -> None:
    """Write each media test's cassette with only its download, before recording the rest."""
    from vcr.serializers import yamlserializer

    for test, (url, mime) in DOWNLOADS.items():
        data = _MADE_HERE[mime]()
        request_headers = {"accept": ["*/*"], "host": [url.split("/")[2]]}
        interaction = {
            "request": {"body": "", "headers": request_headers, "method": "GET", "uri": url},
            "response": {
                "body": {"string": data},
                "headers": {"content-length": [str(len(data))], "content-type": [mime]},
                "status": {"code": 200, "message": "OK"},
            },
        }
        cassette = {"interactions": [interaction], "version": 1}
        path = CASSETTES / f"TestChatCosmaraIntegration.{test}.yaml"
        path.write_text(yamlserializer.serialize(cassette))


@pytest.mark.parametrize("test", sorted(DOWNLOADS))
def test_media_cassettes_serve_files_made_here(test: str) -> None:
    url, mime = DOWNLOADS[test]
    path = CASSETTES / f"TestChatCosmaraIntegration.{test}.yaml"
    interactions = yaml.load(path.read_text(), Loader=yaml.Loader)["interactions"]
    downloads = [i for i in interactions if i["request"]["method"] == "GET"]
    assert [d["request"]["uri"] for d in downloads] == [url]
    served = downloads[0]["response"]["body"]["string"]
    # vcrpy keeps a body that is ASCII as text (the PDF), others as !!binary.
    assert (served.encode() if isinstance(served, str) else served) == _MADE_HERE[mime]()


MAGIC = {"name": "magic_function", "arguments": {"input": 3}}
JOKE = {"name": "Joke", "arguments": {"setup": "Why cats?", "punchline": "Purr-fect."}}
# What a real model would answer, scripted on the emulator while recording (FIFO per request).
SCRIPTS: dict[str, list[dict[str, Any]]] = {
    "test_tool_calling": [{"tool_calls": [MAGIC]}] * 2,
    "test_tool_calling_async": [{"tool_calls": [MAGIC]}] * 2,
    "test_structured_output": [{"tool_calls": [JOKE]}] * 2,
    "test_structured_output_async": [{"tool_calls": [JOKE]}] * 2,
    "test_structured_output_pydantic_2_v1": [{"tool_calls": [JOKE]}] * 4,
    "test_agent_loop": [
        {"tool_calls": [{"name": "get_weather", "arguments": {"location": "San Francisco"}}]},
        {"content": "It is sunny in San Francisco."},
    ],
}
NEEDS_MODEL = "LangChain's test needs a real model's reasoning; the emulator echoes"


@pytest.fixture(scope="module")
def vcr_config(vcr_config: dict[str, Any]) -> dict[str, Any]:
    """While recording (``--record-mode=new_episodes``), only the seeded downloads of the
    media tests are replayed; every call to the emulator is recorded, even a call whose
    request repeats an earlier one (matched on its URL alone, it would be replayed)."""
    if not RECORDING:
        return vcr_config
    return {**vcr_config, "match_on": [*vcr_config["match_on"], "seeded_downloads_only"]}


@pytest.fixture(scope="module")
def emulator_or_none() -> Iterator[Emulator | None]:
    if not RECORDING:
        yield None
        return
    with Emulator() as emulator:
        yield emulator


@pytest.fixture
def base_url(emulator_or_none: Emulator | None, request: pytest.FixtureRequest) -> str:
    if emulator_or_none is None:
        return REPLAY_BASE_URL
    emulator_or_none.reset()
    for reply in SCRIPTS.get(request.node.originalname, ()):
        if request.node.originalname.startswith("test_structured_output") and (
            "pydantic" not in request.node.name and "v1" not in request.node.name
        ):
            break  # dict schemas get the emulator's default tool call
        emulator_or_none.reply(**reply)
    return emulator_or_none.base_url


def _client(base_url: str) -> Cosmara:
    providers = {"openai": {"base_url": base_url, "api_key": "sk-test-cassette-key"}}
    return Cosmara(providers=providers, load_entry_points=False)


class TestChatCosmaraIntegration(ChatCosmaraCapabilities, ChatModelIntegrationTests):
    @pytest.fixture(autouse=True)
    def _point_at(self, base_url: str, request: pytest.FixtureRequest) -> None:
        self._base_url = base_url
        self._test = request.node.originalname

    @property
    def chat_model_class(self) -> type[ChatCosmara]:
        return ChatCosmara

    @property
    def chat_model_params(self) -> dict[str, Any]:
        # OpenAI hears audio only on its audio models: the audio test talks to one of them.
        model = "openai/gpt-4o-audio-preview" if self._test == "test_audio_inputs" else None
        return {"model": model or "openai/gpt-4o-mini", "client": _client(self._base_url)}

    @pytest.mark.xfail(reason=NEEDS_MODEL, strict=True)
    def test_json_mode(self, model: Any) -> None:
        super().test_json_mode(model)

    @pytest.mark.xfail(reason=NEEDS_MODEL, strict=True)
    def test_bind_runnables_as_tools(self, model: Any) -> None:
        super().test_bind_runnables_as_tools(model)

    @pytest.mark.xfail(reason=NEEDS_MODEL, strict=True)
    def test_structured_output_optional_param(self, model: Any) -> None:
        super().test_structured_output_optional_param(model)

    @pytest.mark.xfail(reason=NEEDS_MODEL, strict=True)
    def test_unicode_tool_call_integration(self, model: Any) -> None:
        super().test_unicode_tool_call_integration(model)


class TestCosmaraEmbeddingsIntegration(EmbeddingsIntegrationTests):
    @pytest.fixture(autouse=True)
    def _point_at(self, base_url: str) -> None:
        self._base_url = base_url

    @property
    def embeddings_class(self) -> type[CosmaraEmbeddings]:
        return CosmaraEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {"model": "openai/text-embedding-3-small", "client": _client(self._base_url)}
