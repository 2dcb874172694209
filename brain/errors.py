"""The one exception tree every layer raises and the API maps to HTTP statuses."""

from __future__ import annotations

from typing import Any


class BrainError(Exception):
    """Base of every error BRAiN raises on purpose."""

    error = "brain_error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class ConfigError(BrainError):
    """A setting is missing or malformed; start-up must stop."""

    error = "config_error"


class SchemaOutOfDate(BrainError):
    """The database schema is behind the code's migrations."""

    error = "schema_out_of_date"


class NotFound(BrainError):
    error = "not_found"


class Conflict(BrainError):
    error = "conflict"


class IdempotencyConflict(Conflict):
    error = "idempotency_conflict"


class InvalidMission(BrainError):
    """The mission cannot be accepted (unknown agent, payload the agent rejects)."""

    error = "validation_failed"

    def __init__(self, message: str, field: str, messages: Any, location: str = "json") -> None:
        super().__init__(message)
        self.field = field
        self.messages = messages
        self.location = location


class InvalidPipeline(BrainError):
    """A pipeline definition (or a run's inputs) failed validation; `details["problems"]` lists every one."""

    error = "invalid_pipeline"

    def __init__(self, message: str, problems: list[dict[str, Any]]) -> None:
        super().__init__(message, problems=problems)


class PolicyDenied(BrainError):
    error = "policy_denied"


class Forbidden(BrainError):
    """The caller is known but may not do this."""

    error = "forbidden"


class TenantSuspended(BrainError):
    """The caller's tenant is suspended: every call is refused until it is resumed."""

    error = "tenant_suspended"


class TenantUnknown(BrainError):
    """The token names a tenant that does not exist (multi-tenant mode)."""

    error = "tenant_unknown"


class TenantDeleted(BrainError):
    """The token's tenant was deleted; its tokens are refused."""

    error = "tenant_deleted"


class DependencyUnavailable(BrainError):
    error = "dependency_unavailable"


class AgentError(BrainError):
    """Raised by agents for a clear, expected failure (a provider error, bad reply)."""

    error = "agent_error"


class RetryableAgentError(AgentError):
    """An agent failure worth retrying (a provider outage, a rate limit)."""

    error = "agent_retryable"


class RailError(BrainError):
    """A rail refused or stopped a mission; carries the NeuroRail code and final status.

    The subclasses below are the one table of NeuroRail codes: code raises and matches
    these types (`TimedOut(...)`, `TimedOut.matches(error)`), never the literals.
    """

    code = "NR-E000"
    status = "failed"

    def as_error(self) -> dict[str, Any]:
        """The mission's `error` JSON for this failure."""
        return {"code": self.code, "message": self.message}

    @classmethod
    def matches(cls, error: dict[str, Any] | None) -> bool:
        """Whether a mission's stored `error` is this failure."""
        return bool(error) and error.get("code") == cls.code


class TimedOut(RailError):
    """Time limit exceeded."""

    code = "NR-E001"
    status = "timed_out"


class OverBudget(RailError):
    """A token or cost budget has no room."""

    code = "NR-E002"
    status = "over_budget"


class CircuitOpen(RailError):
    """The agent's circuit breaker is open (reflex)."""

    code = "NR-E003"
    status = "failed"


class AgentFailed(RailError):
    """The agent raised (or is not registered on the worker)."""

    code = "NR-E004"
    status = "failed"

    @classmethod
    def from_exception(cls, exc: BaseException) -> AgentFailed:
        return cls(f"{type(exc).__name__}: {exc}")


class WorkerLost(RailError):
    """The worker running it was lost, and it is not run again."""

    code = "NR-E005"
    status = "failed"


class Expired(RailError):
    """Not started before its start_within_s deadline."""

    code = "NR-E006"
    status = "expired"


NEURORAIL_ERRORS: tuple[type[RailError], ...] = (TimedOut, OverBudget, CircuitOpen, AgentFailed, WorkerLost, Expired)
