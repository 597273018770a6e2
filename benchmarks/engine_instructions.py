"""The engine's own work per ``achat``, counted in CPU instructions, and where it goes.

Wall-clock timings on a shared 2-core VM move by 5-10% between runs, which hides the effect
of most single changes to the engine. Instructions executed do not: valgrind's callgrind
counts them exactly (a run repeats to within 0.3%). Each figure is the difference between
a process making ``--calls`` more calls and one making none (start-up and warm-up cancel
out), divided by ``--calls``.

The transport is replaced by one that hands back a recorded-shape OpenAI answer, so only the
engine runs: validation, the stages, routing, the attempt loop, the provider's translation,
parsing and settling. Then one part at a time is replaced by a stand-in that returns what the
part returned the first time (``--without``), and the instructions that leaves say what that
part costs. Needs ``valgrind`` (Debian: ``apt-get install valgrind``); takes a few minutes.

    uv run --group bench python benchmarks/engine_instructions.py [--calls 1000] [--whole]
    uv run --group bench python benchmarks/engine_instructions.py --stream   # per streamed chunk

Another checkout's engine is measured the same way with ``PYTHONPATH=<its packages/core/src>``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from typing import Any

from _common import API_KEY, MESSAGES, MODEL, table, write_json

_ANSWER = {
    "id": "chatcmpl-bench",
    "object": "chat.completion",
    "created": 1,
    "model": "gpt-4o-mini",
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "Echo: Hi"},
            "finish_reason": "stop",
        }
    ],
    "usage": {
        "prompt_tokens": 5,
        "completion_tokens": 3,
        "total_tokens": 8,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0},
    },
}

# What each stand-in replaces, as the table names it.
PARTS = {
    "request": "the provider's request (body, JSON, headers)",
    "parse": "parsing the answer (ChatResponse)",
    "settle": "settling (cost, resp.cosmara)",
    "stages": "the events and spend stages",
    "health": "health and breaker bookkeeping",
}


def _sse(words: int) -> bytes:
    """An OpenAI stream: a role chunk, ``words`` content chunks, the finish, the usage."""
    head = {key: _ANSWER[key] for key in ("id", "created", "model")}
    head["object"] = "chat.completion.chunk"

    def event(choices: list[Any], **more: Any) -> bytes:
        return b"data: " + json.dumps({**head, "choices": choices, **more}).encode() + b"\n\n"

    def delta(content: dict[str, str], finish: str | None = None) -> list[Any]:
        return [{"index": 0, "delta": content, "finish_reason": finish}]

    body = event(delta({"role": "assistant", "content": ""}))
    body += b"".join(event(delta({"content": f" word{n}"})) for n in range(words))
    body += event(delta({}, "stop")) + event([], usage=_ANSWER["usage"])
    return body + b"data: [DONE]\n\n"


def _client() -> tuple[Any, Any]:
    """A client of one OpenAI provider that is never reached, and its transport to replace."""
    from cosmara import Cosmara
    from cosmara._transport import Transport

    providers = {"openai": {"base_url": "http://127.0.0.1:9/v1", "api_key": API_KEY}}
    client = Cosmara({"providers": providers}, load_entry_points=False)
    return client, next(v for v in vars(client).values() if isinstance(v, Transport))


def _stream_loop(calls: int, words: int) -> None:
    """The measured process for ``--stream``: ``calls`` astream calls of ``words`` chunks."""
    body = _sse(words)
    client, transport = _client()

    class Opened:  # what Transport.aopen_stream returns, with the whole body in one read
        status = 200
        deadline = 0.0

        async def iter_bytes(self) -> Any:
            yield body

        async def close(self) -> None:
            pass

    async def open_stream(provider: Any, request: Any, window: Any) -> Opened:
        return Opened()

    transport.aopen_stream = open_stream  # type: ignore[method-assign,assignment]

    async def run() -> None:
        for _ in range(200 + calls):
            async for _chunk in client.astream(model=MODEL, messages=MESSAGES):
                pass

    asyncio.run(run())


def _client_loop(calls: int, without: set[str]) -> None:
    """The measured process: ``calls`` achat calls after a warm-up, the parts in ``without``
    replaced by stand-ins."""
    from cosmara import ChatRequest, ChatResponse
    from cosmara._transport import HttpResponse
    from cosmara.pipeline import _settle
    from cosmara.pipeline._pipeline import Pipeline

    body = json.dumps(_ANSWER).encode()
    client, transport = _client()

    async def answer(provider: Any, request: Any, window: Any) -> HttpResponse:
        return HttpResponse(200, {"content-type": "application/json"}, body)

    transport.asend = answer  # type: ignore[method-assign]
    target = client._router.plan(MODEL).targets[0]
    provider: Any = target.provider
    if "request" in without:
        request = ChatRequest.model_validate({"model": MODEL, "messages": MESSAGES})
        built = provider.chat_request(request, target.model, stream=False)
        provider.chat_request = lambda request, model, *, stream: built
    if "parse" in without:
        parsed = ChatResponse.model_validate_json(body)
        provider.parse_chat = lambda response, model: parsed.model_copy()
    if "stages" in without:
        pipeline = client._pipeline
        routing_only = [stage for stage in pipeline.stages if stage.name == "route"]
        client._pipeline = Pipeline(routing_only, pipeline.attempts)
    if "health" in without:
        client._health.record = lambda *args, **kwargs: None  # type: ignore[method-assign]
        client._health.admit = lambda target: "free"  # type: ignore[method-assign]
    if "settle" in without:
        first: list[Any] = []
        real_meta = _settle.Settle.meta

        def meta(self: Any, *args: Any) -> Any:
            if not first:
                first.append(real_meta(self, *args))
            return first[0]

        _settle.Settle.meta = meta  # type: ignore[method-assign]

    async def run() -> None:
        for _ in range(200 + calls):
            await client.achat(model=MODEL, messages=MESSAGES)

    asyncio.run(run())


def _instructions(calls: int, without: set[str], words: int | None = None) -> int:
    command = [
        "valgrind",
        "--tool=callgrind",
        "--callgrind-out-file=/dev/null",
        sys.executable,
        __file__,
        "--child",
        str(calls),
        ",".join(sorted(without)) if words is None else f"stream:{words}",
    ]
    env = {**os.environ, "PYTHONPYCACHEPREFIX": tempfile.gettempdir() + "/cosmara-bench-pyc"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=True)
    found = re.search(r"Collected : (\d+)", done.stderr)
    if found is None:
        raise RuntimeError(f"callgrind printed no count:\n{done.stderr[-2000:]}")
    return int(found.group(1))


def per_call(calls: int, without: set[str], words: int | None = None) -> float:
    return (_instructions(calls, without, words) - _instructions(0, without, words)) / calls


def streams(calls: int) -> dict[str, float]:
    """Instructions per ``astream`` of 3 and of 33 content chunks, and per chunk between."""
    short, long = per_call(calls, set(), 3), per_call(calls, set(), 33)
    return {"stream_3_chunks": short, "stream_33_chunks": long, "per_chunk": (long - short) / 30}


def main() -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--whole", action="store_true", help="the whole call only, no parts")
    parser.add_argument("--stream", action="store_true", help="astream: per stream and chunk")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--json")
    args = parser.parse_args()
    if args.child:
        calls, without = args.child
        if without.startswith("stream:"):
            _stream_loop(int(calls), int(without.removeprefix("stream:")))
        else:
            _client_loop(int(calls), {part for part in without.split(",") if part})
        return {}
    if shutil.which("valgrind") is None:
        print("valgrind is not installed: apt-get install valgrind")
        return {}
    if args.stream:
        found = streams(args.calls // 2)
        print(f"\n## instructions per astream ({args.calls // 2} streams, callgrind)\n")
        print(table(["what", "instructions"], [[k.replace("_", " "), v] for k, v in found.items()]))
        write_json(args.json, found)
        return found
    whole = per_call(args.calls, set())
    rows: list[list[Any]] = [["one achat, the engine's own work", whole, 1.0]]
    results: dict[str, Any] = {"calls": args.calls, "whole": whole, "parts": {}}
    for part, label in {} if args.whole else PARTS.items():
        cost = whole - per_call(args.calls, {part})
        results["parts"][part] = cost
        rows.append([f"  {label}", cost, cost / whole])
    if not args.whole:
        rest = whole - sum(results["parts"].values())
        rows.append(["  the rest: validate, route, attempt loop, pipeline", rest, rest / whole])
    print(f"\n## instructions per achat ({args.calls} calls, callgrind)\n")
    print(table(["part", "instructions", "share"], rows))
    write_json(args.json, results)
    return results


if __name__ == "__main__":
    main()
