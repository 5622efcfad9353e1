"""Gradient clipping, as torch.nn.utils does it, applied to each per-sample gradient g.

- value v: each component clamped to [-v, v] (``clip_grad_value_``);
- norm (max_norm, p): ``total = ||g||_p`` (p = inf: max |g_j|), ``coef = max_norm / (total +
  1e-6)`` clamped at 1.0, and ``g *= coef`` (``clip_grad_norm_``; times 1.0 leaves g as it is).

With both, value first, then norm. The parameters are one tensor of the nine weights (the
layout of scripts/make_torch_goldens.py): torch's norm of the per-tensor norms is then the norm
of that one tensor (up to rounding in its outer norm of one value, for p other than 1, 2, inf).
The sums run in index order: p = 2 is ``sqrt(sum g_j*g_j)``, p = 1 ``sum |g_j|``, other p
``(sum |g_j|**p) ** (1/p)``; a NaN component makes the norm NaN, and g NaN, as in torch.
`clip` is the readable form; kernel.clip_step is its compiled twin, which does the same float
operations in the same order (tests/core/training/test_kernel.py checks that bit for bit).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from service.core.errors import InvalidInput
from service.core.training.optimizers import Optimizer

# The kernel's mode code: one bit per kind of clipping (kernel.clip_step reads it).
VALUE, NORM = 1, 2


def total_norm(g: np.ndarray, norm_type: float) -> float:
    """||g||_p as torch.linalg.vector_norm computes it for p = 1, 2, inf and other p >= 1."""
    if norm_type == math.inf:
        values = [abs(gj) for gj in g.tolist()]
        return math.nan if any(a != a for a in values) else max(values, default=0.0)  # as torch
    total = 0.0
    if norm_type == 2.0:
        for gj in g.tolist():
            total += gj * gj
        return math.sqrt(total)
    if norm_type == 1.0:
        for gj in g.tolist():
            total += abs(gj)
        return total
    for gj in g.tolist():
        try:
            total += abs(gj) ** norm_type
        except OverflowError:  # Python raises where C's pow, and the kernel's, give inf
            total += math.inf
    return float(total ** (1.0 / norm_type))


@dataclass(frozen=True)
class Clipping:
    """The clipping a run applies to each gradient: by value, by norm, or both (value first)."""

    value: float | None = None
    max_norm: float | None = None
    norm_type: float = 2.0  # math.inf for the max norm

    def __post_init__(self) -> None:
        def positive(x: float | None) -> bool:
            return x is None or (math.isfinite(x) and x > 0)

        if not (positive(self.value) and positive(self.max_norm)):
            raise InvalidInput("clip_grad_value and max_norm must be finite and > 0")
        if not self.norm_type >= 1.0:  # NaN fails too
            raise InvalidInput("norm_type must be a float >= 1 or 'inf'")

    @property
    def mode(self) -> int:
        """The kernel's mode code: VALUE | NORM bits."""
        return (VALUE if self.value is not None else 0) | (NORM if self.max_norm is not None else 0)

    def clip(self, g: np.ndarray) -> np.ndarray:
        """The clipped gradient, a new array (g is not changed)."""
        if self.value is not None:
            g = np.clip(g, -self.value, self.value)  # min(max(g, -v), v), NaN kept
        if self.max_norm is not None:
            coef = self.max_norm / (total_norm(g, self.norm_type) + 1e-6)
            if coef > 1.0:  # torch.clamp(coef, max=1.0): a NaN stays NaN
                coef = 1.0
            g = g * coef
        return g

    def kernel_values(self) -> list[float]:
        """What kernel.clip_step reads, after the family's parameters: mode, value, norm, p."""
        return [float(self.mode), self.value or 0.0, self.max_norm or 0.0, self.norm_type]

    def norm_type_shown(self) -> float | str:
        """The norm type as the API writes it: a float, or "inf"."""
        return "inf" if self.norm_type == math.inf else self.norm_type

    def rule(self) -> str:
        """What the clipping does, in words (prefixed to the optimizer's rule)."""
        steps = []
        if self.value is not None:
            steps.append(f"g = clamp(g, -{self.value!r}, {self.value!r})")
        if self.max_norm is not None:
            p = "inf" if self.norm_type == math.inf else repr(self.norm_type)
            steps.append(f"g *= min(1, {self.max_norm!r} / (||g||_{p} + 1e-6))")
        order = "value first, then norm: " if len(steps) == 2 else ""
        return order + "; ".join(steps)

    def torch(self) -> str:
        """The torch.nn.utils calls doing the same, in order, before optimizer.step()."""
        calls = []
        if self.value is not None:
            calls.append(f"torch.nn.utils.clip_grad_value_(params, clip_value={self.value!r})")
        if self.max_norm is not None:
            p = "float('inf')" if self.norm_type == math.inf else repr(self.norm_type)
            calls.append(
                f"torch.nn.utils.clip_grad_norm_(params, max_norm={self.max_norm!r}, norm_type={p})"
            )
        return "; ".join(calls)

    def describe(self) -> dict[str, Any]:
        """The clipping block of the API's optimizer description."""
        return {
            "clip_grad_value": self.value,
            "clip_grad_norm": None
            if self.max_norm is None
            else {"max_norm": self.max_norm, "norm_type": self.norm_type_shown()},
        }


def clipped(clipping: Clipping | None, optimizer: Optimizer) -> Optimizer:
    """The optimizer whose update first clips g (optax's chain(clip, optimizer))."""
    if clipping is None:
        return optimizer

    def update(g: np.ndarray, state: Any, w: np.ndarray) -> tuple[np.ndarray, Any]:
        return optimizer.update(clipping.clip(g), state, w)

    return Optimizer(optimizer.init, update)
