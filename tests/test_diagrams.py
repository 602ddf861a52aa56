"""The book's vector diagrams are drawn by code and regenerate byte for byte."""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import diagrams  # noqa: E402


def test_diagrams_are_stored_as_the_code_draws_them(tmp_path):
    for name, draw in diagrams.DIAGRAMS.items():
        draw(tmp_path / name)
        svg = (tmp_path / name).read_text(encoding="utf-8")
        assert svg.startswith("<?xml") and "<svg" in svg and "<dc:date>" not in svg
        stored = diagrams.OUT / name
        assert stored.exists() and stored.read_text(encoding="utf-8") == svg, \
            f"run `python tools/diagrams.py`: {name} differs from what the code draws"


def test_every_diagram_has_a_pdf_twin_for_the_pdf_edition(tmp_path):
    """LaTeX cannot include SVG: each diagram is also stored as PDF, drawn by the
    same code, and the pages cite ``diagrams/name.*`` so each builder picks its own."""
    import re

    for name, draw in diagrams.DIAGRAMS.items():
        draw(tmp_path / name)
        pdf = Path(name).with_suffix(".pdf")
        made = (tmp_path / pdf).read_bytes()
        assert made.startswith(b"%PDF") and b"CreationDate" not in made
        assert (diagrams.OUT / pdf).read_bytes() == made, \
            f"run `python tools/diagrams.py`: {pdf} differs from what the code draws"
    for nb in (ROOT / "chapters").rglob("*.ipynb"):
        text = nb.read_text(encoding="utf-8")
        cited = re.findall(r"images/diagrams/([\w.*]+)", text)
        assert all(c.endswith(".*") for c in cited), \
            f"{nb.name} cites {cited}: write diagrams/name.* (SVG: HTML, PDF: LaTeX)"
