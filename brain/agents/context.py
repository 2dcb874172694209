"""RunContext: what an agent sees while it runs (deadline, cancellation, usage, logging)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from brain.errors import BrainError


class MissionCancelled(BrainError):
    """Raised inside an agent when its mission was cancelled."""

    error = "cancelled"


@dataclass
class Usage:
    tokens: int = 0
    cost_usd: float = 0.0


@dataclass
class RunContext:
    """Handed to Agent.run; cheap to query often."""

    mission_id: str
    attempt: int
    deadline: float  # time.monotonic() value after which the soft limit fires
    is_cancelled: Callable[[], bool]
    log: logging.Logger = field(default_factory=lambda: logging.getLogger("brain.agent"))
    tenant: str = "default"  # whose limits (llm_tokens_per_minute) the agent's calls count against
    usage: Usage = field(default_factory=Usage)
    # Set by the budget rail: checks a charge against every limit, raises OverBudget.
    on_charge: Callable[[int, float], None] | None = None
    # Set by the budget rail from the mission's own max_tokens: a cap no call may ask past.
    token_cap: int | None = None
    _checked_at: float = 0.0
    _cancelled: bool = False

    @property
    def cancelled(self) -> bool:
        """True once the mission was cancelled; looks it up at most every 0.2 s."""
        now = time.monotonic()
        if not self._cancelled and now - self._checked_at >= 0.2:
            self._checked_at = now
            self._cancelled = self.is_cancelled()
        return self._cancelled

    def remaining(self) -> float:
        return max(0.0, self.deadline - time.monotonic())

    def tokens_left(self) -> int | None:
        """Tokens this mission may still use under its own cap; None when it has no cap."""
        if self.token_cap is None:
            return None
        return max(0, self.token_cap - self.usage.tokens)

    def charge(self, tokens: int = 0, cost_usd: float = 0.0) -> None:
        """Report usage (tokens, money); raises OverBudget if it would cross a limit."""
        if self.on_charge is not None:
            self.on_charge(int(tokens), float(cost_usd))
        self.usage.tokens += int(tokens)
        self.usage.cost_usd += float(cost_usd)

    def sleep(self, seconds: float) -> None:
        """Sleep cooperatively: wake early and raise MissionCancelled on cancel."""
        end = time.monotonic() + seconds
        while True:
            if self.cancelled:
                raise MissionCancelled("mission cancelled")
            left = end - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(left, 0.1))
