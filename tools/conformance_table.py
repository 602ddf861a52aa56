"""The coverage table of the book's *Conformance* appendix, from dlmath.conformance.

    python tools/conformance_table.py     # writes book/_generated/conformance.md
                                          # and book/_generated/conformance_torch.md

The first table lists every torch configuration that ``tests/test_conformance.py``
compares with torch (supported) or expects to be refused by name (refused), so
the page and the test read one list. The second counts, per layer and function,
the configurations of torch's own tests (``module_db``, ``op_db``) that dlmath
supports, refuses by name, or gets wrong (``tests/test_conformance_torch.py``).
Both tests fail when their generated file is stale.
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "book" / "_generated" / "conformance.md"
OUT_TORCH = ROOT / "book" / "_generated" / "conformance_torch.md"


def render() -> str:
    sys.path.insert(0, str(ROOT))
    from dlmath import conformance as C

    table = C.coverage()
    n_sup, n_ref = len(C.SUPPORTED), len(C.REFUSED)
    n_runs = sum(len(c.modes) for c in C.SUPPORTED)
    funcs = [f for f in C.FUNCTIONAL if not C.missing_keywords(f)]
    lines = [
        f"**{n_sup} torch configurations supported** (compared with torch in "
        f"{n_runs} runs: output, every input and parameter gradient, every "
        f"buffer; float64, rtol {C.RTOL:g}), **{n_ref} refused by name** with a "
        f"`ValueError`, over {len(table)} layers and functions. "
        f"{len(funcs)} of {len(C.FUNCTIONAL)} `torch.nn.functional` twins accept "
        f"every keyword of torch's signature.",
        "",
        "| layer | supported | refused |",
        "|---|---:|---:|",
    ]
    for layer, v in table.items():
        lines.append(f"| `{layer}` | {len(v['supported'])} | {len(v['refused'])} |")
    lines += ["", "## Every configuration", "",
              "| layer | option | status | modes compared |", "|---|---|---|---|"]
    for c in C.SUPPORTED:
        lines.append(f"| `{c.layer}` | {_md(c.option)} | supported | "
                     f"{', '.join(c.modes)} |")
    for r in C.REFUSED:
        lines.append(f"| `{r.layer}` | {_md(r.option)} | refused, names "
                     f"`{r.names}` | - |")
    lines += ["", "## `torch.nn.functional` keywords", "",
              "| function | torch's keywords | all accepted |", "|---|---|:---:|"]
    for f in C.FUNCTIONAL:
        kws = ", ".join(f"`{k}`" for k in C.torch_keywords(f))
        ok = "yes" if f in funcs else "no: " + ", ".join(C.missing_keywords(f))
        lines.append(f"| `{f}` | {kws} | {ok} |")
    return "\n".join(lines) + "\n"


def render_torch(results=None) -> str:
    """The second table: torch's own test configurations (module_db, op_db) run
    through dlmath (``dlmath.conformance.torch_sweep``), per layer and function."""
    sys.path.insert(0, str(ROOT))
    from dlmath import conformance as C

    if results is None:
        results = C.torch_sweep()
    table = C.torch_coverage(results)
    tot = {k: sum(v[k] for v in table.values()) for k in ("supported", "refused",
                                                          "WRONG")}
    n = sum(tot.values())
    share = tot["supported"] / max(tot["supported"] + tot["refused"], 1)
    n_mod = sum(1 for r in results if r.config.kind == "module")
    lines = [
        f"Of the **{n} configurations torch's own tests use** for these layers "
        f"and functions ({n_mod} `ModuleInput`s of `module_db` in train and eval "
        f"mode, {n - n_mod} `SampleInput`s of `op_db`), "
        f"**{tot['supported']} are supported** (output, every input and "
        f"parameter gradient and every buffer equal to torch's; float64, rtol "
        f"{C.TORCH_RTOL:g}), **{tot['refused']} refused by name** and "
        f"**{tot['WRONG']} wrong**: {100 * share:.1f}% supported.",
        "",
        "| layer or function | torch's configurations | supported | refused | "
        "wrong | supported share |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for layer, v in table.items():
        m = v["supported"] + v["refused"]
        lines.append(f"| `{layer}` | {m + v['WRONG']} | {v['supported']} | "
                     f"{v['refused']} | {v['WRONG']} | "
                     f"{100 * v['supported'] / max(m, 1):.0f}% |")
    refusals: dict[str, list[str]] = {}
    for r in results:
        if r.status == "refused" and r.detail not in refusals.get(r.config.layer, []):
            refusals.setdefault(r.config.layer, []).append(r.detail)
    if refusals:
        lines += ["", "What dlmath refuses there, in its own words:", ""]
        for layer, msgs in refusals.items():
            for m in msgs:
                lines.append(f"- `{layer}`: {_md(m)}")
    return "\n".join(lines) + "\n"


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("*", "\\*")


def main() -> None:
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(render(), encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)}")
    OUT_TORCH.write_text(render_torch(), encoding="utf-8")
    print(f"wrote {OUT_TORCH.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
