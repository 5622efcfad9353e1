"""Start-up compiles or loads the kernel; the cache folder is configurable; read-only works."""

from __future__ import annotations

import errno
import gc
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numba.core.config
import pytest
from fastapi.testclient import TestClient
from numba import njit

from service import warmup
from service.core.training import kernel
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
