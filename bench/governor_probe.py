"""Governor figures in-process: run as `python -m bench.governor_probe N` with the stack's environment."""

from __future__ import annotations

import json
import random
import sys
import time


def probe(decisions: int) -> dict:
    """Decide `decisions` times over a few hundred agent/tenant/priority mixes; hit rate and p95s."""
    from brain.agents.registry import load_agents, registered_agents
    from brain.config import get_settings
    from brain.governance.evaluator import Inputs
    from brain.governance.governor import decide, get_cache

    settings = get_settings()
    load_agents(settings.agent_modules)
    agents = sorted(registered_agents())
    tenants = [f"tenant-{n}" for n in range(40)]
    priorities = ("LOW", "NORMAL", "HIGH", "CRITICAL")
    combos = [(a, t, p) for a in agents for t in tenants for p in priorities]
    get_cache(settings).clear_local()
    rng = random.Random(7)
    # Mixed traffic: a few hot combinations and a long tail, as tenants and agents are in practice.
    weights = [1 / (i + 1) for i in range(len(combos))]
    hit_times: list[float] = []
    miss_times: list[float] = []
    for agent, tenant, priority in rng.choices(combos, weights, k=decisions):
        started = time.perf_counter()
        decision = decide(settings, Inputs(agent=agent, tenant=tenant, priority=priority))
        (hit_times if decision.cached else miss_times).append((time.perf_counter() - started) * 1000)
    return {
        "combinations": len(combos),
        "decisions": decisions,
        "hit_rate": len(hit_times) / decisions,
        "cached_p95_ms": _p95(hit_times),
        "uncached_p95_ms": _p95(miss_times),
    }


def _p95(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


if __name__ == "__main__":
    print(json.dumps(probe(int(sys.argv[1]) if len(sys.argv) > 1 else 3000)))
