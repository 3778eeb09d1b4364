# BitCraps developer entry points. Needs only python3 (3.11+) and GNU make.
#
#   make demo    run the demo (creates .venv on first use)
#   make test    lint, type-check, then run the test suite
#   make lint    ruff + mypy only
#   make bench   consensus throughput/latency benchmark (JSON)
#   make clean   remove build outputs and caches (keeps .venv); `make distclean` removes .venv too

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := test
MAKEFLAGS += --no-builtin-rules

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
VPY    := $(BIN)/python3
STAMP  := $(VENV)/.installed
INTEROP       := tests/interop
INTEROP_STAMP := $(INTEROP)/node_modules/.installed

PKGS      := node transports consensus games accel
TYPECHECK := build/typecheck

export PIP_DISABLE_PIP_VERSION_CHECK := 1
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: system-deps venv interop-deps lint typecheck-links test demo bench clean distclean

# --- virtual environment -----------------------------------------------------

$(VPY):
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "error: Python 3.11+ required, $(PYTHON) is " + sys.version.split()[0])'
	@$(PYTHON) -m venv $(VENV) || { \
	  echo "error: '$(PYTHON) -m venv' failed; on Debian/Ubuntu install the python3-venv package" >&2; \
	  rm -rf $(VENV); exit 1; }

# Debian packages: what the Python dependencies build against (libp2p's fastecdsa needs GMP),
# systemd for `systemd-analyze` (the unit file tests), nodejs for the JS libp2p interop test,
# Debian's PoCL as an OpenCL CPU device (the `pocl` extra's build refuses CPUs its LLVM does not
# know, as on VMs that hide their CPU model); npm only when no npm is on PATH (NodeSource's
# nodejs package ships its own).
DEB_PACKAGES := libgmp-dev systemd nodejs pocl-opencl-icd

system-deps:
	@missing=""; for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	command -v npm >/dev/null || missing="$$missing npm"; \
	if [ -n "$$missing" ]; then \
	  if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  else echo "warning: missing Debian packages:$$missing (install them as root)" >&2; fi; \
	fi

# Re-installs whenever pyproject.toml changes.
$(STAMP): pyproject.toml | $(VPY)
	@$(MAKE) --no-print-directory system-deps
	$(VPY) -m pip install -e '.[test,lint,pocl]'
	@touch $@

venv: $(STAMP)

# The JS libp2p interop client's packages, pinned by package-lock.json; re-installed when it
# changes. Without node/npm (Debian: nodejs npm) the interop test skips and says why.
$(INTEROP_STAMP): $(INTEROP)/package-lock.json
	@if command -v npm >/dev/null; then \
	  npm ci --prefix $(INTEROP) --no-audit --no-fund --loglevel=error && touch $@; \
	else echo "warning: npm not found: the JS interop test will be skipped" >&2; fi

interop-deps: $(INTEROP_STAMP)

# --- checks ------------------------------------------------------------------

# mypy cannot see the editable install's folder mapping, so give it a package tree of links.
typecheck-links:
	@mkdir -p $(TYPECHECK)/bitcraps
	@for p in $(PKGS); do ln -sfn ../../../$$p $(TYPECHECK)/bitcraps/$$p; done

lint: $(STAMP) typecheck-links
	$(BIN)/ruff check $(PKGS) tests
	MYPYPATH=$(TYPECHECK) $(BIN)/mypy -p bitcraps

test: lint interop-deps
	$(VPY) -m pytest -q -p no:cacheprovider

# --- commands ----------------------------------------------------------------

demo: $(STAMP)
	$(BIN)/bitcraps demo

bench: $(STAMP)
	$(BIN)/bitcraps bench consensus --replicas 4 --json

# --- housekeeping ------------------------------------------------------------

clean:
	rm -rf build dist *.egg-info .mypy_cache .ruff_cache .pytest_cache .hypothesis
	find $(PKGS) tests -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)
