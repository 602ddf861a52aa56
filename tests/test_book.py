"""The book builds with warnings as errors, and its pages work offline.

The build is the session fixture ``book_build`` (tests/conftest.py), shared with
tests/test_browser.py, which then reads every page in a browser."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"


def test_book_renders_stored_outputs():
    """`make book` renders the executed notebooks as stored (seconds, not minutes);
    tests/test_structure.py requires them executed in order without errors, and
    nbval re-executes each and compares its outputs with the stored ones."""
    import yaml

    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    assert config["execute"]["execute_notebooks"] == "off"


def test_book_builds_clean_and_offline(book_build):
    log = book_build["log"]
    assert book_build["returncode"] == 0, log[-6000:]
    assert "build succeeded" in log, log[-6000:]
    sphinx_warnings = [line for line in log.splitlines() if "WARNING" in line
                       and "Kernel is running over TCP" not in line]
    assert not sphinx_warnings, "\n".join(sphinx_warnings)
    # From stored outputs the build takes ~15 s on 2 cores; a build that executes
    # notebooks again takes minutes.
    assert book_build.get("reused") or book_build["seconds"] < 120, \
        f"the book build took {book_build['seconds']:.0f} s: is it executing notebooks?"

    pages = sorted(HTML.rglob("*.html"))
    assert (HTML / "index.html").exists() and len(pages) > 5
    for page in pages:  # no script, stylesheet or font is fetched from the network
        text = page.read_text(encoding="utf-8")
        remote = re.findall(r'<script[^>]*\ssrc="(?:https?:)?//[^"]+"', text) + \
            re.findall(r'<link[^>]*\shref="(?:https?:)?//[^"]+"', text)
        assert not remote, f"{page.name} loads {remote}: the book must read offline"
    nb_page = next(p for p in pages if "01_vectors_and_tensors" in p.name)
    text = nb_page.read_text(encoding="utf-8")
    assert "vendor/mathjax/tex-chtml-full.js" in text
    assert "colab.research.google.com/github/dlmath/dlmath/blob/main/" in text
    assert "<img" in text, "the notebook's figures are missing"
    assert (HTML / "_static" / "vendor" / "html-manager" / "embed-amd.js").exists()
    sidebar = text[text.index("bd-sidebar-primary"):text.index("bd-main")]
    assert "search-button-field" not in sidebar, \
        "one search box, in the header: the sidebar must not add a second one"
    widget_page = next(p for p in pages if "02_linear_maps_and_matmul" in p.name)
    text = widget_page.read_text(encoding="utf-8")
    assert "vendor/html-manager/embed-amd.js" in text and "widget-state+json" in text, \
        "the widget's saved state (and so its first drawing) is missing from the page"
