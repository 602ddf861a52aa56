"""How fast the book is: notebook run times, kernel ratios, build times.

    python tools/bench.py                  # notebooks + kernels (make bench)
    python tools/bench.py --build-times    # also a cold and a warm book build
    python tools/bench.py --only kernels   # or: --only notebooks, --only build
    python tools/bench.py --page           # only re-render the page from the data

(a) Every notebook is executed top to bottom in a fresh kernel, one at a time
(in memory: the notebooks on disk are never written), against the budgets of
60 s each and 10 minutes for the whole book. (b) Every module in
``tools/benchmarks/`` that defines ``BENCHMARKS`` (a list of
``tools.benchmarks.timing.Case``) is timed with ``timing.compare``: medians
of interleaved repeats, each library's threads settled before the other runs.
A case whose ``extra["check"]`` exists is checked first (same numbers from both
libraries). (c) ``--build-times``: ``jupyter-book build`` into an empty folder
(cold: every notebook executed) and again (warm: everything cached).

Results go to ``book/_data/performance.json``; the appendix page
``book/performance.md`` and its chart are generated from it. Measurements not
taken in a run keep their previous values. The book build never runs this.
"""
from __future__ import annotations

import argparse
import contextlib
import datetime
import importlib
import io
import json
import os
import platform
import sys
import tempfile
import time
import traceback
from pathlib import Path

# One BLAS/OpenMP thread per kernel, as in `make test` and the book build.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DATA = ROOT / "book" / "_data" / "performance.json"
PAGE = ROOT / "book" / "performance.md"
CHART = ROOT / "book" / "images" / "performance.png"
NOTEBOOK_BUDGET_S = 60.0
BOOK_BUDGET_S = 600.0
WARM_BUILD_TARGET_S = 30.0
# A kernel's target ratio (numpy time / torch time) when its benchmark names none:
# the same algorithm as torch's in float64 should be within 1.5x; in float32 torch
# has oneDNN's direct kernels, so 3x.
DEFAULT_TARGETS = {"float64": 1.5, "float32": 3.0}


def kernel_target(k: dict) -> float:
    """The target ratio of a measured kernel (its own, else its dtype's default)."""
    return k.get("target") or DEFAULT_TARGETS.get(k.get("dtype", ""), 1.5)


# --------------------------------------------------------------------------- measuring
def machine() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import numpy
    import torch

    return {"cpu": cpu, "cores": os.cpu_count(), "os": platform.platform(terse=True),
            "python": platform.python_version(), "numpy": numpy.__version__,
            "torch": torch.__version__.split("+")[0],
            "blas_threads": os.environ.get("OPENBLAS_NUM_THREADS", "?"),
            "load_average": round(os.getloadavg()[0], 1) if hasattr(os, "getloadavg")
            else None,
            "date": datetime.datetime.now(datetime.timezone.utc).strftime(
                "%Y-%m-%d %H:%M UTC")}


def notebook_paths() -> list[Path]:
    from tools.execute_notebooks import notebook_paths as paths

    return paths([str(ROOT / "chapters")])


