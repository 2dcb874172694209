"""Weighted deficit round-robin over tenants' backlogs, its state carried from one pass to the next."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Candidate:
    """One queued mission that could be admitted, with what it is expected to cost."""

    key: Any
    tenant: str
    cost: float


@dataclass
class Backlog:
    """A tenant's next candidates in its own order (priority, then age)."""

    candidates: list[Candidate]
    weight: float
    complete: bool  # the list is the whole backlog: once it is served, the tenant is idle
    room: int | None = None  # how many more may be admitted now (a running-at-once cap); None: no cap


@dataclass
class DeficitRoundRobin:
    """Shreedhar and Varghese's DRR: each visit grants `quantum * weight` of credit, spent on costs.

    Over a busy period every backlogged tenant's share of admitted cost tends to its weight's
    share, whatever the tenants' mission counts; a tenant that empties its backlog loses its
    credit (no saving up while idle). A pass that ends mid-visit resumes that visit next pass.
    """

    quantum: float = 1.0
    deficit: dict[str, float] = field(default_factory=dict)
    cursor: str | None = None  # where the next pass starts: this tenant (open visit) or the one after it
    open_visit: bool = False  # the cursor's tenant already has this visit's credit

    def pick(self, backlogs: dict[str, Backlog], limit: int) -> list[Candidate]:
        """Up to `limit` candidates in DRR order; the state moves on by what was picked."""
        for tenant in list(self.deficit):
            if tenant not in backlogs:
                del self.deficit[tenant]  # idle: DRR forgets its credit
        queues = {
            t: deque(b.candidates if b.room is None else b.candidates[: max(b.room, 0)]) for t, b in backlogs.items()
        }
        tenants = sorted(t for t, q in queues.items() if q)
        # Served to the end of such a list, a tenant has nothing left waiting.
        whole = {t: b.complete and len(queues[t]) == len(b.candidates) for t, b in backlogs.items()}
        picked: list[Candidate] = []
        if not tenants or limit <= 0:
            return picked
        if self.open_visit and self.cursor in tenants:
            start, grant = tenants.index(self.cursor), False
        else:
            after = self.cursor
            start = next((i for i, t in enumerate(tenants) if after is not None and t > after), 0)
            grant = True
        while len(picked) < limit and any(queues.values()):
            served = False
            for offset in range(len(tenants)):
                tenant = tenants[(start + offset) % len(tenants)]
                queue = queues[tenant]
                if not queue:
                    continue
                if grant:
                    self.deficit[tenant] = self.deficit.get(tenant, 0.0) + self.quantum * backlogs[tenant].weight
                grant = True
                while queue and self.deficit[tenant] >= queue[0].cost and len(picked) < limit:
                    item = queue.popleft()
                    self.deficit[tenant] -= item.cost
                    picked.append(item)
                    served = True
                if not queue and whole[tenant]:
                    self.deficit[tenant] = 0.0  # its backlog is served: no credit kept while idle
                if len(picked) >= limit:
                    self.cursor = tenant
                    self.open_visit = bool(queue) and self.deficit[tenant] >= queue[0].cost
                    return picked
            if not served:
                self._fast_forward(tenants, queues, backlogs)
        self.cursor, self.open_visit = None, False
        return picked

    def _fast_forward(self, tenants: list[str], queues: dict[str, deque], backlogs: dict[str, Backlog]) -> None:
        """A round served nothing (costs above one quantum): grant all but the last of the rounds needed."""
        waiting = [t for t in tenants if queues[t]]
        rounds = min(
            math.ceil((queues[t][0].cost - self.deficit.get(t, 0.0)) / (self.quantum * backlogs[t].weight))
            for t in waiting
        )
        if rounds > 1:
            for t in waiting:
                self.deficit[t] = self.deficit.get(t, 0.0) + (rounds - 1) * self.quantum * backlogs[t].weight
