"""`make pdf`: the whole book builds as one PDF (XeLaTeX) with every chapter in it.

Builds into a temporary folder with ``jupyter-book build . --builder pdflatex``
(about 1.5 minutes from the stored outputs on 2 cores) and reads the PDF's text
with ``pdftotext``. ``make test`` installs TeX Live where it is missing.
"""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tools.book import jupyter_book
from tools.browse import toc_pages

ROOT = Path(__file__).resolve().parents[1]


def test_pdf_builds_with_every_chapter(tmp_path):
    for tool in ("xelatex", "latexmk", "pdftotext"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is missing: `make texlive` (make test) installs it")
    proc = subprocess.run([jupyter_book(), "build", str(ROOT), "--builder", "pdflatex",
                           "--path-output", str(tmp_path)], cwd=ROOT,
                          capture_output=True, text=True, timeout=1800)
    log = proc.stdout + proc.stderr
    pdf = tmp_path / "_build" / "latex" / "dlmath.pdf"
    assert proc.returncode == 0 and pdf.exists(), log[-4000:]
    tex_log = (tmp_path / "_build" / "latex" / "dlmath.log").read_text(errors="replace")
    assert not re.search(r"^! ", tex_log, re.M), "LaTeX errors in dlmath.log"
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout
    flat = re.sub(r"\s+", " ", text)
    for page in toc_pages():
        if page.endswith("/index"):
            title = next(line for line in (ROOT / f"{page}.md").read_text(
                encoding="utf-8").splitlines() if line.startswith("# "))
            title = title[2:].strip()
            assert title in flat, f"chapter {title!r} is not in the PDF"
    assert "Verified equations" in flat and "✓" in flat
    # the same numbers as the web edition: the front matter is unnumbered, so the
    # first notebook is 1.1 and its figures "Fig. 1.1.1"; the back matter is lettered
    assert "1.1 Vectors, matrices and tensors" in flat and "Fig. 2.2.1" in flat
    assert "Appendix A. Verified equations" in flat
    assert not re.search(r"LaTeX Warning: (Reference|Hyper reference) .* undefined",
                         tex_log), "undefined cross-references in the PDF"
