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
    """Two-layer MLP: forward values left to right, adjoints right to left (5.3)."""
    plt = _setup()
    fig, ax = plt.subplots(figsize=(7.5, 2.8))
    xs = [0.5 + 2.3 * k for k in range(6)]
    labels = [r"$\mathbf{x}$", r"$\mathbf{z}_1$", r"$\mathbf{h}$", r"$\mathbf{z}_2$",
              r"$\mathbf{p}$", r"$\mathcal{L}$"]
    ops = [r"$\mathbf{W}_1\mathbf{x}+\mathbf{b}_1$", r"relu",
           r"$\mathbf{W}_2\mathbf{h}+\mathbf{b}_2$", r"softmax", r"$-\log p_y$"]
    for x, t in zip(xs, labels):
        _node(ax, x, 0, t, w=0.9)
    grads = [r"$\bar{\mathbf{z}}_1 = \bar{\mathbf{h}}\odot[\mathbf{z}_1>0]$",
             r"$\bar{\mathbf{h}} = \mathbf{W}_2^\top\bar{\mathbf{z}}_2$",
             r"$\bar{\mathbf{z}}_2 = \mathbf{p}-\mathbf{e}_y$", "", ""]
    for k in range(5):
        a, b = xs[k] + 0.45, xs[k + 1] - 0.45
        _arrow(ax, a, b, 0, FORWARD, ops[k], dy=0.12)
    for k in range(5):                     # adjoints flow back along every edge
        _arrow(ax, xs[k + 1] - 0.45, xs[k] + 0.45, 0, BACKWARD, dy=-0.12, style="--")
        if grads[k]:
            ax.text((xs[k] + xs[k + 1]) / 2, -0.45, grads[k], ha="center", va="top",
                    fontsize=10, color=BACKWARD)
    w1 = r"$\bar{\mathbf{W}}_1 = \bar{\mathbf{z}}_1\mathbf{x}^\top$"
    w2 = r"$\bar{\mathbf{W}}_2 = \bar{\mathbf{z}}_2\mathbf{h}^\top$"
    for x, text in [(xs[0], w1), (xs[2], w2)]:
        ax.text(x + 1.15, 0.95, text, fontsize=10, color=BACKWARD, ha="center")
    ax.text(xs[-1] + 0.5, -1.05, "forward (solid), backward (dashed)", fontsize=10,
            ha="right", color="0.3")
    ax.set_xlim(0, xs[-1] + 0.6)
    ax.set_ylim(-1.2, 1.35)
    ax.axis("off")
    fig.tight_layout(pad=0.2)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="svg", metadata={"Date": None})
    plt.close(fig)


def lenet(path: Path) -> None:
    """The LeNet-style CNN of 7.3, top to bottom: tensor shapes, layers, kernels."""
    from matplotlib.patches import Rectangle

    plt = _setup()
    W, step = 3.7, 1.02                     # inches: one unit of the axes is one inch
    nodes = [((1, 8), "input  1×8×8"), ((32, 8), "32×8×8"), ((32, 4), "32×4×4"),
             ((64, 4), "64×4×4"), ((64, 2), "64×2×2 = 256"), (128, "128"),
             (10, "10 class scores")]
    ops = [("conv 5×5, pad 2, 32 filters", "+ ReLU · 832 params"),
           ("max pool 2×2", "halves height and width"),
           ("conv 3×3, pad 1, 64 filters", "+ ReLU · 18,496 params"),
           ("max pool 2×2", "then flatten"),
           ("linear 256 → 128", "+ ReLU · 32,896 params"),
           ("linear 128 → 10", "1,290 params")]
    H = step * (len(nodes) - 1) + 1.2
    fig, ax = plt.subplots(figsize=(W, H), layout="none")  # whatever the rcParams
    ys = [H - 0.45 - step * k for k in range(len(nodes))]
    extent = []                             # (above, below) the centre of each glyph
    for (shape, text), y in zip(nodes, ys):
        if isinstance(shape, tuple):        # a stack of feature maps, side ~ H = W
            c, s = shape
            side, layers = 0.07 * s, 1 if c == 1 else 3
            for j in range(layers):
                off = 0.06 * (layers - 1 - j)
                ax.add_patch(Rectangle((0.55 - side / 2 + off, y - side / 2 + off),
                                       side, side, fc=BOX, ec=FORWARD, lw=1.2))
            extent.append((side / 2 + 0.06 * (layers - 1), side / 2))
        else:                               # a vector: a bar, length ~ its size
            h = 0.12 + 0.0035 * shape
            ax.add_patch(Rectangle((0.5, y - h / 2), 0.1, h, fc=BOX, ec=FORWARD,
                                   lw=1.2))
            extent.append((h / 2, h / 2))
        ax.text(1.05, y, text, ha="left", va="center", fontsize=14,
                fontweight="bold" if y in (ys[0], ys[-1]) else "normal")
    for k, (op, sub) in enumerate(ops):
        y0, y1 = ys[k] - extent[k][1] - 0.05, ys[k + 1] + extent[k + 1][0] + 0.05
        ax.annotate("", xy=(0.55, y1), xytext=(0.55, y0),
                    arrowprops=dict(arrowstyle="-|>", color=FORWARD, lw=1.6,
                                    shrinkA=0, shrinkB=0))
        ym = (ys[k] + ys[k + 1]) / 2
        ax.text(1.05, ym + 0.02, op, ha="left", va="bottom", fontsize=12,
                color=FORWARD)
        ax.text(1.05, ym - 0.02, sub, ha="left", va="top", fontsize=11, color="0.35")
    ax.text(0.3, 0.2, "53,514 parameters in all", ha="left", va="center",
            fontsize=11, color="0.35")
    ax.set_xlim(0, W)
    ax.set_ylim(0, H)
    ax.axis("off")
    fig.subplots_adjust(0, 0, 1, 1)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="svg", metadata={"Date": None})
    plt.close(fig)


DIAGRAMS = {
    "backprop_graph.svg": backprop_graph,
    "lenet.svg": lenet,
}


def main(argv: list[str]) -> int:
    for name, draw in DIAGRAMS.items():
        draw(OUT / name)
        print(f"wrote {OUT / name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
