"""The corpus' data model: an entry, the cases it runs on, the label vocabulary, the shapes.

An entry is a student's code for one task (forward, backward, gradcheck, train), whether it is
correct, which elementary mistakes it makes (labels from ``LABELS``; a compound entry lists
several), a one-line description, and ``run(case)``: what the student's code returns for the
case, exactly as it returns it (numpy floats, tuples, lists, booleans...). ``submission(case)``
maps that return to the items of issue 11 (see ``submit``), in JSON types.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

TASKS = ("forward", "backward", "gradcheck", "train")
FORWARD_ITEMS = ("exp", "tanh", "sigmoid", "y_pred", "loss", "dy_pred")
GRADIENT_ITEMS = tuple(f"dw{i}" for i in range(1, 10))
GRADCHECK_ITEMS = ("difference", "numerical", "per_weight", "gradients")
TRAIN_ITEMS = ("loss_history", "final_weights")

# One label per elementary mistake. "kind@site" labels name the node, factor or weight involved,
# in the graph's own names (SPEC §1).
LABELS: dict[str, str] = {
    # forward pass
    "sign_flip@sigmoid": "sigmoid written 1/(1+e^z): the sign of the exponent is flipped",
    "sign_flip@dy_pred": "dy_pred with its sign flipped: 2*(y - y_pred)",
    "dropped_term@w6": "w6 left out of exp(a*a + w6)",
    "dropped_term@w7": "w7 left out of tanh(exp + w7)",
    "dropped_term@w8": "w8 left out of sigmoid(sin(w3*f3)*q + w8)",
    "misplaced@w7": "w7 added outside tanh: tanh(exp) + w7",
    "misplaced@w9": "w9 multiplies tanh instead of sigmoid",
    "wrong_op@loss": "the loss not squared (y - y_pred, or |y - y_pred|)",
    "wrong_op@sin": "cos(w3*f3) where sin(w3*f3) belongs",
    "wrong_op@square": "a where a*a belongs, inside exp",
    "wrong_constant@loss": "the loss halved: 0.5*(y - y_pred)^2 (and its derivative with it)",
    "wrong_constant@dy_pred": "dy_pred without its factor 2: -(y - y_pred)",
    "swapped_operands@q": "f4 and f5 swapped: w4 pairs with f5 and w5 with f4",
    "swapped_operands@a": "f1 and f2 swapped: w1 pairs with f2 and w2 with f1",
    "off_by_one@x": "a feature read one index off (x[i+1] for f_i at one place)",
    "global_w": "the notebook's global w = [0.1]*9 used instead of the w passed in",
    # backward pass
    "wrong_derivative@sin": "sin's derivative taken wrong (sin, or |cos|, for cos)",
    "wrong_derivative@tanh": "tanh's derivative taken wrong (1 - tanh, or tanh*(1 - tanh))",
    "wrong_derivative@sigmoid": "sigmoid's derivative taken as sigmoid alone",
    "wrong_derivative@square": "the derivative of a*a taken as a instead of 2*a",
    "double_activation@sigmoid": "sigmoid's derivative applied to sigmoid's output: s'(s)",
    "double_activation@tanh": "tanh's derivative applied to tanh's output: 1 - tanh(tanh)^2",
    "dropped_factor@f3": "the chain factor f3 missing from dw3",
    "dropped_factor@w9": "the chain factor w9 missing from the sigmoid branch",
    "dropped_factor@exp": "the chain factor exp missing from dw6 (and what follows it)",
    "dropped_factor@dy_pred": "the upstream dy_pred missing from dw9",
    "dropped_factor@q": "the factor q missing from dw3",
    "wrong_operand@dw9": "dw9 multiplies tanh instead of sigmoid",
    "fanout_overwrite@a": "a*a's input whose gradient is overwritten (=), not summed (+=)",
    # gradient checking
    "gc_all_at_once": "all nine weights perturbed at once (one directional derivative)",
    "gc_not_restored": "a perturbed weight never restored (left at w - eps; later entries drift)",
    "gc_restored_wrongly": "a perturbed weight restored to the wrong value (w - 2*eps)",
    "gc_aliased_copy": "plus and minus copies are the same list (w_plus = w), so L(w-eps) is L(w)",
    "gc_forward_difference": "one-sided (L(w+eps) - L(w)) / eps instead of the central difference",
    "gc_backward_difference": "one-sided (L(w) - L(w-eps)) / eps instead of the central difference",
    "gc_base_overwritten": "the base loss L(w) overwritten by a perturbed loss inside the loop",
    "gc_wrong_divisor": "the difference divided by the wrong step (eps for 2*eps or vice versa)",
    "gc_elementwise_ratio": "elementwise (g - n)/(g + n) instead of the norm ratio",
    "gc_abs_ratio": "elementwise |g - n|/(|g| + |n|) instead of the norm ratio",
    "gc_raw_difference": "raw per-weight n - g (or g - n) instead of the norm ratio",
    "gc_thresholded": "per-weight booleans (a tolerance test) instead of the difference",
    "gc_norm_of_sum": "||g - n|| / ||g + n||: the norm of the sum in the denominator",
    "gc_unnormalised": "||g - n|| alone, not divided by ||g|| + ||n||",
    "gc_whose_gradient": "the numerical gradient compared with another gradient than the one "
    "reported (the notebook's global point's)",
    # training: loss bookkeeping
    "loss_sum": "the epoch's loss as the sum of the per-row losses, not their mean",
    "loss_last_row": "the epoch's loss as the last row's loss",
    "loss_wrong_vector": "the epoch's loss as the MSE of the wrong vector (y against the losses)",
    "loss_after_updates": "each row's loss taken after its own update",
    "loss_not_reset": "the loss accumulator not reset between epochs",
    # training: loop and data
    "full_batch": "one update per epoch with the mean gradient (not per-sample)",
    "wrong_order": "the rows visited shuffled instead of in file order",
    "off_by_one@update": "each weight updated with its neighbour's gradient",
    "sign_flip@update": "w += lr*g: the update goes up the gradient",
    "wrong_constant@lr": "a hard-coded learning rate other than the case's",
    # training: optimizer state and counters
    "bias_correction": "Adam with bias correction m/(1-b1^t), v/(1-b2^t); the course's has none",
    "adam_constant_correction": "Adam's m and v divided by the constants (1-b1), (1-b2)",
    "t_per_epoch": "the step counter t counts epochs, not updates (Adam, Adagrad's lr decay)",
    "t_per_row": "the step counter t is the row index (restarts every epoch)",
    "t_per_weight": "the step counter t is the weight index inside a per-weight loop",
    "eps_inside_sqrt": "eps inside the square root: sqrt(v + eps) (Adam, RMSprop, Adagrad)",
    "adam_v_not_squared": "Adam's v averages g instead of g^2",
    "misplaced@eps": "Adam's eps added outside the division: lr*m/sqrt(v) + eps",
    "state_reset_each_epoch": "the optimizer's state (moments, buffers, sums) reset each epoch",
    "state_not_updated": "the optimizer's state computed but never stored (stays initial)",
    "state_per_row": "one optimizer state per row instead of one for the run",
    "state_initial_value": "the optimizer's state started at the first gradient instead of 0",
    "state_shared": "one scalar optimizer state shared by all nine weights",
    "velocity_previous_gradient": "the previous raw gradient used as the velocity",
    "torch_momentum": "torch's momentum b = beta*b + g; w -= lr*b, not the course's average",
    "cs231n_momentum": "cs231n's momentum v = mu*v - lr*g; w += v",
    # training: torch's optimizers, shuffling and clipping
    "not_shuffled": "the rows visited in file order although the case shuffles them",
    "shuffle_once": "one shuffled order drawn once and reused every epoch",
    "clipping_ignored": "the gradient not clipped before the update as the case asks",
    "ema_momentum": "torch SGD's momentum done as the course's average (1-momentum)*g",
    "nesterov_as_plain": "plain momentum where the case asks for Nesterov's",
    "dampening_ignored": "torch SGD's dampening left out: b = momentum*b + g",
    "no_bias_correction": "torch's Adam without its bias correction",
    "amsgrad_ignored": "amsgrad's running max of v left out",
    "rms_not_decayed": "RMSprop's squared average never decayed: s += (1-alpha)*g^2",
    "rms_not_centered": "centered RMSprop without its subtraction of gbar^2",
    "rms_momentum_misuse": "RMSprop's momentum buffer fed g, then divided: w -= lr*b/avg",
    "lr_decay_ignored": "Adagrad's lr decay left out",
    "weight_decay_ignored": "the weight decay left out",
    "weight_decay_after_update": "the weight decay applied to the updated w after the step",
    "weight_decay_decoupled": "Adam's weight decay decoupled as AdamW's (w *= 1 - lr*wd)",
    "weight_decay_coupled": "AdamW's weight decay added to g as Adam's",
}

# How a student's return value is laid out: positional parts, or a dict's own keys.
SHAPES: dict[str, str] = {
    "dict": "a dict keyed as the template asks",
    "dict_numpy": "a dict of numpy float64 (or 0-d arrays)",
    "dict_no_y_pred": "a forward dict without y_pred (the template never asks for it)",
    "dict_extra_keys": "a dict with extra intermediate values besides the asked ones",
    "list": "a list of the nine gradients, dw1..dw9 in order",
    "array": "a numpy array of the nine gradients",
    "difference": "the difference alone, a float (or numpy float)",
    "difference_numerical": "a tuple (difference, numerical)",
    "gradcheck_dict": "a dict {'difference': ..., 'numerical': ...}",
    "per_weight": "nine per-weight numbers (list or array)",
    "per_weight_bool": "nine per-weight booleans",
    "ratios_g_n": "a tuple (per-weight ratios, g, n)",
    "history": "the loss history, a list",
    "history_array": "the loss history, a numpy array",
    "history_short": "a loss history with fewer entries than epochs",
    "weights_history": "a tuple (final weights, loss history)",
    "history_weights": "a tuple (loss history, final weights)",
    "train_dict": "a dict {'losses': ..., 'weights': ...}",
}


@dataclass(frozen=True)
class PointCase:
    """A point of the graph: a dataset row, a weight vector, and the gradient check's eps."""

    name: str
    row: int
    x: tuple[float, ...]
    y: float
    w: tuple[float, ...]
    eps: float = 1e-7


