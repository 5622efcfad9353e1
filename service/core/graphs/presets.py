"""Preset graphs: those shipped in the package (`course`, the default) and an instructor's folder.

A preset is a JSON definition in a file whose stem is its name (`course.json` is `course`).

Tested by tests/core/graphs/test_definition.py.
"""

from __future__ import annotations

import json
import re
from functools import cache
from importlib import resources
from pathlib import Path

from service.core.errors import InvalidGraph
from service.core.graphs.definition import Graph, Limits, define

DEFAULT = "course"
PRESET_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")


def parse(text: str, limits: Limits | None = None) -> Graph:
    """A preset file's text as a Graph; bad JSON is an InvalidGraph too."""
    try:
        definition = json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidGraph(f"not JSON: {error}", position=error.pos, expected="JSON") from None
    return define(definition, limits)


@cache
def builtin() -> dict[str, Graph]:
    """The presets shipped with the package, by name (ordinary limits do not apply to them)."""
    folder = resources.files("service.core.graphs").joinpath("presets")
    presets = {}
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".json"):
            presets[entry.name.removesuffix(".json")] = parse(entry.read_text(), Limits())
    return presets


def load_directory(
    folder: Path | str, limits: Limits | None = None
) -> tuple[dict[str, Graph], dict[str, str]]:
    """An instructor's presets, by file stem, and the errors of the files that failed, by file.

    A name that is not lower-case [a-z0-9_-] or that repeats a built-in preset is an error too.
    """
    graphs: dict[str, Graph] = {}
    errors: dict[str, str] = {}
    for path in sorted(Path(folder).glob("*.json")):
        name = path.stem
        if not PRESET_NAME.fullmatch(name):
            errors[str(path)] = f"'{name}' is not a preset name (lower-case letters, digits, _ -)"
        elif name in builtin():
            errors[str(path)] = f"'{name}' is the name of a built-in preset"
        else:
            try:
                graphs[name] = parse(path.read_text(encoding="utf-8"), limits)
            except (InvalidGraph, OSError, UnicodeDecodeError) as error:
                errors[str(path)] = str(error)
    return graphs, errors
