"""Applied definitions: every apply is an immutable version, one of which is current; rollback moves it back."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from functools import lru_cache

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from brain.db import utcnow
from brain.errors import Conflict, InvalidPipeline, NotFound
from brain.models import Pipeline, PipelineVersion
from brain.pipelines.definition import Definition, DefinitionError, Problem, parse
from brain.services import audit

MAX_SOURCE = 256 * 1024


def content_hash(source: str) -> str:
    return hashlib.sha256(source.encode("utf-8")).hexdigest()


def validate(source: str, file: str, agent_modules: Sequence[str] = ()) -> Definition:
    """The definition `source` holds; InvalidPipeline listing every problem (file, line, node, field)."""
    if len(source.encode("utf-8")) > MAX_SOURCE:
        raise InvalidPipeline(
            "the definition is too large", [Problem(file, f"larger than {MAX_SOURCE} bytes").as_dict()]
        )
    try:
        return parse(source, file, tuple(agent_modules))
    except DefinitionError as exc:
        raise InvalidPipeline(
            f"{len(exc.problems)} problem(s) in the definition", [p.as_dict() for p in exc.problems]
        ) from None


def apply(
    session: Session,
    tenant: str,
    name: str,
    source: str,
    *,
    actor: str | None = None,
    agent_modules: Sequence[str] = (),
) -> tuple[PipelineVersion, bool]:
    """Store `source` as the pipeline's new current version; (version, created). The same text again is no new one."""
    definition = validate(source, f"{name}.yaml", agent_modules)
    problems = []
    if definition.name != name:
        problems.append(Problem(f"{name}.yaml", f"`name` is {definition.name!r}, not {name!r}", field="name"))
    problems.extend(_subpipeline_problems(session, tenant, name, definition))
    if problems:
        raise InvalidPipeline(f"{len(problems)} problem(s) in the definition", [p.as_dict() for p in problems])
    digest = content_hash(source)
    pipeline = session.scalars(
        select(Pipeline).where(Pipeline.tenant == tenant, Pipeline.name == name).with_for_update()
    ).first()
    if pipeline is not None:
        current = version_of(session, tenant, name, pipeline.current_version)
        if current.content_hash == digest:
            return current, False
    number = pipeline.latest_version + 1 if pipeline else 1
    now = utcnow()
    row = PipelineVersion(
        tenant=tenant,
        name=name,
        version=number,
        label=definition.label,
        content_hash=digest,
        source=source,
        created_by=actor,
        created_at=now,
    )
    try:
        with session.begin_nested():
            session.add(row)
            if pipeline is None:
                session.add(
                    Pipeline(
                        tenant=tenant,
                        name=name,
                        current_version=number,
                        latest_version=number,
                        created_at=now,
                        updated_at=now,
                    )
                )
            else:
                pipeline.current_version = pipeline.latest_version = number
                pipeline.updated_at = now
            session.flush()
    except IntegrityError:
        raise Conflict(f"pipeline {name!r} was applied by someone else at the same moment; apply again") from None
    audit.record(
        session,
        "pipeline.applied",
        tenant=tenant,
        actor=actor,
        data={"pipeline": name, "version": number, "content_hash": digest, "label": definition.label},
    )
    return row, True


def _subpipeline_problems(session: Session, tenant: str, name: str, definition: Definition) -> list[Problem]:
    """Every sub-pipeline must exist in the tenant, and none may lead back to this one."""
    problems = []
    for node in definition.nodes:
        if node.pipeline is None:
            continue
        if node.pipeline == name or _reaches(session, tenant, node.pipeline, name, set()):
            problems.append(Problem(f"{name}.yaml", f"sub-pipeline {node.pipeline!r} leads back to {name!r}", node.id))
        elif get_pipeline(session, tenant, node.pipeline, missing_ok=True) is None:
            problems.append(
                Problem(f"{name}.yaml", f"unknown pipeline {node.pipeline!r} (apply it first)", node.id, "pipeline")
            )
    return problems


