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

# nbgrader lives in its own venv (requirements-instructor.txt).
INSTRUCTOR := .venv-instructor

.PHONY: book test student grade execute clean

$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q "$(TORCH)"
	$(BIN)/python -m pip install -q -r requirements.txt -e .
	touch $@

$(INSTRUCTOR)/.installed: requirements-instructor.txt
	$(PYTHON) -m venv $(INSTRUCTOR)
	$(INSTRUCTOR)/bin/python -m pip install -q --upgrade pip
	$(INSTRUCTOR)/bin/python -m pip install -q -r requirements-instructor.txt
	touch $@

## Set up (.venv) and build the book, executing every notebook.
book: $(VENV)/.installed
	$(BIN)/jupyter-book build . -W -n --keep-going
	@echo "The book is at $(CURDIR)/_build/html/index.html"

## Run every test: dlmath unit tests, every notebook under nbval, structure, book build.
test: $(VENV)/.installed $(INSTRUCTOR)/.installed
	$(BIN)/python -m pytest

## The student edition: student/ (notebooks without solutions) and its book.
student: $(VENV)/.installed
	$(BIN)/python tools/student_edition.py --out student

## Grade a folder of submissions (one folder per student) into grades.csv.
grade: $(VENV)/.installed
	$(BIN)/python tools/grade.py $(SUBMISSIONS) --out grades.csv

## Re-execute every notebook in place (after editing), storing fresh outputs.
execute: $(VENV)/.installed
	$(BIN)/python tools/execute_notebooks.py chapters

clean:
	rm -rf _build student
