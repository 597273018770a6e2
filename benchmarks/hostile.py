"""Hostile inputs and hostile providers: every one must end in a typed Cosmara error, with memory
bounded.

Two batteries, each on every path (chat, achat, stream, astream) against the local emulator:

- hostile responses (invalid UTF-8, JSON nested 100,000 levels, a 1 GiB gzip bomb, a body over
  the limit, a 5 MB error body, an endless stream line, Retry-After: nan, an error object in a
  200, a redirect, a cut stream, a dripped body past its deadline), each tried with a fallback
  (the fallback must answer) and without (the typed error must be raised);
- bad input (wrong types for every request argument, malformed tool schemas, values JSON cannot
  carry, impossible timeouts, bad configurations), each refused before any request.

Prints the counts, whether every case ended typed, and the peak traced memory and RSS growth
(the gzip bomb alone inflates to 1 GiB without the limits).

    uv run --group bench python benchmarks/hostile.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import resource
import time
import tracemalloc
import zlib
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

import cosmara
from cosmara import Cosmara
from cosmara.testing import Emulator, FakeClock, Fault

FIRST, FALLBACK = "openai/gpt-4o-mini", "groq/llama-3.1-8b-instant"
HI = [{"role": "user", "content": "hi"}]
PATHS = ("chat", "achat", "stream", "astream")


def _bomb(megabytes: int) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    zeros = bytes(1024 * 1024)
    return b"".join(packer.compress(zeros) for _ in range(megabytes)) + packer.flush()


def _event(delta: dict[str, Any]) -> bytes:
    chunk = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m"}
    chunk["choices"] = [{"index": 0, "delta": delta, "finish_reason": None}]
    return b"data: " + json.dumps(chunk).encode() + b"\n\n"


def hostile_responses() -> dict[str, tuple[Fault, tuple[str, ...]]]:
    """Name -> (fault on the first target, the paths it applies to)."""
    deep = b"[" * 100_000 + b"]" * 100_000
    bomb = _bomb(1024)
    every, plain, streams = PATHS, ("chat", "achat"), ("stream", "astream")
    role = _event({"role": "assistant"})
    model = "gpt-4o-mini"
    return {
        "invalid UTF-8 body": (Fault(body=b'{"id":"\xff"}', match_model=model), plain),
        "invalid UTF-8 stream line": (
            Fault(events=(b"data: \xff\xfe\n\n",), match_model=model),
            streams,
        ),
        "JSON 100,000 deep (answer)": (Fault(body=deep, match_model=model), plain),
        "JSON 100,000 deep (error body)": (Fault(status=500, body=deep, match_model=model), every),
        "JSON 100,000 deep (stream event)": (
            Fault(events=(b"data: " + deep + b"\n\n",), match_model=model),
            streams,
        ),
        "gzip bomb, 1 GiB inflated": (
            Fault(body=bomb, headers={"content-encoding": "gzip"}, match_model=model),
            plain,
        ),
        "gzip bomb in a stream": (
            Fault(events=(bomb,), headers={"content-encoding": "gzip"}, match_model=model),
            streams,
        ),
        "body of 80 MiB": (Fault(body=b"x" * (80 * 1024 * 1024), match_model=model), plain),
        "error body of 5 MB": (
            Fault(status=503, body="overloaded " * 500_000, match_model=model),
            every,
        ),
        "stream line of 12 MiB without an end": (
            Fault(events=(b"data: ", *[b"x" * 1024 * 1024] * 12), match_model=model),
            streams,
        ),
        "Retry-After: nan": (
            Fault(status=429, headers={"retry-after": "nan"}, match_model=model),
            every,
        ),
        "retry-after-ms: -inf": (
            Fault(status=429, headers={"retry-after-ms": "-inf"}, match_model=model),
            every,
        ),
        "error object in a 200": (
            Fault(body=b'{"error": {"message": "The server is overloaded"}}', match_model=model),
            plain,
        ),
        "bare error string in a 200": (
            Fault(body=b'{"error": "overloaded"}', match_model=model),
            plain,
        ),
        "redirect 302": (
            Fault(
                status=302, body="", headers={"location": "http://127.0.0.1:9/"}, match_model=model
            ),
            every,
        ),
        "stream cut before content": (Fault(cut_after_chunks=1, match_model=model), streams),
        "pings instead of a first token": (
            Fault(
                events=(role, *[b": ping\n\n"] * 40),
                drip=0.05,
                match_model=model,
            ),
            streams,
        ),
        "answer dripped past its deadline": (
            Fault(drip=0.05, drip_size=8, match_model=model),
            plain,
        ),
    }


def bad_inputs() -> list[tuple[str, dict[str, Any]]]:
    deep: Any = "x"
    for _ in range(5000):
        deep = {"x": deep}
    schema = {"type": "function", "function": {"name": "f", "parameters": {}}}
    cases: list[tuple[str, dict[str, Any]]] = [
        (f"{name}={_shown(value)}", {name: value})
        for name, value in (
            ("team", 5),
            ("user", 123),
            ("org", ["a"]),
            ("tags", {"a": 1}),
            ("tags", 5),
            ("metadata", [1, 2]),
            ("fallbacks", 123),
            ("fallbacks", [None]),
            ("timeout", float("inf")),
            ("timeout", 1e300),
            ("timeout", {"request": 1e10}),
            ("timeout", -1),
            ("max_retries", 50),
            ("max_retries", "3"),
            ("temperature", 9),
            ("n", 0),
            ("vendor_option", object()),
            ("vendor_option", b"\xff"),
            ("vendor_option", deep),
            ("vendor_option", float("nan")),
            ("extra_headers", {"x-a": "v\r\nInjected: 1"}),
            ("extra_headers", {"x-a": "caf\u00e9"}),
            ("extra_query", {"a": 1}),
            ("messages", [{"role": "user", "content": "\ud800"}]),
            ("messages", []),
            ("messages", [{"role": "wizard", "content": "hi"}]),
            ("model", ""),
            ("model", "nowhere/at-all"),
        )
    ]
    for parameters in (
        {"type": "objekt"},
        {"type": "object", "properties": 5},
        "city",
        ["city"],
        {"type": "object", "properties": {"c": {"type": "string"}}, "required": "c"},
        {"type": "object", "properties": {"c": {"type": "strng"}}},
    ):
        tool = {**schema, "function": {"name": "f", "parameters": parameters}}
        cases.append((f"tool parameters {parameters!r}"[:40], {"tools": [tool]}))
    cases.append(("two tools named f", {"tools": [schema, schema]}))
    return cases


def _shown(value: Any) -> str:
    if isinstance(value, dict) and "x" in value and isinstance(value["x"], dict):
        return "{nested 5,000 deep}"
    return repr(value)[:40]


def bad_configurations() -> list[tuple[str, Any]]:
    return [
        ("Cosmara(123)", 123),
        ("Cosmara([1, 2])", [1, 2]),
        ("api_key=123", {"providers": {"openai": {"api_key": 123}}}),
        ("api_key with NUL", {"providers": {"openai": {"api_key": "sk-a\x00b"}}}),
        ("api_key non-ASCII", {"providers": {"openai": {"api_key": "sk-\u00e9"}}}),
        ("header with CRLF", {"providers": {"openai": {"headers": {"x": "a\r\nb: c"}}}}),
        ("base_url http://[::1", {"providers": {"openai": {"base_url": "http://[::1"}}}),
        ("base_url with CRLF", {"providers": {"openai": {"base_url": "http://a/\r\nX: y"}}}),
        ("base_url bad IDNA", {"providers": {"openai": {"base_url": "http://\u2603.com"}}}),
        ("base_url file://", {"providers": {"openai": {"base_url": "file:///etc/passwd"}}}),
        ("base_url without scheme", {"providers": {"openai": {"base_url": "api.x.com/v1"}}}),
        ("base_url empty", {"providers": {"openai": {"base_url": ""}}}),
        ("typo base_ulr", {"providers": {"openai": {"base_ulr": "http://x"}}}),
        ("negative balance", {"groups": {"g": {"balance": {"cost": -1}}}}),
        ("negative weight", {"groups": {"g": {"weights": {"openai/gpt-4o": -1}}}}),
        ("timeout inf", {"timeout": float("inf")}),
    ]


def _ask(client: Cosmara, path: str, loop: asyncio.AbstractEventLoop, **kwargs: Any) -> Any:
    kwargs.setdefault("messages", HI)
    if path == "chat":
        return client.chat(**kwargs)
    if path == "achat":
        return loop.run_until_complete(client.achat(**kwargs))
    if path == "stream":
        return list(client.stream(**kwargs))

    async def collect() -> list[Any]:
        return [chunk async for chunk in client.astream(**kwargs)]

    return loop.run_until_complete(collect())


def _outcome(call: Callable[[], Any], typed: type[BaseException]) -> str:
    try:
        call()
    except typed:
        return "typed"
    except cosmara.CosmaraError as error:
        return f"other Cosmara error: {type(error).__name__}"
    except Exception as error:
        return f"UNTYPED {type(error).__name__}: {str(error)[:80]}"
    return "no error"


class _Engine:
    """The client side, in its own process so that its memory is measured alone: the
    emulator's copies of an 80 MiB body or a gzip bomb are not the engine's."""

    def __init__(self, base_url: str) -> None:
        providers = {
            "openai": {"base_url": base_url, "api_key": "sk-bench"},
            "groq": {"base_url": base_url, "api_key": "gsk-bench"},
        }
        config = {
            "providers": providers,
            "breaker": {"enabled": False},
            "retry": {"max_retries": 1, "initial_delay": 0.01},
            "timeout": {"request": 1, "first_token": 1, "between_chunks": 1},
        }
        self.client = Cosmara(config, clock=FakeClock(), load_entry_points=False)
        self.loop = asyncio.new_event_loop()

    def hostile(self, name: str, path: str) -> list[str]:
        problems = []
        try:
            answer = _ask(self.client, path, self.loop, model=FIRST, fallbacks=[FALLBACK])
            if _text(answer) != "Echo: hi":
                problems.append(f"{name} [{path}]: no fallback answer")
        except Exception as error:
            problems.append(f"{name} [{path}] with a fallback: {type(error).__name__}")
        result = _outcome(
            lambda: _ask(self.client, path, self.loop, model=FIRST), cosmara.ProviderError
        )
        if result != "typed":
            problems.append(f"{name} [{path}] alone: {result}")
        return problems

    def inputs(self) -> tuple[int, list[str]]:
        tried, problems = 0, []
        for name, arguments in bad_inputs():
            for path in PATHS:
                result = _outcome(
                    lambda path=path, arguments=arguments: _ask(
                        self.client, path, self.loop, **{"model": FIRST, **arguments}
                    ),
                    cosmara.RequestValidationError,
                )
                tried += 1
                if result != "typed":
                    problems.append(f"{name} [{path}]: {result}")
        return tried, problems

    def configurations(self) -> tuple[int, list[str]]:
        problems = []
        cases = bad_configurations()
        for name, bad in cases:
            result = _outcome(
                lambda bad=bad: Cosmara(bad, load_entry_points=False), cosmara.ConfigurationError
            )
            if result != "typed":
                problems.append(f"{name}: {result}")
        return len(cases), problems

    def close(self) -> tuple[float, float]:
        self.loop.run_until_complete(self.client.aclose())
        self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        self.loop.close()
        _, peak = tracemalloc.get_traced_memory()
        return peak / 2**20, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _serve(connection: Connection, base_url: str) -> None:
    """The engine process: runs each command the parent sends, answers with its outcome."""
    tracemalloc.start()
    engine = _Engine(base_url)
    while True:
        command, *arguments = connection.recv()
        if command == "stop":
            connection.send(engine.close())
            return
        connection.send(getattr(engine, command)(*arguments))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=1, help="repeat everything, for memory")
    args = parser.parse_args()
    counts = {"responses": 0, "inputs": 0, "configurations": 0}
    failures: dict[str, list[str]] = {battery: [] for battery in counts}
    started = time.perf_counter()
    with Emulator() as emulator:
        parent, child = multiprocessing.Pipe()
        engine = multiprocessing.get_context("spawn").Process(
            target=_serve, args=(child, emulator.base_url)
        )
        engine.start()

        def run(*command: Any) -> Any:
            parent.send(command)
            return parent.recv()

        for _ in range(args.rounds):
            for name, (fault, paths) in hostile_responses().items():
                for path in paths:
                    emulator.reset()
                    emulator.add_fault(fault)
                    failures["responses"] += run("hostile", name, path)
                    counts["responses"] += 1
            emulator.reset()
            tried, problems = run("inputs")
            counts["inputs"] += tried
            failures["inputs"] += problems
            tried, problems = run("configurations")
            counts["configurations"] += tried
            failures["configurations"] += problems
            if emulator.request_count:
                failures["inputs"].append(f"reached the provider {emulator.request_count} times")
        peak, rss = run("stop")
        engine.join()
    total = sum(counts.values())
    print(f"## hostile inputs and responses ({time.perf_counter() - started:.1f} s)")
    print()
    print("| battery | cases tried | problems |")
    print("|---|---|---|")
    for battery, count in counts.items():
        print(f"| {battery} | {count} | {len(failures[battery])} |")
    print()
    print(
        f"engine process: peak traced memory {peak:.1f} MiB, peak RSS {rss:.1f} MiB "
        f"(limits: response and decoded bodies 64 MiB; the gzip bomb inflates to 1,024 MiB)"
    )
    problems = [f"{battery}: {f}" for battery, found in failures.items() for f in found]
    print(f"every one of {total} ended typed, none reached a provider: {not problems}")
    for problem in problems:
        print(f"- {problem}")


def _text(answer: Any) -> str:
    if hasattr(answer, "text"):
        return str(answer.text)
    return "".join(c.choices[0].delta.content or "" for c in answer if c.choices)


if __name__ == "__main__":
    main()
