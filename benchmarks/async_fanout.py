"""Async fan-out against the fastest Python HTTP client: Cosmara vs raw aiohttp, the openai SDK,
raw httpx, and the LangChain / LlamaIndex async paths.

Every contender calls the same local Emulator (its own process) with the same one-message
request. Contenders run in interleaved rounds whose order rotates, so noise on this shared
machine hits them alike; every ratio is a median of per-round ratios measured in this run.

- fan-out: rounds of ``--concurrency`` (50) concurrent calls (``asyncio.gather``) and rounds of
  500 with ``max_connections`` 100: raw ``aiohttp.ClientSession.post`` + ``json.loads``
  (reference), ``Cosmara.achat``, ``openai.AsyncOpenAI`` with its default client, raw
  ``httpx.AsyncClient`` (information);
- streams: rounds of 50 concurrent streams: raw aiohttp reading the SSE lines and decoding each
  event with ``json.loads`` (reference) vs ``Cosmara.astream``;
- sequential: one call at a time, µs added over the raw client: ``achat`` over raw aiohttp,
  ``chat`` over ``httpx.Client``;
- frameworks: ``ChatCosmara.ainvoke`` and ``abatch`` of 50 vs ``ChatOpenAI``; LlamaIndex
  ``Cosmara.achat`` vs its ``OpenAI``, in a throwaway uv environment of its own (its
  llama-index-llms-openai needs openai < 3, the bench group has openai 3).

    uv run --group bench python benchmarks/async_fanout.py [--rounds 15] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

from _common import (
    API_KEY,
    MESSAGES,
    MODEL,
    emulator,
    have,
    machine_info,
    median,
    paired_ratio,
    table,
    verdict,
    versions,
    write_json,
)

BARE = MODEL.split("/", 1)[1]
ANSWER = "Echo: Hi"
Call = Callable[[], Awaitable[object]]


def _cosmara(base_url: str, **config: Any) -> Any:
    from cosmara import Cosmara

    providers = {"openai": {"base_url": base_url, "api_key": API_KEY}}
    return Cosmara({"providers": providers, **config}, load_entry_points=False)


async def _rounds(
    contenders: dict[str, Callable[[], Awaitable[float]]], rounds: int, warmup: int
) -> dict[str, list[float]]:
    """Each contender's timed rounds (ms), interleaved, the order rotating every round."""
    names = list(contenders)
    for name in names:
        for _ in range(warmup):
            await contenders[name]()
    walls: dict[str, list[float]] = {name: [] for name in names}
    for number in range(rounds):
        shift = number % len(names)
        for name in names[shift:] + names[:shift]:
            gc.collect()
            walls[name].append(await contenders[name]())
    return walls


def _burst(call: Call, size: int) -> Callable[[], Awaitable[float]]:
    async def run() -> float:
        started = time.perf_counter()
        results = await asyncio.gather(*(call() for _ in range(size)))
        elapsed = (time.perf_counter() - started) * 1000
        wrong = {r for r in results if r != ANSWER}
        if wrong:
            raise RuntimeError(f"unexpected answers: {wrong!r}")
        return elapsed

    return run


def _sequence(call: Call, calls: int) -> Callable[[], Awaitable[float]]:
    async def run() -> float:
        started = time.perf_counter()
        for _ in range(calls):
            if await call() != ANSWER:
                raise RuntimeError("unexpected answer")
        return (time.perf_counter() - started) * 1e6 / calls  # µs per call

    return run


def _typed_floor(session: Any, url: str, headers: dict[str, str]) -> Call:
    """Raw aiohttp plus only the steps any typed client pays: the request validated and
    serialised, the answer validated into a ``ChatResponse`` (information: how much of
    Cosmara's overhead a pydantic-typed API costs by itself)."""
    import pydantic_core

    from cosmara import ChatRequest, ChatResponse

    async def call() -> object:
        request = ChatRequest.model_validate({"model": MODEL, "messages": MESSAGES})
        wire = request.model_dump(exclude_none=True, by_alias=True)
        wire["model"] = BARE
        body = pydantic_core.to_json(wire)
        async with session.post(url, data=body, headers=headers) as response:
            return ChatResponse.model_validate_json(await response.read()).text

    return call


