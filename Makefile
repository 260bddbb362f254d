# Two commands: `make run` and `make test`. Everything else is set up on demand.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test install emulator sync bench lock clean

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

## Start the app on the local Stripe emulator (demo platform) unless STRIPE_API_KEY is set.
run: $(STAMP)
	@echo "Connect Ops: http://localhost:8501 (demo platform unless STRIPE_API_KEY is set)"
	@( sleep 4; $(BIN)/python -m webbrowser -t http://localhost:8501 >/dev/null 2>&1 || true ) &
	$(BIN)/python -m streamlit run app.py

## Run the whole test suite.
test: $(STAMP)
	$(BIN)/python -m pytest

## The emulator on its own: make emulator ARGS="--port 12111 --scale small"
emulator: $(STAMP)
	$(BIN)/python -m core.emulator $(ARGS)

## Regenerate requirements.lock from pyproject.toml (needs the package registry).
lock:
	rm -rf /tmp/connect-ops-lock && $(PY) -m venv /tmp/connect-ops-lock
	/tmp/connect-ops-lock/bin/python -m pip install --quiet ".[test]"
	/tmp/connect-ops-lock/bin/python -m pip freeze --exclude connect-ops > requirements.lock

clean:
	rm -rf $(VENV)
