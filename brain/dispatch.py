"""Publishing a mission to the broker: queue, priority and time limits per message."""

from __future__ import annotations

from typing import TYPE_CHECKING

import redis

from brain.agents import get_agent
from brain.config import Settings
from brain.logging import REQUEST_ID_HEADER
from brain.rails import default_chain
from brain.state import get_redis

if TYPE_CHECKING:
    from celery import Celery
    from kombu import Producer

    from brain.models import Mission

MISSION_QUEUE = "missions"
# I/O-bound agents' missions (Agent.io_bound): served by `-P gevent` nodes, and by prefork nodes
# that consume every queue (a worker started without -Q does).
MISSION_IO_QUEUE = "missions.io"
MISSION_QUEUES = (MISSION_QUEUE, MISSION_IO_QUEUE)
CONTROL_QUEUE = "brain.control"
RUN_MISSION = "brain.run_mission"
# Redis transport: 0 is served first.
PRIORITY_STEPS = (0, 3, 6, 9)
PRIORITY_LEVELS = {"CRITICAL": 0, "HIGH": 3, "NORMAL": 6, "LOW": 9}


def publish(
    app: Celery,
    settings: Settings,
    mission: Mission,
    countdown: float | None = None,
    producer: Producer | None = None,
    declare: bool = True,
) -> None:
    """Send run_mission(id); raises if the broker is unreachable (the sweeper retries).

    The rails decide what else the message carries (the timeout rail: its time limits).
    With `producer` inside its batch(), the message goes out when the batch is flushed.
    `declare=False` when an earlier message of the same batch declared the queue already
    (declaring is a third of a publish's cost, and once per queue and batch is enough).
    """
    options = default_chain().message_options(settings, get_redis(settings), mission)
    app.send_task(
        RUN_MISSION,
        producer=producer,
        args=[str(mission.id)],
        # The claim runs in this tenant's scope: a worker's connection keeps one scope per tenant.
        kwargs={"tenant": mission.tenant},
        task_id=str(mission.id),
        queue=mission_queue(mission.agent),
        priority=PRIORITY_LEVELS.get(mission.priority, 6),
        countdown=countdown or None,
        **({} if declare else {"declare": []}),
        # The submitter's request id, for a publish outside that request (the fair dispatcher's).
        **({"headers": {REQUEST_ID_HEADER: mission.request_id}} if getattr(mission, "request_id", None) else {}),
        **options,
    )


def mission_queue(agent_name: str) -> str:
    """The queue a mission of this agent goes to: missions.io for I/O-bound agents."""
    agent = get_agent(agent_name)
    return MISSION_IO_QUEUE if agent is not None and agent.io_bound else MISSION_QUEUE


def queue_keys(queue: str = MISSION_QUEUE) -> list[str]:
    """The Redis lists kombu uses for one queue, one per priority step."""
    return [queue if step == 0 else f"{queue}:{step}" for step in PRIORITY_STEPS]


QUEUES = (*MISSION_QUEUES, CONTROL_QUEUE)


def queue_depths(broker: redis.Redis) -> dict[str, int]:
    """Messages waiting per queue, summed over its priority lists (one round trip)."""
    pipe = broker.pipeline(transaction=False)
    for queue in QUEUES:
        for key in queue_keys(queue):
            pipe.llen(key)
    counts = pipe.execute()
    step = len(PRIORITY_STEPS)
    return {queue: sum(counts[i * step : (i + 1) * step]) for i, queue in enumerate(QUEUES)}
