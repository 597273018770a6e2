"""``cosmara emulator``: the local provider emulator as a server of its own, for trying any
OpenAI-style client (another process, another language) offline."""

from __future__ import annotations

import argparse
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from cosmara.testing._emulator import Emulator

__all__ = ["add_emulator_command", "run_emulator"]


def add_emulator_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``emulator`` on the ``cosmara`` command line."""
    parser = commands.add_parser(
        "emulator",
        help="serve the local OpenAI-shaped provider emulator until interrupted",
        description="Serve the local provider emulator (chat completions, streams, embeddings, "
        "models, Azure deployment URLs) on this machine until Ctrl-C. It echoes the last user "
        "message and accepts any key.",
    )
    parser.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    parser.add_argument("--host", default="127.0.0.1", help="interface (default: 127.0.0.1)")


def run_emulator(host: str, port: int, out: TextIO, *, stop: threading.Event | None = None) -> int:
    """Serve until interrupted (Ctrl-C, SIGTERM) or until ``stop`` is set; returns the exit
    status. Prints the base URL first, then how to point a client at it.

    Raises:
        OSError: the port cannot be bound (in use, not permitted).
    """
    stop = stop or threading.Event()
    with Emulator(host=host, port=port) as emulator, _stopped_by_signals(stop):
        out.write(f"{emulator.base_url}\n")
        out.write(
            "The Cosmara provider emulator is serving OpenAI's API (any key works). Point a "
            "client at it, e.g.\n"
            f"  OPENAI_BASE_URL={emulator.base_url} OPENAI_API_KEY=sk-emulator\n"
            "Ctrl-C stops it.\n"
        )
        out.flush()
        try:
            while not stop.wait(0.2):  # short waits: Ctrl-C is seen at once on every platform
                pass
        except KeyboardInterrupt:
            pass
    out.write("emulator stopped\n")
    return 0


@contextmanager
def _stopped_by_signals(stop: threading.Event) -> Iterator[None]:
    """SIGTERM (a process manager, ``kill``) stops the server as Ctrl-C does."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers belong to the main thread; ``stop`` still works
        return
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
