"""SQLAlchemy models; importing this package registers every table on Base.metadata."""

from brain.models.event import Event
from brain.models.mission import Mission

__all__ = ["Event", "Mission"]
