"""Compile the training kernel, or load it from numba's on-disk cache: `python -m service.warmup`.

The app's start-up calls `warm` before /ready says 200, so no request pays compilation; the
Docker image runs this module at build time so that start-up only loads the cache. The folder
is BACKPROP_NUMBA_CACHE_DIR (exported as NUMBA_CACHE_DIR); unset, numba's default (the
package's __pycache__, else the user's cache). Nothing writable: the kernel compiles in memory.

The command also compiles every preset other than the course (the built-in ones and those of
BACKPROP_GRAPHS_DIR at build time) into the graph cache under that folder: its gradient and all
its training loops and grading's wrong-version loops (`warm_presets`), so that no replica
started from the image compiles a preset's loop on its first training or graded training; each
loop then loads from the cache in milliseconds.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import asdict, dataclass

import numba.core.config

from service.core.grading import train_kernel
from service.core.graphs.registry import Registry, is_course
from service.core.training import kernel
from service.core.training.loop import TrainConfig, run
from service.core.training.registry import resolve
from service.settings import Settings, get_settings


@dataclass(frozen=True)
class Warmup:
    """How the kernel became ready."""

    seconds: float
    cache_dir: str | None
    agrees: bool


def use_cache_dir(path: str | None) -> None:
    """Point numba at `path` (when given) before the kernel's dispatcher picks its folder."""
    if path:
        os.environ["NUMBA_CACHE_DIR"] = path
        numba.core.config.reload_config()  # type: ignore[no-untyped-call]


def warm(settings: Settings, every_family: bool = False) -> Warmup:
    """Make the kernels ready (training's, and grading's wrong-version loops) and check one short
    run against the readable reference.

    Grading's loops are one per optimizer family (~5 s each to compile cold): start-up makes the
    course's three ready (sgd, momentum, adam); the others compile, or load from the cache, on
    their first grade, in the training pool's worker thread. ``every_family`` (the image build's
    ``python -m service.warmup``) makes all of them ready, so that the cache holds them all."""
    start = time.perf_counter()
    use_cache_dir(settings.numba_cache_dir)
    probe = TrainConfig(resolve("adam", {"bias_correction": True}), epochs=1, shuffle=True)
    compiled = run(probe)
    train_kernel.warm(train_kernel.FAMILIES if every_family else train_kernel.COURSE_FAMILIES)
    seconds = time.perf_counter() - start
    reference = run(probe, reference=True)
    return Warmup(seconds, kernel.cache_dir(), compiled == reference)


# Every loop code a graph's training can ask for (loop.kernel_inputs): each entry of LOOPS, and
# the clipping twin of each update family (its code + CLIPPED).
GRAPH_LOOPS: tuple[int, ...] = (
    *range(len(kernel.LOOPS)),
    *(kernel.CODES[family] + kernel.CLIPPED for family in kernel.PARAMETERS),
)


@dataclass(frozen=True)
class PresetWarmup:
    """How one preset's compiled code became ready."""

    name: str
    graph_id: str
    loops: int
    seconds: float
    agrees: bool


def warm_presets(
    settings: Settings,
    codes: tuple[int, ...] = GRAPH_LOOPS,
    families: tuple[str, ...] = train_kernel.FAMILIES,
) -> list[PresetWarmup]:
    """Compile (or load) each non-course preset's gradient, training loops `codes` and grading's
    wrong-version loop of each of `families` into the graph cache, and check a short Adam run of
    each against the readable reference."""
    use_cache_dir(settings.numba_cache_dir)
    graphs = settings.graph_registry()
    done = []
    for name, graph in sorted(graphs.presets.items()):
        if is_course(graph):  # served by the course's own kernel, warmed by `warm`
            continue
        start = time.perf_counter()
        compiled = graphs.compiled(graph)
        for code in codes:
            compiled.loop(code)
        for family in families:  # grading's wrong versions of its trainings
            train_kernel.graph_compiled(compiled, family)
        seconds = time.perf_counter() - start
        done.append(PresetWarmup(name, graph.id, len(codes), seconds, _agrees(graphs, name)))
    return done


def _agrees(graphs: Registry, name: str) -> bool:
    """A 3-epoch Adam run of preset `name` on a small fixed data set: compiled == reference."""
    graph = graphs.presets[name]
    n = len(graph.inputs)
    X = [[((i * 7 + j * 13) % 41) / 10 - 2 for j in range(n)] for i in range(8)]
    y = [float(i % 2) for i in range(8)]
    probe = TrainConfig(resolve("adam", {}), epochs=3, X=X, y=y, graph=graph, cache=graphs.cache)
    return run(probe) == run(probe, reference=True)


def main() -> None:
    """Warm the caches and print what happened; exit 1 if a kernel disagrees with the reference."""
    settings = get_settings()
    result = warm(settings, every_family=True)
    print(asdict(result))
    presets = warm_presets(settings)
    for preset in presets:
        print(asdict(preset))
    sys.exit(0 if result.agrees and all(p.agrees for p in presets) else 1)


if __name__ == "__main__":
    main()
