"""dlmath as Colab gets it: installed from the repository (not editable), imported from
another working directory, running a notebook there."""
from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "chapters/01_linear_algebra/01_vectors_and_tensors.ipynb"


def test_installed_package_runs_a_notebook_from_elsewhere(tmp_path, monkeypatch):
    import nbformat
    from nbclient import NotebookClient

    import shutil

    # build a copy: no build/ in the repo
    src, site = tmp_path / "src", tmp_path / "site"
    shutil.copytree(ROOT / "dlmath", src / "dlmath",
                    ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        if (ROOT / name).exists():
            shutil.copy(ROOT / name, src / name)
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps",
                    "--no-build-isolation", "--target", str(site), str(src)],
                   check=True, capture_output=True, timeout=600)
    work = tmp_path / "elsewhere"
    work.mkdir()
    monkeypatch.setenv("PYTHONPATH", str(site))
    # every module of the installed copy imports (a subpackage missing from the wheel
    # fails)
    code = (
        "import importlib, pkgutil, dlmath; "
        "names = [m.name for m in pkgutil.walk_packages(dlmath.__path__, 'dlmath.')]; "
        "[importlib.import_module(n) for n in names]; "
        "print(dlmath.__file__, len(names))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=work, check=True,
                         capture_output=True, text=True, timeout=300).stdout
    assert out.startswith(str(site)), f"imported the wrong dlmath: {out}"
    n_source = len(list(pkgutil.walk_packages([str(ROOT / "dlmath")], "dlmath.")))
    assert int(out.split()[-1]) == n_source
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nb.cells.insert(
        1,
        nbformat.v4.new_code_cell(
            "import dlmath; assert dlmath.__file__.startswith(%r), dlmath.__file__"
            % str(site)
        ),
    )
    NotebookClient(nb, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(work)}}).execute()
