"""The compiled wrong versions of training: the unmutated trajectory is the case's run bit for bit
(every optimizer, shuffled, clipped), every label in the corpus' vocabulary, and the search
bounded and naming a compound mistake."""

from __future__ import annotations

import pytest

from service.core.grading import train_kernel, train_mistakes
from service.core.grading.train_catalogue import CATALOGUE, SENTENCES, Mistake
from service.core.training.clipping import Clipping
from service.core.training.loop import TrainConfig, run
from service.core.training.registry import SPECS
from tests.support.students import LABELS

CASES = [
    TrainConfig.named("sgd", epochs=2, initial_weights=[0.1] * 9),
    TrainConfig.named("momentum", epochs=2),
    TrainConfig.named("adam", epochs=2),
    TrainConfig.named(
        "adam", {"bias_correction": True, "amsgrad": True, "weight_decay": 0.01}, epochs=2
    ),
    TrainConfig.named("adamw", {"amsgrad": True}, epochs=2),
    TrainConfig.named("sgd", {"momentum": 0.9, "nesterov": True, "weight_decay": 0.01}, epochs=2),
    TrainConfig.named("sgd", {"momentum": 0.9, "dampening": 0.1}, epochs=2, shuffle=True, seed=3),
    TrainConfig.named(
        "rmsprop", {"momentum": 0.5, "centered": True, "weight_decay": 0.01}, epochs=2
    ),
    TrainConfig.named(
        "adagrad",
        {"lr_decay": 0.01, "initial_accumulator_value": 0.1, "weight_decay": 0.01},
        epochs=2,
    ),
    TrainConfig.named(
        "adam", {"bias_correction": True}, Clipping(0.5, 1.0), epochs=2, shuffle=True
    ),
    TrainConfig.named("momentum", None, Clipping(max_norm=0.1, norm_type=1.0), epochs=2),
]


@pytest.mark.parametrize("config", CASES, ids=lambda c: c.optimizer.name)
def test_the_unmutated_trajectory_is_the_case_run_bit_for_bit(config: TrainConfig) -> None:
    right = run(config)
    right_path = train_mistakes.trajectories(config)[0]
    assert right_path.labels == ()
    losses, w, done = train_mistakes._run(config, right_path, 2, config.fingerprint())
    assert done == 2
    assert losses[0].tolist() == right.loss_history
    assert w.tolist() == right.final_weights
    assert losses[1].tolist() == pytest.approx([h * config.rows for h in right.loss_history])


def test_every_label_speaks_the_vocabulary() -> None:
    for m in CATALOGUE:
        for label in m.labels:
            assert label in LABELS, label
            assert label in SENTENCES, label
        assert set(m.optimizers) <= set(SPECS)
    assert set(train_mistakes.LOSS_SENTENCES) <= set(LABELS)


def test_every_optimizer_is_searched_simplest_first() -> None:
    for name in SPECS:
        paths = train_mistakes.trajectories(TrainConfig.named(name))
        assert paths[0].labels == ()
        assert len(paths) > 8
        sizes = [len(p.labels) > 1 for p in paths]
        assert sizes == sorted(sizes)


def test_a_compound_of_an_update_rule_and_a_bookkeeping_is_named() -> None:
    config = TrainConfig.named("momentum", epochs=2)
    torch = Mistake(("torch_momentum",), ("momentum",), update="torch")
    losses, _, _ = train_mistakes._run(config, torch, 2, config.fingerprint())
    summed = losses[1].tolist()
    found = train_mistakes.variants(config, run(config), {"loss_history": summed})
    assert found[0].labels == ("torch_momentum", "loss_sum")


def test_a_shuffled_clipped_case_names_its_own_orders_mistake() -> None:
    config = TrainConfig.named(
        "sgd", {"learning_rate": 0.05}, Clipping(value=0.05), epochs=3, shuffle=True, seed=4
    )
    once = next(m for m in CATALOGUE if m.labels == ("shuffle_once",))
    losses, _, _ = train_mistakes._run(config, once, 3, "probe")
    found = train_mistakes.variants(config, run(config), {"loss_history": losses[0].tolist()})
    assert found[0].labels == ("shuffle_once",)


def test_the_plan_is_bounded() -> None:
    config = TrainConfig.named("adam", epochs=20)
    paths = len(train_mistakes.trajectories(config))
    expected = -(-train_mistakes.PROBE_EPOCHS * paths // 20) + train_mistakes.FULL_RUNS
    assert train_mistakes.variant_count(config) == expected
    assert train_mistakes.variant_count(TrainConfig.named("rmsprop")) > train_mistakes.FULL_RUNS


def test_long_shuffled_cases_are_not_searched_and_the_kernel_warms() -> None:
    long = TrainConfig.named("sgd", shuffle=True, epochs=2000)
    assert not train_mistakes.searched(long)
    assert train_mistakes.variant_count(long) == 0
    train_kernel.warm()


def test_each_family_s_loop_has_a_name_of_its_own() -> None:
    """numba names compiled code after the qualified name; the families' loops are cached apart
    and loaded into one process, where equal names would link one family's code for another's."""
    loops = (train_kernel._SGD, train_kernel._MOMENTUM, train_kernel._ADAM,
             train_kernel._RMSPROP, train_kernel._ADAGRAD)  # fmt: skip
    assert len({loop.py_func.__qualname__ for loop in loops}) == len(train_kernel.FAMILIES)
