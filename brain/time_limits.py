"""Time limits in one place: a mission's limit, the cap on what may be asked, and a message's soft and hard limits.

A mission's limit is its own `timeout_s`, else its agent's default (capped at
BRAIN_MAX_TIMEOUT_S), else BRAIN_DEFAULT_TIMEOUT_S. The hard limit follows the soft one by
BRAIN_TIME_LIMIT_GRACE_S. API, dispatch, the timeout rail, the sweeper, governance
obligations and the broker's visibility timeout all ask here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from brain.agents.registry import get_agent
from brain.errors import InvalidMission

if TYPE_CHECKING:
    from brain.config import Settings


def hard_limit(soft_s: float, grace_s: float) -> float:
    """The hard limit of a soft one: the worker kills the agent's process this long after it."""
    return soft_s + grace_s


def longest_hard_limit(settings: Settings) -> float:
    """The largest hard limit any mission can have (the visibility timeout must exceed it)."""
    return hard_limit(settings.max_timeout_s, settings.time_limit_grace_s)


def default_limit(settings: Settings, agent_name: str) -> int:
    """The agent's default, capped at BRAIN_MAX_TIMEOUT_S, else the profile's."""
    agent = get_agent(agent_name)
    if agent is not None and agent.default_timeout_s:
        return min(agent.default_timeout_s, settings.max_timeout_s)
    return settings.default_timeout_s


def mission_limit(settings: Settings, agent_name: str, timeout_s: int | None) -> int:
    """The limit a mission runs under: its own, else the default."""
    return timeout_s or default_limit(settings, agent_name)


def check_requested(settings: Settings, timeout_s: int | None) -> None:
    """A submitted timeout_s above BRAIN_MAX_TIMEOUT_S is a 422."""
    if timeout_s and timeout_s > settings.max_timeout_s:
        raise InvalidMission(
            "timeout_s too large", "timeout_s", [f"Must be at most {settings.max_timeout_s} (BRAIN_MAX_TIMEOUT_S)."]
        )


def message_limits(
    settings: Settings, agent_name: str, timeout_s: int | None, enforce_default: bool
) -> tuple[int, int]:
    """(soft, hard) seconds for a mission's Celery message.

    An explicit timeout_s is always enforced. The default limit only when the timeout rail
    enforces; otherwise the largest allowed limit is the ceiling (the broker's visibility
    timeout is sized for it) and overruns are only recorded.
    """
    if timeout_s:
        soft = timeout_s
    elif enforce_default:
        soft = default_limit(settings, agent_name)
    else:
        soft = settings.max_timeout_s
    return soft, int(hard_limit(soft, settings.time_limit_grace_s))
