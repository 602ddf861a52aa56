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