async def fanout(base_url: str, size: int, rounds: int, with_sdk: bool) -> dict[str, Any]:
    import aiohttp
    import httpx

    url = base_url + "/chat/completions"
    body = json.dumps({"model": BARE, "messages": MESSAGES}).encode()
    headers = {"authorization": f"Bearer {API_KEY}", "content-type": "application/json"}
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=100))
    raw_httpx = httpx.AsyncClient(timeout=60)
    client = _cosmara(base_url, max_connections=100)

    async def raw() -> object:
        async with session.post(url, data=body, headers=headers) as response:
            return json.loads(await response.read())["choices"][0]["message"]["content"]

    async def httpx_call() -> object:
        response = await raw_httpx.post(url, content=body, headers=headers)
        return json.loads(response.content)["choices"][0]["message"]["content"]

    async def cosmara() -> object:
        return (await client.achat(model=MODEL, messages=MESSAGES)).choices[0].message.content

    contenders = {
        "raw aiohttp (reference)": _burst(raw, size),
        "Cosmara.achat": _burst(cosmara, size),
        "raw aiohttp + pydantic in and out (typed floor, info)": _burst(
            _typed_floor(session, url, headers), size
        ),
        "raw httpx.AsyncClient (info)": _burst(httpx_call, size),
    }
    sdk = None
    if with_sdk and have("openai"):
        import openai

        sdk = openai.AsyncOpenAI(base_url=base_url, api_key=API_KEY, max_retries=0)

        async def sdk_call() -> object:
            response = await sdk.chat.completions.create(model=BARE, messages=MESSAGES)  # type: ignore[arg-type]
            return response.choices[0].message.content

        contenders["openai AsyncOpenAI (default client)"] = _burst(sdk_call, size)
    try:
        return await _rounds(contenders, rounds, warmup=2)
    finally:
        await session.close()
        await raw_httpx.aclose()
        await client.aclose()
        if sdk is not None:
            await sdk.close()


async def streams(base_url: str, size: int, rounds: int) -> dict[str, Any]:
    import aiohttp

    url = base_url + "/chat/completions"
    payload = {"model": BARE, "messages": MESSAGES, "stream": True}
    payload["stream_options"] = {"include_usage": True}
    body = json.dumps(payload).encode()
    headers = {"authorization": f"Bearer {API_KEY}", "content-type": "application/json"}
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=100))
    client = _cosmara(base_url)

    async def raw() -> object:
        text = []
        async with session.post(url, data=body, headers=headers) as response:
            async for line in response.content:
                if line.startswith(b"data: ") and line != b"data: [DONE]\n":
                    event = json.loads(line[6:])
                    for choice in event["choices"]:
                        text.append(choice["delta"].get("content") or "")
        return "".join(text)

    async def cosmara() -> object:
        text = []
        async for chunk in client.astream(model=MODEL, messages=MESSAGES):
            for choice in chunk.choices:
                text.append(choice.delta.content or "")
        return "".join(text)

    contenders = {
        "raw aiohttp reading the SSE (reference)": _burst(raw, size),
        "Cosmara.astream": _burst(cosmara, size),
    }
    try:
        return await _rounds(contenders, rounds, warmup=2)
    finally:
        await session.close()
        await client.aclose()


async def sequential(base_url: str, calls: int, rounds: int) -> dict[str, Any]:
    import aiohttp

    url = base_url + "/chat/completions"
    body = json.dumps({"model": BARE, "messages": MESSAGES}).encode()
    headers = {"authorization": f"Bearer {API_KEY}", "content-type": "application/json"}
    session = aiohttp.ClientSession()
    client = _cosmara(base_url)

    async def raw() -> object:
        async with session.post(url, data=body, headers=headers) as response:
            return json.loads(await response.read())["choices"][0]["message"]["content"]

    async def cosmara() -> object:
        return (await client.achat(model=MODEL, messages=MESSAGES)).choices[0].message.content

    contenders = {
        "raw aiohttp": _sequence(raw, calls),
        "Cosmara.achat": _sequence(cosmara, calls),
        "raw aiohttp + pydantic in and out (typed floor)": _sequence(
            _typed_floor(session, url, headers), calls
        ),
    }
    try:
        return await _rounds(contenders, rounds, warmup=1)
    finally:
        await session.close()
        await client.aclose()


