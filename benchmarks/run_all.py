"""Run every Cosmara benchmark, one after another, and print a summary table of the targets.

Each benchmark runs in its own process (so one's imports and memory do not colour the
next) and writes its figures as JSON into ``--out`` (a fresh temporary directory by default);
``summary.json`` there collects them. Everything talks only to local Emulators on 127.0.0.1
and stops by itself: request counts are bounded, and each benchmark has a time limit.

    uv run --group bench python benchmarks/run_all.py            # full run, ~10-15 minutes
    uv run --group bench python benchmarks/run_all.py --quick    # smaller counts, ~3 minutes
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import BENCH_DIR, machine_info, offline_env, table, verdict, versions

FULL = {
    "import_time": [],
    "sequential_chat": [],
    "async_fanout": [],
    "memory_soak": [],
    "profile_engine": [],
    "spend_controls": [],
}
QUICK = {
    "import_time": ["--runs", "5", "--nocache-runs", "2", "--first-call-runs", "3"],
    "sequential_chat": ["--calls", "600", "--warmup", "50"],
    "async_fanout": ["--quick"],
    "memory_soak": [
        "--calls",
        "4000",
        "--stream-calls",
        "1000",
        "--every",
        "1000",
        "--stream-every",
        "250",
        "--no-control",
    ],
    "profile_engine": ["--import-runs", "3", "--profile-calls", "500", "--number", "500"],
    "spend_controls": ["--calls", "500", "--rounds", "3"],
}
TIME_LIMIT_S = 1500  # per benchmark: a hung run stops by itself


def run(name: str, extra: list[str], out: Path) -> dict | None:
    path = out / f"{name}.json"
    cmd = [sys.executable, str(BENCH_DIR / f"{name}.py"), "--json", str(path), *extra]
    print(f"\n{'=' * 100}\n$ {' '.join(cmd[1:])}\n{'=' * 100}", flush=True)
    start = time.perf_counter()
    try:
        subprocess.run(cmd, check=True, env=offline_env(), timeout=TIME_LIMIT_S)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as error:
        print(f"!! {name} failed: {error}", flush=True)
        return None
    print(f"({name}: {time.perf_counter() - start:.0f} s)", flush=True)
    return json.loads(path.read_text())


def summary_rows(results: dict) -> list[list]:
    rows = []
    imp = results.get("import_time")
    if imp:
        ref = imp["contenders"]["httpx, pydantic (reference)"]
        cos = imp["contenders"]["cosmara"]
        t = imp["targets"]
        rows.append(
            [
                "import cosmara, wall ms (bytecode cached)",
                cos["wall_ms"],
                f"httpx+pydantic {ref['wall_ms']:.0f}",
                cos["wall_ratio_vs_ref"],
                "<= 150",
                verdict(t["import_wall_ms"]["met"]),
            ]
        )
        rows.append(
            [
                "import cosmara, peak RSS MB",
                cos["rss_mb"],
                f"httpx+pydantic {ref['rss_mb']:.1f}",
                cos["rss_ratio_vs_ref"],
                "<= 45",
                verdict(t["import_rss_mb"]["met"]),
            ]
        )
        cold = imp.get("no_bytecode_cache")
        if cold:
            rows.append(
                [
                    "import cosmara, wall ms (no bytecode cache; info)",
                    cold["cosmara"]["wall_ms"],
                    f"httpx+pydantic {cold['httpx, pydantic (reference)']['wall_ms']:.0f}",
                    cold["cosmara"]["wall_ratio_vs_ref"],
                    "-",
                    "info",
                ]
            )
    seq = results.get("sequential_chat")
    if seq:
        c = seq["contenders"]
        raw, cos = c["raw httpx (reference)"], c["Cosmara.chat"]
        rows.append(
            [
                "sequential chat: Cosmara µs per call",
                cos["median_us"],
                f"raw httpx {raw['median_us']:.0f}",
                cos["ratio_vs_raw"],
                "-",
                "info",
            ]
        )
        rows.append(
            [
                "sequential chat: Cosmara added µs over raw",
                cos["added_over_raw_us"],
                "raw httpx",
                "-",
                "<= 100",
                verdict(seq["targets"]["added_over_raw_us"]["met"]),
            ]
        )
        if "ratio_vs_openai" in seq["targets"]:
            oa = c["openai SDK"]
            rows.append(
                [
                    "sequential chat: Cosmara / openai SDK",
                    seq["cosmara_over_openai"],
                    f"openai {oa['median_us']:.0f} µs",
                    seq["cosmara_over_openai"],
                    "< 1.0",
                    verdict(seq["targets"]["ratio_vs_openai"]["met"]),
                ]
            )
        if "litellm.completion" in c:
            rows.append(
                [
                    "sequential chat: Cosmara / litellm",
                    seq["cosmara_over_litellm"],
                    f"litellm {c['litellm.completion']['median_us']:.0f} µs",
                    seq["cosmara_over_litellm"],
                    "-",
                    "info",
                ]
            )
    fan = results.get("async_fanout")
    if fan:
        for name, entry in fan["targets"].items():
            rows.append(
                [
                    name,
                    entry["value"],
                    "same run",
                    entry["value"],
                    entry["target"],
                    verdict(entry["met"]),
                ]
            )
    mem = results.get("memory_soak")
    if mem:
        for kind in ("chat", "stream"):
            d = mem[kind]
            rows.append(
                [
                    f"memory, {d['calls']:,} {kind} calls: traced B/request, 2nd half",
                    d["traced_bytes_per_request_second_half"],
                    f"RSS {d['rss_growth_mb']:+.1f} MB",
                    "-",
                    "flat",
                    verdict(d["flat"]),
                ]
            )
    spend = results.get("spend_controls")
    if spend:
        for store, found in spend["results"].items():
            if store == "redis":
                target, met = "<= 1 round trip", found["round_trips"] <= 1.0
                reference = f"PING {found['ping_us']:.0f} µs"
            else:
                target = "<= 20" if store == "memory" else "<= 200"
                met = found["overhead_us"] <= (20.0 if store == "memory" else 200.0)
                reference = f"plain call {found['plain_us']:.0f} µs"
            rows.append(
                [
                    f"budgets + limits + ledger on {store}: µs added per call",
                    found["overhead_us"],
                    reference,
                    found.get("round_trips", "-"),
                    target,
                    verdict(met),
                ]
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller counts (a smoke run)")
    parser.add_argument("--out", help="directory for the JSON results (default: a temp dir)")
    parser.add_argument("--only", nargs="*", choices=list(FULL), help="run only these")
    args = parser.parse_args()
    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="cosmara-bench-"))
    out.mkdir(parents=True, exist_ok=True)
    plan = QUICK if args.quick else FULL
    started = time.perf_counter()
    results: dict = {}
    for name, extra in plan.items():
        if args.only and name not in args.only:
            continue
        data = run(name, extra, out)
        if data is not None:
            results[name] = data
    summary = {
        "machine": machine_info(),
        "versions": versions(
            "cosmara", "httpx", "httpcore", "pydantic", "pydantic-core", "openai", "litellm"
        ),
        "quick": args.quick,
        "seconds": time.perf_counter() - started,
        "results": results,
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    m = summary["machine"]
    print(
        f"\n{'=' * 100}\n# summary ({m['date']}; Python {m['python']}, {m['nproc']} CPUs; "
        f"{summary['seconds'] / 60:.1f} min)\n"
    )
    print(
        table(
            ["measure", "Cosmara", "reference", "ratio", "target", "verdict"], summary_rows(results)
        )
    )
    print("\nversions: " + ", ".join(f"{k} {v}" for k, v in summary["versions"].items()))
    print(f"JSON results: {out}")


if __name__ == "__main__":
    main()
