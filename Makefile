# Two commands on a fresh machine: `make demo` and `make test`. Each sets up .venv first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install demo test lint typecheck docs pytest bench load clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[server,dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(PY) examples/chat_stream.py

lint: $(STAMP)
	$(VENV)/bin/ruff check .

# The package and every test (tests/ is their import root); pyproject's [tool.mypy] exclude leaves out
# tests/typing/typed_misuse.py, which must fail and is checked by tests/typing/test_typing.py.
typecheck: $(STAMP)
	$(VENV)/bin/mypy --strict llama_azure tests

docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --quiet

# Two workers: much of the suite waits in real time (quota windows, Retry-After floors, token lifetimes), so the
# other worker's tests run meanwhile. A file's tests stay on one worker (its module fixtures start once).
pytest: $(STAMP)
	$(VENV)/bin/pytest -n 2 --dist loadfile

test: lint typecheck docs pytest

bench: $(STAMP)
	$(PY) benchmarks/server_throughput.py

load: $(STAMP)
	$(PY) benchmarks/load.py

clean:
	rm -rf $(VENV) build dist site .mypy_cache .pytest_cache .ruff_cache