def _reaches(session: Session, tenant: str, start: str, target: str, seen: set[str]) -> bool:
    if start in seen:
        return False
    seen.add(start)
    pipeline = get_pipeline(session, tenant, start, missing_ok=True)
    if pipeline is None:
        return False
    children = definition_of(version_of(session, tenant, start, pipeline.current_version)).subpipelines()
    return target in children or any(_reaches(session, tenant, c, target, seen) for c in children)


def get_pipeline(session: Session, tenant: str, name: str, missing_ok: bool = False) -> Pipeline | None:
    pipeline = session.get(Pipeline, (tenant, name))
    if pipeline is None and not missing_ok:
        raise NotFound(f"pipeline {name!r} not found")
    return pipeline


def list_pipelines(session: Session, tenant: str, limit: int = 50, after: str | None = None) -> list[Pipeline]:
    """A tenant's pipelines by name (`after`: the last name of the previous page)."""
    query = select(Pipeline).where(Pipeline.tenant == tenant)
    if after:
        query = query.where(Pipeline.name > after)
    return list(session.scalars(query.order_by(Pipeline.name).limit(limit)))


def list_versions(session: Session, tenant: str, name: str) -> list[PipelineVersion]:
    get_pipeline(session, tenant, name)
    query = select(PipelineVersion).where(PipelineVersion.tenant == tenant, PipelineVersion.name == name)
    return list(session.scalars(query.order_by(PipelineVersion.version.desc())))


def version_of(session: Session, tenant: str, name: str, version: int) -> PipelineVersion:
    row = session.get(PipelineVersion, (tenant, name, version))
    if row is None:
        raise NotFound(f"pipeline {name!r} has no version {version}")
    return row


def current(session: Session, tenant: str, name: str) -> PipelineVersion:
    return version_of(session, tenant, name, get_pipeline(session, tenant, name).current_version)


def rollback(session: Session, tenant: str, name: str, to: int | None, *, actor: str | None = None) -> Pipeline:
    """Make version `to` (default: the one before the current) current again; runs already started keep theirs."""
    pipeline = session.scalars(
        select(Pipeline).where(Pipeline.tenant == tenant, Pipeline.name == name).with_for_update()
    ).first()
    if pipeline is None:
        raise NotFound(f"pipeline {name!r} not found")
    target = to if to is not None else pipeline.current_version - 1
    if target < 1:
        raise Conflict(f"pipeline {name!r} has no version before {pipeline.current_version}")
    version_of(session, tenant, name, target)
    if target == pipeline.current_version:
        raise Conflict(f"version {target} of {name!r} is already current")
    previous = pipeline.current_version
    pipeline.current_version = target
    pipeline.updated_at = utcnow()
    audit.record(
        session,
        "pipeline.rolled_back",
        tenant=tenant,
        actor=actor,
        data={"pipeline": name, "from_version": previous, "to_version": target},
    )
    return pipeline


def definition_of(row: PipelineVersion) -> Definition:
    """The parsed definition of a stored version (parsed once per process: versions never change)."""
    return _parsed(row.content_hash, row.source, row.name)


_PINNED: dict[tuple[str, str, str, int], Definition] = {}
_PINNED_MAX = 1024


def pinned_definition(session: Session, tenant: str, name: str, version: int) -> Definition:
    """The definition a run pinned, read from the database once per process (a version never changes)."""
    key = (str(session.get_bind().url), tenant, name, version)  # a process may use more than one database
    found = _PINNED.get(key)
    if found is None:
        found = definition_of(version_of(session, tenant, name, version))
        if len(_PINNED) >= _PINNED_MAX:
            _PINNED.clear()
        _PINNED[key] = found
    return found


@lru_cache(maxsize=256)
def _parsed(_digest: str, source: str, name: str) -> Definition:
    return parse(source, f"{name}.yaml")