def sequential_sync(base_url: str, calls: int, rounds: int) -> dict[str, list[float]]:
    """``chat`` against ``httpx.Client``, one call at a time, interleaved rounds."""
    import httpx

    url = base_url + "/chat/completions"
    body = json.dumps({"model": BARE, "messages": MESSAGES}).encode()
    headers = {"authorization": f"Bearer {API_KEY}", "content-type": "application/json"}
    client = _cosmara(base_url)

    def raw() -> object:
        response = http.post(url, content=body, headers=headers)
        return json.loads(response.content)["choices"][0]["message"]["content"]

    def cosmara() -> object:
        return client.chat(model=MODEL, messages=MESSAGES).choices[0].message.content

    contenders = {"raw httpx.Client": raw, "Cosmara.chat": cosmara}
    walls: dict[str, list[float]] = {name: [] for name in contenders}
    with httpx.Client(timeout=60) as http:
        for call in contenders.values():
            for _ in range(calls):
                call()
        names = list(contenders)
        for number in range(rounds):
            shift = number % len(names)
            for name in names[shift:] + names[:shift]:
                gc.collect()
                started = time.perf_counter()
                for _ in range(calls):
                    if contenders[name]() != ANSWER:
                        raise RuntimeError("unexpected answer")
                walls[name].append((time.perf_counter() - started) * 1e6 / calls)
    client.close()
    return walls


async def frameworks(base_url: str, calls: int, rounds: int) -> dict[str, Any]:
    contenders: dict[str, Callable[[], Awaitable[float]]] = {}
    closers: list[Callable[[], Awaitable[object]]] = []
    client = _cosmara(base_url)
    closers.append(client.aclose)
    if have("langchain_openai"):
        from langchain_openai import ChatOpenAI

        from langchain_cosmara import ChatCosmara

        cosmara_lc = ChatCosmara(model=MODEL, client=client)
        openai_lc = ChatOpenAI(model=BARE, base_url=base_url, api_key=API_KEY, max_retries=0)

        def invoke(model: Any) -> Call:
            async def call() -> object:
                return (await model.ainvoke("Hi")).content

            return call

        def batch(model: Any) -> Callable[[], Awaitable[float]]:
            async def run() -> float:
                started = time.perf_counter()
                answers = await model.abatch(["Hi"] * 50)
                if any(a.content != ANSWER for a in answers):
                    raise RuntimeError("unexpected answer")
                return (time.perf_counter() - started) * 1000

            return run

        contenders["ChatCosmara.ainvoke (µs/call)"] = _sequence(invoke(cosmara_lc), calls)
        contenders["ChatOpenAI.ainvoke (µs/call)"] = _sequence(invoke(openai_lc), calls)
        contenders["ChatCosmara.abatch(50) (ms)"] = batch(cosmara_lc)
        contenders["ChatOpenAI.abatch(50) (ms)"] = batch(openai_lc)
    try:
        return await _rounds(contenders, rounds, warmup=1) if contenders else {}
    finally:
        for close in closers:
            await close()


