"""Running wrk (installed from apt when missing) and parsing what it prints."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

LUA_DIR = Path(__file__).resolve().parent / "lua"
_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


@dataclass
class WrkResult:
    requests: int
    duration_s: float
    rps: float
    p50_ms: float
    p90_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    errors: int
    non_2xx: int
    statuses: dict[int, int] = field(default_factory=dict)  # non-2xx answers by status code

    @property
    def error_rate(self) -> float:
        """Failed requests (socket errors and non-2xx/3xx) as a fraction of all attempted."""
        attempted = self.requests + self.errors - self.non_2xx
        return self.errors / attempted if attempted else 0.0


def ensure_wrk() -> str:
    """Path of wrk; apt-get installs it first when it is missing (like tests/run.sh does)."""
    found = shutil.which("wrk")
    if found:
        return found
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run([*sudo, "apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(
        [*sudo, "apt-get", "install", "-y", "-qq", "--no-install-recommends", "wrk"],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    found = shutil.which("wrk")
    if not found:
        raise RuntimeError("wrk is not installed and apt-get could not install it")
    return found


def to_ms(text: str) -> float:
    """wrk's duration strings (`850.00us`, `1.23ms`, `2.00s`, `1.00m`) in milliseconds."""
    match = re.fullmatch(r"\s*([0-9.]+)\s*(us|ms|s|m)\s*", text)
    if not match:
        raise ValueError(f"not a wrk duration: {text!r}")
    return float(match.group(1)) * _UNITS_MS[match.group(2)]


def parse_distribution(output: str) -> dict[int, float]:
    """wrk --latency's `Latency Distribution` block: {50: ms, 75: ms, 90: ms, 99: ms}."""
    dist: dict[int, float] = {}
    block = output.split("Latency Distribution", 1)
    if len(block) < 2:
        return dist
    for line in block[1].splitlines()[1:]:
        match = re.match(r"\s*(\d+(?:\.\d+)?)%\s+([0-9.]+(?:us|ms|s|m))\s*$", line)
        if not match:
            break
        dist[int(float(match.group(1)))] = to_ms(match.group(2))
    return dist


def parse_bench_lines(output: str) -> dict[str, int]:
    """The `BENCH key value` lines our Lua done() hook prints."""
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^BENCH (\w+) (-?\d+)\s*$", output, re.M)}


def parse_output(output: str) -> WrkResult:
    """A WrkResult from wrk's stdout: the BENCH lines when present, else wrk's own summary."""
    bench = parse_bench_lines(output)
    dist = parse_distribution(output)
    rps_match = re.search(r"Requests/sec:\s+([0-9.]+)", output)
    non2xx_match = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    if bench:
        requests = bench["requests"]
        duration_s = bench["duration_us"] / 1e6
        non_2xx = bench["errors_status"]
        errors = non_2xx + sum(bench[f"errors_{k}"] for k in ("connect", "read", "write", "timeout"))
        pct = {p: bench[f"p{p}_us"] / 1000 for p in (50, 90, 95, 99)}
        max_ms = bench["max_us"] / 1000
        rps = requests / duration_s if duration_s else 0.0
    else:
        total = re.search(r"(\d+) requests in ([0-9.]+(?:us|ms|s|m))", output)
        if not total or not dist:
            raise ValueError("wrk output has neither BENCH lines nor a latency distribution")
        requests, duration_s = int(total.group(1)), to_ms(total.group(2)) / 1000
        non_2xx = int(non2xx_match.group(1)) if non2xx_match else 0
        errors = non_2xx + (sum(int(g) for g in sock.groups()) if sock else 0)
        # wrk's table has no p95: the closest thing it prints is interpolated between 90 and 99.
        pct = {50: dist[50], 90: dist[90], 95: dist[90] + (dist[99] - dist[90]) * 5 / 9, 99: dist[99]}
        max_match = re.search(r"Latency\s+\S+\s+\S+\s+([0-9.]+(?:us|ms|s|m))", output)
        max_ms = to_ms(max_match.group(1)) if max_match else pct[99]
        rps = float(rps_match.group(1)) if rps_match else requests / duration_s
    statuses = {int(k[len("status_") :]): v for k, v in bench.items() if k.startswith("status_")}
    return WrkResult(
        requests=requests,
        duration_s=duration_s,
        rps=rps,
        p50_ms=pct[50],
        p90_ms=pct[90],
        p95_ms=pct[95],
        p99_ms=pct[99],
        max_ms=max_ms,
        errors=errors,
        non_2xx=non_2xx,
        statuses=statuses,
    )


def run(
    url: str,
    script: str,
    *,
    connections: int,
    seconds: float,
    threads: int = 2,
    env: dict[str, str] | None = None,
    timeout_s: int = 10,
) -> WrkResult:
    """wrk -c connections for seconds with bench/lua/<script>.lua; raises if wrk fails."""
    threads = max(1, min(threads, connections))
    args = [
        ensure_wrk(),
        "-t",
        str(threads),
        "-c",
        str(connections),
        "-d",
        f"{max(1, round(seconds))}s",
        "--timeout",
        f"{timeout_s}s",
        "--latency",
        "-s",
        str(LUA_DIR / f"{script}.lua"),
        url,
    ]
    full_env = {**os.environ, "BENCH_LUA_DIR": str(LUA_DIR), **(env or {})}
    proc = subprocess.run(args, capture_output=True, text=True, env=full_env, timeout=seconds + 60)
    if proc.returncode != 0:
        raise RuntimeError(f"wrk failed ({proc.returncode}): {proc.stderr or proc.stdout}")
    return parse_output(proc.stdout)
