"""A policy set: every file of a directory validated together, versioned by a content hash."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from brain.governance.schema import EFFECTS, PolicyFile, Problem, Rule, parse_file, policy_files


@dataclass(frozen=True)
class PolicySet:
    """The rules in evaluation order (priority desc, then file name, then position)."""

    version: str
    directory: str
    files: tuple[PolicyFile, ...]
    rules: tuple[Rule, ...]
    default: str
    tenant_plans: dict[str, str]
    # Payload paths some rule tests: only these take part in the cache key.
    payload_fields: tuple[str, ...]
    loaded_at: float = field(default_factory=time.time)

    def describe(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "directory": self.directory,
            "default": self.default,
            "loaded_at": self.loaded_at,
            "files": [
                {"name": f.name, "sha256": f.sha256, "default": f.default, "rules": [r.id for r in f.rules]}
                for f in self.files
            ],
            "rules": [r.as_dict() for r in self.rules],
            "tenant_plans": self.tenant_plans,
        }


class PolicyError(Exception):
    """A policy directory failed validation; `problems` lists every error found."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


def read_directory(directory: Path) -> list[tuple[str, bytes]]:
    if not directory.is_dir():
        raise PolicyError([Problem(str(directory), "policy directory does not exist")])
    return [(p.name, p.read_bytes()) for p in policy_files(directory)]


def version_of(contents: list[tuple[str, bytes]]) -> str:
    """Content hash of the whole set: names and bytes, so any edit, add or removal changes it."""
    digest = hashlib.sha256()
    for name, data in sorted(contents):
        digest.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
    return digest.hexdigest()[:16]


def build(directory: Path, contents: list[tuple[str, bytes]]) -> PolicySet:
    """Validate every file; all problems are collected and raised together, nothing half-loads."""
    problems: list[Problem] = []
    files: list[PolicyFile] = []
    for name, data in contents:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            problems.append(Problem(name, "not UTF-8 text"))
            continue
        parsed, errors = parse_file(name, text, hashlib.sha256(data).hexdigest())
        problems.extend(errors)
        if parsed is not None:
            files.append(parsed)
    seen: dict[str, str] = {}
    for f in files:
        for rule in f.rules:
            if rule.id in seen:
                problems.append(Problem(f.name, f"duplicate rule id (also in {seen[rule.id]})", rule.id, "id"))
            seen.setdefault(rule.id, f.name)
    if problems:
        raise PolicyError(problems)
    rules = sorted((r for f in files for r in f.rules), key=lambda r: (-r.priority, r.file, r.index))
    defaults = [f.default for f in files if f.default]
    # Several files may declare a default: the strictest one holds.
    default = max(defaults, key=EFFECTS.index) if defaults else "allow"
    plans: dict[str, str] = {}
    for f in files:
        plans.update(f.tenant_plans)
    fields = sorted({c.field for r in rules for c in r.conditions})
    return PolicySet(version_of(contents), str(directory), tuple(files), tuple(rules), default, plans, tuple(fields))


def load_directory(directory: str | Path) -> PolicySet:
    """Load and validate a directory of policy files; raises PolicyError listing every problem."""
    path = Path(directory)
    return build(path, read_directory(path))
