"""Import cost of ``cosmara`` against its own dependencies, the OpenAI SDK and LiteLLM.

Each measurement is a fresh ``python -c "import X"`` process. Wall time is measured by the
parent around spawn-to-exit; peak RSS is that child's own ``ru_maxrss``, read with
``os.wait4`` on its pid (exact per child, no wrapper code in the child). Contenders run
interleaved in rounds (A, B, C, A, B, C, ...) so machine noise hits all of them alike.

Reference: ``import httpx, pydantic`` (the two libraries cosmara is built on). Baseline:
``python -c pass`` (interpreter start-up, included in every other figure).

Two cases, because this machine runs with ``PYTHONDONTWRITEBYTECODE=1`` and uv does not
precompile: "bytecode cached" (the usual state after ``pip install`` or a first import; the
.pyc files live under a private prefix in the temp directory) is what the targets are judged
on; "no bytecode cache" (every module compiled from source on every start) is reported too.

    uv run --group bench python benchmarks/import_time.py [--runs 15] [--json out.json]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time

from _common import (
    emulator_process,
    have,
    import_env,
    machine_info,
    median,
    paired_ratio,
    table,
    verdict,
    versions,
    write_json,
)

TARGET_WALL_MS = 150.0
TARGET_RSS_MB = 45.0
TARGET_RATIO = 1.1  # against `import httpx, pydantic`, the libraries cosmara stands on

_FIRST_CALL = {
    "cosmara": (
        "import os; from cosmara import Cosmara; "
        "c = Cosmara(providers={'openai': {'base_url': os.environ['BENCH_BASE_URL'], "
        "'api_key': 'sk-bench'}}, load_entry_points=False); "
        "c.chat(model='openai/gpt-4o-mini', messages=[{'role': 'user', 'content': 'Hi'}])"
    ),
    "httpx (raw)": (
        "import os, json, httpx; c = httpx.Client(); "
        "json.loads(c.post(os.environ['BENCH_BASE_URL'] + '/chat/completions', "
        "json={'model': 'gpt-4o-mini', 'messages': [{'role': 'user', 'content': 'Hi'}]}, "
        "headers={'authorization': 'Bearer sk-bench'}).content)"
    ),
    "openai": (
        "import os, openai; c = openai.OpenAI(base_url=os.environ['BENCH_BASE_URL'], "
        "api_key='sk-bench', max_retries=0); "
        "c.chat.completions.create(model='gpt-4o-mini', "
        "messages=[{'role': 'user', 'content': 'Hi'}])"
    ),
    "litellm": (
        "import os, litellm; litellm.completion(model='openai/gpt-4o-mini', "
        "api_base=os.environ['BENCH_BASE_URL'], api_key='sk-bench', "
        "messages=[{'role': 'user', 'content': 'Hi'}])"
    ),
}


def run_child(code: str, env: dict[str, str]) -> tuple[float, float]:
    """(wall ms, peak RSS MB) of one fresh ``python -c code``."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = (time.perf_counter() - start) * 1000
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read() if proc.stderr else b""
    if proc.stderr:
        proc.stderr.close()
    if proc.returncode != 0:
        raise RuntimeError(f"child failed: {code!r}\n{err.decode(errors='replace')[-2000:]}")
    return wall, usage.ru_maxrss / 1024  # Linux: KiB


def measure(contenders: dict[str, str], runs: int, env: dict[str, str]) -> dict[str, dict]:
    walls: dict[str, list[float]] = {name: [] for name in contenders}
    rss: dict[str, list[float]] = {name: [] for name in contenders}
    names = list(contenders)
    for name in names:  # warm the OS page cache once; not counted
        run_child(contenders[name], env)
    for round_no in range(runs):
        # Rotate the order each round so no contender always runs first (or after a big one).
        order = names[round_no % len(names) :] + names[: round_no % len(names)]
        for name in order:
            wall, peak = run_child(contenders[name], env)
            walls[name].append(wall)
            rss[name].append(peak)
    return {name: {"wall_ms": walls[name], "rss_mb": rss[name]} for name in names}


