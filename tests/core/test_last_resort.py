"""The answer of last resort: a configured message once every target failed."""

from __future__ import annotations

import pytest

import cosmara
from cosmara import Cosmara
from cosmara.testing import Emulator, Fault

HI = [{"role": "user", "content": "hi"}]
SORRY = "We are busy right now; please try again in a minute."


def _client(emulator: Emulator, **config: object) -> Cosmara:
    providers = {"openai": {"base_url": emulator.base_url, "api_key": "sk-x"}}
    # No retries: one failed attempt per target.
    config = {"retry": {"max_retries": 0}, **config}
    return Cosmara({"providers": providers, **config}, load_entry_points=False)


def test_configured_message_answers_when_everything_failed(emulator: Emulator) -> None:
    emulator.add_fault(Fault(status=503))
    errors = []

    class Watcher:
        @cosmara.hookimpl
        def cosmara_error(self, error: cosmara.ProviderError) -> None:
            errors.append(type(error).__name__)

    with _client(emulator, fallback_message=SORRY) as client:
        client.plugins.register(Watcher())
        response = client.chat(model="openai/gpt-4o-mini", messages=HI)
    assert response.text == SORRY
    assert response.choices[0].finish_reason == "stop"
    meta = response.cosmara
    assert meta is not None
    assert (meta.provider, meta.model, meta.cost_usd) == ("cosmara", "fallback_message", 0.0)
    assert [a.error for a in meta.attempts] == ["ProviderUnavailableError"]
    assert errors == ["ProviderUnavailableError"]  # observers still learn of the failure


async def test_per_call_message_in_async_and_streams(emulator: Emulator) -> None:
    emulator.add_fault(Fault(status=429))
    with _client(emulator) as client:
        response = await client.achat(
            model="openai/gpt-4o-mini", messages=HI, fallback_message=SORRY
        )
        assert response.text == SORRY
        chunks = list(
            client.stream(model="openai/gpt-4o-mini", messages=HI, fallback_message=SORRY)
        )
        streamed = [
            c
            async for c in client.astream(
                model="openai/gpt-4o-mini", messages=HI, fallback_message=SORRY
            )
        ]
    for stream in (chunks, streamed):
        assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == SORRY
        assert stream[-1].cosmara is not None
        assert stream[-1].cosmara.provider == "cosmara"


def test_without_a_message_the_error_is_raised(emulator: Emulator) -> None:
    emulator.add_fault(Fault(status=503))
    with _client(emulator) as client, pytest.raises(cosmara.ProviderUnavailableError):
        client.chat(model="openai/gpt-4o-mini", messages=HI)


def test_content_filter_refusal_goes_to_the_configured_alternative(emulator: Emulator) -> None:
    providers = {
        "openai": {"base_url": emulator.base_url, "api_key": "sk-x"},
        "groq": {"base_url": emulator.base_url, "api_key": "gsk-x"},
    }
    config = {
        "providers": providers,
        "content_filter_fallbacks": ["groq/llama-3.1-8b-instant"],
        "retry": {"max_retries": 0},  # the 503 below is one attempt
    }
    emulator.add_fault(Fault(status=400, error_code="content_filter", match_model="gpt-4o-mini"))
    with Cosmara(config, load_entry_points=False) as client:
        response = client.chat(model="openai/gpt-4o-mini", messages=HI)
        assert [(a.provider, a.error) for a in response.cosmara.attempts] == [  # type: ignore[union-attr]
            ("openai", "ContentFilteredError"),
            ("groq", None),
        ]
        emulator.reset()
        emulator.add_fault(Fault(status=503, match_model="gpt-4o-mini"))
        with pytest.raises(cosmara.ProviderUnavailableError):  # only refusals go there
            client.chat(model="openai/gpt-4o-mini", messages=HI)
