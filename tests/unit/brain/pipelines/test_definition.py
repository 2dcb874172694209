"""Definitions: the shipped templates are valid; a broken one lists every problem by line, node and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from brain.pipelines.definition import DefinitionError, parse

TEMPLATES = sorted((Path(__file__).parents[4] / "pipelines").glob("*.yaml"))


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_every_shipped_template_is_valid(path: Path):
    definition = parse(path.read_text(), path.name)
    assert definition.name == path.stem
    order = [n.id for n in definition.nodes]
    for node in definition.nodes:  # dependencies come first
        assert all(order.index(d) < order.index(node.id) for d in node.dependencies)


def test_the_shipped_templates_are_the_three_the_platform_documents():
    assert [p.stem for p in TEMPLATES] == ["deployment", "etl", "ml-training"]


BROKEN = """\
name: broken
inputs:
  n: integer
  env: {type: string, default: 3}
nodes:
  - id: a
    type: mission
    agent: no.such.agent
    dependencies: [c]
    payload: {x: "${inputs.n.foo}", y: "${inputs.missing}"}
  - id: b
    type: transform
    transform: sum
    args: {vals: 1}
    dependencies: [a, ghost]
  - id: c
    type: mission
    agent: echo
    dependencies: [b]
    condition: "nodes.a.result >"
    foreach: inputs.n
    timeout_s: -1
  - id: d
    type: transform
    transform: nope
    condition: "nodes.c.status == 'sucess' or inputs.env > 2"
  - id: d
    type: pipeline
    agent: echo
    on_failure: explode
outputs:
  total: "${nodes.zz.result}"
"""


def test_every_problem_is_listed_with_its_line_node_and_field():
    with pytest.raises(DefinitionError) as caught:
        parse(BROKEN, "broken.yaml")
    found = {(p.line, p.node, p.field, p.message) for p in caught.value.problems}

    def has(line: int, node: str | None, text: str) -> None:
        assert any(f == line and n == node and text in m for f, n, _, m in found), (line, node, text, found)

    has(4, None, "the default is not a string")
    has(8, "a", "unknown agent 'no.such.agent'")
    has(9, "a", "dependency cycle: a -> c -> b -> a")
    has(10, "a", "inputs.n is an integer: it has no field 'foo'")
    has(10, "a", "unknown input 'missing'")
    has(14, "b", "transform 'sum' needs the argument 'values'")
    has(14, "b", "takes no 'vals'")
    has(15, "b", "unknown dependency 'ghost'")
    has(20, "c", "bad expression: expected a value, found the end (column 17)")
    has(21, "c", "must be a list, but this expression is a number")
    has(22, "c", "must be a positive integer")
    has(25, "d", "unknown transform 'nope'")
    has(26, "d", "'sucess' is not a node status")
    has(26, "d", "cannot order a string and a number")
    has(27, "d", "duplicate node id (also node #4)")
    has(29, "#5", "applies to mission nodes only")
    has(30, "#5", "one of fail_pipeline, continue, skip_dependents")
    has(32, None, "unknown node 'zz'")
    lines = [p.line for p in caught.value.problems]
    assert lines == sorted(lines)  # in the file's order


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "must be a mapping"),
        ("name: x\nnodes: [", "invalid YAML"),
        ("name: x\nname: y\nnodes: []", "duplicate key"),
        ("name: x\nnodes: []", "at least one node"),
        ("name: x\nextra: 1\nnodes: [{id: a, type: transform, transform: count, args: {values: []}}]", "unknown key"),
        ("name: x\nnodes: [{id: a, type: mission, agent: sleep, payload: {seconds: -1}}]", "rejects the payload"),
        ("name: x\nnodes: [{id: a, type: mission, agent: echo, payload: {v: '${item}'}}]", "`item` exists only"),
        ("name: x\nnodes: [{id: a, type: mission, agent: echo, max_parallel: 2}]", "`foreach` nodes only"),
        (
            "name: x\nnodes: [{id: a, type: mission, agent: echo}, {id: b, type: mission, agent: echo,"
            " condition: \"nodes.a.status == 'failed'\"}]",
            "node 'a' is not upstream of this node: add it to `dependencies`",
        ),
    ],
)
def test_small_mistakes_each_get_a_clear_message(text: str, message: str):
    with pytest.raises(DefinitionError) as caught:
        parse(text, "x.yaml")
    assert any(message in p.message for p in caught.value.problems), caught.value.problems
