"""``cosmara demo``: an offline tour of the engine against the local emulator.

Three requests, each reported the way a newcomer needs to read it: who answered, why that
route, the reply, tokens and cost; then a provider outage handled by retries and a fallback.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TextIO

from cosmara._engine import Cosmara
from cosmara._meta import CosmaraMeta
from cosmara._response import Usage

__all__ = ["run_demo"]

QUESTION = "What does Cosmara do for my app?"
# The demo's retry waits, shorter than the default 0.5 s and 1 s so the tour stays quick.
_RETRY = {"initial_delay": 0.1, "jitter": 0.0}


def run_demo(out: TextIO) -> int:
    """Run the tour, writing to ``out``; returns the exit status."""
    from cosmara.testing import Emulator, Fault

    say = out.write
    with Emulator() as emulator:
        providers = {
            "openai": {"base_url": emulator.base_url, "api_key": "demo-key"},
            "groq": {"base_url": emulator.base_url, "api_key": "demo-key"},
        }
        members = ["openai/gpt-4o-mini", "groq/llama-3.1-8b-instant"]
        config = {"providers": providers, "aliases": {"assistant": members}, "retry": _RETRY}
        with Cosmara(config, load_entry_points=False) as client:
            say(
                "Cosmara demo - OFFLINE: every provider here is the local emulator at "
                f"{emulator.url}; no network, no real keys, no charges.\n\n"
            )
            messages = [{"role": "user", "content": QUESTION}]

            say(f"1. A routed request: model='assistant', an alias for {' then '.join(members)}\n")
            response = client.chat(model="assistant", messages=messages, team="demo")
            _report(response.cosmara, response.usage, f'reply: "{response.text}"', say)

            say("\n2. A streamed answer from openai/gpt-4o-mini, printed as it arrives\n   ")
            for chunk in client.stream(model="openai/gpt-4o-mini", messages=messages):
                for choice in chunk.choices:
                    say(choice.delta.content or "")
                if chunk.cosmara is not None:
                    say("\n")
                    _report(chunk.cosmara, chunk.usage, None, say)

            say(
                "\n3. A provider outage handled: openai answers 503 three times in a row; it is "
                "retried twice\n   with backoff (waits shortened for the demo), then the "
                "alias falls back to groq\n"
            )
            emulator.add_fault(Fault(status=503, match_model="gpt-4o-mini", times=3))
            response = client.chat(model="assistant", messages=messages)
            _report(response.cosmara, response.usage, f'reply: "{response.text}"', say)
    return 0


def _report(
    meta: CosmaraMeta | None, usage: Usage | None, reply: str | None, say: Callable[[str], object]
) -> None:
    assert meta is not None
    for attempt in meta.attempts:
        if attempt.error:
            outcome = f"failed: {attempt.error} {attempt.status_code or ''}".rstrip()
        else:
            outcome = "answered"
        say(f"   {attempt.provider}/{attempt.model} {outcome} ({attempt.latency_ms:.1f} ms)\n")
    say(f"   route: {meta.route.reason}\n")
    if reply is not None:
        say(f"   {reply}\n")
    tokens = (
        ""
        if usage is None
        else (f"tokens {usage.prompt_tokens} in / {usage.completion_tokens} out, ")
    )
    say(f"   {tokens}cost {money(meta.cost_usd)}\n")


def money(cost: float | None) -> str:
    """A cost as the command line prints it."""
    return "unpriced" if cost is None else f"${cost:.8f}"
