"""The policy set in force in this process: reloaded on request or when a file changes."""

from __future__ import annotations

import functools
import logging
import os
import sys
from pathlib import Path

from brain.config import Settings
from brain.errors import DependencyUnavailable
from brain.fork_safe import ForkSafeLock
from brain.governance.loader import PolicyError, PolicySet, build, read_directory
from brain.governance.schema import Problem

log = logging.getLogger("brain.governance")


class PoliciesUnavailable(DependencyUnavailable):
    """No valid policy set was ever loaded: the governor fails closed."""

    error = "policies_unavailable"


@functools.cache
def default_policies_dir() -> Path:
    """The repo's policies/ next to the package, else the copy installed under share/brain/."""
    here = Path(__file__).resolve().parent.parent.parent / "policies"
    if here.is_dir():
        return here
    return Path(sys.prefix) / "share" / "brain" / "policies"


def policies_dir(settings: Settings) -> Path:
    return Path(settings.policies_dir).expanduser() if settings.policies_dir else default_policies_dir()


def _signature(directory: Path) -> tuple:
    """Cheap fingerprint (names, sizes, mtimes) used to notice an edited, added or removed file."""
    try:
        entries = sorted(os.scandir(directory), key=lambda e: e.name)
    except OSError:
        return ("missing",)
    return tuple(
        (e.name, e.stat().st_mtime_ns, e.stat().st_size)
        for e in entries
        if e.name.endswith((".yaml", ".yml")) and not e.name.startswith(".")
    )


class PolicyStore:
    """Holds the last good set; a broken edit is reported and never replaces it."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._lock = ForkSafeLock()
        self._set: PolicySet | None = None
        self._seen: tuple | None = None  # signature of the last attempt, good or bad
        self.problems: list[Problem] = []

    @property
    def active(self) -> PolicySet | None:
        """The set in force, without looking at the files."""
        return self._set

    def current(self) -> PolicySet:
        """The set in force, reloading first when the files changed since the last attempt."""
        signature = _signature(self.directory)
        if signature != self._seen or self._set is None:
            # Another thread may be loading right now: wait for it rather than see no set.
            with self._lock:
                if signature != self._seen or self._set is None:
                    self._reload_locked()
        if self._set is None:
            raise PoliciesUnavailable(
                f"no valid policy set loaded from {self.directory}", problems=[p.as_dict() for p in self.problems]
            )
        return self._set

    def reload(self) -> tuple[PolicySet | None, list[Problem]]:
        """Read and validate every file; on any problem keep the previous set."""
        with self._lock:
            return self._reload_locked()

    def _reload_locked(self) -> tuple[PolicySet | None, list[Problem]]:
        self._seen = _signature(self.directory)
        try:
            new = build(self.directory, read_directory(self.directory))
        except PolicyError as exc:
            self.problems = exc.problems
            log.error("policy reload failed; keeping version %s: %s", self._set.version if self._set else None, exc)
            return self._set, exc.problems
        if self._set is None or new.version != self._set.version:
            log.info("policy set %s loaded from %s (%d rules)", new.version, self.directory, len(new.rules))
        self._set, self.problems = new, []
        return new, []


_stores: dict[Path, PolicyStore] = {}
_stores_lock = ForkSafeLock()


def get_store(settings: Settings) -> PolicyStore:
    """One store per policy directory per process."""
    directory = policies_dir(settings)
    with _stores_lock:
        store = _stores.get(directory)
        if store is None:
            store = _stores[directory] = PolicyStore(directory)
        return store
