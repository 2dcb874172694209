"""Publishing a mission to the broker: queue, priority and time limits per message."""

from __future__ import annotations

from typing import TYPE_CHECKING

from brain.agents import get_agent
from brain.config import Settings

if TYPE_CHECKING:
    from celery import Celery

    from brain.models import Mission

MISSION_QUEUE = "missions"
CONTROL_QUEUE = "brain.control"
RUN_MISSION = "brain.run_mission"
# Redis transport: 0 is served first.
PRIORITY_STEPS = (0, 3, 6, 9)
PRIORITY_LEVELS = {"CRITICAL": 0, "HIGH": 3, "NORMAL": 6, "LOW": 9}


def effective_timeout(settings: Settings, agent_name: str, timeout_s: int | None) -> int:
    """Mission timeout_s, else the agent's default, else the profile's."""
    if timeout_s:
        return timeout_s
    agent = get_agent(agent_name)
    if agent is not None and agent.default_timeout_s:
        return min(agent.default_timeout_s, settings.max_timeout_s)
    return settings.default_timeout_s


def publish(app: Celery, settings: Settings, mission: Mission, countdown: float | None = None) -> None:
    """Send run_mission(id); raises if the broker is unreachable (the sweeper retries)."""
    from brain.rails.rollout import Enforcement
    from brain.rails.timeout import message_limits
    from brain.state import get_redis

    enforcement = Enforcement.for_mission(settings, get_redis(settings), str(mission.id))
    soft, hard = message_limits(settings, mission.agent, mission.timeout_s, enforcement)
    app.send_task(
        RUN_MISSION,
        args=[str(mission.id)],
        task_id=str(mission.id),
        queue=MISSION_QUEUE,
        priority=PRIORITY_LEVELS.get(mission.priority, 6),
        soft_time_limit=soft,
        time_limit=hard,
        countdown=countdown or None,
    )


def queue_keys(queue: str = MISSION_QUEUE) -> list[str]:
    """The Redis lists kombu uses for one queue, one per priority step."""
    return [queue if step == 0 else f"{queue}:{step}" for step in PRIORITY_STEPS]
