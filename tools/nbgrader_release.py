"""nbgrader's release without the written solutions (a course's nbgrader_config.py).

nbgrader's ``generate_assignment`` replaces the code between ``### BEGIN
SOLUTION`` and ``### END SOLUTION`` by its stub and removes hidden tests, but
it keeps every markdown cell: the book's ``{solution-start}`` cell, with a
derivation exercise's written-out derivation, would reach the students. Add
these lines to the course's ``nbgrader_config.py`` (after ``c = get_config()``):

    import sys
    sys.path.insert(0, "/path/to/dlmath/tools")
    from nbgrader_release import configure
    configure(c)

``configure`` puts :class:`ClearWrittenSolutions` first in the release's
preprocessors: it removes the ``{solution-start}``/``{solution-end}`` markdown
exactly as the student edition does (``dlmath.student.strip_written_solutions``;
a derivation exercise gets ``*Your derivation here.*``). Those cells carry no
nbgrader metadata, so checksums, ``autograde`` and ``export`` are unchanged.
This file runs in nbgrader's own environment (``.venv-instructor``, no numpy):
it loads ``dlmath/student.py`` by path, which needs only the standard library.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import nbformat
from nbconvert.preprocessors import Preprocessor
from traitlets import Bool

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("_dlmath_student",
                                               ROOT / "dlmath" / "student.py")
student = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(student)


class ClearWrittenSolutions(Preprocessor):
    """Remove the written solutions' markdown cells from a notebook."""

    enabled = Bool(True)            # nbconvert's preprocessors are off by default

    def preprocess(self, nb, resources):
        nb.cells = [nbformat.from_dict(c)
                    for c in student.strip_written_solutions(nb.cells)]
        return nb, resources


def configure(c) -> None:
    """Run :class:`ClearWrittenSolutions` before nbgrader's own release steps."""
    from nbgrader.converters.generate_assignment import GenerateAssignment

    default = GenerateAssignment.class_traits()["preprocessors"].default()
    c.GenerateAssignment.preprocessors = [ClearWrittenSolutions, *default]
