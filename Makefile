# nnbook: one entry point for setting up, building and testing.
#   make book   environment + vendored assets + the HTML book in _build/html
#   make test   environment + every test (package, notebooks, book build, browser)
#   make lab    JupyterLab on the reader's copies of the chapters (numbers filled in), nnbook kernel
#   make pdf    the book printed to one PDF (_build/pdf/nnbook.pdf) with Debian's Chromium
#   make bench  speed comparisons (numbers only, never asserts)
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
JB     := $(VENV)/bin/jupyter-book
export NUMBA_CACHE_DIR ?= $(CURDIR)/_build/numba-cache
export PYTHONHASHSEED := 0

.PHONY: env vendor book test test-package test-notebooks test-built lab pdf bench clean

env: $(VENV)/.installed
$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	$(PY) -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (nnbook)" >/dev/null
	touch $@

vendor: _vendor/vendor/.versions
_vendor/vendor/.versions: scripts/vendor.sh
	bash scripts/vendor.sh

book: env vendor
	@start=$$(date +%s); $(JB) build -W -n --keep-going . && echo "book built in $$(( $$(date +%s) - start )) s"
	@echo "Open _build/html/index.html in a browser (or: $(PY) -m http.server -d _build/html)"

test-package: env
	$(PY) -m pytest tests

# nbval runs every chapter but two: the one build_tests/test_lab.py runs live in JupyterLab and
# the one build_tests/test_launch.py runs as Colab would (reader_copies.py --live-chapters); their
# runs stand in for nbval's. So every chapter executes exactly twice in `make test` (once live,
# once in the book build).
test-notebooks: env
	$(PY) -m pytest -p no:cacheprovider --nbval-lax book/ $(addprefix --ignore=,$(shell $(PY) scripts/reader_copies.py --live-chapters))

test-built: env
	$(PY) -m pytest -p no:cacheprovider build_tests

test: test-package test-notebooks book pdf test-built

# The reader's copy of each chapter is made from the build's executed notebooks (see
# scripts/reader_copies.py); JupyterLab (with jupyterlab-myst) opens them in _build/lab/book.
lab: book
	$(PY) scripts/reader_copies.py --out _build/lab
	$(VENV)/bin/jupyter lab $(if $(filter 0,$(shell id -u)),--allow-root) \
	  --ServerApp.root_dir=_build/lab --LabApp.default_url=/lab/tree/book \
	  --LabApp.news_url=None --LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate

pdf: book
	$(PY) scripts/pdf.py _build/html _build/pdf/nnbook.pdf

bench: env
	@for f in bench/*.py; do $(PY) $$f || exit 1; done

clean:
	rm -rf _build
