# Two commands on a fresh machine: `make run` (the product) and `make test` (the suite).
PYTHON ?= python3
UV_VERSION := 0.13.9
UV := .uv/bin/uv
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON := $(PYTHON)
PYTEST_WORKERS ?= 2

.PHONY: run test lint bench install install-dev clean

$(UV):
	@$(PYTHON) -m venv .uv || { echo "error: '$(PYTHON) -m venv' failed; on Debian/Ubuntu install python3-venv"; exit 1; }
	@.uv/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

install: $(UV)
	@$(UV) sync --frozen --inexact --quiet

install-dev: $(UV)
	@$(UV) sync --frozen --all-groups --quiet

run: install
	.venv/bin/fisioflow run

test: install-dev
	.venv/bin/pytest -n $(PYTEST_WORKERS) --dist loadfile

lint: install-dev
	.venv/bin/ruff check src tests benchmarks migrations
	.venv/bin/ruff format --check src tests benchmarks migrations
	.venv/bin/mypy --strict src

bench: install-dev
	.venv/bin/python -m benchmarks $(BENCH_ARGS)

clean:
	rm -rf .venv .uv .fisioflow .pytest_cache .mypy_cache .ruff_cache
