"""One look for every figure of the book.

Importing this module applies the book's matplotlib style: readable fonts,
labelled axes and the Okabe-Ito palette, which stays distinguishable for
readers with any common form of colour blindness.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np

from ._validate import as_float_array

__all__ = ["PALETTE", "use_style", "plot_vectors", "plot_transform", "heatmap",
           "plot_curves", "image_grid", "contour"]

#: Okabe & Ito (2008) colour-blind-safe palette, black last.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7",
           "#56B4E9", "#F0E442", "#000000"]


def use_style() -> None:
    """Apply the book's style to matplotlib (done on import)."""
    mpl.rcParams.update({
        "figure.figsize": (6.0, 4.0),
        # 150 dpi: a 6-inch figure is 900 px, drawn at the column's width (about
        # 700 px on a desktop, 390 px on a phone), so it stays sharp and its
        # 11 pt labels about as large as the text (issue 18).
        "figure.dpi": 150,
        "savefig.dpi": 150,
        "figure.constrained_layout.use": True,
        "font.size": 11,
        "axes.titlesize": 12,
        "axes.labelsize": 11,
        "axes.grid": True,
        "grid.alpha": 0.3,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.prop_cycle": mpl.cycler(color=PALETTE),
        "lines.linewidth": 2.0,
        "legend.frameon": False,
        "image.cmap": "viridis",
    })


use_style()


def _axes(ax):
    return ax if ax is not None else plt.subplots()[1]


def plot_vectors(vectors, labels: Sequence[str] | None = None, origin=None, ax=None,
                 colors: Sequence[str] | None = None, title: str | None = None):
    """Draw 2-D vectors as arrows from ``origin`` (default 0). vectors: (k, 2)."""
    V = as_float_array(vectors, "plot_vectors", "vectors", ndim=2, layout="(k, 2)")
    if V.shape[1] != 2:
        raise ValueError(f"plot_vectors: vectors must be (k, 2), got shape {V.shape}")
    O = (
        np.zeros_like(V)
        if origin is None
        else np.broadcast_to(np.asarray(origin, float), V.shape)
    )
    ax = _axes(ax)
    colors = colors or [PALETTE[i % len(PALETTE)] for i in range(len(V))]
    for i, (o, v) in enumerate(zip(O, V)):
        ax.annotate(
            "",
            xy=o + v,
            xytext=o,
            arrowprops=dict(arrowstyle="-|>", color=colors[i], lw=2, mutation_scale=15),
        )
        if labels is not None:
            ax.text(*(o + 1.08 * v), labels[i], color=colors[i], fontsize=12,
                    ha="center", va="center")
    pts = np.concatenate([O, O + V, np.zeros((1, 2))])
    lim = 1.25 * np.abs(pts).max() + 1e-9
    ax.set(
        xlim=(-lim, lim),
        ylim=(-lim, lim),
        aspect="equal",
        xlabel="$x_1$",
        ylabel="$x_2$",
    )
    if title:
        ax.set_title(title)
    return ax


def plot_transform(A, ax=None, show_eigvecs: bool = True, show_singular: bool = True,
                   title: str | None = None, lim: float | None = None):
    """Show what a 2x2 matrix does to the plane.

    Draws the image of a grid and of the unit circle under ``A``, the images
    ``A e1`` and ``A e2`` of the basis vectors (the columns of ``A``), the real
    eigenvectors (dashed; each is only stretched) and the singular directions
    (``A v_i = s_i u_i``: the circle's image is an ellipse with semi-axes
    ``s_i u_i``).
    """
    A = as_float_array(A, "plot_transform", "A", ndim=2, layout="(2, 2)")
    if A.shape != (2, 2):
        raise ValueError(f"plot_transform: A must be (2, 2), got shape {A.shape}")
    ax = _axes(ax)
    grid = np.linspace(-1, 1, 5)
    t = np.linspace(-1, 1, 50)
    for g in grid:
        for line in (
            np.stack([t, np.full_like(t, g)]),
            np.stack([np.full_like(t, g), t]),
        ):
            ax.plot(*line, color="0.85", lw=0.8, zorder=0)
            ax.plot(*(A @ line), color=PALETTE[5], lw=0.8, alpha=0.8, zorder=1)
    th = np.linspace(0, 2 * np.pi, 200)
    circle = np.stack([np.cos(th), np.sin(th)])
    ax.plot(*circle, color="0.6", lw=1.5, ls=":", label="unit circle")
    ax.plot(*(A @ circle), color=PALETTE[0], lw=2, label="its image $A x$")
    for j, name in enumerate(["$Ae_1$", "$Ae_2$"]):
        ax.annotate("", xy=A[:, j], xytext=(0, 0),
                    arrowprops=dict(arrowstyle="-|>", color=PALETTE[7], lw=1.8))
        ax.text(*(A[:, j] * 1.12), name, fontsize=11, ha="center", va="center")
    if show_singular:
        U, s, _ = np.linalg.svd(A)
        for i in range(2):
            ax.plot([0, s[i] * U[0, i]], [0, s[i] * U[1, i]], color=PALETTE[3], lw=2.5,
                    label="semi-axes $s_i u_i$" if i == 0 else None)
    if show_eigvecs:
        w, V = np.linalg.eig(A)
        if np.all(np.abs(w.imag) < 1e-12):
            for i in range(2):
                v = V[:, i].real
                ax.plot([-2.5 * v[0], 2.5 * v[0]], [-2.5 * v[1], 2.5 * v[1]], ls="--",
                        color=PALETTE[2], lw=1.5,
                        label="eigenvector lines" if i == 0 else None)
    if lim is None:
        lim = 1.15 * max(1.0, np.abs(A @ circle).max(), np.abs(A).sum(axis=0).max())
    ax.set(
        xlim=(-lim, lim),
        ylim=(-lim, lim),
        aspect="equal",
        xlabel="$x_1$",
        ylabel="$x_2$",
    )
    ax.legend(loc="upper left", fontsize=8)
    if title:
        ax.set_title(title)
    return ax


