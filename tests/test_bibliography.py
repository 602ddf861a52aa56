"""The bibliography parses, has no duplicate keys, and every {cite} key exists.

A merge of two branches that both append to references.bib once dropped a closing
brace; the book build then failed in sphinxcontrib-bibtex. This catches it in a second.
"""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIB = ROOT / "book" / "references.bib"


def test_bibliography_parses_without_duplicates():
    from pybtex.database import parse_file

    text = BIB.read_text(encoding="utf-8")
    keys = re.findall(r"^@\w+\{([^,]+),", text, re.M)
    assert len(keys) == len(set(keys)), "duplicate keys: " + ", ".join(
        sorted({k for k in keys if keys.count(k) > 1}))
    assert sorted(parse_file(str(BIB)).entries) == sorted(keys)


def test_every_cited_key_exists():
    keys = set(re.findall(r"^@\w+\{([^,]+),", BIB.read_text(encoding="utf-8"), re.M))
    chapters = ROOT / "chapters"
    sources = [*chapters.rglob("*.ipynb"), *chapters.rglob("*.md"),
               *(ROOT / "book").glob("*.md")]
    cite = re.compile(r"\{cite[tp]?\}`([^`]+)`")
    for path in sources:
        for group in cite.findall(path.read_text(encoding="utf-8")):
            for key in group.split(","):
                assert key.strip() in keys, f"{path.name} cites unknown {key.strip()}"
