"""Where Cosmara's time goes: ``import cosmara`` and one ``Cosmara.chat`` call, broken down.

This is the evidence behind a missed target, for whoever fixes the library:

* import: fresh processes (interleaved) for the floors cosmara stands on (``import pydantic``
  is lazy, so a fair floor is pydantic *plus one model*; ``pluggy``), then, in one fresh
  process, the time spent creating each pydantic model class during ``import cosmara``
  (``ModelMetaclass.__new__`` timed per class) and a cProfile of the import.
* chat: each step ``Cosmara.chat`` takes, timed in isolation on the real objects (µs per call,
  median of repeats; no network except the transport row), then a cProfile of
  ``--profile-calls`` real calls with every function's µs per call.

It reaches into private engine methods (``_prepare``, ``_settle``, ...) to time steps: if
those change, update the step list below. Local Emulator on 127.0.0.1 only.

    uv run --group bench python benchmarks/profile_engine.py [--json out.json]
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import statistics
import subprocess
import sys
import time
import timeit

from _common import (
    API_KEY,
    MESSAGES,
    MODEL,
    cosmara_client,
    emulator,
    import_env,
    median,
    table,
    write_json,
)

# --- import --------------------------------------------------------------------------------------

_CLASS_TIMER = r"""
import json, sys, time, cProfile, pstats, io
from pydantic._internal import _model_construction as mc
timings = []
original = mc.ModelMetaclass.__new__
def timed_new(mcs, name, bases, namespace, *args, **kwargs):
    start = time.perf_counter()
    cls = original(mcs, name, bases, namespace, *args, **kwargs)
    timings.append((namespace.get("__module__", "?") + "." + name, time.perf_counter() - start))
    return cls
mc.ModelMetaclass.__new__ = staticmethod(timed_new)
pre = time.perf_counter()
profile = cProfile.Profile()
profile.enable()
import cosmara
profile.disable()
total = time.perf_counter() - pre
stats = pstats.Stats(profile)
rows = []
for (filename, line, func), (cc, nc, tt, ct, callers) in stats.stats.items():
    short = filename.split('site-packages/')[-1].split('/src/')[-1]
    rows.append({"function": f"{short}:{line}({func})",
                 "tottime_ms": tt * 1000, "cumtime_ms": ct * 1000, "calls": nc})
print(json.dumps({"total_ms": total * 1000, "classes": [[n, t * 1000] for n, t in timings],
                  "profile": rows}))