async def llamaindex(base_url: str, calls: int, rounds: int) -> dict[str, Any]:
    """LlamaIndex ``achat``: Cosmara's LLM against llama-index's ``OpenAI``, one at a time."""
    from llama_index.core.llms import ChatMessage
    from llama_index.llms.cosmara import Cosmara as CosmaraLLM
    from llama_index.llms.openai import OpenAI as OpenAILLM

    client = _cosmara(base_url)
    messages = [ChatMessage(role="user", content="Hi")]
    cosmara_li = CosmaraLLM(model=MODEL, client=client)
    openai_li = OpenAILLM(model=BARE, api_base=base_url, api_key=API_KEY, max_retries=0)

    def achat(llm: Any) -> Call:
        async def call() -> object:
            return (await llm.achat(messages)).message.content

        return call

    contenders = {
        "LlamaIndex Cosmara.achat (µs/call)": _sequence(achat(cosmara_li), calls),
        "LlamaIndex OpenAI.achat (µs/call)": _sequence(achat(openai_li), calls),
    }
    try:
        return await _rounds(contenders, rounds, warmup=1)
    finally:
        await client.aclose()


def llamaindex_elsewhere(base_url: str, calls: int, rounds: int) -> dict[str, Any]:
    """``llamaindex`` in an environment of its own, when this one cannot hold both.

    llama-index-llms-openai needs openai < 3 and the bench group has openai 3 (for
    cosmara-generic), so uv builds a throwaway environment with llama-index's OpenAI class,
    this checkout's cosmara and llama-index-cosmara, and runs this file there against the
    same emulator. Returns {} (and says why) when that environment cannot be built.
    """
    import subprocess
    import sys
    import tempfile
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "llamaindex.json"
        command = [
            "uv", "run", "--isolated", "--no-project", "--python", python,
            "--with", "llama-index-llms-openai", "--with", "aiohttp",
            "--with-editable", str(root / "packages" / "core"),
            "--with-editable", str(root / "packages" / "llamaindex"),
            "python", __file__, "--llamaindex-only", base_url,
            "--rounds", str(rounds), "--sequential-calls", str(calls), "--json", str(out),
        ]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0 or not out.exists():
            print(f"LlamaIndex comparison skipped: {done.stderr.strip()[-500:]}")
            return {}
        found: dict[str, Any] = json.loads(out.read_text())
    return found


