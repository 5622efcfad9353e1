"""The numba kernel equals the readable reference bit for bit: every optimizer, option, order."""

from __future__ import annotations

import itertools
import math
import subprocess
import sys
from dataclasses import asdict
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.core.training import kernel
from service.core.training import loop as training
from service.core.training.clipping import Clipping, total_norm
from service.core.training.loop import TrainConfig, TrainResult, run
from service.core.training.registry import SPECS as REGISTRY

EPOCHS = 2


def bits(result: TrainResult) -> dict[str, Any]:
    """The result with every float as its exact hex form, so -0.0 != 0.0 and 1 ulp shows."""

    def exact(value: Any) -> Any:
        if isinstance(value, float):
            return value.hex()
        if isinstance(value, list):
            return [exact(v) for v in value]
        return value

    return {k: exact(v) for k, v in asdict(result).items()}


def assert_kernel_equals_reference(config: TrainConfig) -> TrainResult:
    compiled = run(config)
    reference = run(config, reference=True)
    assert bits(compiled) == bits(reference)
    return compiled


def grid(**options: list[Any]) -> list[dict[str, Any]]:
    """Every combination of the given option values."""
    return [
        dict(zip(options, values, strict=True)) for values in itertools.product(*options.values())
    ]


OPTIONS: list[tuple[str, dict[str, Any]]] = [
    *[
        ("sgd", h)
        for h in grid(momentum=[0.0, 0.9], dampening=[0.0, 0.5], weight_decay=[0.0, 0.01])
    ],
    ("sgd", {"momentum": 0.9, "nesterov": True}),
    ("sgd", {"momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
    ("momentum", {}),
    ("momentum", {"beta": 0.5, "learning_rate": 0.05}),
    *[
        ("adam", h)
        for h in grid(bias_correction=[False, True], amsgrad=[False, True], weight_decay=[0, 0.1])
    ],
    *[("adamw", h) for h in grid(amsgrad=[False, True], weight_decay=[0.01, 0.1])],
    *[
        ("rmsprop", h)
        for h in grid(centered=[False, True], momentum=[0.0, 0.9], weight_decay=[0.0, 0.01])
    ],
    *[
        ("adagrad", h)
        for h in grid(
            lr_decay=[0.0, 0.01], initial_accumulator_value=[0.0, 0.1], weight_decay=[0.0, 0.01]
        )
    ],
]


@pytest.mark.parametrize("shuffle", [False, True])
@pytest.mark.parametrize(("optimizer", "hyper"), OPTIONS)
def test_kernel_equals_reference_for_every_optimizer_and_option(
    optimizer: str, hyper: dict[str, Any], shuffle: bool
) -> None:
    config = TrainConfig.named(optimizer=optimizer, hyper=hyper, epochs=EPOCHS, shuffle=shuffle)
    result = assert_kernel_equals_reference(config)
    assert result.status == "completed"
    assert result.steps == EPOCHS * 506


CLIPPINGS = {
    "value": Clipping(value=0.05),
    "norm2": Clipping(max_norm=0.1),
    "norm-inf": Clipping(max_norm=0.05, norm_type=math.inf),
    "norm1.5": Clipping(max_norm=0.1, norm_type=1.5),
    "both": Clipping(value=0.05, max_norm=0.08),
}
# One option set per compiled loop (each optimizer's default, its family's general loop).
CLIPPED_OPTIONS: list[tuple[str, dict[str, Any]]] = [
    ("sgd", {}),
    ("sgd", {"momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
    ("momentum", {}),
    ("adam", {}),
    ("adam", {"bias_correction": True, "amsgrad": True, "weight_decay": 0.1}),
    ("adamw", {}),
    ("rmsprop", {"centered": True, "momentum": 0.9, "weight_decay": 0.01}),
    ("rmsprop", {}),
    ("adagrad", {"lr_decay": 0.01, "initial_accumulator_value": 0.1}),
]


@pytest.mark.parametrize("clipping", CLIPPINGS.values(), ids=CLIPPINGS.keys())
@pytest.mark.parametrize(("optimizer", "hyper"), CLIPPED_OPTIONS)
def test_kernel_equals_reference_with_every_clipping_for_every_optimizer(
    optimizer: str, hyper: dict[str, Any], clipping: Clipping
) -> None:
    config = TrainConfig.named(optimizer, hyper, clipping, epochs=EPOCHS, shuffle=True)
    result = assert_kernel_equals_reference(config)
    assert result.status == "completed"
    unclipped = run(TrainConfig.named(optimizer, hyper, epochs=EPOCHS, shuffle=True))
    assert result.final_weights != unclipped.final_weights  # the clipping bites


def test_the_clipped_loops_cover_every_compiled_loop_and_the_registry() -> None:
    loops = {TrainConfig.named(o, h).optimizer.loop() for o, h in CLIPPED_OPTIONS}
    assert loops == set(kernel.LOOPS)
    assert {o for o, _ in CLIPPED_OPTIONS} == set(REGISTRY)
    assert len(kernel.CLIPPED_LOOPS) == len(kernel.PARAMETERS)  # a twin per family
    assert kernel.CLIPPED == len(kernel.LOOPS)


def test_a_clipped_run_takes_its_loop_s_twin_and_an_unclipped_one_its_own_layout() -> None:
    plain = TrainConfig.named("adam").optimizer
    code, p, _ = training.kernel_inputs(plain)
    assert code == kernel.COURSE_ADAM
    assert len(p) == len(kernel.PARAMETERS["adam"])
    clipping = Clipping(value=0.5, max_norm=1.0, norm_type=1.5)
    twin, p_clipped, _ = training.kernel_inputs(TrainConfig.named("adam", {}, clipping).optimizer)
    assert twin == kernel.ADAM + kernel.CLIPPED  # the fast path's family's twin
    assert list(p_clipped) == [*p, 3.0, 0.5, 1.0, 1.5]


@pytest.mark.parametrize("clipping", CLIPPINGS.values(), ids=CLIPPINGS.keys())
def test_the_compiled_clip_step_equals_the_readable_clipping_bit_for_bit(
    clipping: Clipping,
) -> None:
    rng = np.random.default_rng(11)
    for g in [rng.normal(0, s, n) for s in (1e-3, 0.05, 1.0, 1e3) for n in (1, 9, 17)]:
        compiled = g.copy()
        mode, value, max_norm, norm_type = clipping.kernel_values()
        kernel.clip_step(compiled, int(mode), value, max_norm, norm_type)
        assert [x.hex() for x in compiled] == [x.hex() for x in clipping.clip(g)]


def test_clipping_keeps_a_divergent_run_finite_where_it_diverges_unclipped() -> None:
    config = TrainConfig.named(hyper={"learning_rate": 3.2150015360105613}, shuffle=True)
    assert run(config).status == "diverged"
    clipped = TrainConfig.named(
        "sgd", config.optimizer.hyper, Clipping(max_norm=0.01), shuffle=True
    )
    assert assert_kernel_equals_reference(clipped).status == "completed"


def test_every_optimizer_of_the_registry_is_covered() -> None:
    assert {name for name, _ in OPTIONS} == set(REGISTRY)
    assert {spec.kernel for spec in REGISTRY.values()} == set(kernel.PARAMETERS)


def test_every_compiled_loop_is_named_by_a_spec_and_reads_a_known_layout() -> None:
    used = {spec.kernel for spec in REGISTRY.values()}
    used |= {spec.fast_path.loop for spec in REGISTRY.values() if spec.fast_path is not None}
    assert used == set(kernel.LOOPS) == set(kernel.FAMILY)
    assert len(kernel.LOOPS) == len(kernel._UPDATES)
    assert [kernel.CODES[name] for name in kernel.LOOPS] == list(range(len(kernel.LOOPS)))
    for spec in REGISTRY.values():  # what the family reads, the spec gives or pins
        assert set(kernel.PARAMETERS[spec.kernel]) == set(spec.defaults) | set(spec.fixed)


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
def test_kernel_equals_reference_on_the_course_runs(optimizer: str) -> None:
    result = assert_kernel_equals_reference(TrainConfig.named(optimizer=optimizer))
    assert len(result.loss_history) == 20
    assert result.loss_history[-1] < result.loss_history[0]


def test_kernel_equals_reference_on_custom_standardized_data_and_given_weights() -> None:
    rng = np.random.default_rng(7)
    X = rng.normal(3.0, 2.0, (37, 5))
    y = rng.normal(0.5, 1.0, 37)
    config = TrainConfig.named(
        optimizer="adam",
        hyper={"bias_correction": True},
        epochs=4,
        X=X,
        y=y,
        standardize=True,
        shuffle=True,
        initial_weights=[0.3, -0.2, 0.1, 0.0, -0.0, 0.5, -0.5, 0.25, 1.0],
    )
    assert_kernel_equals_reference(config)


@pytest.mark.parametrize("chunk_steps", [7, 2])  # 2 epochs of 3 rows per chunk; 1, gathered
def test_kernel_equals_reference_when_shuffled_epochs_come_in_many_chunks(
    monkeypatch: pytest.MonkeyPatch, chunk_steps: int
) -> None:
    monkeypatch.setattr(training, "CHUNK_STEPS", chunk_steps)
    X = np.array([[0.1, 0.2, 0.3, 0.4, 0.5], [0.5, 0.4, 0.3, 0.2, 0.1], [1.0, -1.0, 0.5, 0, 2]])
    config = TrainConfig.named(optimizer="momentum", epochs=9, X=X, y=np.array([1.0, 0.5, -0.25]))
    chunked = assert_kernel_equals_reference(replace_shuffle(config))
    assert chunked.epochs == 9


def replace_shuffle(config: TrainConfig) -> TrainConfig:
    """The same configuration with shuffled epochs."""
    return TrainConfig(**{**config.__dict__, "shuffle": True})


def test_a_huge_learning_rate_diverges_at_the_first_update_in_both() -> None:
    result = assert_kernel_equals_reference(TrainConfig.named(hyper={"learning_rate": 1e3}))
    assert result.status == "diverged"
    assert result.diverged_at == {"epoch": 0, "step": 1}
    assert result.loss_history == []
    assert result.final_weights != result.initial_weights


@pytest.mark.parametrize(
    ("optimizer", "learning_rate", "epoch"),
    [("rmsprop", 0.18719974665859884, 7), ("sgd", 3.2150015360105613, 3)],
)
def test_a_late_divergence_keeps_the_finite_history_in_both(
    optimizer: str, learning_rate: float, epoch: int
) -> None:
    config = TrainConfig.named(
        optimizer=optimizer, hyper={"learning_rate": learning_rate}, shuffle=True
    )
    result = assert_kernel_equals_reference(config)
    assert result.status == "diverged"
    assert result.diverged_at is not None
    assert result.diverged_at["epoch"] == epoch == len(result.loss_history)


def test_an_overflowing_epoch_mean_of_finite_losses_diverges_in_both() -> None:
    X = np.array([[0.1, 0.2, 0.3, 0.4, 0.5], [0.5, 0.4, 0.3, 0.2, 0.1]])
    config = TrainConfig.named(hyper={"learning_rate": 1e-300}, X=X, y=np.array([1.3e154, 1.3e154]))
    result = assert_kernel_equals_reference(config)
    assert result.diverged_at == {"epoch": 0, "step": 2}


def test_an_overflowing_forward_node_diverges_before_any_update_in_both() -> None:
    X = np.array([[20.0, 1.0, 1.0, 1.0, 1.0]])
    config = TrainConfig.named(initial_weights=[50.0] + [0.1] * 8, X=X, y=np.array([1.0]))
    result = assert_kernel_equals_reference(config)
    assert result.diverged_at == {"epoch": 0, "step": 0}
    assert result.final_weights == result.initial_weights


def test_a_zero_division_in_an_update_diverges_in_both() -> None:
    X = np.array([[0.1, 0.2, 0.0, 0.4, 0.5], [0.5, 0.4, 0.0, 0.2, 0.1]])  # f3 = 0: dw3 = 0
    config = TrainConfig.named(optimizer="adam", hyper={"eps": 0.0}, X=X, y=np.array([1.0, 0.5]))
    with np.errstate(invalid="ignore"):  # the reference's 0/0 in m / (sqrt(v) + eps)
        result = assert_kernel_equals_reference(config)
    assert result.diverged_at == {"epoch": 0, "step": 0}


@pytest.mark.parametrize("reference", [False, True])
def test_no_rows_raises_in_both(reference: bool) -> None:
    config = TrainConfig.named(X=np.empty((0, 5)), y=np.empty(0))
    with pytest.raises(ZeroDivisionError):
        run(config, reference=reference)


LOAD = """
import sys
from numba.np import linalg
probe = linalg.ensure_blas
from service.core.training import kernel
kernel.compiled()
print("scipy.linalg" in sys.modules, linalg.ensure_blas is probe)
"""


def test_loading_the_kernel_skips_scipy_linalg_and_restores_numba_s_blas_probe() -> None:
    loaded = subprocess.run([sys.executable, "-c", LOAD], capture_output=True, text=True)
    assert loaded.stdout.split() == ["False", "True"], loaded.stderr


HYPER = {
    "learning_rate": st.floats(1e-6, 1e6),
    "momentum": st.sampled_from([0.0, 0.5, 0.9, 2.0]),
    "dampening": st.sampled_from([0.0, 0.5, 1.0]),
    "weight_decay": st.sampled_from([0.0, 1e-3, 0.5, 10.0]),
    "beta": st.floats(0.0, 0.999),
    "beta1": st.floats(0.0, 0.999),
    "beta2": st.floats(0.0, 0.999),
    "eps": st.sampled_from([1e-300, 1e-10, 1e-8, 1.0]),
    "bias_correction": st.booleans(),
    "amsgrad": st.booleans(),
    "alpha": st.floats(0.0, 0.999),
    "centered": st.booleans(),
    "lr_decay": st.sampled_from([0.0, 0.1, 10.0]),
    "initial_accumulator_value": st.sampled_from([0.0, 0.1, 5.0]),
}


@st.composite
def configs(draw: st.DrawFn) -> TrainConfig:
    """A random small run: any optimizer, its hyperparameters, any clipping, any data scale."""
    optimizer = draw(st.sampled_from(sorted(REGISTRY)))
    names = [k for k in REGISTRY[optimizer].defaults if k != "nesterov"]
    hyper: dict[str, float | bool | None] = {
        k: draw(HYPER[k]) for k in names if draw(st.booleans())
    }
    clipping = None
    if draw(st.booleans()):
        value = draw(st.none() | st.sampled_from([1e-3, 0.1, 10.0]))
        max_norm = draw(st.sampled_from([None, 1e-3, 0.1, 10.0] if value else [1e-3, 0.1, 10.0]))
        p = draw(st.sampled_from([1.0, 1.5, 2.0, 3.0, math.inf]))
        clipping = Clipping(value, max_norm, p)
    rows = draw(st.integers(1, 6))
    scale = draw(st.sampled_from([0.1, 1.0, 30.0]))
    X = np.array(draw(st.lists(st.floats(-1, 1), min_size=5 * rows, max_size=5 * rows)))
    y = np.array(draw(st.lists(st.floats(-3, 3), min_size=rows, max_size=rows)))
    return TrainConfig.named(
        optimizer=optimizer,
        hyper=hyper,
        clipping=clipping,
        epochs=draw(st.integers(1, 8)),
        seed=draw(st.integers(0, 2**32)),
        shuffle=draw(st.booleans()),
        X=X.reshape(rows, 5) * scale,
        y=y * scale,
    )


@settings(max_examples=150, deadline=None)
@given(configs())
def test_kernel_equals_reference_on_random_runs_including_divergent_ones(
    config: TrainConfig,
) -> None:
    assert_kernel_equals_reference(config)


def paused(config: TrainConfig, slice_steps: int) -> tuple[Any, list[int]]:
    """A session run to its end with a pause every ~slice_steps steps: outcome, steps at pauses."""
    sliced = training.session(config, slice_steps)
    pauses = []
    while True:
        try:
            pauses.append(next(sliced))
        except StopIteration as stop:
            return stop.value, pauses


def test_a_course_run_paused_every_three_epochs_equals_the_run_in_one_go() -> None:
    config = TrainConfig.named(optimizer="adam")
    outcome, pauses = paused(config, 3 * 506)
    assert pauses == [506 * e for e in (3, 6, 9, 12, 15, 18, 20)]
    assert outcome == run(config)


@settings(max_examples=80, deadline=None)
@given(configs(), st.integers(1, 40))
def test_runs_paused_every_few_steps_equal_runs_in_one_go(
    config: TrainConfig, slice_steps: int
) -> None:
    outcome, pauses = paused(config, slice_steps)
    assert pauses == sorted(pauses)
    assert outcome == run(config)
    assert outcome == run(config, reference=True)


@pytest.mark.parametrize("clipping", CLIPPINGS.values(), ids=CLIPPINGS.keys())
@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_the_clip_step_and_the_readable_clipping_agree_on_non_finite_components(
    clipping: Clipping, bad: float
) -> None:
    g = np.array([0.5, bad, -2.0, 0.0])
    compiled = g.copy()
    mode, value, max_norm, norm_type = clipping.kernel_values()
    with np.errstate(invalid="ignore"):  # inf * 0.0 in the readable scaling
        readable = clipping.clip(g)
        kernel.clip_step(compiled, int(mode), value, max_norm, norm_type)
    assert [x.hex() for x in compiled] == [x.hex() for x in readable]


NORM_TYPES = [1.0, 1.000001, 1.5, 1.999, 2.0, 2.5, 3.0, 4.0, 4.5, 7.0, 32.0, 33.0]


def near_the_bound_gradients() -> list[tuple[np.ndarray, float, float]]:
    """(g, max_norm, p) with the computed norm + 1e-6 within a few parts in 1e9 of max_norm
    (either side), and far below or above, over many scales, lengths and spreads."""
    rng = np.random.default_rng(13)
    cases = []
    for p in NORM_TYPES:
        for n in (1, 2, 9, 17, 100):
            for scale in (1e-300, 1e-12, 1e-3, 1.0, 1e6, 1e150):
                g = rng.normal(0.0, scale, n) * (rng.random(n) < 0.8)
                norm = total_norm(g, p)
                for rel in (-1e-6, -1e-9, -3e-10, 0.0, 3e-10, 1e-9, 1e-6, -0.5, 0.5, 1e3):
                    cases.append((g, (norm + 1e-6) * (1.0 + rel), p))
    return cases


def test_the_cheap_norm_decision_only_says_unclipped_when_the_computed_norm_is() -> None:
    said = 0
    for g, max_norm, p in near_the_bound_gradients():
        if not max_norm > 0.0 or not math.isfinite(max_norm):
            continue
        if kernel._below_max_norm(g, g.shape[0], max_norm, p):
            said += 1
            assert total_norm(g, p) + 1e-6 <= max_norm, (g, max_norm, p)
            assert max_norm / (total_norm(g, p) + 1e-6) >= 1.0
    assert said > 100  # and it does decide: the pow-free path is taken


@pytest.mark.parametrize("p", NORM_TYPES)
def test_the_cheap_norm_decision_holds_for_gradients_well_below_the_norm(p: float) -> None:
    rng = np.random.default_rng(5)
    for _ in range(200):
        g = rng.normal(0.0, 1.0, 9)
        # p above 32 always takes the exact norm
        assert kernel._below_max_norm(g, 9, 1.5 * np.abs(g).sum() + 1e-5, p) == (p <= 32.0)
        assert not kernel._below_max_norm(g, 9, 0.99 * np.abs(g).max(), p)


def test_the_clip_step_equals_the_readable_clipping_near_the_norm_bound() -> None:
    for g, max_norm, p in near_the_bound_gradients():
        if not max_norm > 0.0 or not math.isfinite(max_norm):
            continue
        for clipping in (
            Clipping(max_norm=max_norm, norm_type=p),
            Clipping(value=float(np.abs(g).max()) * 0.7 or 1.0, max_norm=max_norm, norm_type=p),
        ):
            compiled = g.copy()
            mode, value, norm, norm_type = clipping.kernel_values()
            kernel.clip_step(compiled, int(mode), value, norm, norm_type)
            assert [x.hex() for x in compiled] == [x.hex() for x in clipping.clip(g)]


@pytest.mark.parametrize("p", [1.5, 2.0, 3.0, 40.0])
def test_the_cheap_norm_decision_refuses_non_finite_and_out_of_range_inputs(p: float) -> None:
    for bad in (math.nan, math.inf):
        assert not kernel._below_max_norm(np.array([0.1, bad]), 2, 10.0, p)
    assert not kernel._below_max_norm(np.array([0.1]), 1, 1e-6, p)  # T below 2**-32
    assert not kernel._below_max_norm(np.array([0.1]), 1, 2.0**32, p)  # sum a**p may overflow
    huge_p = kernel._below_max_norm(np.array([0.1]), 1, 10.0, 40.0)
    assert not huge_p
