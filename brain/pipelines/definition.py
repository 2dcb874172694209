"""Pipeline definitions: YAML parsed with line numbers, every problem collected, an immutable DAG built."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from brain.agents import get_agent
from brain.agents.base import PayloadInvalid
from brain.agents.registry import load_agents
from brain.lined_yaml import LinedYAML, yaml_error
from brain.models.mission import PRIORITIES
from brain.pipelines import expressions, templates
from brain.pipelines.expressions import ANY, NODE_FIELDS, Compare, Expr, ExpressionError, Literal, Path
from brain.pipelines.transforms import get_transform

NAME = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
NODE_TYPES = ("mission", "transform", "pipeline")
ON_FAILURE = ("fail_pipeline", "continue", "skip_dependents")
INPUT_TYPES = {"string": "string", "integer": "number", "number": "number", "boolean": "boolean", "list": "list"}
INPUT_TYPES["object"] = "object"
NODE_STATUSES = ("pending", "running", "succeeded", "failed", "skipped", "cancelled")
FILE_KEYS = ("name", "version", "description", "inputs", "outputs", "nodes")
INPUT_KEYS = ("type", "default", "description")
NODE_KEYS = (
    "id",
    "type",
    "description",
    "agent",
    "payload",
    "transform",
    "args",
    "pipeline",
    "inputs",
    "dependencies",
    "condition",
    "foreach",
    "max_parallel",
    "timeout_s",
    "budget",
    "max_retries",
    "priority",
    "on_failure",
)
KEYS_OF_TYPE = {
    "mission": ("agent", "payload", "timeout_s", "budget", "priority"),
    "transform": ("transform", "args"),
    "pipeline": ("pipeline", "inputs"),
}
BUDGET_KEYS = ("max_tokens", "max_cost_usd")
MAX_NODES = 200
MAX_RETRIES = 10
MAX_PARALLEL = 1000
DEFAULT_PARALLEL = 100


@dataclass(frozen=True)
class Problem:
    """One validation error, located by file, line, node and field as precisely as the parser allows."""

    file: str
    message: str
    node: str | None = None
    field: str | None = None
    line: int | None = None

    def __str__(self) -> str:
        parts = [self.file + (f":{self.line}" if self.line else "")]
        if self.node:
            parts.append(f"node {self.node!r}")
        if self.field:
            parts.append(f"field {self.field!r}")
        return ": ".join(parts) + f": {self.message}"

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "node": self.node, "field": self.field, "message": self.message}


class DefinitionError(Exception):
    """A definition failed validation; `problems` lists every error found."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


@dataclass(frozen=True)
class Input:
    name: str
    type: str
    default: Any = None
    required: bool = True
    description: str = ""


@dataclass(frozen=True)
class Node:
    id: str
    type: str
    dependencies: tuple[str, ...] = ()
    agent: str | None = None
    payload: Any = None  # compiled template
    transform: str | None = None
    args: Any = None  # compiled template
    pipeline: str | None = None
    inputs: Any = None  # compiled template (a sub-pipeline's inputs)
    condition: Expr | None = None
    foreach: Expr | None = None
    max_parallel: int = DEFAULT_PARALLEL
    timeout_s: int | None = None
    budget: dict[str, Any] | None = None
    max_retries: int = 0
    priority: str = "NORMAL"
    on_failure: str = "fail_pipeline"
    description: str = ""


@dataclass(frozen=True)
class Definition:
    name: str
    label: str | None  # the author's own `version`; the platform numbers versions itself
    description: str
    inputs: tuple[Input, ...]
    nodes: tuple[Node, ...]  # in a topological order
    outputs: dict[str, Any]  # name -> compiled template
    document: dict[str, Any] = field(repr=False, default_factory=dict)  # the parsed YAML, as stored

    def node(self, node_id: str) -> Node:
        return next(n for n in self.nodes if n.id == node_id)

    def dependents(self, node_id: str) -> list[Node]:
        return [n for n in self.nodes if node_id in n.dependencies]

    def subpipelines(self) -> set[str]:
        return {n.pipeline for n in self.nodes if n.pipeline}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def input_type_of(value: Any) -> str | None:
    """The declared input type a JSON value satisfies best (integer before number)."""
    if isinstance(value, bool):
        return "boolean"
    if _is_int(value):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "object"
    return None


