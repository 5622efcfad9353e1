"""The catalogue of training mistakes, as data: what each wrong version changes, and its sentence.

Each ``Mistake`` names the optimizers (registry names) it is a mistake of, when it changes
anything (``when``: hyperparameters that must be set, ``unless``: that must be off; "clipping"
and "shuffle" stand for the case's clipping and shuffling), and what it changes, site by site,
in train_kernel's codes: the gradient trained on, the update variant, the state's handling, the
step counter, one update per epoch, the neighbour's gradient, weight decay after the update, the
rows' order, or a hyperparameter the student's code has otherwise (``override``: a value, or
``FLIP`` for a flag turned the other way). Compounds list several labels and sites; the loss
bookkeeping (``LOSS_SENTENCES``) combines with every entry at no cost (train_mistakes).

Every entry has a test that writes the wrong loop as a student would and expects its labels
(tests/core/grading/test_train_catalogue.py).

(Over 250 lines: the catalogue, each entry beside its sentence.)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace

FLIP = -1.0  # an override value: the flag turned the other way
STATEFUL = ("momentum", "adam", "adamw", "rmsprop", "adagrad")
ADAMS = ("adam", "adamw")
EVERY = ("sgd", *STATEFUL)

LOSS_SENTENCES = {
    "loss_sum": "the epoch's loss as the sum of the per-row losses, not their mean",
    "loss_last_row": "the epoch's loss as the last row's loss, not the mean over the epoch",
    "loss_wrong_vector": "the epoch's loss as the MSE of the wrong vector (y against the "
    "per-row losses), not the mean of the per-row losses",
    "loss_after_updates": "the epoch's loss taken after the updates (per row after its own "
    "update, or over the dataset at the epoch's end), not before each row's update",
    "loss_not_reset": "the loss accumulator not reset between epochs",
}
# the rows of train_kernel.LOSSES, and the label of each
BOOKKEEPING = ("", "loss_sum", "loss_last_row", "loss_wrong_vector", "loss_after_updates",
               "loss_not_reset", "loss_after_updates")  # fmt: skip

SENTENCES = {
    **LOSS_SENTENCES,
    "wrong_derivative@sin": "trained on a dw3 with sin's derivative taken wrong (|cos|, or sin)",
    "dropped_factor@f3": "trained on a dw3 without the chain factor f3",
    "global_w": "trained on a backward that reads the notebook's global w = [0.1]*9",
    "sign_flip@update": "w += lr*g: the update goes up the gradient",
    "off_by_one@update": "each weight updated with its neighbour's gradient",
    "full_batch": "one update per epoch with the mean gradient, not one per row",
    "wrong_order": "the rows visited in a shuffled order, not in file order",
    "not_shuffled": "the rows visited in file order, not shuffled as the case asks",
    "shuffle_once": "one shuffled order drawn once and reused every epoch, not a fresh one "
    "per epoch",
    "wrong_constant@lr": "a hard-coded learning rate other than the case's",
    "clipping_ignored": "the gradient not clipped before the update as the case asks",
    "torch_momentum": "torch's momentum b = beta*b + g; w -= lr*b, not the course's average "
    "m = beta*m + (1-beta)*g",
    "cs231n_momentum": "cs231n's momentum v = mu*v - lr*g; w += v, not the course's average",
    "ema_momentum": "the course's average b = momentum*b + (1-momentum)*g, not torch's "
    "b = momentum*b + (1-dampening)*g (b = g at the first update)",
    "nesterov_as_plain": "plain momentum w -= lr*b where the case asks for Nesterov's "
    "w -= lr*(g + momentum*b)",
    "dampening_ignored": "the dampening left out: b = momentum*b + g",
    "state_not_updated": "the optimizer's state computed but never stored (it stays at its "
    "initial value)",
    "state_per_row": "one optimizer state per row instead of one for the run",
    "state_initial_value": "the optimizer's state started at the first gradient (g, or g^2) "
    "instead of 0",
    "state_shared": "one scalar optimizer state shared by all nine weights",
    "velocity_previous_gradient": "the previous raw gradient used as the velocity",
    "state_reset_each_epoch": "the optimizer's state (moments, buffers, sums) reset at each epoch",
    "bias_correction": "Adam with bias correction m/(1-b1^t), v/(1-b2^t); the course's has none",
    "no_bias_correction": "Adam without the bias correction m/(1-b1^t), v/(1-b2^t) that "
    "torch's has",
    "adam_constant_correction": "Adam's m and v divided by the constants (1-b1), (1-b2)",
    "amsgrad_ignored": "amsgrad's running max of v left out",
    "t_per_epoch": "the step counter t counting epochs, not updates (Adam's bias correction, "
    "Adagrad's lr decay)",
    "t_per_row": "the step counter t taken as the row index (restarting every epoch)",
    "t_per_weight": "the step counter t taken as the weight index inside the loop over weights",
    "eps_inside_sqrt": "eps inside the square root: sqrt(v + eps), not sqrt(v) + eps",
    "adam_v_not_squared": "Adam's v averaging g instead of g^2",
    "misplaced@eps": "Adam's eps added outside the division: lr*m/sqrt(v) + eps",
    "rms_not_decayed": "RMSprop's squared average never decayed: s += (1-alpha)*g^2",
    "rms_not_centered": "RMSprop centered without its subtraction: sqrt(s), not sqrt(s - gbar^2)",
    "rms_momentum_misuse": "RMSprop's momentum buffer fed the raw gradient: b = momentum*b + g; "
    "w -= lr*b/avg, not b = momentum*b + g/avg",
    "lr_decay_ignored": "Adagrad's lr decay left out: lr / (1 + (t-1)*lr_decay) not applied",
    "weight_decay_ignored": "the weight decay left out",
    "weight_decay_after_update": "the weight decay applied after the update (w -= lr*wd*w on "
    "the updated w), not added to g",
    "weight_decay_decoupled": "the weight decay decoupled as AdamW's (w *= 1 - lr*wd), where "
    "Adam adds it to g",
    "weight_decay_coupled": "the weight decay added to g as Adam's, where AdamW decouples it "
    "(w *= 1 - lr*wd)",
}


@dataclass(frozen=True)
class Mistake:
    """One wrong way of training: the labels, where it applies, and what it changes."""

    labels: tuple[str, ...]
    optimizers: tuple[str, ...]
    when: tuple[str, ...] = ()
    unless: tuple[str, ...] = ()
    gradient: str = "right"
    update: str = "right"
    state: str = "kept"
    counter: str = "updates"
    full_batch: bool = False
    neighbour: bool = False
    decay_after: bool = False
    order: str = "case"  # case | seed:<s> (a shuffle of its own) | file | once
    override: tuple[tuple[str, float], ...] = ()

    @property
    def any_graph(self) -> bool:
        """Whether the mistake is one of any graph's training (not the course's backward)."""
        return self.gradient == "right"

    def sites(self) -> dict[str, object]:
        """What it changes: the fields that differ from the right training's."""
        right = Mistake((), ())
        skip = {"labels", "optimizers", "when", "unless"}
        return {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if f.name not in skip and getattr(self, f.name) != getattr(right, f.name)
        }

    def applies(self, optimizer: str, settings: Mapping[str, float | bool]) -> bool:
        """Whether this is a mistake of the optimizer with these settings (it changes the run)."""
        return (
            optimizer in self.optimizers
            and all(settings.get(k) for k in self.when)
            and not any(settings.get(k) for k in self.unless)
        )