def heatmap(M, ax=None, title: str | None = None, annotate: bool = False,
            cmap: str = "RdBu_r", fmt: str = ".2f", xlabel: str | None = None,
            ylabel: str | None = None, symmetric: bool = True):
    """Show a matrix as an image with a colour bar; diverging colours centred on 0."""
    M = as_float_array(M, "heatmap", "M", ndim=2, layout="(rows, cols)")
    ax = _axes(ax)
    vmax = np.abs(M).max() if symmetric else None
    im = ax.imshow(M, cmap=cmap, vmin=-vmax if symmetric else None, vmax=vmax)
    ax.grid(False)
    ax.figure.colorbar(im, ax=ax, shrink=0.8)
    if annotate:
        for (i, j), v in np.ndenumerate(M):
            ax.text(j, i, format(v, fmt), ha="center", va="center", fontsize=8)
    ax.set(title=title or "", xlabel=xlabel or "", ylabel=ylabel or "")
    return ax


def plot_curves(
    curves: Mapping[str, Sequence[float]],
    x=None,
    ax=None,
    xlabel: str = "step",
    ylabel: str = "value",
    title: str | None = None,
    logx: bool = False,
    logy: bool = False,
    styles: Mapping[str, str] | None = None,
):
    """Plot named 1-D curves on one axis (losses, errors, spectra)."""
    ax = _axes(ax)
    for name, ys in curves.items():
        ys = np.asarray(ys, dtype=float)
        xs = np.arange(len(ys)) if x is None else np.asarray(x)
        ax.plot(xs, ys, (styles or {}).get(name, "-"), label=name)
    if logx:
        ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    ax.set(xlabel=xlabel, ylabel=ylabel)
    if title:
        ax.set_title(title)
    if len(curves) > 1:
        ax.legend()
    return ax


def image_grid(images, titles: Sequence[str] | None = None, ncols: int = 8,
               cmap: str = "gray_r", size: float = 1.1, suptitle: str | None = None):
    """Show a stack of images (k, H, W) in a grid; returns the figure."""
    imgs = as_float_array(images, "image_grid", "images", ndim=3, layout="(k, H, W)")
    k = len(imgs)
    nrows = int(np.ceil(k / ncols))
    fig, axes = plt.subplots(
        nrows,
        ncols,
        figsize=(size * ncols, size * nrows + 0.3 * bool(suptitle)),
        squeeze=False,
    )
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < k:
            ax.imshow(imgs[i], cmap=cmap)
            if titles is not None:
                ax.set_title(titles[i], fontsize=9)
    if suptitle:
        fig.suptitle(suptitle)
    return fig


def contour(ax, landscape, lim, levels: int = 30, log: bool = False, n: int = 200):
    """Filled contours of a 2-D landscape over ``lim = ((xmin, xmax), (ymin, ymax))``.

    ``landscape(xy)`` maps points (..., 2) to ``(f, grad)`` (as in
    ``dlmath.landscapes``); only ``f`` is drawn, on an ``n`` x ``n`` grid.
    ``log=True`` draws ``log10(f - min f + 1e-3)``, for valleys like Rosenbrock's.
    """
    (x0, x1), (y0, y1) = lim
    X, Y = np.meshgrid(np.linspace(x0, x1, n), np.linspace(y0, y1, n))
    F = np.asarray(landscape(np.stack([X, Y], axis=-1))[0])
    if log:
        F = np.log10(F - F.min() + 1e-3)
    ax = _axes(ax)
    ax.contourf(X, Y, F, levels=levels, cmap="viridis", alpha=0.85)
    ax.contour(X, Y, F, levels=levels, colors="white", linewidths=0.4, alpha=0.5)
    ax.set(xlim=(x0, x1), ylim=(y0, y1), xlabel="$x_1$", ylabel="$x_2$")
    ax.grid(False)
    return ax

