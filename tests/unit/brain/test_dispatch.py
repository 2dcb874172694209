"""brain.dispatch: missions of I/O-bound agents go to missions.io, the rest to missions."""

from __future__ import annotations

from brain.agents.registry import load_agents
from brain.dispatch import MISSION_IO_QUEUE, MISSION_QUEUE, QUEUES, mission_queue, queue_keys


def test_io_bound_agents_are_routed_to_the_io_queue():
    load_agents()
    assert mission_queue("llm.chat") == MISSION_IO_QUEUE
    assert mission_queue("sleep") == MISSION_IO_QUEUE
    assert mission_queue("echo") == MISSION_QUEUE
    assert mission_queue("no.such.agent") == MISSION_QUEUE  # refused at submission; never published elsewhere


def test_every_mission_queue_is_counted_with_its_priority_lists():
    assert QUEUES[:2] == (MISSION_QUEUE, MISSION_IO_QUEUE)
    assert queue_keys(MISSION_IO_QUEUE) == ["missions.io", "missions.io:3", "missions.io:6", "missions.io:9"]