def time_notebook(path: Path, timeout: int = 600) -> float:
    """Seconds to run ``path`` top to bottom in a fresh kernel (start included)."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)  # executed in memory, never written
    start = time.perf_counter()
    NotebookClient(nb, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    return time.perf_counter() - start


def bench_notebooks() -> list[dict]:
    rows = []
    for p in notebook_paths():
        rel = str(p.relative_to(ROOT))
        try:
            seconds, error = time_notebook(p), ""
        except Exception as exc:
            seconds, error = float("nan"), f"{type(exc).__name__}: {str(exc)[:200]}"
        rows.append({"notebook": rel, "seconds": seconds, "error": error})
        print(f"{seconds:7.1f} s  {rel}{'  FAILED ' + error if error else ''}",
              flush=True)
    return rows


def benchmark_modules() -> list[str]:
    return sorted(p.stem for p in (ROOT / "tools" / "benchmarks").glob("*.py")
                  if p.stem not in ("__init__", "timing"))


def bench_kernels(repeats: int, threads: int) -> list[dict]:
    from tools.benchmarks import timing

    rows = []
    for name in benchmark_modules():
        try:
            module = importlib.import_module(f"tools.benchmarks.{name}")
        except Exception:
            print(f"FAILED to import tools/benchmarks/{name}.py:\n"
                  f"{traceback.format_exc()}", flush=True)
            rows.append({"module": name, "name": f"{name}: import failed",
                         "error": traceback.format_exc(limit=1)[-300:]})
            continue
        for case in getattr(module, "BENCHMARKS", []):
            row = {"module": name, "name": case.name, "dtype": case.dtype}
            try:
                if "check" in case.extra:  # same numbers from both (quietly)
                    with contextlib.redirect_stdout(io.StringIO()):
                        case.extra["check"]()
                row.update(timing.compare(case, repeats=repeats, threads=threads))
                row["threads"] = threads
                row["checked"] = "check" in case.extra
                print(f"{row['ratio']:6.2f}x  {row['numpy_s'] * 1e3:8.2f} ms vs "
                      f"{row['torch_s'] * 1e3:8.2f} ms  {case.dtype}  {case.name}",
                      flush=True)
            except Exception as exc:
                row["error"] = f"{type(exc).__name__}: {str(exc)[:300]}"
                print(f"FAILED {case.name} ({case.dtype}): {row['error']}", flush=True)
            rows.append(row)
    return rows


def bench_build() -> dict:
    """Wall time of a cold build (empty output folder) and a warm one (all cached)."""
    from tools.book import build_book

    with tempfile.TemporaryDirectory(prefix="dlmath-build-") as out:
        cold = build_book(ROOT, Path(out))
        print(f"cold build: {cold['seconds']:.1f} s (rc {cold['returncode']})",
              flush=True)
        warm = build_book(ROOT, Path(out))
        print(f"warm build: {warm['seconds']:.1f} s (rc {warm['returncode']})",
              flush=True)
    ok = cold["returncode"] == 0 and warm["returncode"] == 0
    out = {"cold_s": cold["seconds"], "warm_s": warm["seconds"], "ok": ok,
           "machine": machine()}
    if not ok:
        out["log_tail"] = (cold["log"] if cold["returncode"] else warm["log"])[-2000:]
        print(out["log_tail"], flush=True)
    return out


# --------------------------------------------------------------------------- the page
def _fmt_s(x) -> str:
    return "n/a" if x is None or x != x else f"{x:.1f}"


def draw_chart(data: dict, path: Path) -> bool:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    kernels = [k for k in data.get("kernels", []) if "ratio" in k]
    notebooks = [n for n in data.get("notebooks", []) if n.get("seconds") == n.get(
        "seconds") and n.get("seconds") is not None]
    if not kernels and not notebooks:
        return False
    # Two panels stacked at the page's width (about 7.5 in), fonts that stay
    # readable there, and kernels above their target in red.
    n_k, n_n = max(len(kernels), 1), max(len(notebooks), 1)
    fig, axes = plt.subplots(2, 1, figsize=(7.5, 0.28 * (n_k + n_n) + 2.4), dpi=150,
                             gridspec_kw={"height_ratios": [n_k + 2, n_n + 2]})
    ax = axes[0]
    if kernels:
        labels = [f"{k['name'].split(',')[0][:40]} ({k['dtype'][5:]})"
                  for k in kernels]
        ratios = [k["ratio"] for k in kernels]
        colors = ["#0072B2" if k["dtype"] == "float64" else "#E69F00" for k in kernels]
        ax.barh(range(len(kernels)), ratios, color=colors)
        ax.set_yticks(range(len(kernels)), labels, fontsize=9)
        for i, k in enumerate(kernels):
            t = kernel_target(k)
            ax.plot([t, t], [i - 0.4, i + 0.4], color="k", lw=1.5)
            if k["ratio"] > t:
                ax.text(k["ratio"] * 1.03, i, "above target", va="center",
                        fontsize=8, color="#D55E00")
        ax.axvline(1.0, color="k", lw=1)
        ax.set_xscale("log")
        hi = max(4.0, 1.3 * max(ratios))
        ax.set_xlim(min(0.25, 0.8 * min(ratios)), hi)
        ax.set_xticks([t for t in (0.25, 0.5, 1, 1.5, 2, 3, 4, 8, 16) if t <= hi])
        ax.xaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.invert_yaxis()
    ax.set_xlabel("dlmath time / torch time (1 = as fast; black tick: target)",
                  fontsize=10)
    ax.set_title("Kernels vs PyTorch, CPU (blue float64, orange float32)",
                 fontsize=11)
    ax = axes[1]
    if notebooks:
        notebooks = sorted(notebooks, key=lambda n: -n["seconds"])
        names = [n["notebook"].split("/")[-1].removesuffix(".ipynb")[:34]
                 for n in notebooks]
        secs = [n["seconds"] for n in notebooks]
        colors = ["#D55E00" if s > NOTEBOOK_BUDGET_S else "#009E73" for s in secs]
        ax.barh(range(len(secs)), secs, color=colors)
        ax.set_yticks(range(len(secs)), names, fontsize=9)
        ax.axvline(NOTEBOOK_BUDGET_S, color="k", lw=1, ls="--")
        ax.invert_yaxis()
    ax.set_xlabel("seconds (dashed: the 60 s budget)", fontsize=10)
    ax.set_title("Notebook execution time, fresh kernel", fontsize=11)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return True


def _taken(m: dict | None) -> list[str]:
    """'Measured DATE, load average L.' for a section, if known."""
    if not m:
        return []
    load, cores = m.get("load_average"), m.get("cores") or 1
    busy = (" (other jobs shared the machine: these times are pessimistic)"
            if load and load > cores else "")
    return [f"Measured {m.get('date', '?')}, load average {load}{busy}.", ""]


def render_page(data: dict) -> str:
    m = data.get("machine", {})
    lines = [
        "# Performance",
        "",
        "How fast the book's code is, measured by `make bench` (`tools/bench.py`),",
        "which regenerates this page and its data (`book/_data/performance.json`).",
        "The book build never runs the benchmarks: this page shows the last",
        "measurement.",
        "",
    ]
    if m:
        lines += [
            f"**Machine.** {m.get('cpu', '?')}, {m.get('cores', '?')} cores, "
            f"{m.get('os', '?')}; Python {m.get('python', '?')}, numpy "
            f"{m.get('numpy', '?')}, torch {m.get('torch', '?')} (CPU); "
            f"{m.get('blas_threads', '?')} BLAS thread per notebook kernel. "
            "Each section says when it was measured and how loaded the machine "
            "was (the load average: processes wanting a core).",
            "",
        ]
    if CHART.exists():
        lines += ["```{figure} images/performance.png",
                  ":alt: Two bar charts. Top: for each kernel, the time of dlmath's "
                  "numpy code divided by torch's, on a log scale with a line at 1 "
                  "and a tick at its target. Bottom: each notebook's execution time "
                  "against the 60 second budget.",
                  ":width: 100%",
                  "",
                  "Top: dlmath's kernels against torch's (ratio of times, lower "
                  "is faster; 1 means as fast; the tick on each bar is its target). "
                  "Bottom: the notebooks' execution times against their 60 s "
                  "budget.",
                  "```", ""]
    notebooks = data.get("notebooks", [])
    lines += ["## Notebooks", ""]
    if notebooks:
        total = sum(n["seconds"] for n in notebooks if n["seconds"] == n["seconds"])
        over = [n for n in notebooks if not n["seconds"] <= NOTEBOOK_BUDGET_S]
        lines += [
            f"Each notebook runs top to bottom in a fresh kernel, one at a time. "
            f"Budget: {NOTEBOOK_BUDGET_S:.0f} s each, {BOOK_BUDGET_S / 60:.0f} "
            f"minutes for the book. Total: **{total:.0f} s** "
            f"({'within' if total <= BOOK_BUDGET_S else 'OVER'} budget); "
            f"{len(over)} notebook(s) over budget.",
            "",
            *_taken(data.get("notebooks_machine")),
            "The chart above shows every notebook's time."
            + ("" if not over else " Over budget: " + ", ".join(
                f"`{n['notebook']}` ({_fmt_s(n['seconds'])} s)" for n in over) + "."),
            "",
        ]
    else:
        lines += ["Not measured yet: run `make bench`.", ""]
    build = data.get("build")
    lines += ["## The book build", ""]
    if build:
        lines += [
            "`jupyter-book build . -W -n --keep-going` into an empty folder (cold) "
            "and once more with nothing changed (warm). The build renders the "
            "notebooks' stored outputs (`execute_notebooks: \"off\"`; the tests "
            "execute them). Target: warm <= 30 s.",
            "",
            "| build | seconds |",
            "|---|---:|",
            f"| cold | {_fmt_s(build['cold_s'])} |",
            f"| warm | {_fmt_s(build['warm_s'])} |",
            "",
        ]
        if not build.get("ok", True):
            lines += ["**The timed builds failed** (see `make bench` output): "
                      "these times are not of a clean build.", ""]
        lines += _taken(build.get("machine"))
    else:
        lines += ["Not measured yet: run `make bench BENCH_ARGS=--build-times`.", ""]
    kernels = data.get("kernels", [])
    lines += ["## Kernels against PyTorch", ""]
    if kernels:
        lines += [
            "Each kernel of `dlmath` (numpy) against its torch counterpart on the "
            f"CPU, both given the same threads ({kernels[0].get('threads', 2)}): "
            "the median of 11 interleaved repeats (the ratio of the fastest "
            "calls is in the data file), "
            "with a pause and an untimed call before each timed one so that "
            "neither library's spinning threads slow the other. Before timing, "
            "each case checks that both compute the same numbers. A ratio is "
            "dlmath's time over torch's.",
            "",
            *_taken(data.get("kernels_machine")),
            f"{sum(k['ratio'] > kernel_target(k) for k in kernels if 'ratio' in k)} "
            "of the ratios are above their target (flagged; a target not set "
            "by its benchmark is "
            f"{DEFAULT_TARGETS['float64']:g} in float64, "
            f"{DEFAULT_TARGETS['float32']:g} in float32).",
            "",
            "| kernel | dtype | dlmath (ms) | torch (ms) | ratio | target | note |",
            "|---|---|---:|---:|---:|---:|---|",
        ]
        for k in kernels:
            if "ratio" not in k:
                lines.append(f"| {k['name']} | {k.get('dtype', '')} | | | failed | | "
                             f"{k.get('module', '')} |")
                continue
            target = kernel_target(k)
            ratio = f"{k['ratio']:.2f}"
            if k["ratio"] > target:
                ratio = f"**{ratio} above target**"
            lines.append(
                f"| {k['name']} | {k['dtype']} | {k['numpy_s'] * 1e3:.2f} | "
                f"{k['torch_s'] * 1e3:.2f} | {ratio} | {target:.1f} | "
                f"{k.get('note', '')} |")
        lines.append("")
    else:
        lines += ["Not measured yet: run `make bench`.", ""]
    return "\n".join(lines)


def write_page(data: dict) -> None:
    draw_chart(data, CHART)
    PAGE.write_text(render_page(data), encoding="utf-8")


# --------------------------------------------------------------------------- main
def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", choices=["notebooks", "kernels", "build"])
    ap.add_argument("--build-times", action="store_true",
                    help="also time a cold and a warm book build (minutes)")
    ap.add_argument("--page", action="store_true",
                    help="only re-render book/performance.md from the data file")
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--threads", type=int, default=2,
                    help="threads each library gets in the kernel timings (default 2; "
                         "1 on a machine that other jobs load)")
    args = ap.parse_args(argv)

    data = json.loads(DATA.read_text()) if DATA.exists() else {}
    failed = False
    if not args.page:
        if args.only != "build":
            data["machine"] = machine()
        if args.only in (None, "notebooks"):
            print("== notebooks (fresh kernel each, one at a time)", flush=True)
            data["notebooks_machine"] = machine()
            data["notebooks"] = bench_notebooks()
        if args.only in (None, "kernels"):
            print("== kernels: dlmath / torch", flush=True)
            data["kernels_machine"] = machine()
            data["kernels"] = bench_kernels(args.repeats, args.threads)
        if args.build_times or args.only == "build":
            # The page (with what is measured so far) must exist: the book
            # being timed includes it.
            write_page(data)
            print("== book build, cold then warm", flush=True)
            data["build"] = bench_build()
        DATA.parent.mkdir(parents=True, exist_ok=True)
        DATA.write_text(json.dumps(data, indent=1) + "\n")
    write_page(data)

    notebooks = data.get("notebooks", [])
    if notebooks:
        print("\n== notebooks, slowest first")
        for n in sorted(notebooks, key=lambda n: -(n["seconds"] if n["seconds"]
                                                   == n["seconds"] else 1e9)):
            flag = "" if n["seconds"] <= NOTEBOOK_BUDGET_S else "  OVER 60 s BUDGET"
            print(f"{n['seconds']:7.1f} s  {n['notebook']}{flag}")
        total = sum(n["seconds"] for n in notebooks if n["seconds"] == n["seconds"])
        print(f"{total:7.1f} s  total (budget {BOOK_BUDGET_S:.0f} s)"
              f"{'' if total <= BOOK_BUDGET_S else '  OVER BUDGET'}")
        failed |= any(n.get("error") for n in notebooks)
    if data.get("build"):
        b = data["build"]
        print(f"build: cold {b['cold_s']:.1f} s, warm {b['warm_s']:.1f} s "
              f"(target <= {WARM_BUILD_TARGET_S:.0f} s)")
    failed |= any("error" in k for k in data.get("kernels", []))
    failed |= not data.get("build", {}).get("ok", True)
    print(f"wrote {DATA.relative_to(ROOT)} and {PAGE.relative_to(ROOT)}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