@dataclass(frozen=True)
class TrainCase:
    """A training run: the course's per-sample loop from given initial weights (SPEC §5)."""

    name: str
    optimizer: str  # a registry optimizer name, with the registry's hyperparameter names
    hyper: Mapping[str, float | bool]
    epochs: int
    initial_weights: tuple[float, ...]
    X: tuple[tuple[float, ...], ...] = field(repr=False)
    y: tuple[float, ...] = field(repr=False)
    kind: str = ""  # what entries are written for (Student.optimizers); default the optimizer
    shuffle: bool = False  # a fresh order per epoch from default_rng(seed), after w0 is drawn
    seed: int = 0
    max_norm: float | None = None  # torch's clip_grad_norm_(params, max_norm) before each update

    @property
    def form(self) -> str:
        """The kind of code that runs on this case (an entry's ``optimizers`` name it)."""
        return self.kind or self.optimizer


Case = PointCase | TrainCase


@dataclass(frozen=True)
class Student:
    """One corpus entry: a student's code for one task, and what is known about it."""

    id: str
    task: str
    correct: bool
    mistakes: tuple[str, ...]
    description: str
    shape: str
    run: Callable[[Any], Any] = field(repr=False)
    # gradcheck: the gradient the student's check is about (their own backward at the case)
    checked: Callable[[PointCase], list[float]] | None = field(default=None, repr=False)
    # train: the kinds of case (case.form: an optimizer, or a torch-style variant) it is written for
    optimizers: frozenset[str] = frozenset()
    # other label sets that produce the very same numbers (a diagnosis naming one is right too)
    same_as: tuple[tuple[str, ...], ...] = ()

    def applies(self, case: Case) -> bool:
        """Whether this entry runs on the case."""
        if self.task == "train":
            return isinstance(case, TrainCase) and case.form in self.optimizers
        return isinstance(case, PointCase)

    def submission(self, case: Case) -> dict[str, Any]:
        """The student's return for the case as issue 11's items, in JSON types (a fresh copy).

        Computed once per entry and case (the code is deterministic), then copied.
        """
        key = (self.id, case.name)
        if key not in _SUBMISSIONS:
            items = submit(self.task, self.shape, self.run(case))
            if self.checked is not None and isinstance(case, PointCase):
                items.setdefault("gradients", jsonable(self.checked(case)))
            _SUBMISSIONS[key] = items
        return copy.deepcopy(_SUBMISSIONS[key])


