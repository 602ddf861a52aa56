# Two commands on a fresh machine:  `make book`  then  `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# CPU build of PyTorch installed before requirements.txt (which accepts any
# torch >= 2.2); `make book TORCH=torch` takes whatever pip picks instead.
TORCH  ?= torch==2.13.0
# One BLAS/OpenMP thread per process: tests run notebooks in parallel on few
# cores, where spinning thread pools oversubscribe the CPU (a 5 s notebook was
# seen taking 300 s), and single-threaded sums are the most reproducible.
export OMP_NUM_THREADS ?= 1
export OPENBLAS_NUM_THREADS ?= 1
export MKL_NUM_THREADS ?= 1

.PHONY: book test student execute bench gpu-check browser clean

$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q "$(TORCH)"
	$(BIN)/python -m pip install -q -r requirements.txt -e .
	touch $@

## Set up (.venv) and build the book, executing every notebook.
book: $(VENV)/.installed
	$(BIN)/jupyter-book build . -W -n --keep-going
	@echo "The book is at $(CURDIR)/_build/html/index.html"

## Run every test: dlmath unit tests, every notebook under nbval, structure, ruff,
## the book build and every page of it read in headless Chromium.
test: $(VENV)/.installed browser
	$(BIN)/python -m pytest

## Headless Chromium for tests/test_browser.py (Debian's package; CI runs as root).
browser:
	@command -v chromium >/dev/null || command -v chromium-browser >/dev/null || \
	  (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium)

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

## Student versions of every notebook (solutions stripped) into student/.
student: $(VENV)/.installed
	$(BIN)/python -m dlmath.student chapters student

## Re-execute every notebook in place (after editing), storing fresh outputs.
execute: $(VENV)/.installed
	$(BIN)/python tools/execute_notebooks.py chapters

clean:
	rm -rf _build student
