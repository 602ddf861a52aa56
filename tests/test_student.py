import json

import pytest

from dlmath.student import main, strip_solution, student_notebook

SOLUTION = """def f(x):
    ### BEGIN SOLUTION
    return 2 * x
    ### END SOLUTION
"""


def test_strip_solution_keeps_indentation():
    assert strip_solution(SOLUTION) == (
        "def f(x):\n    raise NotImplementedError()  # your code here\n")


@pytest.mark.parametrize("bad", ["### BEGIN SOLUTION\n", "### END SOLUTION\n",
                                 "### BEGIN SOLUTION\n### BEGIN SOLUTION\n"])
def test_unbalanced_markers_raise(bad):
    with pytest.raises(ValueError, match="strip_solution"):
        strip_solution(bad)


def test_student_notebook_strips_and_clears(tmp_path):
    nb = {"cells": [
        {"cell_type": "code", "source": SOLUTION, "metadata": {"tags": ["hide-input"]},
         "outputs": [{"output_type": "stream", "text": "x"}], "execution_count": 3},
        {"cell_type": "code", "source": "ch01.check_f(f)", "metadata": {},
         "outputs": [{"output_type": "stream", "text": "✓"}], "execution_count": 4},
        {"cell_type": "code", "source": "print(1)", "metadata": {},
         "outputs": [{"output_type": "stream", "text": "1"}], "execution_count": 5},
    ], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    out = student_notebook(nb)
    assert "return 2 * x" not in out["cells"][0]["source"]
    assert out["cells"][0]["metadata"]["tags"] == []
    assert out["cells"][0]["outputs"] == [] and out["cells"][1]["outputs"] == []
    assert out["cells"][2]["outputs"]  # ordinary cells keep their outputs
    assert "return 2 * x" in nb["cells"][0]["source"]  # the original is untouched
    src = tmp_path / "chapters" / "01_x"
    src.mkdir(parents=True)
    (src / "a.ipynb").write_text(json.dumps(nb))
    assert main([str(tmp_path / "chapters"), str(tmp_path / "student")]) == 0
    written = json.loads((tmp_path / "student" / "01_x" / "a.ipynb").read_text())
    assert "NotImplementedError" in written["cells"][0]["source"]


def test_hidden_tests_leave_the_student_version():
    nb = {"cells": [
        {"cell_type": "code", "source": SOLUTION, "metadata": {}, "outputs": [],
         "execution_count": 1},
        {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": 2,
         "source": "ch01.check_f(f)\n### BEGIN HIDDEN TESTS\nch01.check_f(f, seed=7)\n"
                   "### END HIDDEN TESTS\n"},
    ], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    out = student_notebook(nb)
    assert out["cells"][1]["source"] == "ch01.check_f(f)\n"
    assert "seed=7" in nb["cells"][1]["source"]
