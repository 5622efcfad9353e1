"""The graphs a process serves: the presets (built-in and an instructor's folder) and inline ones.

`resolve(spec)` turns a request's `graph` (None for the default `course`, a preset name, or an
inline definition) into a Graph, validated under the configured limits; `compiled(graph)` its
numba code from the bounded disk cache. `registry(...)` keeps one Registry per configuration.

Tested by tests/core/graphs/test_registry.py.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections import OrderedDict
from functools import cache
from pathlib import Path
from typing import Any

from service.core.errors import InvalidInput
from service.core.graphs.compiled import Compiled, GraphCache
from service.core.graphs.definition import Graph, Limits, define
from service.core.graphs.presets import DEFAULT, builtin, load_directory

DATASET_COLUMNS = ("f1", "f2", "f3", "f4", "f5")


class UnknownGraph(InvalidInput):
    """A `graph` that names no preset."""

    title = "Unknown graph"
    slug = "unknown-graph"


class Registry:
    """The presets by name, the folder's errors by file, and the compiled-graph cache."""

    def __init__(
        self,
        limits: Limits,
        folder: str | None,
        cache_root: str,
        max_bytes: int = 256 * 2**20,
        max_loaded: int = 64,
    ) -> None:
        self.limits = limits
        self.presets: dict[str, Graph] = dict(builtin())
        self.errors: dict[str, str] = {}
        if folder is not None:
            if Path(folder).is_dir():
                extra, self.errors = load_directory(folder, limits)
                self.presets.update(extra)
            else:
                self.errors[folder] = "the presets folder does not exist"
        self.cache = GraphCache(cache_root, max_bytes=max_bytes, max_loaded=max_loaded)
        self._inline: OrderedDict[str, Graph] = OrderedDict()

    def preset(self, name: str) -> Graph:
        """The preset `name`, or UnknownGraph listing the presets."""
        if name not in self.presets:
            raise UnknownGraph(
                f"no graph preset is named {name[:64]!r}; the presets are "
                + ", ".join(sorted(self.presets))
            )
        return self.presets[name]

    def resolve(self, spec: str | dict[str, Any] | None) -> Graph:
        """The graph a request names: the default preset, a preset by name, or a definition."""
        if spec is None:
            return self.presets[DEFAULT]
        if isinstance(spec, str):
            return self.preset(spec)
        key = json.dumps(spec, sort_keys=True, separators=(",", ":"))
        if key in self._inline:
            self._inline.move_to_end(key)
            return self._inline[key]
        graph = define(spec, self.limits)
        self._inline[key] = graph
        if len(self._inline) > 256:
            self._inline.popitem(last=False)
        return graph

    def compiled(self, graph: Graph) -> Compiled:
        """The graph's numba code: loaded, from the disk cache, or compiled now (seconds)."""
        return self.cache.get(graph)


def is_course(graph: Graph) -> bool:
    """Whether `graph` is the built-in course graph (served by the hand-written code)."""
    return graph.id == builtin()[DEFAULT].id


def dataset_columns(graph: Graph) -> tuple[int, ...]:
    """The dataset column of each input, or InvalidInput naming the inputs that are not columns."""
    missing = [name for name in graph.inputs if name not in DATASET_COLUMNS]
    if missing:
        raise InvalidInput(
            "'row' needs inputs that are dataset columns (f1..f5); this graph's "
            + ", ".join(repr(m) for m in missing[:10])
            + (" is not" if len(missing) == 1 else " are not")
            + "; give 'x' and 'y' instead"
        )
    return tuple(DATASET_COLUMNS.index(name) for name in graph.inputs)


def default_cache_root(numba_cache_dir: str | None) -> str:
    """`graphs` under the numba cache folder (the setting, NUMBA_CACHE_DIR, else a temp dir)."""
    base = numba_cache_dir or os.environ.get("NUMBA_CACHE_DIR") or tempfile.gettempdir()
    return _under(base)


@cache
def _under(base: str) -> str:
    return str(Path(base) / "backprop-graphs")  # pathlib costs a few µs on every request


@cache
def registry(
    limits: Limits, folder: str | None, cache_root: str, max_bytes: int, max_loaded: int
) -> Registry:
    """One Registry per configuration (the process has one; tests make others)."""
    return Registry(limits, folder, cache_root, max_bytes, max_loaded)