"""

_FLOORS = {
    "python -c pass": "pass",
    "import pydantic (lazy)": "import pydantic",
    "pydantic + 1 BaseModel": "import pydantic\nclass M(pydantic.BaseModel):\n    x: int",
    "import pluggy": "import pluggy",
    "pydantic + 1 model + pluggy": (
        "import pydantic, pluggy\nclass M(pydantic.BaseModel):\n    x: int"
    ),
    "import cosmara": "import cosmara",
}


def _wall(code: str, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], env=env, check=True)
    return (time.perf_counter() - start) * 1000


def profile_import(runs: int) -> dict:
    env = import_env(bytecode_cache=True)
    names = list(_FLOORS)
    walls: dict[str, list[float]] = {n: [] for n in names}
    for name in names:
        _wall(_FLOORS[name], env)
    for round_no in range(runs):
        shift = round_no % len(names)
        for name in names[shift:] + names[:shift]:
            walls[name].append(_wall(_FLOORS[name], env))
    floors = {n: median(w) for n, w in walls.items()}
    print(
        f"\n## import floors: fresh processes (bytecode cached), {runs} interleaved runs, "
        "median wall ms\n"
    )
    print(
        table(
            ["process", "wall ms", "over python -c pass ms"],
            [[n, floors[n], floors[n] - floors["python -c pass"]] for n in names],
        )
    )

    # One profiled import (fresh process), repeated a few times; per-class times are medians.
    per_class: dict[str, list[float]] = {}
    profiles = []
    totals = []
    for _ in range(3):
        out = subprocess.run(
            [sys.executable, "-c", _CLASS_TIMER],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        data = json.loads(out)
        totals.append(data["total_ms"])
        for name, ms in data["classes"]:
            per_class.setdefault(name, []).append(ms)
        profiles.append(data["profile"])
    classes = sorted(((n, median(t)) for n, t in per_class.items()), key=lambda r: -r[1])
    ours = [(n, t) for n, t in classes if n.startswith("cosmara")]
    print(
        f"\n## pydantic model classes created by `import cosmara` (median of 3 fresh "
        f"processes; pydantic's model machinery imported first, then `import cosmara` took "
        f"{median(totals):.0f} ms under cProfile)\n"
    )
    print(
        f"{len(ours)} cosmara model classes, {sum(t for _, t in ours):.1f} ms in "
        f"ModelMetaclass.__new__ in total; the slowest:\n"
    )
    print(table(["class", "ms to create"], ours[:12]))

    # The profile of the median run: top functions by cumulative and own time.
    profile = profiles[sorted(range(3), key=lambda i: totals[i])[1]]
    by_cum = sorted(profile, key=lambda r: -r["cumtime_ms"])
    interesting = [
        r
        for r in by_cum
        if "<frozen" not in r["function"] and "{built-in method builtins.exec}" not in r["function"]
    ][:20]
    by_tot = sorted(profile, key=lambda r: -r["tottime_ms"])[:15]
    print(
        "\n## cProfile of `import cosmara`: top by cumulative time (profiler overhead "
        "inflates absolute figures)\n"
    )
    print(
        table(
            ["function", "cumulative ms", "own ms", "calls"],
            [[r["function"], r["cumtime_ms"], r["tottime_ms"], r["calls"]] for r in interesting],
        )
    )
    print("\n### top by own time\n")
    print(
        table(
            ["function", "own ms", "calls"],
            [[r["function"], r["tottime_ms"], r["calls"]] for r in by_tot],
        )
    )
    return {
        "floors_ms": floors,
        "floor_samples": walls,
        "classes_ms": classes,
        "import_profile_top_cumulative": interesting,
        "import_profile_top_own": by_tot,
    }


# --- one chat call ------------------------------------------------------------------------------


def _per_call_us(func, number: int, repeat: int = 7) -> float:
    times = timeit.Timer(func).repeat(repeat=repeat, number=number)
    return statistics.median(times) / number * 1e6


def profile_chat(base_url: str, calls: int, number: int) -> dict:
    import httpx
    import pydantic_core

    from cosmara import ChatRequest
    from cosmara._context import RequestContext
    from cosmara.providers._base import HttpResponse

    client = cosmara_client(base_url)
    for _ in range(300):  # warm: pools open, deferred pydantic schemas built, caches filled
        client.chat(model=MODEL, messages=MESSAGES)

    kwargs = {"model": MODEL, "messages": MESSAGES}
    call = client._call(ChatRequest, None, dict(kwargs))
    client._route.plan(call)
    target = call.plan.targets[0]
    provider = target.provider
    http = provider.chat_request(call.request, target.model, stream=False)
    attempts = client._pipeline.attempts
    response = client._transport.send(provider, http, attempts._window(call, target, stream=False))
    parsed = provider.parse_chat(response, target.model)
    body_dict = provider.chat_body(call.request, target.model, stream=False)

    raw_http = httpx.Client()
    url = base_url + "/chat/completions"
    raw_body = {"model": "gpt-4o-mini", "messages": MESSAGES}
    raw_headers = {"authorization": f"Bearer {API_KEY}"}
    raw_http.post(url, json=raw_body, headers=raw_headers)
    cosmara_http = client._transport._sync_pools()._clients[provider.name]

    settle = attempts._settle

    def loop_and_settle():
        loop = attempts._loop(call)
        for t in loop:
            loop.succeeded(t)
            return settle.answer(call, loop, t, parsed)

    steps = [
        (
            "1 validate + route: whole step (validate, context, route plan)",
            lambda: client._route.plan(client._call(ChatRequest, None, dict(kwargs))),
        ),
        ("1a   ChatRequest.model_validate(kwargs)", lambda: ChatRequest.model_validate(kwargs)),
        (
            "1b   RequestContext.build(base=client context)",
            lambda: RequestContext.build(base=client._context),
        ),
        ("1c   Router.plan(model)", lambda: client._router.plan(MODEL, ())),
        (
            "1d   plugins.emit('cosmara_request_start')",
            lambda: client.plugins.emit(
                "cosmara_request_start", request=call.request, context=call.context
            ),
        ),
        (
            "2 provider.chat_request: whole step",
            lambda: provider.chat_request(call.request, target.model, stream=False),
        ),
        (
            "2a   chat_body (request.model_dump(exclude_none, by_alias, exclude))",
            lambda: provider.chat_body(call.request, target.model, stream=False),
        ),
        ("2b   pydantic_core.to_json(body)", lambda: pydantic_core.to_json(body_dict)),
        ("2c   provider.headers()", provider.headers),
        ("2d   provider.chat_url() (base_url property)", lambda: provider.chat_url(target.model)),
        (
            "3 parse_chat: ChatResponse.model_validate_json(body)",
            lambda: provider.parse_chat(response, target.model),
        ),
        ("3r   (raw does) json.loads(body)", lambda: json.loads(response.body)),
        ("4 attempt loop + settle (CosmaraMeta, cost)", loop_and_settle),
        (
            "4a   Settle.meta (CosmaraMeta + cost)",
            lambda: settle.meta(call, attempts._loop(call), target, parsed.usage, parsed.model),
        ),
        (
            "4b   plugins.emit('cosmara_response')",
            lambda: client.plugins.emit(
                "cosmara_response", request=call.request, response=parsed, context=call.context
            ),
        ),
        ("5 HttpResponse(...) wrap", lambda: HttpResponse(200, response.headers, response.body)),
    ]
    results: dict = {"steps_us": {}}
    rows = []
    for name, func in steps:
        try:
            us = _per_call_us(func, number)
        except Exception as error:  # the engine's internals moved: say so, keep going
            print(f"step {name!r} could not be timed: {error!r}")
            us = float("nan")
        results["steps_us"][name] = us
        rows.append([name, us])

    # The I/O step against raw httpx, interleaved (network + server time included in both).
    def transport_send():
        client._transport.send(provider, http, attempts._window(call, target, stream=False))

    def httpx_request_same_args():
        cosmara_http.request(
            "POST", http.url, headers=http.headers, content=http.body, params=None, timeout=60.0
        )

    def raw_post():
        json.loads(raw_http.post(url, json=raw_body, headers=raw_headers).content)

    io_steps = {
        "6 Transport.send (client.request + wrap)": transport_send,
        "6a   cosmara's httpx.Client.request(same args, timeout=60.0)": httpx_request_same_args,
        "6r   raw httpx.Client.post(json=...) + json.loads (reference)": raw_post,
        "0 whole Cosmara.chat": lambda: client.chat(model=MODEL, messages=MESSAGES),
    }
    io_samples: dict[str, list[float]] = {n: [] for n in io_steps}
    names = list(io_steps)
    for round_no in range(15):
        shift = round_no % len(names)
        for name in names[shift:] + names[:shift]:
            io_samples[name].append(_per_call_us(io_steps[name], 100, repeat=1))
    for name in names:
        us = median(io_samples[name])
        results["steps_us"][name] = us
        rows.append([name, us])
    pure = sum(
        results["steps_us"][s]
        for s in (
            "1 validate + route: whole step (validate, context, route plan)",
            "2 provider.chat_request: whole step",
            "3 parse_chat: ChatResponse.model_validate_json(body)",
            "4 attempt loop + settle (CosmaraMeta, cost)",
        )
    )
    results["pure_steps_sum_us"] = pure
    rows.sort(key=lambda r: r[0])
    print(
        "\n## one Cosmara.chat call, step by step (µs per call; steps 1-5 pure CPU, "
        "6 and 0 include the local round trip)\n"
    )
    print(table(["step", "µs per call"], rows))
    print(
        f"\nsum of pure steps 1-4: {pure:.0f} µs; raw does json.loads "
        f"({results['steps_us']['3r   (raw does) json.loads(body)']:.0f} µs) and httpx's "
        f"own JSON encoding instead"
    )

    results["in_situ"] = in_situ(client, raw_post)

    # cProfile of real calls.
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(calls):
        client.chat(model=MODEL, messages=MESSAGES)
    profiler.disable()
    stats = pstats.Stats(profiler)
    total_tt = sum(v[2] for v in stats.stats.values())
    rows_prof = []
    for (filename, line, func), (_cc, nc, tt, ct, _callers) in stats.stats.items():
        short = filename.split("site-packages/")[-1].split("/src/")[-1]
        rows_prof.append(
            {
                "function": f"{short}:{line}({func})",
                "calls_per_chat": nc / calls,
                "own_us_per_chat": tt / calls * 1e6,
                "cum_us_per_chat": ct / calls * 1e6,
            }
        )
    by_own = sorted(rows_prof, key=lambda r: -r["own_us_per_chat"])[:25]
    cosmara_cum = sorted(
        (r for r in rows_prof if r["function"].startswith("cosmara/")),
        key=lambda r: -r["cum_us_per_chat"],
    )[:20]
    print(
        f"\n## cProfile of {calls} Cosmara.chat calls (profiler overhead inflates every "
        f"figure; total {total_tt / calls * 1e6:.0f} µs per call under the profiler)\n"
    )
    print("### top 25 functions by own time\n")
    print(
        table(
            ["function", "calls/chat", "own µs/chat", "cum µs/chat"],
            [
                [r["function"], r["calls_per_chat"], r["own_us_per_chat"], r["cum_us_per_chat"]]
                for r in by_own
            ],
        )
    )
    print("\n### cosmara functions by cumulative time\n")
    print(
        table(
            ["function", "calls/chat", "own µs/chat", "cum µs/chat"],
            [
                [r["function"], r["calls_per_chat"], r["own_us_per_chat"], r["cum_us_per_chat"]]
                for r in cosmara_cum
            ],
        )
    )
    results["cprofile_top_own"] = by_own
    results["cprofile_cosmara_cumulative"] = cosmara_cum
    results["cprofile_total_us_per_chat"] = total_tt / calls * 1e6
    raw_http.close()
    client.close()
    return results


def in_situ(client, raw_post, rounds: int = 20, batch: int = 100) -> dict:
    """Each step timed *inside* real sequential calls (the engine's methods wrapped).

    Tight loops keep caches hot and under-state what a step costs between two network
    waits; this measures the same steps where they really run. Wrappers cost ~0.2 µs each.
    """
    clock = time.perf_counter_ns
    provider = client.providers.get("openai")
    attempts = client._pipeline.attempts
    names = {
        "validate (arguments -> Call)": (client._validate, "call"),
        "route (plan, unfit)": (client._route, "plan"),
        "attempt loop setup": (attempts, "_loop"),
        "provider.chat_request (body, JSON, headers)": (provider, "chat_request"),
        "Transport.send (httpx request + wait)": (client._transport, "send"),
        "provider.parse_chat (model_validate_json)": (provider, "parse_chat"),
        "settle (meta, cost)": (attempts._settle, "answer"),
    }
    buckets: dict[str, list[int]] = {name: [] for name in names}
    originals = {}

    def wrap(name, owner, attr):
        original = getattr(owner, attr)
        bucket = buckets[name]

        def timed(*args, **kwargs):
            start = clock()
            try:
                return original(*args, **kwargs)
            finally:
                bucket.append(clock() - start)

        originals[name] = (owner, attr)
        setattr(owner, attr, timed)

    for name, (owner, attr) in list(names.items()):
        if callable(getattr(owner, attr, None)):
            wrap(name, owner, attr)
        else:  # the engine's internals moved
            print(f"in-situ step {name!r} skipped: {type(owner).__name__}.{attr} not found")
            del buckets[name]
    totals: list[int] = []
    raw_times: list[int] = []
    try:
        for _ in range(50):
            client.chat(model=MODEL, messages=MESSAGES)
        for bucket in buckets.values():
            bucket.clear()
        for round_no in range(rounds):
            order = ("raw", "cosmara") if round_no % 2 else ("cosmara", "raw")
            for who in order:
                for _ in range(batch):
                    start = clock()
                    if who == "raw":
                        raw_post()
                        raw_times.append(clock() - start)
                    else:
                        client.chat(model=MODEL, messages=MESSAGES)
                        totals.append(clock() - start)
    finally:
        for owner, attr in originals.values():
            delattr(owner, attr)  # back to the class's method
    steps = {name: median(b) / 1000 for name, b in buckets.items()}
    send = buckets.get("Transport.send (httpx request + wait)") or [0] * len(totals)
    outside = [(t - s) / 1000 for t, s in zip(totals, send, strict=True)]
    result = {
        "steps_us": steps,
        "chat_total_us": median(totals) / 1000,
        "raw_post_us": median(raw_times) / 1000,
        "outside_transport_us": median(outside),
        "glue_us": median(outside)
        - sum(v for k, v in steps.items() if not k.startswith("Transport")),
    }
    rows = [[name, us] for name, us in steps.items()]
    rows.append(["whole Cosmara.chat (wrapped)", result["chat_total_us"]])
    rows.append(["raw httpx post + json.loads (reference, same rounds)", result["raw_post_us"]])
    rows.append(["Cosmara.chat minus Transport.send (per call)", result["outside_transport_us"]])
    rows.append(["  of which glue between the steps", result["glue_us"]])
    print(
        f"\n## steps timed inside {len(totals)} real Cosmara.chat calls (median µs per call), "
        f"interleaved with raw httpx posts\n"
    )
    print(table(["step", "µs per call"], rows))
    return result


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--import-runs", type=int, default=9)
    parser.add_argument("--profile-calls", type=int, default=2000)
    parser.add_argument("--number", type=int, default=2000, help="loops per timing of a step")
    parser.add_argument("--skip-import", action="store_true")
    parser.add_argument("--skip-chat", action="store_true")
    parser.add_argument("--json")
    args = parser.parse_args()
    results: dict = {}
    if not args.skip_import:
        results["import"] = profile_import(args.import_runs)
    if not args.skip_chat:
        with emulator() as base_url:
            results["chat"] = profile_chat(base_url, args.profile_calls, args.number)
    write_json(args.json, results)
    return results


if __name__ == "__main__":
    main()