def fits(declared: str, value: Any) -> bool:
    found = input_type_of(value)
    return found == declared or (declared == "number" and found == "integer")


class _Validator:
    """Checks one parsed definition and collects every problem instead of stopping at the first."""

    def __init__(self, name: str, doc: LinedYAML) -> None:
        self.file, self.doc = name, doc
        self.problems: list[Problem] = []

    def fail(self, message: str, path: tuple, node: str | None = None, field_name: str | None = None) -> None:
        self.problems.append(Problem(self.file, message, node, field_name, self.doc.line(*path)))

    def definition(self) -> Definition | None:
        data = self.doc.data
        if not isinstance(data, dict):
            self.fail("a pipeline definition must be a mapping with `name` and `nodes`", ())
            return None
        for key in data:
            if key not in FILE_KEYS:
                self.fail(f"unknown key; valid: {', '.join(FILE_KEYS)}", (key,), field_name=str(key))
        name = data.get("name")
        if not isinstance(name, str) or not NAME.match(name):
            self.fail("required; lower-case letters, digits, _ and - (max 64), starting with a letter", ("name",))
        label = data.get("version")
        if isinstance(label, bool) or (label is not None and not isinstance(label, str | int | float)):
            self.fail("must be a string or a number (your own label)", ("version",), field_name="version")
            label = None
        description = data.get("description", "")
        if not isinstance(description, str):
            self.fail("must be a string", ("description",), field_name="description")
        inputs = self.inputs(data.get("inputs", {}))
        raw_nodes = data.get("nodes")
        if not isinstance(raw_nodes, list) or not raw_nodes:
            self.fail("required; a list of at least one node", ("nodes",), field_name="nodes")
            raw_nodes = []
        elif len(raw_nodes) > MAX_NODES:
            self.fail(f"at most {MAX_NODES} nodes (fan out with `foreach`)", ("nodes",), field_name="nodes")
        declared = self.node_ids(raw_nodes)
        upstream = self.graph(raw_nodes, declared)
        nodes = [self.node(i, raw, declared, upstream, inputs) for i, raw in enumerate(raw_nodes)]
        outputs = self.outputs(data.get("outputs", {}), declared, inputs)
        if self.problems:
            return None
        order = _topological([n for n in nodes if n is not None])
        return Definition(
            name=name,
            label=None if label is None else str(label),
            description=description,
            inputs=tuple(inputs.values()),
            nodes=tuple(order),
            outputs=outputs,
            document=data,
        )

    def inputs(self, raw: Any) -> dict[str, Input]:
        if not isinstance(raw, dict):
            self.fail("must map input names to {type, default, description}", ("inputs",), field_name="inputs")
            return {}
        out: dict[str, Input] = {}
        for name, spec in raw.items():
            path = ("inputs", name)
            label = f"inputs.{name}"
            if not isinstance(name, str) or not IDENT.match(name):
                self.fail("an input name is letters, digits and _ (max 64)", path, field_name=label)
                continue
            if isinstance(spec, str):
                spec = {"type": spec}
            if not isinstance(spec, dict):
                self.fail("must be a type name or {type, default, description}", path, field_name=label)
                continue
            for key in spec:
                if key not in INPUT_KEYS:
                    self.fail(f"unknown key; valid: {', '.join(INPUT_KEYS)}", (*path, key), field_name=label)
            kind = spec.get("type")
            if kind not in INPUT_TYPES:
                self.fail(f"`type` is required: one of {', '.join(INPUT_TYPES)}", (*path, "type"), field_name=label)
                continue
            has_default = "default" in spec
            if has_default and spec["default"] is not None and not fits(kind, spec["default"]):
                self.fail(f"the default is not a {kind}", (*path, "default"), field_name=label)
            out[name] = Input(name, kind, spec.get("default"), not has_default, str(spec.get("description", "")))
        return out

    def node_ids(self, raw_nodes: list[Any]) -> dict[str, int]:
        """Every valid node id with its position; duplicates and bad ids reported."""
        ids: dict[str, int] = {}
        for i, raw in enumerate(raw_nodes):
            if not isinstance(raw, dict):
                continue
            nid = raw.get("id")
            if not isinstance(nid, str) or not IDENT.match(nid):
                self.fail("required; letters, digits and _ (max 64)", ("nodes", i, "id"), f"#{i + 1}", "id")
            elif nid in ids:
                self.fail(f"duplicate node id (also node #{ids[nid] + 1})", ("nodes", i, "id"), nid, "id")
            else:
                ids[nid] = i
        return ids

    def graph(self, raw_nodes: list[Any], declared: dict[str, int]) -> dict[str, set[str]]:
        """Each node's upstream (every transitive dependency); unknown dependencies and cycles reported."""
        deps: dict[str, list[str]] = {}
        for nid, i in declared.items():
            raw = raw_nodes[i].get("dependencies", [])
            path = ("nodes", i, "dependencies")
            if isinstance(raw, str):
                raw = [raw]
            if not isinstance(raw, list) or not all(isinstance(d, str) for d in raw):
                self.fail("must be a list of node ids", path, nid, "dependencies")
                deps[nid] = []
                continue
            known = []
            for j, dep in enumerate(raw):
                if dep == nid:
                    self.fail("a node cannot depend on itself", (*path, j), nid, "dependencies")
                elif dep not in declared:
                    self.fail(f"unknown dependency {dep!r}", (*path, j), nid, "dependencies")
                else:
                    known.append(dep)
            deps[nid] = known
        cycle = _find_cycle(deps)
        if cycle:
            self.fail(
                "dependency cycle: " + " -> ".join(cycle),
                ("nodes", declared[cycle[0]], "dependencies"),
                cycle[0],
                "dependencies",
            )
            return {nid: set(declared) - {nid} for nid in declared}  # reported once, as the cycle
        upstream: dict[str, set[str]] = {}

        def walk(nid: str) -> set[str]:
            if nid not in upstream:
                upstream[nid] = set()
                for dep in deps[nid]:
                    upstream[nid] |= {dep} | walk(dep)
            return upstream[nid]

        for nid in declared:
            walk(nid)
        return upstream

    def node(
        self, index: int, raw: Any, declared: dict[str, int], upstream: dict[str, set[str]], inputs: dict[str, Input]
    ) -> Node | None:
        path = ("nodes", index)
        if not isinstance(raw, dict):
            self.fail("a node must be a mapping with `id` and `type`", path, f"#{index + 1}")
            return None
        nid = raw.get("id") if declared.get(raw.get("id")) == index else None
        label = nid or f"#{index + 1}"
        before = len(self.problems)
        for key in raw:
            if key not in NODE_KEYS:
                self.fail(f"unknown key; valid: {', '.join(NODE_KEYS)}", (*path, key), label, str(key))
        kind = raw.get("type")
        if kind not in NODE_TYPES:
            self.fail(f"required; one of {', '.join(NODE_TYPES)}", (*path, "type"), label, "type")
            return None
        for other, keys in KEYS_OF_TYPE.items():
            for key in keys:
                if other != kind and key in raw and key not in KEYS_OF_TYPE[kind]:
                    self.fail(f"applies to {other} nodes only", (*path, key), label, key)
        has_foreach = "foreach" in raw
        scope = _Scope(inputs, upstream.get(nid or "", set()), set(declared), fan_out=has_foreach)
        fields: dict[str, Any] = {}
        if kind == "mission":
            fields.update(self.mission(raw, path, label, scope))
        elif kind == "transform":
            fields.update(self.transform(raw, path, label, scope))
        else:
            fields.update(self.subpipeline(raw, path, label, scope))
        if "condition" in raw:
            fields["condition"] = self.expression(
                raw["condition"], (*path, "condition"), label, "condition", scope.without_item(), want="boolean"
            )
        if has_foreach:
            fields["foreach"] = self.expression(
                raw["foreach"], (*path, "foreach"), label, "foreach", scope.without_item(), want="list"
            )
        if "max_parallel" in raw:
            value = raw["max_parallel"]
            if not has_foreach:
                self.fail("applies to `foreach` nodes only", (*path, "max_parallel"), label, "max_parallel")
            elif not _is_int(value) or not 1 <= value <= MAX_PARALLEL:
                message = f"must be an integer from 1 to {MAX_PARALLEL}"
                self.fail(message, (*path, "max_parallel"), label, "max_parallel")
            else:
                fields["max_parallel"] = value
        fields.update(self.options(raw, path, label))
        if len(self.problems) > before or nid is None:
            return None
        deps = raw.get("dependencies", [])
        return Node(
            id=nid,
            type=kind,
            dependencies=tuple([deps] if isinstance(deps, str) else deps),
            description=str(raw.get("description", "")),
            **fields,
        )

    def mission(self, raw: dict, path: tuple, label: str, scope: _Scope) -> dict[str, Any]:
        agent_name = raw.get("agent")
        agent = get_agent(agent_name) if isinstance(agent_name, str) else None
        if agent is None:
            self.fail(
                f"unknown agent {agent_name!r}" if isinstance(agent_name, str) else "required for a mission node",
                (*path, "agent"),
                label,
                "agent",
            )
        payload = self.template(raw.get("payload", {}), (*path, "payload"), label, "payload", scope, mapping=True)
        if agent is not None and isinstance(payload, dict) and not templates.placeholders(payload):
            try:
                agent.validate(payload)
            except PayloadInvalid as exc:
                self.fail(f"agent {agent_name!r} rejects the payload: {exc.messages}", (*path, "payload"), label)
        return {"agent": agent_name, "payload": payload}

    def transform(self, raw: dict, path: tuple, label: str, scope: _Scope) -> dict[str, Any]:
        name = raw.get("transform")
        found = get_transform(name) if isinstance(name, str) else None
        if found is None:
            message = f"unknown transform {name!r}" if isinstance(name, str) else "required for a transform node"
            self.fail(message, (*path, "transform"), label, "transform")
        args = self.template(raw.get("args", {}), (*path, "args"), label, "args", scope, mapping=True)
        if found is not None and isinstance(args, dict):
            for key in found.required:
                if key not in args:
                    self.fail(f"transform {name!r} needs the argument {key!r}", (*path, "args"), label, "args")
            if not found.open_args:
                for key in args:
                    if key not in found.required + found.optional:
                        valid = ", ".join(found.required + found.optional)
                        self.fail(f"transform {name!r} takes no {key!r} (valid: {valid})", (*path, "args", key), label)
        return {"transform": name, "args": args}

    def subpipeline(self, raw: dict, path: tuple, label: str, scope: _Scope) -> dict[str, Any]:
        name = raw.get("pipeline")
        if not isinstance(name, str) or not NAME.match(name):
            self.fail("required for a pipeline node: the sub-pipeline's name", (*path, "pipeline"), label, "pipeline")
        inputs = self.template(raw.get("inputs", {}), (*path, "inputs"), label, "inputs", scope, mapping=True)
        return {"pipeline": name, "inputs": inputs}

    def options(self, raw: dict, path: tuple, label: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if "timeout_s" in raw:
            if not _is_int(raw["timeout_s"]) or raw["timeout_s"] <= 0:
                self.fail("must be a positive integer (seconds)", (*path, "timeout_s"), label, "timeout_s")
            else:
                out["timeout_s"] = raw["timeout_s"]
        if "budget" in raw:
            budget = raw["budget"]
            if not isinstance(budget, dict) or not budget:
                self.fail(f"must map {' and/or '.join(BUDGET_KEYS)} to a cap", (*path, "budget"), label, "budget")
            else:
                for key, cap in budget.items():
                    if key not in BUDGET_KEYS:
                        self.fail(f"unknown key; valid: {', '.join(BUDGET_KEYS)}", (*path, "budget", key), label)
                    elif not _is_number(cap) or cap <= 0 or (key == "max_tokens" and not _is_int(cap)):
                        self.fail("must be a positive number", (*path, "budget", key), label, f"budget.{key}")
                out["budget"] = dict(budget)
        if "max_retries" in raw:
            value = raw["max_retries"]
            if not _is_int(value) or not 0 <= value <= MAX_RETRIES:
                self.fail(f"must be an integer from 0 to {MAX_RETRIES}", (*path, "max_retries"), label, "max_retries")
            else:
                out["max_retries"] = value
        if "priority" in raw:
            if raw["priority"] not in PRIORITIES:
                self.fail(f"one of {', '.join(PRIORITIES)}", (*path, "priority"), label, "priority")
            else:
                out["priority"] = raw["priority"]
        if "on_failure" in raw:
            if raw["on_failure"] not in ON_FAILURE:
                self.fail(f"one of {', '.join(ON_FAILURE)}", (*path, "on_failure"), label, "on_failure")
            else:
                out["on_failure"] = raw["on_failure"]
        return out

    def expression(self, raw: Any, path: tuple, label: str, name: str, scope: _Scope, want: str) -> Expr | None:
        text = raw.strip() if isinstance(raw, str) else raw
        if isinstance(text, str) and text.startswith("${") and text.endswith("}"):
            text = text[2:-1]  # the template form is accepted too
        if isinstance(raw, bool) and want == "boolean":
            return Literal(raw)
        if not isinstance(text, str):
            self.fail("must be an expression (a string)", path, label, name)
            return None
        try:
            expr = expressions.parse(text)
        except ExpressionError as exc:
            self.fail(f"bad expression: {exc}", path, label, name)
            return None
        found = self.types(expr, path, label, name, scope)
        if found not in (want, ANY):
            self.fail(f"must be a {want}, but this expression is a {found}", path, label, name)
        return expr

    def types(self, expr: Expr, path: tuple, label: str, name: str, scope: _Scope) -> str:
        errors: list[str] = []
        found = expressions.infer(expr, scope.type_of, errors)
        errors.extend(_status_literals(expr))
        for message in errors:
            self.fail(message, path, label, name)
        return found

    def template(self, raw: Any, path: tuple, label: str, name: str, scope: _Scope, mapping: bool = False) -> Any:
        if mapping and not isinstance(raw, dict):
            self.fail("must be a mapping", path, label, name)
            return {}
        compiled, problems = templates.compile_value(raw)
        for where, message in problems:
            self.fail(message, (*path, *where), label, ".".join([name, *map(str, where)]))
        if not problems:
            for placeholder in templates.placeholders(compiled):
                self.types(placeholder.expr, path, label, name, scope)
        return compiled

    def outputs(self, raw: Any, declared: dict[str, int], inputs: dict[str, Input]) -> dict[str, Any]:
        if not isinstance(raw, dict):
            self.fail("must map output names to templates", ("outputs",), field_name="outputs")
            return {}
        scope = _Scope(inputs, set(declared), set(declared), fan_out=False)
        out = {}
        for key, value in raw.items():
            if not isinstance(key, str) or not IDENT.match(key):
                self.fail("an output name is letters, digits and _ (max 64)", ("outputs", key), field_name="outputs")
                continue
            out[key] = self.template(value, ("outputs", key), None, f"outputs.{key}", scope)
        return out


@dataclass
class _Scope:
    """What a node's expressions may read: inputs, its upstream nodes, and in a fan-out its item."""

    inputs: dict[str, Input]
    upstream: set[str]
    declared: set[str]
    fan_out: bool

    def without_item(self) -> _Scope:
        # A node's condition and its foreach list are evaluated once, before it fans out.
        return _Scope(self.inputs, self.upstream, self.declared, fan_out=False)

    def type_of(self, path: Path) -> str:
        root, rest = path.parts[0], path.parts[1:]
        if root == "inputs":
            return self._input(path, rest)
        if root == "nodes":
            return self._node(path, rest)
        if root in ("item", "index"):
            if not self.fan_out:
                raise ExpressionError(f"`{root}` exists only in the payload or args of a `foreach` node")
            if root == "index" and rest:
                raise ExpressionError("`index` is a number: it has no fields")
            return "number" if root == "index" else ANY
        raise ExpressionError(f"unknown name {root!r}: a path starts with inputs, nodes, item or index")

    def _input(self, path: Path, rest: tuple[str, ...]) -> str:
        if not rest:
            return "object"
        declared = self.inputs.get(rest[0])
        if declared is None:
            known = ", ".join(sorted(self.inputs)) or "none"
            raise ExpressionError(f"unknown input {rest[0]!r} (declared: {known})")
        kind = INPUT_TYPES[declared.type]
        if len(rest) > 1:
            if kind in ("string", "number", "boolean"):
                raise ExpressionError(f"inputs.{rest[0]} is {_a(declared.type)}: it has no field {rest[1]!r}")
            if kind == "list" and not rest[1].isdigit():
                raise ExpressionError(f"inputs.{rest[0]} is a list: index it with a number, not {rest[1]!r}")
            return ANY
        return kind

    def _node(self, path: Path, rest: tuple[str, ...]) -> str:
        if not rest:
            raise ExpressionError("`nodes` needs a node id: nodes.<id>.result")
        nid = rest[0]
        if nid not in self.declared:
            raise ExpressionError(f"unknown node {nid!r} in {path.text}")
        if nid not in self.upstream:
            raise ExpressionError(f"node {nid!r} is not upstream of this node: add it to `dependencies`")
        if len(rest) == 1:
            return "object"
        if rest[1] not in NODE_FIELDS:
            raise ExpressionError(f"a node has {', '.join(NODE_FIELDS)}; not {rest[1]!r} ({path.text})")
        if rest[1] == "status":
            if len(rest) > 2:
                raise ExpressionError(f"{path.text}: a status is a string, it has no fields")
            return "string"
        return ANY


def _a(word: str) -> str:
    return f"an {word}" if word[0] in "aeiou" else f"a {word}"


def _status_literals(expr: Expr) -> list[str]:
    """`nodes.x.status == 'sucess'` can never hold: name the statuses there are."""
    found: list[str] = []
    stack = [expr]
    while stack:
        item = stack.pop()
        if isinstance(item, Compare):
            sides = (item.left, item.right)
            is_status = any(isinstance(s, Path) and s.parts[0] == "nodes" and s.parts[2:] == ("status",) for s in sides)
            for side in sides:
                if is_status and isinstance(side, Literal) and isinstance(side.value, str):
                    if side.value not in NODE_STATUSES:
                        found.append(f"{side.value!r} is not a node status ({', '.join(NODE_STATUSES)})")
            stack.extend(sides)
        elif isinstance(item, expressions.Not):
            stack.append(item.operand)
        elif isinstance(item, expressions.BoolOp):
            stack.extend(item.operands)
    return found


def _find_cycle(deps: dict[str, list[str]]) -> list[str] | None:
    """One dependency cycle as a path that returns to its start, or None."""
    state: dict[str, int] = {}  # 1 visiting, 2 done
    trail: list[str] = []

    def visit(nid: str) -> list[str] | None:
        state[nid] = 1
        trail.append(nid)
        for dep in deps.get(nid, []):
            if state.get(dep) == 1:
                return [*trail[trail.index(dep) :], dep]
            if dep not in state:
                found = visit(dep)
                if found:
                    return found
        trail.pop()
        state[nid] = 2
        return None

    for nid in deps:
        if nid not in state:
            found = visit(nid)
            if found:
                return found
    return None


def _topological(nodes: list[Node]) -> list[Node]:
    """Dependencies before dependents, otherwise in the file's order."""
    done: set[str] = set()
    order: list[Node] = []
    pending = list(nodes)
    while pending:
        ready = [n for n in pending if set(n.dependencies) <= done]
        for n in ready:
            order.append(n)
            done.add(n.id)
        pending = [n for n in pending if n.id not in done]
    return order


def parse(text: str, file: str = "<definition>", agent_modules: tuple[str, ...] = ()) -> Definition:
    """Validate one definition's YAML text; DefinitionError lists every problem.

    `agent_modules` (BRAIN_AGENT_MODULES) register the agents and transforms it may name.
    """
    load_agents(agent_modules)
    try:
        doc = LinedYAML(text)
    except yaml.YAMLError as exc:
        message, line = yaml_error(exc)
        raise DefinitionError([Problem(file, message, line=line)]) from None
    validator = _Validator(file, doc)
    found = validator.definition()
    if validator.problems or found is None:
        raise DefinitionError(sorted(validator.problems, key=lambda p: p.line or 0))
    return found
