# Two entry points for newcomers: `make demo` and `make test`. Both create ./.venv when needed.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip -q

$(VENV)/.core: pyproject.toml constraints.txt
	python3 -m venv $(VENV)
	$(PIP) install -c constraints.txt -e .
	touch $@

$(VENV)/.dev: pyproject.toml constraints.txt
	python3 -m venv $(VENV)
	$(PIP) install -c constraints.txt -e ".[dev]"
	touch $(VENV)/.core $@

.PHONY: demo test lint
demo: $(VENV)/.core
	$(VENV)/bin/mirabench demo --out runs/demo

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

test: lint
	HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1 GLOO_SOCKET_IFNAME=lo \
	$(VENV)/bin/pytest -q -p no:cacheprovider
