"""The standard case set the corpus is run on: points of the graph, gradient checks, trainings.

Only data: rows of the shipped dataset (service/data/backprop_data.csv) and weight vectors.
"""

from __future__ import annotations

from functools import lru_cache

from service.core.dataset import load_dataset
from tests.support.students.model import PointCase, TrainCase

COURSE_W = (0.1,) * 9
GRADCHECK_W = (  # SPEC §4: the course's second gradient-check point
    0.00271756,
    0.01260512,
    0.00167639,
    -0.00207756,
    0.00720768,
    0.00114524,
    0.00684168,
    0.02242521,
    0.01296444,
)
MIXED_W = (0.3, -0.2, 0.5, 0.4, -0.6, 0.1, 0.2, -0.3, 0.7)
LARGE_W = (0.8, 0.5, 1.2, -0.9, 0.7, -0.4, 0.3, 0.6, -1.1)  # w3*f3 past pi/2: cos < 0 on row 0
OTHER_W = (0.5, -0.4, 1.1, 0.6, -0.3, -0.2, 0.1, 0.4, -0.8)  # cos(w3*f3) < 0 on row 300
ONES_W = (1.0,) * 9  # the weights y was made with: on row 1 the loss is exactly 0

# default_rng(11).normal(0, 0.01, 9), written out: the course's kind of initial weights
W0 = (
    0.0003419276725318417,
    0.013597475403099617,
    0.012247210785859323,
    -0.005103070767876675,
    -0.002979695111064471,
    -0.005273841930334252,
    0.0056972635757196015,
    -0.000560644390456176,
    0.00746885616256544,
)

COURSE_HYPER = {
    "sgd": {"learning_rate": 0.001},
    "momentum": {"learning_rate": 0.01, "beta": 0.9},
    "adam": {"learning_rate": 0.001, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8},
}


def point(name: str, row: int, w: tuple[float, ...], eps: float = 1e-7) -> PointCase:
    """A point at a dataset row."""
    data = load_dataset()
    return PointCase(name, row, tuple(data.X[row].tolist()), float(data.y[row]), w, eps)


@lru_cache(maxsize=1)
def point_cases() -> tuple[PointCase, ...]:
    """Forward and backward cases: the course's point first."""
    return (
        point("row0_course_w", 0, COURSE_W),
        point("row0_gradcheck_w", 0, GRADCHECK_W),
        point("row7_mixed_w", 7, MIXED_W),
        point("row0_large_w", 0, LARGE_W),
        point("row300_other_w", 300, OTHER_W),
        point("row1_ones_w", 1, ONES_W),
    )


@lru_cache(maxsize=1)
def gradcheck_cases() -> tuple[PointCase, ...]:
    """Gradient-check cases: the course's two points at eps 1e-7, others at 1e-7 and 1e-4."""
    return (
        point("gc_row0_course_w", 0, COURSE_W),
        point("gc_row0_gradcheck_w", 0, GRADCHECK_W),
        point("gc_row7_mixed_w", 7, MIXED_W),
        point("gc_row300_other_w_eps1e-4", 300, OTHER_W, eps=1e-4),
    )


def train_case(name: str, optimizer: str, epochs: int, w0: tuple[float, ...]) -> TrainCase:
    """The course's training of the whole dataset, in file order."""
    data = load_dataset()
    X = tuple(tuple(r) for r in data.X.tolist())
    return TrainCase(
        name, optimizer, COURSE_HYPER[optimizer], epochs, w0, X, tuple(data.y.tolist())
    )


# torch's optimizers with their options on, each a kind of case of its own (TrainCase.kind)
TORCH_CASES: dict[str, tuple[str, dict[str, float | bool]]] = {
    "sgd_nesterov": ("sgd", {"learning_rate": 0.01, "momentum": 0.9, "nesterov": True,
                             "weight_decay": 0.1}),
    "sgd_dampening": ("sgd", {"learning_rate": 0.01, "momentum": 0.9, "dampening": 0.3}),
    "adam_torch": ("adam", {"learning_rate": 0.01, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8,
                            "bias_correction": True, "amsgrad": True, "weight_decay": 0.1}),
    "adamw": ("adamw", {"learning_rate": 0.01, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8,
                        "weight_decay": 0.1}),
    "rmsprop": ("rmsprop", {"learning_rate": 0.01, "alpha": 0.99, "eps": 1e-8, "momentum": 0.5,
                            "centered": True, "weight_decay": 0.1}),
    "adagrad": ("adagrad", {"learning_rate": 0.05, "lr_decay": 0.01, "eps": 1e-10,
                            "weight_decay": 0.1}),
    "sgd_shuffled": ("sgd", {"learning_rate": 0.01}),  # shuffled (seed 7) and norm-clipped
}  # fmt: skip


def torch_case(kind: str, epochs: int, w0: tuple[float, ...]) -> TrainCase:
    """One of TORCH_CASES over the whole dataset; sgd_shuffled shuffles and clips the norm."""
    data = load_dataset()
    X = tuple(tuple(r) for r in data.X.tolist())
    optimizer, hyper = TORCH_CASES[kind]
    shuffled = kind == "sgd_shuffled"
    return TrainCase(
        f"{kind}_{epochs}_w0", optimizer, hyper, epochs, w0, X, tuple(data.y.tolist()), kind,
        shuffle=shuffled, seed=7, max_norm=0.05 if shuffled else None,
    )  # fmt: skip


@lru_cache(maxsize=1)
def train_cases() -> tuple[TrainCase, ...]:
    """Course sgd, momentum and adam for 3 epochs from W0; 2 epochs from [0.1]*9 too; each of
    torch's optimizers (TORCH_CASES) for 3 epochs from W0."""
    return (
        train_case("sgd_3_w0", "sgd", 3, W0),
        train_case("sgd_2_course_w", "sgd", 2, COURSE_W),
        train_case("momentum_3_w0", "momentum", 3, W0),
        train_case("adam_3_w0", "adam", 3, W0),
        train_case("momentum_2_course_w", "momentum", 2, COURSE_W),
        train_case("adam_2_course_w", "adam", 2, COURSE_W),
        *(torch_case(kind, 3, W0) for kind in TORCH_CASES),
    )


def cases_for(task: str) -> tuple[PointCase, ...] | tuple[TrainCase, ...]:
    """The standard cases of a task."""
    if task == "train":
        return train_cases()
    return gradcheck_cases() if task == "gradcheck" else point_cases()
