"""The book builds with warnings as errors, and its pages work offline."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"


def test_book_builds_clean_and_offline():
    jb = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(jb) if jb.exists() else shutil.which("jupyter-book"),
           "build", str(ROOT), "-W", "-n", "--keep-going"]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=1500)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-6000:]
    assert not re.search(r"\bWARNING\b", proc.stderr), log[-6000:]

    pages = sorted(HTML.rglob("*.html"))
    assert (HTML / "index.html").exists() and len(pages) > 5
    for page in pages:
        text = page.read_text(encoding="utf-8")
        for cdn in ("cdn.jsdelivr.net/npm/mathjax", "cdnjs.cloudflare.com", "unpkg.com"):
            assert cdn not in text, f"{page.name} loads {cdn}: the book must read offline"
    nb_page = next(p for p in pages if "01_vectors_and_tensors" in p.name)
    text = nb_page.read_text(encoding="utf-8")
    assert "vendor/mathjax/tex-chtml-full.js" in text
    assert "colab.research.google.com/github/dlmath/dlmath/blob/main/" in text
    assert "<img" in text, "the notebook's figures are missing"
    assert (HTML / "_static" / "vendor" / "html-manager" / "embed-amd.js").exists()