M = Mistake
_LRS = (0.01, 0.1, 0.001, 0.0001)

CATALOGUE: tuple[Mistake, ...] = (
    # the backward's mistakes carried into training
    M(("wrong_derivative@sin",), EVERY, gradient="abs_cos"),
    M(("wrong_derivative@sin", "dropped_factor@f3"), EVERY, gradient="sin_no_f3"),
    M(("global_w",), EVERY, gradient="global_w"),
    # the loop
    M(("sign_flip@update",), ("sgd",), update="ascent"),
    M(("off_by_one@update",), EVERY, neighbour=True),
    M(("full_batch",), EVERY, full_batch=True),
    M(("wrong_order",), EVERY, unless=("shuffle",), order="seed:0"),
    M(("wrong_order",), EVERY, unless=("shuffle",), order="seed:42"),
    M(("not_shuffled",), EVERY, when=("shuffle",), order="file"),
    M(("shuffle_once",), EVERY, when=("shuffle",), order="once"),
    *(M(("wrong_constant@lr",), ("sgd",), override=(("learning_rate", lr),)) for lr in _LRS),
    M(("clipping_ignored",), EVERY, when=("clipping",), override=(("clipping", 0.0),)),
    # the optimizer's state, for every optimizer that keeps one
    M(("state_reset_each_epoch",), STATEFUL, state="reset_each_epoch"),
    M(("state_reset_each_epoch",), ("sgd",), when=("momentum",), state="reset_each_epoch"),
    M(("state_not_updated",), STATEFUL, state="not_stored"),
    M(("state_not_updated",), ("sgd",), when=("momentum",), state="not_stored"),
    M(("state_per_row",), STATEFUL, state="per_row"),
    M(("state_shared",), STATEFUL, state="shared"),
    # the course's momentum
    M(("torch_momentum",), ("momentum",), update="torch"),
    M(("cs231n_momentum",), ("momentum",), update="cs231n"),
    M(("state_initial_value",), ("momentum",), update="first_gradient"),
    M(("velocity_previous_gradient",), ("momentum",), update="previous_gradient"),
    # torch's SGD
    M(("ema_momentum",), ("sgd",), when=("momentum",), update="ema"),
    M(("nesterov_as_plain",), ("sgd",), when=("nesterov",), override=(("nesterov", 0.0),)),
    M(("dampening_ignored",), ("sgd",), when=("dampening",), override=(("dampening", 0.0),)),
    # Adam: the course's and torch's
    M(
        ("bias_correction",),
        ("adam",),
        unless=("bias_correction",),
        override=(("bias_correction", 1.0),),
    ),  # fmt: skip
    M(
        ("no_bias_correction",),
        ADAMS,
        when=("bias_correction",),
        override=(("bias_correction", 0.0),),
    ),  # fmt: skip
    M(("adam_constant_correction",), ADAMS, update="constants"),
    M(("eps_inside_sqrt",), ADAMS, update="eps_inside"),
    M(("adam_v_not_squared",), ADAMS, update="v_not_squared"),
    M(("misplaced@eps",), ADAMS, update="eps_outside"),
    M(("state_initial_value",), ADAMS, update="first_gradient"),
    M(("amsgrad_ignored",), ADAMS, when=("amsgrad",), override=(("amsgrad", 0.0),)),
    M(("t_per_epoch",), ADAMS, when=("bias_correction",), counter="epoch"),
    M(("t_per_row",), ADAMS, when=("bias_correction",), counter="row"),
    M(("t_per_weight",), ADAMS, when=("bias_correction",), counter="weight"),
    *(
        M(
            ("bias_correction", f"t_per_{c}"),
            ("adam",),
            unless=("bias_correction",),
            counter=c,
            override=(("bias_correction", 1.0),),
        )  # fmt: skip
        for c in ("epoch", "row", "weight")
    ),
    M(
        ("weight_decay_decoupled",),
        ("adam",),
        when=("weight_decay",),
        unless=("decoupled",),
        override=(("decoupled", 1.0),),
    ),  # fmt: skip
    M(
        ("weight_decay_coupled",),
        ("adamw",),
        when=("weight_decay",),
        override=(("decoupled", 0.0),),
    ),  # fmt: skip
    # RMSprop
    M(("eps_inside_sqrt",), ("rmsprop",), update="eps_inside"),
    M(("rms_not_decayed",), ("rmsprop",), update="not_decayed"),
    M(("rms_not_centered",), ("rmsprop",), when=("centered",), override=(("centered", 0.0),)),
    M(
        ("rms_momentum_misuse",),
        ("rmsprop",),
        when=("momentum",),
        update="momentum_before_division",
    ),  # fmt: skip
    M(("state_initial_value",), ("rmsprop",), update="first_gradient"),
    # Adagrad
    M(("eps_inside_sqrt",), ("adagrad",), update="eps_inside"),
    M(("t_per_epoch",), ("adagrad",), when=("lr_decay",), counter="epoch"),
    M(("lr_decay_ignored",), ("adagrad",), when=("lr_decay",), override=(("lr_decay", 0.0),)),
    # weight decay, wherever it is added to g
    M(
        ("weight_decay_ignored",), EVERY, when=("weight_decay",), override=(("weight_decay", 0.0),)
    ),  # fmt: skip
    M(
        ("weight_decay_after_update",),
        ("sgd", "adam", "rmsprop", "adagrad"),
        when=("weight_decay",),
        unless=("decoupled",),
        decay_after=True,
        override=(("weight_decay", 0.0),),
    ),  # fmt: skip
)


