# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
QA     := $(VENV)/bin/qa
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: run test install index chat eval bench clean

install: $(VENV)/.installed

# torch is installed first, on its own, from the pinned CPU wheel; then the project.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[dev,serve,mcp]'  # serve, mcp: qa serve, qa mcp and their tests
	touch $@

# Incremental: a no-op when corpus/ has not changed since the last build.
index: install
	$(QA) index --corpus corpus --index index

run: index
	$(QA) chat --index index

test: install
	$(VENV)/bin/lint-imports  # the layers (pyproject.toml [tool.importlinter])
	$(VENV)/bin/mypy  # types: strict on qa/index, qa/search, qa/answer (pyproject.toml [tool.mypy])
	$(VENV)/bin/ruff check qa tests bench  # lint (pyproject.toml [tool.ruff])
	$(PY) -m pytest -q

eval: install
	$(QA) eval --beir ../shared/eval/scifact

bench: install
	$(PY) bench/run_all.py

clean:
	rm -rf $(VENV)
	[ ! -f index/.qa-index ] || rm -rf index  # only a folder qa made
