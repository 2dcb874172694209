"""One admission pass: fill the broker up to the free worker slots (plus a margin), fairly across tenants."""

from __future__ import annotations

import logging
import time

from brain import metrics
from brain.config import Settings
from brain.db import session_scope
from brain.models import Mission
from brain.publisher import publish_after_commit
from brain.queue_metrics import workers
from brain.scheduling import backlog
from brain.scheduling.drr import Backlog, Candidate, DeficitRoundRobin
from brain.scheduling.policy import expected_cost
from brain.tenancy import status as tenant_status
from brain.tenancy import tenant_metrics
from brain.tenancy.scope import system_scope

log = logging.getLogger("brain.scheduling")

SLOTS_CACHE_S = 1.0


class Dispatcher:
    """Holds the round-robin state between passes; one process runs passes at a time (the lease holder)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.drr = DeficitRoundRobin()
        self._slots = (0.0, 0)

    def slots(self) -> int:
        """Worker pool slots of every live node (heartbeats), re-read at most once a second."""
        read_at, slots = self._slots
        if time.monotonic() - read_at >= SLOTS_CACHE_S:
            slots = workers(self.settings)["slots"]
            self._slots = (time.monotonic(), slots)
        return slots

    def admit_once(self) -> int:
        """Admit what fits now; returns how many missions were published."""
        s = self.settings
        with system_scope("dispatch"), session_scope(s.database_url) as session:
            admitted = backlog.admitted_per_tenant(session)  # the few in flight: the cheaper question first
            room = self.slots() + s.fair_queue_margin - sum(admitted.values())
            if room <= 0:
                return 0
            waiting = backlog.tenants_waiting(session)
            if not waiting:
                return 0
            backlogs = {tenant: self._backlog(session, tenant, admitted.get(tenant, 0), room) for tenant in waiting}
            picked = self.drr.pick(backlogs, room)
            moved = backlog.admit(session, [c.key.id for c in picked])
            for candidate in picked:
                if candidate.key.id in moved:
                    publish_after_commit(session, s, _mission(candidate.key), admitted=True)
        if moved:
            metrics.MISSIONS_ADMITTED.inc(len(moved))
        return len(moved)

    def _backlog(self, session, tenant: str, admitted: int, room: int) -> Backlog:
        state = tenant_status.lookup(self.settings.database_url, tenant)
        weight = state.weight if state is not None else 1
        cap = tenant_status.limit(self.settings, tenant, "running_max") or 0
        tenant_room = None if cap <= 0 else max(0, int(cap) - admitted)
        if tenant_room == 0:
            tenant_metrics.count(self.settings, tenant, deferred="running_max")
            return Backlog([], weight, complete=False, room=0)
        wanted = room if tenant_room is None else min(room, tenant_room)
        rows = backlog.next_of(session, tenant, wanted)
        candidates = [Candidate(row, tenant, expected_cost(self.settings, row.options, row.timeout_s)) for row in rows]
        return Backlog(candidates, weight, complete=len(rows) < wanted, room=tenant_room)


def _mission(row) -> Mission:
    """A plain instance with what publishing reads (queue, priority, the rails' message options)."""
    return Mission(
        id=row.id,
        tenant=row.tenant,
        agent=row.agent,
        priority=row.priority,
        timeout_s=row.timeout_s,
        options=row.options or {},
        created_at=row.created_at,
        request_id=row.request_id,
        status="queued",
    )
