"""Loss against epoch, one labelled line per training run.

Tested by tests/render/test_figures.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from service.render.spec import Curve

WIDTH, HEIGHT, DPI = 8.0, 5.0, 100  # 800 x 500 pixels
# Drawn values are kept within these bounds: matplotlib's axis margins overflow float64 beyond
# them, and a log axis cannot show 0. A diverging run's huge losses sit on the ceiling.
FLOOR, CEILING = 1e-200, 1e200


@cache
def _glyphs() -> frozenset[int]:
    """The code points matplotlib's default font can draw."""
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    return frozenset(FT2Font(font_manager.findfont("DejaVu Sans")).get_charmap())


def drawable(text: str) -> str:
    """A client's label with what the font cannot draw (control characters, ...) shown as '?'."""
    glyphs = _glyphs()
    return "".join(ch if ord(ch) in glyphs and ch.isprintable() else "?" for ch in text)


def loss_figure(
    curves: Sequence[Curve], *, title: str, log: bool = False, graph: str | None = None
) -> Figure:
    """Mean loss of each epoch against the epoch; line i has gid "curve-i" in SVG.

    `graph` names the graph trained when it is not the course's ("graph cs231n_neuron",
    "inline graph 1a2b3c4d"): a second line of the title, and the legend's title.
    """
    fig = Figure(figsize=(WIDTH, HEIGHT), dpi=DPI, layout="constrained")
    ax = fig.add_subplot()
    for i, curve in enumerate(curves):
        epochs = range(1, len(curve.losses) + 1)
        shown = np.clip(curve.losses, FLOOR if log else 0.0, CEILING)
        label = drawable(curve.label)
        ax.plot(epochs, shown, marker="o", markersize=3, label=label, gid=f"curve-{i}")
    named = None if graph is None else drawable(graph)
    ax.set_title(title if named is None else f"{title}\n{named}")
    ax.set_xlabel("epoch")
    ax.set_ylabel("mean loss over the epoch (log scale)" if log else "mean loss over the epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if log:
        ax.set_yscale("log")
    ax.grid(alpha=0.3, which="both")
    ax.legend(title="optimizer" if named is None else f"optimizer ({named})")
    return fig
