# Two set-up commands: `make demo` and `make test`. Both create .venv and install once;
# a second call skips the install (the stamp depends on pyproject.toml and constraints.txt).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export HF_HUB_OFFLINE ?= 1
export TRANSFORMERS_OFFLINE ?= 1

.PHONY: demo test install system-deps bench lint clean stack-env

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade "pip==24.3.1"

# torch first: torch==2.13.0 is the CPU build on this machine's disk; any other spec downloads CUDA builds.
$(STAMP): pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/pip install --quiet "torch==2.13.0"
	$(BIN)/pip install --quiet -c constraints.txt -e ".[airflow,test]"
	touch $(STAMP)

install: $(STAMP)

# Debian packages the test suite uses (Chromium renders the digest; redis-server is the Celery
# broker of tests/dags/test_celery_cluster.py). Skipped when present or not root.
system-deps:
	@if ! command -v redis-server >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null) \
	      || echo "system-deps: redis-server could not be installed; the Celery cluster test will be skipped"; \
	  else echo "system-deps: redis-server missing and not root; the Celery cluster test will be skipped"; fi; \
	fi
	@if ! command -v chromium >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	      || echo "system-deps: chromium could not be installed; the rendering check will be skipped"; \
	  else echo "system-deps: chromium missing and not root; the rendering check will be skipped"; fi; \
	fi

demo: $(STAMP)
	$(BIN)/newsmon demo

test: $(STAMP) system-deps
	$(BIN)/python -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

# The import contracts of pyproject.toml alone (`make test` checks them too, in tests/test_architecture.py).
lint: $(STAMP)
	$(BIN)/lint-imports

# Benchmarks also need the bench extra (BERTopic, UMAP, HDBSCAN for the side-by-side story comparison).
$(VENV)/.installed-bench: $(STAMP)
	$(BIN)/pip install --quiet -c constraints.txt -e ".[airflow,test,bench]"
	touch $@

bench: $(VENV)/.installed-bench
	for f in bench/*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

# The compose stack's .env with generated secrets (Fernet key, 64-byte JWT secret, passwords).
stack-env:
	python3 docker/stack_env.py

clean:
	rm -rf $(VENV) .newsmon