def combine(a: Mistake, b: Mistake) -> Mistake | None:
    """Both mistakes in one run, when they change different sites of the same optimizers."""
    optimizers = tuple(o for o in a.optimizers if o in b.optimizers)
    if not optimizers or set(a.sites()) & set(b.sites()):
        return None
    return replace(
        a,
        **b.sites(),  # type: ignore[arg-type]
        labels=(*a.labels, *b.labels),
        optimizers=optimizers,
        when=tuple(dict.fromkeys((*a.when, *b.when))),
        unless=tuple(dict.fromkeys((*a.unless, *b.unless))),
        override=(*a.override, *b.override),
    )


# Pairs searched besides the listed ones: an optimizer written in another form (torch's or the
# course's, with or without bias correction) together with one of the loop's common mistakes.
FORMS = ("torch_momentum", "ema_momentum", "bias_correction", "no_bias_correction")
WITH_FORMS = ("wrong_derivative@sin", "global_w", "off_by_one@update", "full_batch",
              "state_reset_each_epoch")  # fmt: skip
PAIRS: tuple[Mistake, ...] = tuple(
    pair
    for a in CATALOGUE
    if a.labels[0] in FORMS and len(a.labels) == 1
    for b in CATALOGUE
    if len(b.labels) == 1 and b.labels[0] in WITH_FORMS
    for pair in (combine(a, b),)
    if pair is not None
)
CATALOGUE += PAIRS
