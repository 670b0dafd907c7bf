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

.PHONY: demo test lint gate baseline
demo: $(VENV)/.core
	$(VENV)/bin/mirabench demo --out runs/demo

# Dogfooding the CI gate: run the demo afresh and compare both rows with the committed baseline (exit 1 on a
# regression). `make baseline` refreshes the baseline after an intended change; review its diff, then commit it.
DEMO_BASELINE := results/baselines/shapes-demo
gate: $(VENV)/.core
	rm -rf runs/gate
	$(VENV)/bin/mirabench demo --out runs/gate
	for a in direct heuristic; do $(VENV)/bin/mirabench compare runs/gate/$$a --baseline $(DEMO_BASELINE)/$$a || exit 1; done

baseline: $(VENV)/.core
	rm -rf runs/baseline
	$(VENV)/bin/mirabench demo --out runs/baseline
	for a in direct heuristic; do mkdir -p $(DEMO_BASELINE)/$$a && \
		cp runs/baseline/$$a/run.json runs/baseline/$$a/summary.json runs/baseline/$$a/samples.jsonl $(DEMO_BASELINE)/$$a/ || exit 1; done

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

test: lint
	HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1 GLOO_SOCKET_IFNAME=lo \
	$(VENV)/bin/pytest -q -p no:cacheprovider
