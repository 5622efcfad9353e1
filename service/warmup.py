"""Compile the training kernel, or load it from numba's on-disk cache: `python -m service.warmup`.

The app's start-up calls `warm` before /ready says 200, so no request pays compilation; the
Docker image runs this module at build time so that start-up only loads the cache. The folder
is BACKPROP_NUMBA_CACHE_DIR (exported as NUMBA_CACHE_DIR); unset, numba's default (the
package's __pycache__, else the user's cache). Nothing writable: the kernel compiles in memory.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import asdict, dataclass

import numba.core.config

from service.core.grading import train_kernel
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


def main() -> None:
    """Warm the cache and print what happened; exit 1 if the kernel disagrees with the reference."""
    result = warm(get_settings(), every_family=True)
    print(asdict(result))
    sys.exit(0 if result.agrees else 1)


if __name__ == "__main__":
    main()