_SUBMISSIONS: dict[tuple[str, str], dict[str, Any]] = {}


def jsonable(value: Any) -> Any:
    """The value in JSON types: numpy scalars and arrays, tuples become floats, bools, lists."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, bool | np.bool_):
        return bool(value)
    return float(value)


_POSITIONAL = {
    "difference": ("difference",),
    "difference_numerical": ("difference", "numerical"),
    "per_weight": ("per_weight",),
    "per_weight_bool": ("per_weight",),
    "ratios_g_n": ("per_weight", "gradients", "numerical"),
    "history": ("loss_history",),
    "history_array": ("loss_history",),
    "history_short": ("loss_history",),
    "weights_history": ("final_weights", "loss_history"),
    "history_weights": ("loss_history", "final_weights"),
}
_KEYS = {"losses": "loss_history", "weights": "final_weights"}


def submit(task: str, shape: str, raw: Any) -> dict[str, Any]:
    """Map a student's return to the task's items, as a platform adapter would.

    forward: the six names when present (extra keys dropped); backward: dw1..dw9 from a dict,
    or from nine values in order; gradcheck and train: by ``shape``'s positional layout, or a
    dict's keys.
    """
    if task == "forward":
        return {k: jsonable(raw[k]) for k in FORWARD_ITEMS if k in raw}
    if task == "backward":
        if isinstance(raw, Mapping):
            return {k: jsonable(raw[k]) for k in GRADIENT_ITEMS if k in raw}
        return dict(zip(GRADIENT_ITEMS, jsonable(raw), strict=True))
    if isinstance(raw, Mapping):
        return {_KEYS.get(k, k): jsonable(v) for k, v in raw.items()}
    names = _POSITIONAL[shape]
    parts: Sequence[Any] = raw if len(names) > 1 else (raw,)
    return dict(zip(names, (jsonable(p) for p in parts), strict=True))
