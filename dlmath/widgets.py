"""Thin helpers over ipywidgets, shared by the chapters.

A widget needs a live kernel to redraw. In the rendered book (no kernel) it
shows the state it was saved in, so every widget cell in the book sits next
to a static figure of its most telling state.
"""
from __future__ import annotations

from typing import Callable

import matplotlib.pyplot as plt
import numpy as np

__all__ = ["slider", "interactive_plot", "transform_explorer"]


def slider(
    value: float, lo: float, hi: float, step: float = 0.1, description: str = ""
):
    """A float slider, the book's defaults (continuous_update off: redraw on
    release)."""
    import ipywidgets as w

    if not lo <= value <= hi:
        raise ValueError(f"slider: value must lie in [{lo}, {hi}], got {value}")
    return w.FloatSlider(
        value=value,
        min=lo,
        max=hi,
        step=step,
        description=description,
        continuous_update=False,
        readout_format=".2f",
        style={"description_width": "initial"},
    )


def interactive_plot(draw: Callable[..., None], controls: dict, columns: int = 2,
                     figsize: tuple[float, float] = (6.0, 4.5)):
    """Redraw ``draw(ax, **values)`` whenever a control changes.

    ``controls`` maps keyword names of ``draw`` to widgets. Returns a VBox of
    the controls (in ``columns`` columns) above the plot; display it as the
    last line of a cell. The plot is an ``ipywidgets.Image`` holding a PNG, so
    the saved notebook (and the book) keep the first drawing in the widget's
    state, and the cell itself prints nothing but the widget.
    """
    import io

    import ipywidgets as w

    if not callable(draw):
        raise TypeError(
            f"interactive_plot: draw must be callable, got {type(draw).__name__}"
        )
    if not isinstance(controls, dict) or not controls:
        raise TypeError(
            "interactive_plot: controls must be a non-empty dict {name: widget}"
        )
    image = w.Image(format="png")

    def _redraw(_change=None):
        fig, ax = plt.subplots(figsize=figsize)
        draw(ax, **{name: c.value for name, c in controls.items()})
        buf = io.BytesIO()
        # 100 dpi: a widget's image is shown at its natural size (not scaled to the
        # column like a figure), so the book's 150 dpi would make it 1.5x too wide
        fig.savefig(buf, format="png", dpi=100)
        plt.close(fig)
        image.value = buf.getvalue()

    for c in controls.values():
        c.observe(_redraw, names="value")
    _redraw()
    items = list(controls.values())
    rows = [w.HBox(items[i:i + columns]) for i in range(0, len(items), columns)]
    return w.VBox([*rows, image])


def transform_explorer(A=((1.5, 0.5), (0.5, 1.0))):
    """Four sliders for the entries of a 2x2 matrix, drawing ``viz.plot_transform``."""
    from .viz import plot_transform

    A = np.asarray(A, dtype=float)
    if A.shape != (2, 2):
        raise ValueError(f"transform_explorer: A must be (2, 2), got shape {A.shape}")
    names = {"a11": (0, 0), "a12": (0, 1), "a21": (1, 0), "a22": (1, 1)}
    controls = {k: slider(float(A[ij]), -2.0, 2.0, 0.1, k) for k, ij in names.items()}

    def draw(ax, a11, a12, a21, a22):
        M = np.array([[a11, a12], [a21, a22]])
        det = np.linalg.det(M)
        plot_transform(
            M,
            ax=ax,
            lim=3.2,
            title=f"A = [[{a11:.1f}, {a12:.1f}], "
            f"[{a21:.1f}, {a22:.1f}]],  det A = {det:.2f}",
        )

    return interactive_plot(draw, controls)