def main() -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--sequential-calls", type=int, default=200)
    parser.add_argument("--quick", action="store_true", help="fewer rounds and calls")
    parser.add_argument("--no-openai", action="store_true")
    parser.add_argument("--json")
    parser.add_argument("--llamaindex-only", metavar="BASE_URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.llamaindex_only:  # the part run by llamaindex_elsewhere()
        found = asyncio.run(llamaindex(args.llamaindex_only, args.sequential_calls, args.rounds))
        write_json(args.json, found)
        return found
    rounds = 5 if args.quick else args.rounds
    calls = 50 if args.quick else args.sequential_calls
    results: dict[str, Any] = {"machine": machine_info(), "rounds": rounds}
    rows: list[list[Any]] = []
    targets: dict[str, dict[str, Any]] = {}

    def target(name: str, value: float, limit: float, *, at_least: bool = False) -> None:
        met = value >= limit if at_least else value <= limit
        targets[name] = {"value": value, "target": limit, "met": met}

    with emulator() as base_url:
        small = asyncio.run(fanout(base_url, args.concurrency, rounds, not args.no_openai))
        large = asyncio.run(fanout(base_url, 500, max(rounds // 3, 3), False))
        streamed = asyncio.run(streams(base_url, args.concurrency, rounds))
        one_by_one = asyncio.run(sequential(base_url, calls, rounds))
        one_by_one.update(sequential_sync(base_url, calls, rounds))
        framed = asyncio.run(frameworks(base_url, calls, rounds))
        if have("llama_index.llms.openai"):
            framed.update(asyncio.run(llamaindex(base_url, calls, rounds)))
        else:
            framed.update(llamaindex_elsewhere(base_url, calls, rounds))

    def report(title: str, walls: dict[str, list[float]], reference: str, unit: str) -> None:
        rows.append([f"**{title}**", "", "", ""])
        for name, data in walls.items():
            ratio = paired_ratio(data, walls[reference]) if reference in walls else float("nan")
            rows.append([name, median(data), unit, ratio])

    reference = "raw aiohttp (reference)"
    report(f"{args.concurrency} concurrent achat, per round", small, reference, "ms")
    report("500 concurrent achat (max_connections 100), per round", large, reference, "ms")
    stream_ref = "raw aiohttp reading the SSE (reference)"
    report(f"{args.concurrency} concurrent astream, per round", streamed, stream_ref, "ms")
    rows.append(["**sequential, one call at a time**", "", "", ""])
    for name, data in one_by_one.items():
        rows.append([name, median(data), "µs/call", ""])
    if framed:
        rows.append(["**frameworks (async)**", "", "", ""])
        for name, data in framed.items():
            rows.append([name, median(data), "", ""])

    target(
        "50 concurrent achat / raw aiohttp",
        paired_ratio(small["Cosmara.achat"], small[reference]),
        1.5,
    )
    sdk_name = "openai AsyncOpenAI (default client)"
    if sdk_name in small:
        target(
            "AsyncOpenAI / Cosmara.achat, 50 concurrent",
            paired_ratio(small[sdk_name], small["Cosmara.achat"]),
            5.0,
            at_least=True,
        )
    target(
        "500 concurrent achat / raw aiohttp",
        paired_ratio(large["Cosmara.achat"], large[reference]),
        2.0,
    )
    target(
        "50 concurrent astream / raw aiohttp SSE",
        paired_ratio(streamed["Cosmara.astream"], streamed[stream_ref]),
        1.5,
    )
    added_async = _added(one_by_one["Cosmara.achat"], one_by_one["raw aiohttp"])
    added_sync = _added(one_by_one["Cosmara.chat"], one_by_one["raw httpx.Client"])
    target("achat adds over raw aiohttp (µs)", added_async, 50)
    target("chat adds over raw httpx.Client (µs)", added_sync, 50)
    if framed:
        for mine, theirs, label in (
            (
                "ChatCosmara.ainvoke (µs/call)",
                "ChatOpenAI.ainvoke (µs/call)",
                "ChatCosmara.ainvoke / ChatOpenAI",
            ),
            (
                "ChatCosmara.abatch(50) (ms)",
                "ChatOpenAI.abatch(50) (ms)",
                "ChatCosmara.abatch(50) / ChatOpenAI",
            ),
            (
                "LlamaIndex Cosmara.achat (µs/call)",
                "LlamaIndex OpenAI.achat (µs/call)",
                "LlamaIndex Cosmara.achat / OpenAI",
            ),
        ):
            if mine in framed and theirs in framed:
                target(label, paired_ratio(framed[mine], framed[theirs]), 1.0)

    print(f"\n## async fan-out ({rounds} interleaved rounds, emulator in its own process)\n")
    print(table(["contender", "median", "unit", "ratio vs reference"], rows))
    print("\n| target | value | limit | verdict |\n|---|---|---|---|")
    for name, entry in targets.items():
        sign = ">=" if "AsyncOpenAI" in name else "<="
        value, limit, met = entry["value"], entry["target"], verdict(entry["met"])
        print(f"| {name} | {value:.2f} | {sign} {limit} | {met} |")
    floor = "raw aiohttp + pydantic in and out (typed floor"
    floor_added = _added(one_by_one[floor + ")"], one_by_one["raw aiohttp"])
    floor_ratio = paired_ratio(small[floor + ", info)"], small[reference])
    print(
        f"\ninformation: the typed floor (raw aiohttp + ChatRequest/ChatResponse) adds "
        f"{floor_added:.0f} µs per sequential call and runs {args.concurrency} concurrent at "
        f"{floor_ratio:.2f}x raw aiohttp"
    )
    results["typed_floor"] = {"added_us": floor_added, "fanout_ratio": floor_ratio}
    results.update(
        fanout_50=small,
        fanout_500=large,
        streams=streamed,
        sequential=one_by_one,
        frameworks=framed,
        targets=targets,
        versions=versions("cosmara", "aiohttp", "httpx", "openai"),
    )
    write_json(args.json, results)
    return results


def _added(mine: list[float], reference: list[float]) -> float:
    """Median µs per call added over the reference, paired round by round."""
    return median([a - b for a, b in zip(mine, reference, strict=True)])


if __name__ == "__main__":
    main()
