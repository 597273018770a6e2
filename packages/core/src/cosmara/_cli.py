"""``cosmara`` command line: an offline demo, a chat with real providers, usage reports, the
cache's commands."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import TextIO

from cosmara._engine import Cosmara
from cosmara._errors import CosmaraError
from cosmara._response import ChatResponse
from cosmara.cache import _cli as cache_cli
from cosmara.ledger._command import add_usage_command, run_usage

__all__ = ["main"]

_DEMO_QUESTION = "What does Cosmara do for my app?"


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    parser = argparse.ArgumentParser(prog="cosmara", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("demo", help="run offline against the local emulator")
    chat = commands.add_parser("chat", help="ask a real provider (keys from the environment)")
    chat.add_argument("prompt")
    chat.add_argument("-m", "--model", default="openai/gpt-4o-mini")
    chat.add_argument("--config", help="path of a cosmara.toml")
    chat.add_argument("--fallback", action="append", default=[], help="model to try next")
    add_usage_command(commands)
    cache_cli.add_commands(commands)
    args = parser.parse_args(argv)
    try:
        if args.command == "usage":
            return run_usage(args, out)
        if args.command == "demo":
            return _demo(out)
        if args.command == "cache":
            return cache_cli.run(args, out)
        return _chat(args.prompt, args.model, args.fallback, args.config, out)
    except CosmaraError as error:
        print(f"error: {type(error).__name__}: {error}", file=sys.stderr)
        return 1


def _chat(prompt: str, model: str, fallbacks: list[str], config: str | None, out: TextIO) -> int:
    with Cosmara(config) as client:
        final = None
        for chunk in client.stream(
            model=model, messages=[{"role": "user", "content": prompt}], fallbacks=fallbacks
        ):
            for choice in chunk.choices:
                out.write(choice.delta.content or "")
                out.flush()
            final = chunk
        out.write("\n")
        if final is not None and final.cosmara is not None:
            meta = final.cosmara
            print(f"[{meta.provider}/{meta.model}, {_money(meta.cost_usd)}]", file=sys.stderr)
    return 0


def _demo(out: TextIO) -> int:
    from cosmara.testing import Emulator, Fault

    with Emulator() as emulator:
        providers = {
            "openai": {"base_url": emulator.base_url, "api_key": "demo-key"},
            "groq": {"base_url": emulator.base_url, "api_key": "demo-key"},
        }
        aliases = {"assistant": ["openai/gpt-4o-mini", "groq/llama-3.1-8b-instant"]}
        with Cosmara(providers=providers, aliases=aliases, load_entry_points=False) as client:
            say = out.write
            say(
                "Cosmara demo - OFFLINE: every provider here is the local emulator at "
                f"{emulator.url}; no network, no real keys, no charges.\n\n"
            )
            messages = [{"role": "user", "content": _DEMO_QUESTION}]

            say("1. A routed request: model='assistant' (an alias for two providers)\n")
            _report(client.chat(model="assistant", messages=messages, team="demo"), say)

            say("\n2. A streamed answer from openai/gpt-4o-mini\n   ")
            for chunk in client.stream(model="openai/gpt-4o-mini", messages=messages):
                for choice in chunk.choices:
                    say(choice.delta.content or "")
                if chunk.cosmara is not None:
                    say(f"\n   cost {_money(chunk.cosmara.cost_usd)}\n")

            say("\n3. A provider failure handled: openai answers 503, the alias falls back\n")
            emulator.add_fault(Fault(status=503, match_model="gpt-4o-mini", times=1))
            _report(client.chat(model="assistant", messages=messages), say)
    return 0


def _report(response: ChatResponse, say: Callable[[str], object]) -> None:
    meta = response.cosmara
    assert meta is not None
    usage = response.usage
    for attempt in meta.attempts:
        outcome = f"failed: {attempt.error} {attempt.status_code}" if attempt.error else "answered"
        say(f"   {attempt.provider}/{attempt.model} {outcome} ({attempt.latency_ms:.1f} ms)\n")
    say(f"   route: {meta.route.strategy} - {meta.route.reason}\n")
    say(f'   reply: "{response.text}"\n')
    if usage is not None:
        say(f"   tokens {usage.prompt_tokens} in / {usage.completion_tokens} out, ")
    say(f"cost {_money(meta.cost_usd)}\n")


def _money(cost: float | None) -> str:
    return "unpriced" if cost is None else f"${cost:.8f}"


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
