"""Start-up compiles or loads the kernel; the cache folder is configurable; read-only works;
the image's warm-up leaves every preset's training loops in the cache for new processes."""

from __future__ import annotations

import errno
import gc
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numba.core.config
import pytest
from fastapi.testclient import TestClient
from numba import njit

from service import warmup
from service.core.training import kernel, registry
from service.core.training.clipping import Clipping
from service.core.training.loop import kernel_inputs
from service.main import create_app
from service.settings import Settings


@pytest.fixture
def numba_config() -> Iterator[None]:
    """Give numba back its own configuration after a test changed NUMBA_CACHE_DIR."""
    before = os.environ.get("NUMBA_CACHE_DIR")
    yield
    if before is None:
        os.environ.pop("NUMBA_CACHE_DIR", None)
    else:
        os.environ["NUMBA_CACHE_DIR"] = before
    numba.core.config.reload_config()  # type: ignore[no-untyped-call]


@pytest.mark.usefixtures("numba_config")
def test_the_cache_folder_setting_becomes_numba_s_cache_folder(tmp_path: Path) -> None:
    warmup.use_cache_dir(str(tmp_path))
    dispatcher: Any = njit(cache=True)(kernel.train_epochs)  # lazy: picks its folder only
    assert os.environ["NUMBA_CACHE_DIR"] == str(tmp_path)
    assert str(dispatcher._cache.cache_path).startswith(str(tmp_path))


def test_settings_read_the_cache_folder_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("BACKPROP_NUMBA_CACHE_DIR", str(tmp_path))
    assert Settings().numba_cache_dir == str(tmp_path)


def add_one(x: float) -> float:
    """A stand-in kernel: compiling the real one in memory takes seconds."""
    return x + 1.0


def test_a_read_only_install_compiles_in_memory_instead_of_failing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def read_only(*args: object, **kwargs: object) -> None:
        raise OSError(errno.EROFS, "Read-only file system")

    # numba probes each candidate cache folder by creating a temporary file in it
    monkeypatch.setattr(tempfile, "TemporaryFile", read_only)
    in_memory = kernel.jit(add_one, "float64(float64)")
    assert in_memory._cache.cache_path is None
    assert in_memory(1.5) == 2.5


@pytest.mark.usefixtures("numba_config")
def test_a_writable_cache_folder_receives_the_compiled_code(tmp_path: Path) -> None:
    warmup.use_cache_dir(str(tmp_path))
    on_disk = kernel.jit(add_one, "float64(float64)")
    assert on_disk(1.5) == 2.5
    assert sorted(p.suffix for p in tmp_path.rglob("*.nb*")) == [".nbc", ".nbi"]


def test_the_kernel_is_compiled_through_the_read_only_tolerant_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = []
    monkeypatch.setattr(kernel, "jit", lambda fn, signature: calls.append((fn, signature)))
    kernel.compiled.__wrapped__()
    assert calls == [(kernel.train_epochs, kernel.SIGNATURE)]


def test_the_app_has_the_kernel_ready_before_it_serves_anything() -> None:
    kernel.compiled.cache_clear()
    with TestClient(create_app()) as client:
        assert kernel.compiled.cache_info().currsize == 1
        response = client.get("/ready")
    assert response.status_code == 200


def test_the_garbage_collector_runs_again_once_the_app_is_ready() -> None:
    gc.disable()  # as importing service.main does, until the lifespan has loaded everything
    with TestClient(create_app()):
        assert gc.isenabled()


def test_the_warmup_command_reports_an_agreeing_kernel_and_its_cache(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exit_:
        warmup.main()
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert "'agrees': True" in out
    assert f"'cache_dir': {kernel.cache_dir()!r}" in out
    assert "'name': 'cs231n_neuron'" in out  # and the presets' loops, each checked too
    assert "'agrees': False" not in out


def test_the_preset_warm_up_covers_every_loop_a_graph_s_training_can_ask_for() -> None:
    asked = set()
    for name in registry.NAMES:
        for clipping in (None, Clipping(value=1.0), Clipping(None, 1.0, 2.0)):
            for hyper in ({}, {"bias_correction": True}, {"weight_decay": 0.1}):
                if set(hyper) <= set(registry.SPECS[name].defaults):
                    asked.add(kernel_inputs(registry.resolve(name, hyper, clipping), 3)[0])
    assert asked <= set(warmup.GRAPH_LOOPS)
    assert len(set(warmup.GRAPH_LOOPS)) == len(kernel.LOOPS) + len(kernel.CLIPPED_LOOPS)


# A fresh process: the preset's Adam loop and its clipped SGD twin, their numba cache statistics.
_LOAD = """
import json, sys
from service import warmup
from service.core.grading import train_kernel
from service.core.training import kernel
from service.core.training.loop import TrainConfig, run
from service.core.training.registry import resolve
from service.settings import Settings

settings = Settings(numba_cache_dir=sys.argv[1])
warmup.use_cache_dir(settings.numba_cache_dir)
graphs = settings.graph_registry()
graph = graphs.presets["cs231n_neuron"]
config = TrainConfig(resolve("adam", {}), epochs=2, X=[[1.0, 2.0]], y=[0.0], graph=graph,
                     cache=graphs.cache)
run(config)  # trains through the compiled loop, as /train does
compiled = graphs.compiled(graph)
stats = {name: compiled.loop(code).stats for name, code in
         (("adam", kernel.ADAM), ("sgd_clipped", kernel.SGD + kernel.CLIPPED))}
stats["wrong_adam"] = train_kernel.graph_compiled(compiled, "adam").stats  # grading's
print(json.dumps({name: [len(s.cache_hits), len(s.cache_misses)] for name, s in stats.items()}
                 | {"gradient": [len(compiled.gradient.stats.cache_hits),
                                 len(compiled.gradient.stats.cache_misses)]}))
"""
_WARM = """
import sys
from service import warmup
from service.core.training import kernel
from service.settings import Settings

codes = (kernel.ADAM, kernel.SGD + kernel.CLIPPED)
done = warmup.warm_presets(Settings(numba_cache_dir=sys.argv[1]), codes, ("adam",))
assert [(p.name, p.loops, p.agrees) for p in done] == [("cs231n_neuron", 2, True)], done
"""


def _python(code: str, cache: Path) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NUMBA_", "BACKPROP_"))}
    ran = subprocess.run(
        [sys.executable, "-c", code, str(cache)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert ran.returncode == 0, ran.stderr[-3000:]
    return ran.stdout


def test_after_the_preset_warm_up_a_new_process_loads_a_preset_s_loops_without_compiling(
    tmp_path: Path,
) -> None:
    cold = json.loads(_python(_LOAD, tmp_path / "cold").splitlines()[-1])
    assert cold == {"adam": [0, 1], "sgd_clipped": [0, 1], "wrong_adam": [0, 1], "gradient": [0, 1]}

    _python(_WARM, tmp_path / "image")  # the image's warm-up, for two of the loops
    files = sorted(p.name for p in (tmp_path / "image").rglob("*.nbi"))
    assert any("loop_adam" in f for f in files)
    assert any("loop_sgd_clipped" in f for f in files)
    warm = json.loads(_python(_LOAD, tmp_path / "image").splitlines()[-1])
    assert warm == {"adam": [1, 0], "sgd_clipped": [1, 0], "wrong_adam": [1, 0], "gradient": [1, 0]}
