"""The PostgreSQL connection pool: sized from settings, metered for Prometheus (checked out, overflow, waits)."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy.pool import QueuePool

from brain import metrics
from brain.config import get_settings


class MeteredQueuePool(QueuePool):
    """SQLAlchemy's QueuePool, counting checkouts that found every connection in use."""

    def _do_get(self) -> Any:
        # Exhausted now: this checkout waits for a checkin (or times out, then the caller gets a 503).
        exhausted = self.checkedout() >= self.size() + max(self._max_overflow, 0)
        started = time.monotonic()
        try:
            return super()._do_get()
        finally:
            if exhausted:
                metrics.DB_POOL_WAITS.inc()
                metrics.DB_POOL_WAIT_SECONDS.observe(time.monotonic() - started)
            metrics.DB_POOL_CHECKED_OUT.set(self.checkedout())
            metrics.DB_POOL_OVERFLOW.set(max(self.overflow(), 0))

    def _do_return_conn(self, record: Any) -> None:
        super()._do_return_conn(record)
        metrics.DB_POOL_CHECKED_OUT.set(self.checkedout())
        metrics.DB_POOL_OVERFLOW.set(max(self.overflow(), 0))


def pool_options() -> dict[str, Any]:
    """create_engine() keywords for a server database, from BRAIN_DB_POOL_* settings."""
    s = get_settings()
    return {
        "poolclass": MeteredQueuePool,
        "pool_size": s.db_pool_size,
        "max_overflow": s.db_max_overflow,
        "pool_timeout": s.db_pool_timeout_s,
        "pool_recycle": s.db_pool_recycle_s,
        "pool_pre_ping": True,
    }
