# Two commands on a fresh machine:  `make book`  then  `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# PyTorch is installed before requirements.txt (which accepts any torch >= 2.2).
# From PyPI, torch==2.13.0 on Linux is the CUDA build (several GB with its nvidia-*
# wheels); for the CPU-only build add PyTorch's CPU wheel index (its 2.13.0+cpu
# sorts above PyPI's 2.13.0; torch's dependencies still come from PyPI):
#   make book TORCH_INDEX=https://download.pytorch.org/whl/cpu
# `make book TORCH=torch` takes whatever pip picks instead.
TORCH       ?= torch==2.13.0
TORCH_INDEX ?=
# Exact versions for everything pip resolves (see tools/freeze_constraints.py).
CONSTRAINTS := -c constraints.txt
# One BLAS/OpenMP thread per process: tests run notebooks in parallel on few
# cores, where spinning thread pools oversubscribe the CPU (a 5 s notebook was
# seen taking 300 s), and single-threaded sums are the most reproducible.
export OMP_NUM_THREADS ?= 1
export OPENBLAS_NUM_THREADS ?= 1
export MKL_NUM_THREADS ?= 1

# nbgrader lives in its own venv (requirements-instructor.txt).
INSTRUCTOR := .venv-instructor

.PHONY: book pdf test unit student grade execute constraints bench gpu-check browser texlive clean

$(VENV)/.installed: requirements.txt pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q $(if $(TORCH_INDEX),--extra-index-url $(TORCH_INDEX)) \
		$(CONSTRAINTS) "$(TORCH)"
	$(BIN)/python -m pip install -q $(CONSTRAINTS) -r requirements.txt -e .
	touch $@

$(INSTRUCTOR)/.installed: requirements-instructor.txt
	$(PYTHON) -m venv $(INSTRUCTOR)
	$(INSTRUCTOR)/bin/python -m pip install -q --upgrade pip
	$(INSTRUCTOR)/bin/python -m pip install -q -r requirements-instructor.txt
	touch $@

## Set up (.venv) and build the book from the stored, executed notebooks (seconds:
## _config.yml has execute_notebooks "off"; `make test` re-executes every notebook
## under nbval and compares the outputs; `make execute` refreshes them).
book: $(VENV)/.installed
	$(BIN)/jupyter-book build . -W -n --keep-going
	@echo "The book is at $(CURDIR)/_build/html/index.html"

## The whole book as one PDF (Sphinx's LaTeX builder, XeLaTeX, DejaVu fonts) from
## the stored outputs: _build/latex/dlmath.pdf. Installs Debian's TeX Live if missing.
pdf: $(VENV)/.installed texlive
	$(BIN)/jupyter-book build . --builder pdflatex
	@echo "The PDF is at $(CURDIR)/_build/latex/dlmath.pdf"

## Run every test: dlmath unit tests, every notebook under nbval, structure, ruff,
## the book build and every page of it read in headless Chromium, the PDF.
test: $(VENV)/.installed $(INSTRUCTOR)/.installed browser texlive
	$(BIN)/python -m pytest

## Headless Chromium for tests/test_browser.py (Debian's package; CI runs as root).
browser:
	@command -v chromium >/dev/null || command -v chromium-browser >/dev/null || \
	  (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium)

## XeLaTeX, latexmk and fonts with the book's symbols for `make pdf` (Debian, as root).
texlive:
	@(command -v xelatex && command -v latexmk && command -v pdftotext) >/dev/null || \
	  (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
	   --no-install-recommends texlive-xetex texlive-fonts-recommended \
	   texlive-latex-extra latexmk fonts-dejavu lmodern poppler-utils)

## Notebook run times and dlmath-vs-torch kernel ratios -> book/performance.md.
## `make bench BENCH_ARGS=--build-times` also times a cold and a warm book build.
bench: $(VENV)/.installed
	$(BIN)/python tools/bench.py $(BENCH_ARGS)

## Every torch comparison (unit tests, notebooks) with torch on CUDA; says so and
## does nothing on a machine without a GPU. Runs with .venv's Python if there is
## one (`make book TORCH=torch` lets pip pick a CUDA build), else python3; on a
## GPU server with its own PyTorch: `make gpu-check GPU_PYTHON=python3`.
GPU_PYTHON ?= $(if $(wildcard $(BIN)/python),$(BIN)/python,$(PYTHON))
gpu-check:
	$(GPU_PYTHON) tools/gpu_check.py

## Only the dlmath unit tests (no notebooks, no book build): a minute, not many.
unit: $(VENV)/.installed
	$(BIN)/python -m pytest -o addopts="-ra -p no:cacheprovider -n 2" tests \
		--ignore=tests/test_book.py --ignore=tests/test_browser.py \
		--ignore=tests/test_structure.py

## The student edition: student/ (notebooks without solutions) and its book.
student: $(VENV)/.installed
	$(BIN)/python tools/student_edition.py --out student

## Grade a folder of submissions (one folder per student) into grades.csv.
grade: $(VENV)/.installed
	$(BIN)/python tools/grade.py $(SUBMISSIONS) --out grades.csv

## Re-execute every notebook in place (after editing), storing fresh outputs.
execute: $(VENV)/.installed
	$(BIN)/python tools/execute_notebooks.py chapters

## Re-pin constraints.txt to this environment (after an intentional upgrade).
constraints: $(VENV)/.installed
	$(BIN)/python tools/freeze_constraints.py

clean:
	rm -rf _build student
