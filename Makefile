# Every target bootstraps .venv from the pinned versions in constraints.txt, once.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

IMAGE ?= probation-digest
# Builds and runs images where no registry can be reached (a local Debian base); docker elsewhere.
CONTAINER := $(wildcard ../shared/tools/container)

.PHONY: demo test lint bench eval browser axe format lock clean image image-test

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

## demo: poll the bundled sample feeds, summarise, and deliver today's digest to .demo/outbox (RESET=1 starts again)
demo: $(STAMP)
	$(BIN)/python -m digest.demo $(if $(RESET),--reset,)

## test: the whole test suite (installs Debian's chromium for the browser tests when run as root, and axe-core)
test: $(STAMP) browser axe
	$(BIN)/python -m pytest -q

## lint: formatting, lint and strict typing
lint: $(STAMP)
	$(BIN)/ruff format --check digest tests bench demo
	$(BIN)/ruff check digest tests bench demo
	$(BIN)/mypy

## bench: the benchmarks; each prints its figures beside a reference and a RESULT line (QUICK=1: smaller sizes)
BENCH_FLAGS := $(if $(QUICK),--quick,)
bench: $(STAMP)
	$(BIN)/python bench/summaries.py
	$(BIN)/python bench/render.py
	$(BIN)/python bench/startup.py
	$(BIN)/python bench/parse.py $(BENCH_FLAGS)
	$(BIN)/python bench/poll.py $(BENCH_FLAGS)
	$(BIN)/python bench/reading.py $(BENCH_FLAGS)
	$(BIN)/python bench/health.py $(BENCH_FLAGS)
	$(BIN)/python bench/subscribers.py $(BENCH_FLAGS)
	$(BIN)/python bench/send.py $(BENCH_FLAGS)
	$(BIN)/python bench/kill.py --kills 20
	$(BIN)/python bench/archive.py

## eval: report cards against the labelled corpus, both halves of the fixed split, with every miss
eval: $(STAMP)
	$(BIN)/python -m bench.cards
	$(BIN)/python -m bench.summary_pairs

## browser: Debian's chromium for the browser tests (needs root; skipped with a note otherwise)
browser:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
		echo "installing Debian's chromium for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else echo "note: /usr/bin/chromium is missing and this is not root; browser tests will be skipped"; fi

## axe: axe-core from npm, for the accessibility tests (skipped with a note when npm is missing)
AXE_VERSION := 4.14.1
axe:
	@if [ -f .axe/node_modules/axe-core/axe.min.js ]; then :; \
	elif command -v npm >/dev/null 2>&1; then \
		npm install --silent --no-save --no-audit --no-fund --prefix .axe axe-core@$(AXE_VERSION) >/dev/null; \
	else echo "note: npm is missing; the accessibility tests will be skipped"; fi

## image: build the container image $(IMAGE) (SUITE=bookworm builds on Debian 12's Python 3.11 with the tool)
image:
ifneq ($(CONTAINER),)
	$(CONTAINER) build --format docker -t $(IMAGE) .
else
	docker build -t $(IMAGE) .
endif

## image-test: build the image and run it as an operator would (tests/test_image.py; root and the tool needed)
image-test: $(STAMP)
	DIGEST_IMAGE_TEST=1 $(BIN)/python -m pytest -q tests/test_image.py

format: $(STAMP)
	$(BIN)/ruff format digest tests bench demo
	$(BIN)/ruff check --fix digest tests bench demo

## lock: re-pin constraints.txt from what pyproject.toml asks for
lock:
	rm -rf .lockvenv && $(PYTHON) -m venv .lockvenv
	.lockvenv/bin/pip install --quiet '.[dev]'
	.lockvenv/bin/pip freeze --exclude probation-digest > constraints.txt
	rm -rf .lockvenv
	@# pip chose the newest releases for the Python it ran on; this names any that the oldest Python
	@# requires-python admits (Debian 12's 3.11.2) cannot install: pin those back by hand.
	$(MAKE) $(STAMP)
	$(BIN)/python -m pytest -q tests/test_install.py

clean:
	rm -rf $(VENV) .demo artifacts .axe .pytest_cache .mypy_cache .ruff_cache
