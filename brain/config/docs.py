"""The README's tables of environment variables, generated from the declarations (`brain settings docs`)."""

from __future__ import annotations

import json

from brain.config.settings import Spec, all_specs


def _shown_default(spec: Spec) -> str:
    value = spec.default
    if value is None:
        return "profile"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, tuple):
        value = ",".join(value)
    if value == "" or value == ():
        return "(empty)"
    return f"`{json.dumps(value) if isinstance(value, dict) else value}`"


def settings_table() -> str:
    """The README's tables of environment variables, one per section, generated from the declarations."""
    sections: dict[str, list[Spec]] = {}
    for spec in all_specs().values():
        sections.setdefault(spec.section, []).append(spec)
    out: list[str] = []
    for name, specs in sections.items():
        out += [f"**{name[0].upper()}{name[1:]}**", "", "| variable | default | meaning |", "|---|---|---|"]
        out += [f"| `{s.env}` | {_shown_default(s)} | {s.doc}{' (secret)' if s.secret else ''} |" for s in specs]
        out.append("")
    return "\n".join(out).rstrip("\n")
