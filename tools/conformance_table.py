"""The coverage table of the book's *Conformance* appendix, from dlmath.conformance.

    python tools/conformance_table.py     # writes book/_generated/conformance.md

The table lists every torch configuration that ``tests/test_conformance.py``
compares with torch (supported) or expects to be refused by name (refused), so
the page and the test read one list. ``tests/test_conformance.py`` fails when
the generated file is stale.
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "book" / "_generated" / "conformance.md"


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


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("*", "\\*")


def main() -> None:
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(render(), encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
