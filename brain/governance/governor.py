"""The governor: one cached decision per (normalised inputs, policy-set version)."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from brain import metrics
from brain.config import Settings
from brain.fork_safe import ForkSafeLock
from brain.governance.cache import DecisionCache
from brain.governance.evaluator import Inputs, cache_key, evaluate
from brain.governance.store import get_store
from brain.state import get_redis


@dataclass(frozen=True)
class Decision:
    """One decision; `decision_id` is new on every call, even when the verdict was cached."""

    decision_id: str
    effect: str
    rule_id: str
    reason: str
    obligations: dict[str, Any]
    risk_tier: str
    policy_version: str
    cached: bool
    inputs: dict[str, Any] = field(default_factory=dict)

    def record(self) -> dict[str, Any]:
        """What the mission's `decision` column stores."""
        return {
            "decision_id": self.decision_id,
            "effect": self.effect,
            "rule_id": self.rule_id,
            "reason": self.reason,
            "policy_version": self.policy_version,
            "obligations": self.obligations,
            "inputs": self.inputs,
        }


_caches: dict[tuple[str, int], DecisionCache] = {}
_caches_lock = ForkSafeLock()


def get_cache(settings: Settings) -> DecisionCache:
    key = (settings.redis_url, settings.governor_cache_ttl_s)
    with _caches_lock:
        cache = _caches.get(key)
        if cache is None:
            cache = _caches[key] = DecisionCache(get_redis(settings), settings.governor_cache_ttl_s)
        return cache


def decide(settings: Settings, inputs: Inputs, *, use_cache: bool = True) -> Decision:
    """Decide on `inputs` with the policy set in force (the benchmark drives this in-process)."""
    started = time.perf_counter()
    policies = get_store(settings).current()
    normalised = inputs.normalised(policies)
    key = cache_key(policies, inputs)
    cache = get_cache(settings) if use_cache else None
    verdict = cache.get(key) if cache else None
    hit = verdict is not None
    if verdict is None:
        verdict = evaluate(policies, inputs).as_dict()
        if cache:
            cache.put(key, verdict)
    if cache:
        metrics.GOVERNOR_CACHE_REQUESTS.labels("hit" if hit else "miss").inc()
    metrics.GOVERNOR_DECISIONS.labels(verdict["effect"]).inc()
    metrics.GOVERNOR_DECISION_SECONDS.labels("hit" if hit else "miss").observe(time.perf_counter() - started)
    return Decision(
        decision_id=str(uuid.uuid4()),
        effect=verdict["effect"],
        rule_id=verdict["rule_id"],
        reason=verdict["reason"],
        obligations=verdict["obligations"],
        risk_tier=verdict["risk_tier"],
        policy_version=policies.version,
        cached=hit,
        inputs=normalised,
    )
