"""``cosmara`` command line: an offline demo, the local emulator, a chat with real providers,
usage reports and the cache's commands."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TextIO

from cosmara._demo import money, run_demo
from cosmara._engine import Cosmara
from cosmara._errors import CosmaraError
from cosmara.cache import _cli as cache_cli
from cosmara.ledger._command import add_usage_command, run_usage
from cosmara.testing._command import add_emulator_command, run_emulator

__all__ = ["main"]

# What `cosmara --help` prints above the commands: plain text (the docstring is for readers
# of the code, and its markup would show).
_DESCRIPTION = (
    "Cosmara: one engine between your application and every LLM provider. Try it offline "
    "with 'cosmara demo', serve the local provider emulator with 'cosmara emulator', or ask a "
    "real provider with 'cosmara chat' (keys from the environment)."
)


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    parser = argparse.ArgumentParser(prog="cosmara", description=_DESCRIPTION)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("demo", help="run offline against the local emulator")
    add_emulator_command(commands)
    chat = commands.add_parser("chat", help="ask a real provider (keys from the environment)")
    chat.add_argument("prompt")
    chat.add_argument("-m", "--model", help="default: the configuration's default_model")
    chat.add_argument("--config", help="path of a cosmara.toml")
    chat.add_argument("--fallback", action="append", default=[], help="model to try next")
    add_usage_command(commands)
    cache_cli.add_commands(commands)
    args = parser.parse_args(argv)
    try:
        if args.command == "usage":
            return run_usage(args, out)
        if args.command == "demo":
            return run_demo(out)
        if args.command == "emulator":
            return run_emulator(args.host, args.port, out)
        if args.command == "cache":
            return cache_cli.run(args, out)
        return _chat(args.prompt, args.model, args.fallback, args.config, out)
    except CosmaraError as error:
        print(f"error: {type(error).__name__}: {error}", file=sys.stderr)
        return 1


def _chat(
    prompt: str, model: str | None, fallbacks: list[str], config: str | None, out: TextIO
) -> int:
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
            print(f"[{meta.provider}/{meta.model}, {money(meta.cost_usd)}]", file=sys.stderr)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
