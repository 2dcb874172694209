"""`python -m bench [--quick] [--soak SECONDS] [--out FILE]`: set everything up, run every scenario, report."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
import traceback
from pathlib import Path

from bench import fairness_scenarios, http_scenarios, io_scenarios, pipeline_scenarios, worker_scenarios
from bench.figures import Results
from bench.machine import facts
from bench.stack import Stack
from bench.targets import table
from bench.wrk import ensure_wrk

DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "latest.json"

# quick: under 3 minutes; full: under 15 (without --soak).
PLANS = {
    "quick": {
        "enqueue_s": 5,
        "e2e_count": 1000,
        "ramp_stage_s": 4,
        "scale_s": 4,
        "backlog": 10_000,
        "table_rows": 10_000,
        "decisions": 20_000,
        "io_prefork": 100,
        "io_green": 2000,
        "io_bare": 2000,
        "batches": 10,
        "budget_missions": 200,
        "fair_backlog": 5000,
        "fair_window_s": 20,
        "fair_share_rows": 1500,
        "pipeline_nodes": 1000,
    },
    "full": {
        "enqueue_s": 15,
        "e2e_count": 5000,
        "ramp_stage_s": 10,
        "scale_s": 10,
        "backlog": 50_000,
        "table_rows": 100_000,
        "decisions": 50_000,
        "io_prefork": 300,
        "io_green": 5000,
        "io_bare": 5000,
        "batches": 40,
        "budget_missions": 200,
        "fair_backlog": 20_000,
        "fair_window_s": 60,
        "fair_share_rows": 3000,
        "pipeline_nodes": 1000,
    },
}


def _key_value(item: str) -> tuple[str, str]:
    key, sep, value = item.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {item!r}")
    return key, value


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="shorter runs and smaller data (< 3 minutes)")
    parser.add_argument(
        "--soak",
        type=float,
        default=0,
        metavar="SECONDS",
        help="also run the soak scenario for SECONDS (not part of --quick)",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"JSON results file (default {DEFAULT_OUT})")
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="SCENARIO",
        help="run just this scenario (repeatable), e.g. --only pipelines; the others print n/a",
    )
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        type=_key_value,
        help="extra environment for BRAiN's processes (repeatable), e.g. a rate limit",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    mode = "quick" if args.quick else "full"
    plan = PLANS[mode]
    ensure_wrk()
    started = time.monotonic()
    extra = dict(args.env)
    stack = Stack.start({"NEURORAIL_PHASE": "2", **extra})
    res = Results()
    info = {"mode": mode, "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
    try:
        info["machine"] = facts(stack)
        log(f"bench: {mode} run; {stack.auth_note}; data in {stack.data_dir}")
        api, api_url = stack.start_api("api")
        _, peer_url = stack.start_peer_api()
        failed = run_all(stack, res, plan, args.soak, api, api_url, peer_url, set(args.only))
    except BaseException:
        failed = 1
        raise
    finally:
        stack.stop(keep_logs=bool(failed))
        if failed:
            log(f"bench: process logs kept in {stack.data_dir}")
    info["duration_s"] = round(time.monotonic() - started, 1)
    figures = {f.name: f for f in res.figures}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({**info, "figures": res.as_json()}, indent=2) + "\n")
    args.out.with_suffix(".md").write_text(table(figures) + "\n")
    log(f"\n{table(figures)}\n\nbench: {info['duration_s']} s; wrote {args.out} and {args.out.with_suffix('.md')}")
    return 0


def run_all(
    stack: Stack, res: Results, plan: dict, soak_s: float, api, api_url: str, peer_url: str, only: set[str]
) -> int:
    """Run every scenario (or those in `only`); returns how many failed (their figures are missing)."""

    def e2e() -> None:
        off, off_url = stack.start_api("api-norails", NEURORAIL_PHASE="0")
        try:
            worker_scenarios.e2e_brain(stack, res, plan["e2e_count"], api_url, off_url)
        finally:
            off.stop()
        worker_scenarios.e2e_peer(stack, res, plan["e2e_count"], peer_url)
        worker_scenarios.e2e_ratios(res)

    scenarios = [
        ("enqueue", lambda: http_scenarios.enqueue(stack, res, api_url, peer_url, plan["enqueue_s"])),
        ("batch", lambda: http_scenarios.batch(stack, res, api_url, plan["batches"])),
        ("end to end", e2e),
        ("seed load ramp", lambda: http_scenarios.ramp(stack, res, api_url, peer_url, plan["ramp_stage_s"])),
        (
            "scale",
            lambda: http_scenarios.scale(stack, res, api_url, plan["scale_s"], plan["backlog"], plan["table_rows"]),
        ),
        ("governor", lambda: worker_scenarios.governor(stack, res, plan["decisions"])),
        (
            "io",
            lambda: io_scenarios.io(stack, res, api_url, plan["io_prefork"], plan["io_green"], plan["io_bare"]),
        ),
        ("pipelines", lambda: pipeline_scenarios.pipelines(stack, res, api_url, plan["pipeline_nodes"])),
        ("budget-stream", lambda: io_scenarios.budget_stream(stack, res, api_url, plan["budget_missions"])),
        (
            "fairness",
            lambda: fairness_scenarios.fairness(
                stack, res, plan["fair_backlog"], plan["fair_window_s"], plan["fair_share_rows"]
            ),
        ),
    ]
    if soak_s > 0:
        scenarios.append(("soak", lambda: worker_scenarios.soak(stack, res, soak_s, api, api_url)))
    unknown = only - {name for name, _ in scenarios}
    if unknown:
        names = ", ".join(name for name, _ in scenarios)
        raise SystemExit(f"bench: no scenario {', '.join(sorted(unknown))}; there are {names}")
    failed = 0
    for name, run in scenarios:
        if only and name not in only:
            continue
        step(name)
        try:
            run()
        except Exception:  # noqa: BLE001 - one broken scenario must not hide the others' figures
            failed += 1
            log(f"bench: {name} failed; its figures are missing (n/a in the table):\n{traceback.format_exc()}")
    return failed


def step(name: str) -> None:
    log(f"bench: {name} ({time.strftime('%H:%M:%S')})")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
