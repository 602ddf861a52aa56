"""Make every plot of a notebook a numbered, captioned figure (BRIEF convention 5).

    python tools/caption_figures.py chapters/01_*/0[1-4]_*.ipynb   # in place
    python tools/caption_figures.py --check chapters                 # list only

A code cell with an image output and no ``mystnb.figure`` metadata gets
``{"figure": {"name": "fig-<notebook>-<k>", "caption": <the first sentence of its
alt text>}}``; MyST-NB then renders it as "Fig. 1.2.3" with the caption, and
prose can cite it with ``{numref}`fig-<notebook>-<k>```. A cell that already has
a figure name or caption is left alone (write a better caption by hand any
time), so running it twice changes nothing.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path


def _sentence(text: str) -> str:
    m = re.match(r"(.+?[.!?])(\s|$)", text.strip())
    return (m.group(1) if m else text.strip()).strip()


def _n_images(cell: dict) -> int:
    return sum("image/png" in o.get("data", {}) or "image/svg+xml" in o.get("data", {})
               for o in cell.get("outputs", []))


def caption_notebook(nb: dict, stem: str) -> tuple[dict, int]:
    nb = json.loads(json.dumps(nb))
    topic = re.sub(r"[^a-z0-9]+", "-", re.sub(r"^\d+_", "", stem).lower()).strip("-")
    taken = {c.get("metadata", {}).get("mystnb", {}).get("figure", {}).get("name")
             for c in nb["cells"]}
    k, added = 0, 0
    for cell in nb["cells"]:
        if cell["cell_type"] != "code" or not any(
                "image/png" in o.get("data", {}) or "image/svg+xml" in o.get("data", {})
                for o in cell.get("outputs", [])):
            continue
        k += 1
        if _n_images(cell) > 1:
            continue             # one figure name per image: MyST-NB would repeat it
        meta = cell.setdefault("metadata", {}).setdefault("mystnb", {})
        fig = meta.get("figure", {})
        if fig.get("name") or fig.get("caption"):
            continue
        alt = str(meta.get("image", {}).get("alt", "")).strip()
        if not alt:
            continue                       # tests/test_figures.py asks for alt first
        name = f"fig-{topic}-{k}"
        while name in taken:
            name += "x"
        taken.add(name)
        meta["figure"] = {"name": name, "caption": _sentence(alt)}
        added += 1
    return nb, added


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("paths", nargs="+", type=Path)
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args(argv)
    paths = []
    for p in args.paths:
        paths += sorted(p.rglob("*.ipynb")) if p.is_dir() else [p]
    missing = 0
    for path in paths:
        nb = json.loads(path.read_text(encoding="utf-8"))
        new, n = caption_notebook(nb, path.stem)
        if n:
            missing += 1
            done = "to caption" if args.check else "captioned"
            print(f"{path}: {n} figure(s) {done}")
            if not args.check:
                path.write_text(json.dumps(new, indent=1, ensure_ascii=False) + "\n",
                                encoding="utf-8")
    return 1 if args.check and missing else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
