"""SQLAlchemy models; importing this package registers every table on Base.metadata."""

from brain.models.approval import Approval
from brain.models.event import Event
from brain.models.health_check import HealthCheck
from brain.models.mission import Mission
from brain.models.pipeline import Pipeline, PipelineNode, PipelineRun, PipelineVersion
from brain.models.tenant import Tenant

__all__ = [
    "Approval",
    "Event",
    "HealthCheck",
    "Mission",
    "Pipeline",
    "PipelineNode",
    "PipelineRun",
    "PipelineVersion",
    "Tenant",
]
