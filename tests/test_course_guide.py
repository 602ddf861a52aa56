"""The course guide is generated from book/course.yml and the notebooks, and agrees with
the chapter pages: one place for each fact."""
from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import course_guide  # noqa: E402


def test_generated_course_plan_is_up_to_date():
    # every toc notebook has data, no stray entries
    rows = course_guide.notebooks()
    stored = (ROOT / "book/_generated/course_plan.md").read_text(encoding="utf-8")
    assert stored == course_guide.render_markdown(rows) + "\n", \
        "run `python tools/course_guide.py` and commit book/_generated/"
    assert (ROOT / "book/_generated/prerequisites.png").stat().st_size > 10_000


def test_prerequisites_point_backwards():
    order = [r.key for r in course_guide.notebooks()]
    for r in course_guide.notebooks():
        for q in r.requires:
            assert order.index(q) < order.index(r.key), f"{r.key} requires a later {q}"


def test_chapter_pages_state_the_reading_time_of_the_data():
    """Each index.md says "N hours in all": its notebooks' reading time, to 0.5 h."""
    reading: dict[int, int] = {}
    for r in course_guide.notebooks():
        c = int(r.key.split(".")[0])
        reading[c] = reading.get(c, 0) + r.read
    for index, _ in course_guide._toc_chapters():
        c = int(index.split("/")[1][:2])
        text = (ROOT / f"{index}.md").read_text(encoding="utf-8")
        m = re.search(r"([\d.]+) hours? in all", text)
        assert m, f"{index}.md must state the chapter's time as 'N hours in all'"
        assert float(m.group(1)) == round(reading[c] / 30) / 2, (
            f"{index}.md says {m.group(1)} h; "
            f"book/course.yml adds up to {reading[c]} min"
        )


def test_syllabi_cover_every_chapter_once_in_order():
    import yaml

    data = yaml.safe_load((ROOT / "book/course.yml").read_text(encoding="utf-8"))
    order = [r.key for r in course_guide.notebooks()]
    for name, syl in data["syllabi"].items():
        seen = [k for w in syl["weeks"] for k in w["notebooks"]]
        assert len(seen) == len(set(seen)), f"{name} assigns a notebook twice"
        for k in seen:
            r = next(x for x in course_guide.notebooks() if x.key == k)
            for q in r.requires:
                if q in seen:
                    assert seen.index(q) < seen.index(k), f"{name}: {k} before its {q}"
        assert order.index(seen[0]) == 0


def test_course_table_does_not_wrap_minutes_or_print_empty_exercises():
    text = (ROOT / "book" / "_generated" / "course_plan.md").read_text(encoding="utf-8")
    assert "0 (0\u00a0min)" not in text and "0 (0 min)" not in text
    assert " min |" not in text, "minutes joined by a no-break space: '30\u00a0min'"
