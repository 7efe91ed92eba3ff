# Two commands do all set-up from a fresh clone: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint types unit bench stack-up stack-down clean

$(STAMP): pyproject.toml requirements/lock.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c requirements/lock.txt -e '.[dev,spark]'
	@touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/gametime sample
	$(BIN)/gametime serve --banner

lint: install
	$(BIN)/ruff format --check src tests bench
	$(BIN)/ruff check src tests bench

types: install
	$(BIN)/mypy

unit: install
	$(BIN)/pytest

test: lint types unit

bench: install
	$(BIN)/python bench/run.py

# The distributed pipeline on Kafka, Redis and Cassandra (the stack must be up:
# make stack-up). BENCH_ARGS passes options, e.g. BENCH_ARGS="--only throughput".
.PHONY: bench-pipeline
bench-pipeline: install
	$(BIN)/python bench/pipeline.py $(BENCH_ARGS)

# The Spark processor beside the native one (the stack must be up: make stack-up).
.PHONY: bench-spark
bench-spark: install
	$(BIN)/python bench/spark.py

# What a raw event costs Cassandra in each table layout (the stack must be up).
.PHONY: bench-cassandra
bench-cassandra: install
	$(BIN)/python bench/cassandra_layout.py $(BENCH_ARGS)

# The local Kafka, Redis and Cassandra (no Docker needed); tests start them by
# themselves when they are not running.
stack-up:
	GAMETIME_STACK_SERVICES="cassandra redis kafka" deploy/stack/stack.sh up

stack-down:
	GAMETIME_STACK_SERVICES="cassandra redis kafka" deploy/stack/stack.sh down

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache .hypothesis
