# Two commands: `make run` (install + start on the embedded defaults) and `make test`
# (install everything, including the Debian packages the suite needs, and run the whole suite).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export PATH := $(CURDIR)/$(BIN):$(PATH)
export PYTHONDONTWRITEBYTECODE := 1

# Debian packages the test suite drives for real.
APT_PACKAGES := postgresql redis-server chromium openssh-server git slapd ldap-utils curl bubblewrap

.PHONY: run test install install-dev system-deps lint format bench clean

run: install
	semaphore setup
	@echo "  Semaphore is starting on http://127.0.0.1:$${SEMAPHORE_PORT:-3000} (Ctrl-C stops it)"
	honcho start -f Procfile

# Two pytest-xdist workers, one per core; every fixture is safe per worker.
TEST_WORKERS ?= 2

test: install-dev system-deps
	$(BIN)/python -m pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Re-install only when the requirement files change.
$(VENV)/.installed: requirements.txt pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements.txt -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

install-dev: $(VENV)/.installed-dev

# apt-get runs only when a package is missing, and only as root (CI is root).
system-deps:
	@missing=""; \
	for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" -ne 0 ]; then \
	    echo "Missing Debian packages:$$missing; install them or run make test as root" >&2; exit 1; \
	  fi; \
	  echo "Installing Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The benchmarks also load HTTP with wrk.
bench: install-dev
	$(MAKE) system-deps APT_PACKAGES="$(APT_PACKAGES) wrk"
	$(BIN)/python -m pytest bench -p tests.conftest -s $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
