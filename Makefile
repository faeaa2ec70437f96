# The two commands a newcomer needs:
#   make demo   set everything up, build the embedded benchmark, train, predict, score, report
#   make test   set everything up, then run the test suite (this is what CI runs)
PYTHON ?= python3
DATA ?= data/small
RUN ?= runs/demo
SIZE ?= small
SEED ?= 0
export PYTHON

.PHONY: setup demo test lint clean-data

setup:
	bash scripts/setup-system.sh
	bash scripts/setup-python.sh

demo: setup
	bash scripts/demo.sh "$(DATA)" "$(RUN)" "$(SIZE)" "$(SEED)"

test: setup
	$(PYTHON) -m ruff check src tests benchmarks
	$(PYTHON) -m pytest -q -p no:cacheprovider --durations=15

lint:
	$(PYTHON) -m ruff check src tests benchmarks
	$(PYTHON) -m ruff format --check src tests benchmarks || true

clean-data:
	rm -rf data runs
