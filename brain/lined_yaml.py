"""YAML read into plain data that remembers the line of every path, for errors that point at a line."""

from __future__ import annotations

from typing import Any

import yaml


class LinedYAML:
    """Plain data built from a YAML node tree (safe loader, duplicate keys refused), with `line(*path)`."""

    def __init__(self, text: str) -> None:
        self.lines: dict[tuple, int] = {}
        loader = yaml.SafeLoader(text)
        try:
            node = loader.get_single_node()
            self.data = None if node is None else self._build(loader, node, ())
        finally:
            loader.dispose()

    def _build(self, loader: yaml.SafeLoader, node: yaml.Node, path: tuple) -> Any:
        self.lines[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            out: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                key = loader.construct_object(key_node, deep=True)
                if key in out:
                    raise yaml.MarkedYAMLError(problem=f"duplicate key {key!r}", problem_mark=key_node.start_mark)
                out[key] = self._build(loader, value_node, (*path, key))
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self._build(loader, item, (*path, i)) for i, item in enumerate(node.value)]
        return loader.construct_object(node, deep=True)

    def line(self, *path: Any) -> int | None:
        """The line of `path`, else of its nearest parent that has one."""
        while path and path not in self.lines:
            path = path[:-1]
        return self.lines.get(path)


def yaml_error(exc: yaml.YAMLError) -> tuple[str, int | None]:
    """A YAML error's message and line, as a validator reports it."""
    mark = getattr(exc, "problem_mark", None)
    message = getattr(exc, "problem", None) or str(exc)
    return f"invalid YAML: {message}", mark.line + 1 if mark else None
