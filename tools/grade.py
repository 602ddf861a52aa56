"""Grade a folder of submitted notebooks: one CSV row per student and exercise.

    python tools/grade.py SUBMISSIONS [--out grades.csv] [--source chapters]

``SUBMISSIONS`` holds one folder per student, each with notebooks named as in
the book (``alice/02_calculus_autodiff/04_autodiff_engine.ipynb`` or just
``alice/04_autodiff_engine.ipynb``). For every submitted notebook the grader

1. takes the graded (check) cells from the instructor's source notebook, by
   their nbgrader ``grade_id``, so a check that a student edited, commented out
   or deleted runs as the instructor wrote it (hidden tests included);
2. executes the notebook top to bottom in a fresh kernel, continuing past errors;
3. writes ``student, notebook, exercise, points, max_points, message`` rows:
   full points when the check cell ran without error, else 0 and the first
   line of the error (e.g. "Exercise 2.5 maximum: wrong values on test case 2").

``make grade SUBMISSIONS=path/to/folder`` runs it with the project's venv.
"""
from __future__ import annotations

import argparse
import copy
import csv
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")


def _grade_cells(nb: dict) -> dict[str, dict]:
    return {c["metadata"]["nbgrader"]["grade_id"]: c for c in nb["cells"]
            if c.get("metadata", {}).get("nbgrader", {}).get("grade")}


def _source_index(source: Path) -> dict[str, Path]:
    return {
        p.name: p
        for p in source.rglob("*.ipynb")
        if ".ipynb_checkpoints" not in p.parts
    }


def restore_checks(submitted: dict, instructor: dict) -> dict:
    """The submission with every graded cell replaced by the instructor's, in place.

    A graded cell missing from the submission is inserted after the solution
    cell with the matching ``<grade_id>_solution`` id, or appended at the end.
    """
    nb = copy.deepcopy(submitted)
    theirs = _grade_cells(instructor)
    ids = [
        c.get("metadata", {}).get("nbgrader", {}).get("grade_id") for c in nb["cells"]
    ]
    for gid, cell in theirs.items():
        fresh = copy.deepcopy(cell)
        fresh["outputs"], fresh["execution_count"] = [], None
        if gid in ids:
            nb["cells"][ids.index(gid)] = fresh
        elif f"{gid}_solution" in ids:
            nb["cells"].insert(ids.index(f"{gid}_solution") + 1, fresh)
            ids.insert(ids.index(f"{gid}_solution") + 1, gid)
        else:
            nb["cells"].append(fresh)
            ids.append(gid)
    return nb


def _message(cell: dict) -> str:
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            text = f"{out.get('ename')}: {out.get('evalue')}"
            return text.splitlines()[0][:300]
    return ""


def grade_notebook(path: Path, instructor: dict, timeout: int = 300) -> list[dict]:
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.reads(json.dumps(restore_checks(
        json.loads(path.read_text(encoding="utf-8")), instructor)), as_version=4)
    NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    rows = []
    for gid, cell in _grade_cells(nb).items():
        pts = cell["metadata"]["nbgrader"].get("points", 1)
        msg = _message(cell)
        rows.append(
            {
                "notebook": path.stem,
                "exercise": gid,
                "points": 0 if msg else pts,
                "max_points": pts,
                "message": msg or "passed",
            }
        )
    return rows


def grade_folder(submissions: Path, source: Path, out: Path) -> list[dict]:
    index = _source_index(source)
    rows = []
    for student in sorted(p for p in submissions.iterdir() if p.is_dir()):
        for path in sorted(student.rglob("*.ipynb")):
            if ".ipynb_checkpoints" in path.parts:
                continue
            if path.name not in index:
                rows.append(
                    {
                        "student": student.name,
                        "notebook": path.stem,
                        "exercise": "",
                        "points": 0,
                        "max_points": 0,
                        "message": "no notebook of this name in the instructor source",
                    }
                )
                continue
            instructor = json.loads(index[path.name].read_text(encoding="utf-8"))
            for row in grade_notebook(path, instructor):
                rows.append({"student": student.name, **row})
            print(f"graded {student.name}/{path.name}", flush=True)
    with out.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(
            f, ["student", "notebook", "exercise", "points", "max_points", "message"]
        )
        w.writeheader()
        w.writerows(rows)
    return rows


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("submissions", type=Path)
    ap.add_argument("--source", type=Path, default=ROOT / "chapters",
                    help="the instructor's notebooks (default: chapters/)")
    ap.add_argument("--out", type=Path, default=Path("grades.csv"))
    args = ap.parse_args(argv)
    rows = grade_folder(args.submissions, args.source, args.out)
    total = sum(r["points"] for r in rows)
    print(f"wrote {len(rows)} rows to {args.out} ({total} points in all)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
