"""The Celery application `celery -A brain` finds (`brain.celery:app`)."""

from __future__ import annotations

import sys

from brain import metrics_dir

metrics_dir.prepare("celery")

from celery import Celery  # noqa: E402

from brain import green, publisher  # noqa: E402
from brain.agents.registry import load_agents  # noqa: E402
from brain.config import Settings, get_settings  # noqa: E402
from brain.errors import BrainError  # noqa: E402
from brain.state import ensure_embedded  # noqa: E402
from workers import hooks  # noqa: E402, F401 - connects the worker signal handlers
from workers.sweep_step import RecoveryLoop  # noqa: E402
from workers.timer_compaction import CompactTimers  # noqa: E402


def create_celery_app(settings: Settings | None = None) -> Celery:
    """Build the app for the active profile, starting the embedded Redis when it is the broker."""
    settings = settings or get_settings()
    green.make_cooperative()  # before the first database connection of a gevent node
    ensure_embedded(settings)
    load_agents(settings.agent_modules)
    celery_app = Celery(
        "brain",
        task_cls="brain.task:BrainTask",
        include=["tasks.missions", "tasks.sweeper", "tasks.health"],
    )
    celery_app.config_from_object("celeryconfig")
    publisher.use(celery_app)  # what every after-commit publish in this process sends with
    celery_app.steps["worker"].add(CompactTimers)
    celery_app.steps["worker"].add(RecoveryLoop)

    return celery_app


try:
    app = create_celery_app()
except BrainError as exc:
    print(f"brain: error: {exc}", file=sys.stderr)
    sys.exit(2)