def importtime_top(
    module: str, env: dict[str, str], top: int = 10, runs: int = 5
) -> tuple[list[dict], list[dict]]:
    """The modules ``import module`` pulls in, by cumulative import time (-X importtime).

    Median per module over ``runs`` processes (single runs are noisy on a shared box).
    """
    pattern = re.compile(r"import time:\s+(\d+)\s+\|\s+(\d+)\s+\|(\s*)(\S+)")
    seen: dict[str, dict] = {}
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", f"import {module}"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stderr
        for line in out.splitlines():
            match = pattern.match(line)
            if match:
                self_us, cum_us, indent, name = match.groups()
                row = seen.setdefault(
                    name, {"module": name, "self": [], "cum": [], "depth": (len(indent) - 1) // 2}
                )
                row["self"].append(int(self_us) / 1000)
                row["cum"].append(int(cum_us) / 1000)
    rows = [
        {
            "module": r["module"],
            "self_ms": median(r["self"]),
            "cumulative_ms": median(r["cum"]),
            "depth": r["depth"],
        }
        for r in seen.values()
    ]
    # Show what the module *pulls in*, then its own submodules by self time.
    third_party = [r for r in rows if not r["module"].startswith(module)]
    own = [r for r in rows if r["module"].startswith(module)]
    third_party.sort(key=lambda r: r["cumulative_ms"], reverse=True)
    own.sort(key=lambda r: r["self_ms"], reverse=True)
    return third_party[:top], own[:top]


def loaded_modules(module: str, env: dict[str, str]) -> dict:
    code = (
        "import sys, json; before = set(sys.modules); "
        f"import {module}; "
        "new = sorted(set(sys.modules) - before); "
        "tops = sorted({m.split('.')[0] for m in new}); "
        "print(json.dumps({'count': len(new), 'top_level': tops}))"
    )
    import json

    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout
    return json.loads(out)


def summarize(samples: dict[str, dict], ref: str, base: str) -> tuple[dict, list]:
    entries, rows = {}, []
    for name, data in samples.items():
        wall, rss = median(data["wall_ms"]), median(data["rss_mb"])
        entry = {
            "wall_ms": wall,
            "rss_mb": rss,
            "wall_over_baseline_ms": wall - median(samples[base]["wall_ms"]),
            "wall_ratio_vs_ref": paired_ratio(data["wall_ms"], samples[ref]["wall_ms"]),
            "rss_ratio_vs_ref": paired_ratio(data["rss_mb"], samples[ref]["rss_mb"]),
            "wall_min_ms": min(data["wall_ms"]),
            "wall_max_ms": max(data["wall_ms"]),
        }
        entries[name] = entry
        rows.append(
            [
                name,
                entry["wall_ms"],
                entry["wall_over_baseline_ms"],
                entry["wall_ratio_vs_ref"],
                entry["rss_mb"],
                entry["rss_ratio_vs_ref"],
            ]
        )
    return entries, rows


HEADERS = [
    "import",
    "wall ms (median)",
    "over baseline ms",
    "wall / ref",
    "peak RSS MB",
    "RSS / ref",
]


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15, help="runs per contender, cached bytecode")
    parser.add_argument(
        "--nocache-runs",
        type=int,
        default=5,
        help="runs per contender without bytecode cache (0 skips)",
    )
    parser.add_argument("--first-call-runs", type=int, default=7)
    parser.add_argument("--json")
    args = parser.parse_args()
    env = import_env(bytecode_cache=True)

    contenders = {
        "python -c pass (baseline)": "pass",
        "httpx, pydantic (reference)": "import httpx, pydantic",
        "cosmara": "import cosmara",
        "openai": "import openai",
    }
    if have("litellm"):
        contenders["litellm"] = "import litellm"
    ref = "httpx, pydantic (reference)"
    base = "python -c pass (baseline)"
    results: dict = {"machine": machine_info(), "runs": args.runs}

    samples = measure(contenders, args.runs, env)
    results["contenders"], rows = summarize(samples, ref, base)
    print(f"\n## import time, bytecode cached: {args.runs} fresh processes each, interleaved\n")
    print(table(HEADERS, rows))

    if args.nocache_runs:
        cold = measure(contenders, args.nocache_runs, import_env(bytecode_cache=False))
        results["no_bytecode_cache"], rows = summarize(cold, ref, base)
        results["nocache_runs"] = args.nocache_runs
        print(
            f"\n## import time, no bytecode cache (every module compiled): "
            f"{args.nocache_runs} fresh processes each, interleaved\n"
        )
        print(table(HEADERS, rows))

    cos = results["contenders"]["cosmara"]
    wall_ok = cos["wall_ms"] <= TARGET_WALL_MS
    rss_ok = cos["rss_mb"] <= TARGET_RSS_MB
    ratio = cos["wall_ratio_vs_ref"]  # paired round by round, as in the table
    ratio_ok = ratio <= TARGET_RATIO
    results["targets"] = {
        "import_wall_ms": {"target": TARGET_WALL_MS, "value": cos["wall_ms"], "met": wall_ok},
        "import_rss_mb": {"target": TARGET_RSS_MB, "value": cos["rss_mb"], "met": rss_ok},
        "import_ratio": {"target": TARGET_RATIO, "value": ratio, "met": ratio_ok},
    }
    print(
        f"\ntarget: import cosmara <= {TARGET_WALL_MS:.0f} ms wall (bytecode cached): "
        f"{cos['wall_ms']:.1f} ms -> {verdict(wall_ok)}"
    )
    print(
        f"target: import cosmara <= {TARGET_RSS_MB:.0f} MB peak RSS (bytecode cached): "
        f"{cos['rss_mb']:.1f} MB -> {verdict(rss_ok)}"
    )
    print(
        f"target: import cosmara <= {TARGET_RATIO}x import httpx, pydantic (same run): "
        f"{ratio:.2f}x -> {verdict(ratio_ok)}"
    )

    # What `import cosmara` pulls in (median of 5 -X importtime runs).
    pulled, own = importtime_top("cosmara", env)
    mods = loaded_modules("cosmara", env)
    results["importtime_third_party"] = pulled
    results["importtime_own"] = own
    results["loaded_modules"] = mods
    print(
        "\n### heaviest modules pulled in by `import cosmara` (-X importtime, cumulative, "
        "median of 5 runs, bytecode cached)\n"
    )
    print(
        table(
            ["module", "cumulative ms", "self ms", "nesting"],
            [[r["module"], r["cumulative_ms"], r["self_ms"], r["depth"]] for r in pulled],
        )
    )
    print("\n### cosmara's own modules by self time\n")
    print(table(["module", "self ms"], [[r["module"], r["self_ms"]] for r in own]))
    print(
        f"\n`import cosmara` loads {mods['count']} modules; top-level packages: "
        + ", ".join(t for t in mods["top_level"] if not t.startswith("_"))
    )

    # Time to first response in a fresh process: import + client + first call (lazy imports
    # move cost from import to here). Informational, no target.
    with emulator_process() as base_url:
        env_call = dict(env, BENCH_BASE_URL=base_url)
        first = {
            name: code for name, code in _FIRST_CALL.items() if name != "litellm" or have("litellm")
        }
        first_samples = measure(first, args.first_call_runs, env_call)
    ref_first = "httpx (raw)"
    rows = []
    results["first_call"] = {}
    for name, data in first_samples.items():
        entry = {
            "wall_ms": median(data["wall_ms"]),
            "rss_mb": median(data["rss_mb"]),
            "wall_ratio_vs_raw": paired_ratio(data["wall_ms"], first_samples[ref_first]["wall_ms"]),
        }
        results["first_call"][name] = entry
        rows.append([name, entry["wall_ms"], entry["wall_ratio_vs_raw"], entry["rss_mb"]])
    print(
        f"\n### fresh process: import + client + first chat call ({args.first_call_runs} runs, "
        "bytecode cached, informational)\n"
    )
    print(table(["contender", "wall ms (median)", "wall / raw httpx", "peak RSS MB"], rows))
    results["versions"] = versions("cosmara", "httpx", "pydantic", "openai", "litellm")
    write_json(args.json, results)
    return results


if __name__ == "__main__":
    main()
