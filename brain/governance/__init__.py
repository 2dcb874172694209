"""Governance: policy files, the cached governor at enqueue, and the worker re-check."""

from brain.governance.evaluator import Inputs, Verdict, evaluate, explain
from brain.governance.governor import Decision, decide
from brain.governance.loader import PolicyError, PolicySet, load_directory
from brain.governance.store import PoliciesUnavailable, get_store, policies_dir

__all__ = [
    "Decision",
    "Inputs",
    "PoliciesUnavailable",
    "PolicyError",
    "PolicySet",
    "Verdict",
    "decide",
    "evaluate",
    "explain",
    "get_store",
    "load_directory",
    "policies_dir",
]
