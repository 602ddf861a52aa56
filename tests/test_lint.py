"""ruff over dlmath, tests, tools and the notebooks (configured in pyproject.toml).

Lines of at most 88 characters: longer code lines scroll sideways in the book.
No file is exempt (``extend-per-file-ignores`` stays empty).
"""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _ruff() -> list[str]:
    found = shutil.which("ruff", path=str(Path(sys.executable).parent)) \
        or shutil.which("ruff")
    if found:
        return [found]
    try:
        import ruff  # noqa: F401
    except ImportError:
        pytest.fail("ruff is not installed: pip install -r requirements.txt")
    return [sys.executable, "-m", "ruff"]


def test_ruff_check_passes():
    proc = subprocess.run([*_ruff(), "check", "--no-cache", "--output-format",
                           "concise", "."], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]


def test_nothing_is_exempt():
    """Every notebook and module passes ruff itself: no per-file exemptions."""
    import re

    text = (ROOT / "pyproject.toml").read_text()
    section = text.split("[tool.ruff.lint.extend-per-file-ignores]", 1)[1]
    section = section.split("\n[", 1)[0]
    exempt = re.findall(r'^"([^"]+)"\s*=', section, re.M)
    assert not exempt, f"files exempted from ruff: {exempt}"
