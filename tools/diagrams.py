"""Vector diagrams of the book, drawn by code (matplotlib to SVG), so they can be
regenerated and stay readable at phone width.

    python tools/diagrams.py            # writes book/images/diagrams/*.svg

A page shows one with a MyST figure, e.g. in 5.3:

    ```{figure} ../../book/images/diagrams/backprop_graph.svg
    :name: fig-backprop-graph
    :alt: ...
    The computational graph of a two-layer network ...
    ```

The SVGs are deterministic (no date, fixed ids), so regenerating them changes
nothing unless the code changed (tests/test_diagrams.py).
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "book" / "images" / "diagrams"

FORWARD, BACKWARD, BOX = "#0072B2", "#D55E00", "#EAF2FA"


def _setup():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"svg.hashsalt": "dlmath", "svg.fonttype": "path",
                         "font.size": 13, "mathtext.fontset": "dejavusans"})
    return plt


def _node(ax, x, y, text, w=1.5, h=0.7, op=False):
    from matplotlib.patches import FancyBboxPatch

    ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h,
                                boxstyle="round,pad=0.05,rounding_size=0.15",
                                fc="white" if not op else BOX,
                                ec=FORWARD if op else "0.3", lw=1.5))
    ax.text(x, y, text, ha="center", va="center", fontsize=13)


def _arrow(ax, x0, x1, y, color, label=None, dy=0.0, style="-"):
    ax.annotate("", xy=(x1, y + dy), xytext=(x0, y + dy),
                arrowprops=dict(arrowstyle="-|>", color=color, lw=1.6, ls=style,
                                shrinkA=0, shrinkB=0))
    if label:
        ax.text((x0 + x1) / 2, y + dy + (0.22 if dy >= 0 else -0.22), label,
                ha="center", va="bottom" if dy >= 0 else "top", fontsize=12,
                color=color)


def backprop_graph(path: Path) -> None:
    """Two-layer MLP, drawn top to bottom so it reads at phone width (5.3): forward
    values down the left (solid, with the operation), adjoints up the right (dashed,
    with the rule that computes each); z's adjoints are the error signals delta_l."""
    plt = _setup()
    fig, ax = plt.subplots(figsize=(4.6, 5.0), layout="none")  # axes units: inches
    x0, step = 2.05, 1.0
    nodes = [r"$\mathbf{a}_0 = \mathbf{x}$", r"$\mathbf{z}_1$", r"$\mathbf{a}_1$",
             r"$\mathbf{z}_2$", r"$\ell$"]
    ys = [4.55 - step * k for k in range(len(nodes))]
    ops = [r"$\mathbf{W}_1\mathbf{a}_0+\mathbf{b}_1$", r"relu",
           r"$\mathbf{W}_2\mathbf{a}_1+\mathbf{b}_2$",
           r"$-\log\,\mathrm{softmax}(\mathbf{z}_2)_y$"]
    back = [[r"$\bar{\mathbf{W}}_1 = \boldsymbol{\delta}_1\mathbf{a}_0^\top$"],
            [r"$\boldsymbol{\delta}_1 = \bar{\mathbf{a}}_1\odot[\mathbf{z}_1>0]$"],
            [r"$\bar{\mathbf{a}}_1 = \mathbf{W}_2^\top\boldsymbol{\delta}_2$",
             r"$\bar{\mathbf{W}}_2 = \boldsymbol{\delta}_2\mathbf{a}_1^\top$"],
            [r"$\boldsymbol{\delta}_2 = \mathbf{p}-\mathbf{e}_y$"]]
    for y, text in zip(ys, nodes):
        w = 1.3 if y == ys[0] else 0.62
        _node(ax, x0, y, text, w=w, h=0.42)
    half = 0.21 + 0.05
    for k in range(len(ops)):
        top, bottom = ys[k] - half, ys[k + 1] + half
        mid = (top + bottom) / 2
        ax.annotate("", xy=(x0 - 0.14, bottom), xytext=(x0 - 0.14, top),
                    arrowprops=dict(arrowstyle="-|>", color=FORWARD, lw=1.6,
                                    shrinkA=0, shrinkB=0))
        ax.text(x0 - 0.27, mid, ops[k], ha="right", va="center", fontsize=12,
                color=FORWARD)
        ax.annotate("", xy=(x0 + 0.14, top), xytext=(x0 + 0.14, bottom),
                    arrowprops=dict(arrowstyle="-|>", color=BACKWARD, lw=1.6,
                                    ls="--", shrinkA=0, shrinkB=0))
        lines = back[k]
        for j, text in enumerate(lines):
            ax.text(x0 + 0.27, mid + 0.16 * (len(lines) - 1) - 0.32 * j, text,
                    ha="left", va="center", fontsize=12, color=BACKWARD)
    ax.text(0.05, 0.05, "forward", fontsize=12, color=FORWARD, ha="left")
    ax.text(4.55, 0.05, "backward (adjoints)", fontsize=12, color=BACKWARD,
            ha="right")
    ax.set_xlim(0, 4.6)
    ax.set_ylim(0, 5.0)
    ax.axis("off")
    fig.subplots_adjust(0, 0, 1, 1)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="svg", metadata={"Date": None})
    plt.close(fig)


DIAGRAMS = {"backprop_graph.svg": backprop_graph}


def main(argv: list[str]) -> int:
    for name, draw in DIAGRAMS.items():
        draw(OUT / name)
        print(f"wrote {OUT / name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
