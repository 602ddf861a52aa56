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


def _save_svg(plt, fig, path: Path) -> None:
    """The SVG the HTML book shows, and beside it the PDF its LaTeX/PDF edition
    includes (LaTeX cannot read SVG; pages cite ``diagrams/name.*`` and Sphinx
    takes the format each builder reads). No dates: both regenerate byte for byte."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="svg", metadata={"Date": None})
    fig.savefig(path.with_suffix(".pdf"), format="pdf", dpi=72,  # not rcParams'
                metadata={"CreationDate": None, "ModDate": None})
    plt.close(fig)


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
    _save_svg(plt, fig, path)


# --- chapters 8 and 9: recurrent cells, attention, the transformer block ----------
# Drawn in inches (the axes fill the figure, one data unit = one inch), tall and
# about 5.4 in wide, so a phone column (~380 px) shows the text at >= 11 px.

CELL_PATH, STATE_PATH = "#009E73", "#CC79A7"    # the additive path; the hidden state


def _inch_canvas(plt, w, h):
    fig = plt.figure(figsize=(w, h), layout="none")     # whatever rcParams say
    ax = fig.add_axes([0, 0, 1, 1])
    ax.set_xlim(0, w)
    ax.set_ylim(0, h)
    ax.axis("off")
    return fig, ax




def _rbox(ax, x, y, text, w, h, fc="white", ec="0.3", fs=13, lw=1.5, ls="-"):
    from matplotlib.patches import FancyBboxPatch

    ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, zorder=3,
                                boxstyle="round,pad=0.02,rounding_size=0.12",
                                fc=fc, ec=ec, lw=lw, ls=ls))
    ax.text(x, y, text, ha="center", va="center", fontsize=fs, zorder=4,
            linespacing=1.35)


def _opnode(ax, x, y, symbol, r=0.2, color="0.2"):
    from matplotlib.patches import Circle

    ax.add_patch(Circle((x, y), r, fc="white", ec=color, lw=1.6, zorder=3))
    ax.text(x, y, symbol, ha="center", va="center", fontsize=15, zorder=4,
            color=color)


def _wire(ax, pts, color="0.35", lw=1.6, head=True, halo=False, ls="-"):
    """A polyline through pts with an arrow head at the end; halo: a white
    border, so that a line it crosses shows a gap (a crossing, not a junction)."""
    import matplotlib.patheffects as pe

    xs, ys = zip(*pts)
    effects = [pe.withStroke(linewidth=lw + 7, foreground="white")] if halo else []
    ax.plot(xs[:-1] + (xs[-1],), ys, color=color, lw=lw, ls=ls, zorder=2,
            solid_capstyle="butt", path_effects=effects)
    if head:
        ax.annotate("", xy=pts[-1], xytext=pts[-2], zorder=2,
                    arrowprops=dict(arrowstyle="-|>", color=color, lw=lw,
                                    shrinkA=0, shrinkB=0, mutation_scale=16))


def lstm_cell(path: Path) -> None:
    """One LSTM step as eq-lstm (8.2): gates in torch's order i, f, g, o; the
    cell path c_{t-1} -> c_t (green) is the additive path of eq-cell-path."""
    plt = _setup()
    fig, ax = _inch_canvas(plt, 5.4, 7.25)
    gx = {"i": 0.68, "f": 1.93, "g": 3.18, "o": 4.52}
    gate_y, cell_y = 2.95, 5.55
    _rbox(ax, 1.5, 0.4, r"$\mathbf{x}_t$", 0.8, 0.5, fs=14)
    _rbox(ax, 3.9, 0.4, r"$\mathbf{h}_{t-1}$", 1.0, 0.5, ec=STATE_PATH, fs=14)
    _rbox(ax, 2.7, 1.55, r"$\mathbf{a}_t = W_{ih}\mathbf{x}_t + \mathbf{b}_{ih}"
         r" + W_{hh}\mathbf{h}_{t-1} + \mathbf{b}_{hh}$" "\n"
         r"$4H$ rows, in torch's order $i, f, g, o$", 5.2, 0.95, fc=BOX,
         ec=FORWARD, fs=13)
    _wire(ax, [(1.5, 0.65), (1.5, 1.07)])
    _wire(ax, [(3.9, 0.65), (3.9, 1.07)], color=STATE_PATH)
    gates = {"i": ("input", r"$\mathbf{i}_t = \sigma(\mathbf{a}^{i}_t)$"),
             "f": ("forget", r"$\mathbf{f}_t = \sigma(\mathbf{a}^{f}_t)$"),
             "g": ("candidate", r"$\mathbf{g}_t = \tanh(\mathbf{a}^{g}_t)$"),
             "o": ("output", r"$\mathbf{o}_t = \sigma(\mathbf{a}^{o}_t)$")}
    for k, (name, formula) in gates.items():
        _wire(ax, [(gx[k], 2.03), (gx[k], 2.45)])
        _rbox(ax, gx[k], gate_y, f"{name}\n{formula}", 1.2 if k != "o" else 1.32,
             0.95, fs=12.5)
    ig_y, o_y = 4.35, 3.95
    # f_t scales c_{t-1}; i_t ⊙ g_t is added: the cell path (eq-cell-path)
    _wire(ax, [(gx["f"], 3.43), (gx["f"], cell_y - 0.2)])
    _wire(ax, [(gx["i"], 3.43), (gx["i"], ig_y), (gx["g"] - 0.2, ig_y)], halo=True)
    _wire(ax, [(gx["g"], 3.43), (gx["g"], ig_y - 0.2)])
    _opnode(ax, gx["g"], ig_y, "⊙")
    _wire(ax, [(gx["g"], ig_y + 0.2), (gx["g"], cell_y - 0.2)])
    for a, b in [(0.05, gx["f"] - 0.2), (gx["f"] + 0.2, gx["g"] - 0.2)]:
        _wire(ax, [(a, cell_y), (b, cell_y)], color=CELL_PATH, lw=3, head=False)
    _wire(ax, [(gx["g"] + 0.2, cell_y), (5.35, cell_y)], color=CELL_PATH, lw=3)
    _opnode(ax, gx["f"], cell_y, "⊙", color=CELL_PATH)
    _opnode(ax, gx["g"], cell_y, "+", color=CELL_PATH)
    ax.text(0.1, cell_y + 0.22, r"$\mathbf{c}_{t-1}$", fontsize=14, color=CELL_PATH,
            va="bottom")
    ax.text(5.3, cell_y + 0.22, r"$\mathbf{c}_t$", fontsize=14, color=CELL_PATH,
            va="bottom", ha="right")
    # h_t = o_t ⊙ tanh c_t, read out below the cell path
    _wire(ax, [(gx["o"], cell_y), (gx["o"], 5.12)], color=CELL_PATH)
    _rbox(ax, gx["o"], 4.88, "tanh", 0.72, 0.42, fs=13)
    _wire(ax, [(gx["o"], 4.67), (gx["o"], o_y + 0.2)])
    _wire(ax, [(gx["o"], 3.43), (gx["o"], o_y - 0.2)])
    _opnode(ax, gx["o"], o_y, "⊙", color=STATE_PATH)
    _wire(ax, [(gx["o"] + 0.2, o_y), (5.35, o_y)], color=STATE_PATH, lw=2.2)
    ax.text(5.3, o_y + 0.12, r"$\mathbf{h}_t$", fontsize=14, color=STATE_PATH,
            ha="right", va="bottom")
    ax.text(0.1, 6.4, r"$\mathbf{c}_t = \mathbf{f}_t\odot\mathbf{c}_{t-1}"
            r" + \mathbf{i}_t\odot\mathbf{g}_t$", fontsize=14, color=CELL_PATH)
    ax.text(0.1, 6.85, r"$\mathbf{h}_t = \mathbf{o}_t\odot\tanh\mathbf{c}_t$",
            fontsize=14, color=STATE_PATH)
    _save_svg(plt, fig, path)


def gru_cell(path: Path) -> None:
    """One GRU step as eq-gru (8.2): rows in torch's order r, z, n; the reset gate
    scales u_t = W_hn h_{t-1} + b_hn (bias included); z_t ⊙ h_{t-1} is the
    additive path of the state."""
    plt = _setup()
    fig, ax = _inch_canvas(plt, 5.4, 7.2)
    gate_y, rx, zx, ux, sx = 2.85, 0.8, 2.3, 3.9, 5.1
    _rbox(ax, 1.4, 0.4, r"$\mathbf{x}_t$", 0.8, 0.5, fs=14)
    _rbox(ax, 3.7, 0.4, r"$\mathbf{h}_{t-1}$", 1.0, 0.5, ec=STATE_PATH, fs=14)
    _rbox(ax, 2.45, 1.5, r"$W_{ih}\mathbf{x}_t + \mathbf{b}_{ih}$ and "
         r"$W_{hh}\mathbf{h}_{t-1} + \mathbf{b}_{hh}$" "\n"
         r"$3H$ rows each, in torch's order $r, z, n$", 4.7, 0.95, fc=BOX,
         ec=FORWARD, fs=13)
    _wire(ax, [(1.4, 0.65), (1.4, 1.02)])
    _wire(ax, [(3.7, 0.65), (3.7, 1.02)], color=STATE_PATH)
    _wire(ax, [(4.2, 0.4), (sx, 0.4), (sx, 5.8)], color=STATE_PATH, lw=3)
    for x in (rx, zx, ux):
        _wire(ax, [(x, 1.98), (x, 2.37)])
    _rbox(ax, rx, gate_y, "reset\n" r"$\mathbf{r}_t = \sigma(\mathbf{a}^{r}_t)$",
         1.3, 0.95, fs=12.5)
    _rbox(ax, zx, gate_y, "update\n" r"$\mathbf{z}_t = \sigma(\mathbf{a}^{z}_t)$",
         1.3, 0.95, fs=12.5)
    _rbox(ax, ux, gate_y, r"$\mathbf{u}_t =$" "\n"
         r"$W_{hn}\mathbf{h}_{t-1} + \mathbf{b}_{hn}$", 1.66, 0.95, fs=12.5)
    prod_y, n_y, mix_y = 3.95, 4.9, 6.15
    # z_t goes round the candidate to the interpolation; r_t scales u_t
    _wire(ax, [(zx, 3.33), (zx, 4.3), (0.55, 4.3), (0.55, mix_y - 0.35)])
    _wire(ax, [(rx, 3.33), (rx, prod_y), (ux - 0.2, prod_y)], halo=True)
    _wire(ax, [(ux, 3.33), (ux, prod_y - 0.2)])
    _opnode(ax, ux, prod_y, "⊙")
    _wire(ax, [(ux, prod_y + 0.2), (ux, n_y - 0.3)])
    _rbox(ax, 3.0, n_y, "candidate\n" r"$\mathbf{n}_t = \tanh(W_{in}\mathbf{x}_t"
         r" + \mathbf{b}_{in} + \mathbf{r}_t\odot\mathbf{u}_t)$", 3.9, 0.62,
         fs=12.5)
    _wire(ax, [(3.0, n_y + 0.3), (3.0, mix_y - 0.35)])
    _rbox(ax, 2.75, mix_y, r"$\mathbf{h}_t = (1-\mathbf{z}_t)\odot\mathbf{n}_t"
         r" + \mathbf{z}_t\odot\mathbf{h}_{t-1}$", 5.0, 0.7, fc=BOX, ec=STATE_PATH,
         fs=14)
    _wire(ax, [(2.75, mix_y + 0.35), (2.75, 6.95)], color=STATE_PATH, lw=2.2)
    ax.text(2.9, 6.85, r"$\mathbf{h}_t$", fontsize=14, color=STATE_PATH, va="center")
    ax.text(sx - 0.1, 4.3, r"$\mathbf{h}_{t-1}$", fontsize=13, color=STATE_PATH,
            ha="right", rotation=90, va="center")
    _save_svg(plt, fig, path)


def transformer_block(path: Path) -> None:
    """The two blocks of 9.3: post-norm (eq-postnorm) and pre-norm (eq-prenorm),
    each self-attention and MLP on a residual connection."""
    plt = _setup()
    fig, ax = _inch_canvas(plt, 5.4, 7.6)
    levels = [1.3, 2.15, 2.95, 3.85, 4.75, 5.55]
    kinds = {
        "attn": (r"causal multi-head" "\n" r"self-attention SA", BOX, FORWARD, 0.7),
        "mlp": (r"MLP FF: Linear $d{\to}4d$," "\n" r"$\phi$, Linear $4d{\to}d$",
                "#FDF1E6", BACKWARD, 0.7),
        "ln1": (r"LayerNorm$_1$", "0.94", "0.35", 0.45),
        "ln2": (r"LayerNorm$_2$", "0.94", "0.35", 0.45)}
    columns = [(1.35, "post-norm", ["attn", "+", "ln1", "mlp", "+", "ln2"],
                [(0, 1), (2, 4)]),
               (4.05, "pre-norm (GPT-2,\nthe TinyGPT of 9.3)",
                ["ln1", "attn", "+", "ln2", "mlp", "+"], [(-1, 2), (2, 5)])]
    for cx, title, seq, residuals in columns:
        ax.text(cx, 7.05, title, ha="center", va="center", fontsize=14,
                weight="bold")
        _rbox(ax, cx, 0.4, r"$X$", 0.7, 0.45, fs=14)
        tops = []
        for lvl, kind in zip(levels, seq):
            if kind == "+":
                _opnode(ax, cx, lvl, "+")
                tops.append((lvl - 0.2, lvl + 0.2))
            else:
                text, fc, ec, h = kinds[kind]
                _rbox(ax, cx, lvl, text, 2.1, h, fc=fc, ec=ec,
                     fs=12 if kind == "mlp" else 13)
                tops.append((lvl - h / 2, lvl + h / 2))
        _wire(ax, [(cx, 0.63), (cx, tops[0][0])])
        for (_, top), (bottom, _) in zip(tops, tops[1:]):
            _wire(ax, [(cx, top), (cx, bottom)])
        _rbox(ax, cx, 6.35, r"$Y$", 0.7, 0.45, fs=14)
        _wire(ax, [(cx, tops[-1][1]), (cx, 6.12)])
        for src, dst in residuals:      # the identity path round each sub-layer
            y0 = 0.85 if src < 0 else (tops[src][1] + tops[src + 1][0]) / 2
            _wire(ax, [(cx, y0), (cx - 1.22, y0), (cx - 1.22, levels[dst]),
                       (cx - 0.2, levels[dst])], color=CELL_PATH, lw=2.2)
        y_x1 = (tops[residuals[1][0]][1] + tops[residuals[1][0] + 1][0]) / 2
        ax.text(cx + 0.1, y_x1, r"$X'$", fontsize=13, va="center")
    _save_svg(plt, fig, path)


def attention_qkv(path: Path) -> None:
    """Multi-head self-attention as eq-mha (9.2): projections, per-head scaled
    scores, mask, softmax, weighted values, heads concatenated, output projection."""
    plt = _setup()
    fig, ax = _inch_canvas(plt, 5.4, 8.85)
    qx, kx, vx, cx = 0.95, 2.7, 4.45, 1.85
    _rbox(ax, 2.7, 0.4, r"$X$  ($n \times E$)", 1.7, 0.5, fs=14)
    proj = {qx: r"$Q = XW_q^\top + \mathbf{b}_q$",
            kx: r"$K = XW_k^\top + \mathbf{b}_k$",
            vx: r"$V = XW_v^\top + \mathbf{b}_v$"}
    for x, text in proj.items():
        _wire(ax, [(2.7, 0.65), (2.7, 0.85), (x, 0.85), (x, 1.27)])
        _rbox(ax, x, 1.55, text, 1.7, 0.55, fc=BOX, ec=FORWARD, fs=12.5)
    from matplotlib.patches import FancyBboxPatch

    ax.add_patch(FancyBboxPatch((0.12, 2.15), 5.16, 4.5, zorder=1,
                                boxstyle="round,pad=0,rounding_size=0.15",
                                fc="#F7F7F7", ec="0.5", lw=1.2, ls="--"))
    ax.text(0.25, 6.55, r"each head $h = 1, \dots, H$:" "\n"
            r"columns $Q_h, K_h, V_h$ of width $d_h = E/H$", fontsize=12,
            va="top", color="0.25")
    steps = [(2.7, r"scores $Q_h K_h^\top / \sqrt{d_h}$"),
             (3.55, r"$+\,M$: causal mask, $-\infty$ for $j > i$"),
             (4.4, r"$P_h = $ softmax of each row")]
    _wire(ax, [(qx, 1.83), (qx, 2.3), (cx - 0.3, 2.3), (cx - 0.3, 2.45)])
    _wire(ax, [(kx, 1.83), (kx, 2.3), (cx + 0.3, 2.3), (cx + 0.3, 2.45)])
    for (y, text), nxt in zip(steps, steps[1:] + [(5.52, None)]):
        _rbox(ax, cx, y, text, 3.4, 0.5, fs=13)
        _wire(ax, [(cx, y + 0.25), (cx, nxt[0] - 0.25)])
    _rbox(ax, cx + 0.4, 5.52, r"$Y_h = P_h V_h$", 1.6, 0.5, fc=BOX, ec=FORWARD,
          fs=13)
    _wire(ax, [(vx, 1.83), (vx, 5.52), (cx + 1.2, 5.52)])
    _wire(ax, [(cx + 0.4, 5.77), (cx + 0.4, 7.05)])
    _rbox(ax, 2.7, 7.3, r"concatenate the heads  $[\,Y_1, \dots, Y_H\,]$", 4.8, 0.5,
          fs=13)
    _wire(ax, [(2.7, 7.55), (2.7, 7.8)])
    _rbox(ax, 2.7, 8.05, r"out $= [\,Y_1, \dots, Y_H\,]\,W_o^\top + \mathbf{b}_o$",
         4.8, 0.5, fc=BOX, ec=FORWARD, fs=13)
    _wire(ax, [(2.7, 8.3), (2.7, 8.75)])
    ax.text(2.85, 8.6, r"$n \times E$", fontsize=12, va="center")
    _save_svg(plt, fig, path)


# --- chapter 7: LeNet ------------------------------------------------------------
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
    _save_svg(plt, fig, path)


def _isolated(draw):
    """Draw with matplotlib's defaults (then ``_setup``'s), whatever style the
    calling process set (``dlmath.viz`` changes dpi, layout, line widths): the
    stored files are the same from ``python tools/diagrams.py`` and from a test."""
    import functools

    @functools.wraps(draw)
    def run(path: Path) -> None:
        import matplotlib

        with matplotlib.rc_context():
            matplotlib.rcdefaults()
            draw(path)
    return run


_DRAW = {
    "backprop_graph.svg": backprop_graph,
    "lenet.svg": lenet,
    "lstm_cell.svg": lstm_cell,
    "gru_cell.svg": gru_cell,
    "transformer_block.svg": transformer_block,
    "attention_qkv.svg": attention_qkv,
}
DIAGRAMS = {name: _isolated(draw) for name, draw in _DRAW.items()}


def main(argv: list[str]) -> int:
    for name, draw in DIAGRAMS.items():
        draw(OUT / name)
        print(f"wrote {OUT / name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
