# symnet: two commands to get going.
#
#   make demo   # create .venv, install symnet, run the demo
#   make test   # create .venv, install symnet, run the whole test suite
#
# The virtual environment is rebuilt when setup.cfg or pyproject.toml change
# (stamp file .venv/.installed).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
BENCH_STAMP := $(VENV)/.bench-installed
# The CPU wheel of torch available on this machine. Installed first and pinned
# so that resolving symnet's `torch>=2.3` never pulls a multi-GB CUDA build.
TORCH_VERSION ?= 2.13.0
PYTEST_ARGS ?=

.PHONY: all install demo test test-fast lint format docs bench clean distclean

all: test

install: $(STAMP)

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q torch==$(TORCH_VERSION)
	$(BIN)/pip install -q -e '.[plot,test,docs]'
	touch $@

demo: $(STAMP)
	$(BIN)/symnet demo

# The whole suite, slow tests included.
test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/python -m mkdocs build --strict

# Peer projects measured by the benchmarks (egnn-pytorch comes with the test
# extra, which the suite needs). torch stays pinned to the CPU wheel;
# torchdyn pulls a torchvision that fails to import next to it, and nothing
# here needs torchvision, so it is removed. JAX (CPU) and jax-md are the
# peers of benchmarks/bench_jax.py and benchmarks/bench_md.py only; symnet
# never imports them.
$(BENCH_STAMP): $(STAMP)
	$(BIN)/pip install -q torch==$(TORCH_VERSION) torchdyn "jax[cpu]>=0.10,<0.11" "jax-md>=0.2,<0.3"
	$(BIN)/pip uninstall -y -q torchvision
	touch $@

bench: $(BENCH_STAMP)
	@set -e; found=0; \
	for f in benchmarks/bench_*.py; do \
	    [ -e "$$f" ] || continue; \
	    found=1; \
	    echo "== $$f"; \
	    $(BIN)/python "$$f"; \
	done; \
	[ "$$found" = 1 ] || echo "no benchmarks/bench_*.py yet"

clean:
	rm -rf site build dist *.egg-info .pytest_cache .ruff_cache .hypothesis
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)
