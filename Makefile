# Everything on a fresh Debian/Ubuntu machine:
#   make run    install everything and launch the app on the bundled model
#   make test   install everything (dataset included) and run the tests offscreen
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# Qt's runtime libraries (offscreen and X11), fonts, and the dataset, from Debian's packages.
SYSTEM_PACKAGES := dataset-fashion-mnist libegl1 libgl1 libglib2.0-0 libfontconfig1 libfreetype6 libdbus-1-3 \
	libxkbcommon0 libxkbcommon-x11-0 libx11-xcb1 libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 \
	libxcb-randr0 libxcb-render-util0 libxcb-shape0 libxcb-xinerama0 libxcb-xkb1 fonts-dejavu-core
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test lint-imports install system-deps data benchmark benchmark-quick package package-test clean

run: install data
	$(VENV)/bin/cnn-desktop

# The architecture (import-linter contracts in pyproject.toml), then the tests: the window's tests and the
# rest in two processes, so that neither holds every graph TensorFlow traced for the other (one process for
# all reached about 13 GB).
test: install data
	$(VENV)/bin/lint-imports
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest tests/gui
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest tests --ignore=tests/gui

lint-imports: install
	$(VENV)/bin/lint-imports

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(MAKE) system-deps
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test,package,export]"
	touch $@

# Debian's packages where apt-get can be used; elsewhere these steps are skipped (install Qt's
# libraries with your system's tools) and the dataset comes from the Keras download (`make data`).
system-deps:
	@if command -v apt-get >/dev/null 2>&1 && { [ "$$(id -u)" = 0 ] || command -v sudo >/dev/null 2>&1; }; then \
		missing=$$(for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
		if [ -n "$$missing" ]; then \
			echo "Installing system packages: $$missing"; \
			$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null \
			|| echo "warning: could not install some system packages"; \
		fi; \
	else echo "apt-get not usable: skipping system packages"; fi

# Fashion-MNIST: the Debian package (above) or, where there is none, Keras' download into ~/.keras.
data: install
	$(PY) -c "from cnn_desktop.core.dataset import load_dataset; d = load_dataset(); print('Fashion-MNIST from', d.source)"

benchmark: install data
	QT_QPA_PLATFORM=offscreen $(PY) benchmarks/run.py

benchmark-quick: install data
	QT_QPA_PLATFORM=offscreen $(PY) benchmarks/run.py --quick

package: install data
	$(PY) packaging/build.py

# Build the binary, then run it from outside the source tree (self-test, classify, train, the archive).
# Xvfb and desktop-file-validate let it check the X11 window and the menu entry too.
package-test: install data
	@if command -v apt-get >/dev/null 2>&1; then \
		missing=$$(for p in xvfb xauth desktop-file-utils binutils; do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
		[ -z "$$missing" ] || { $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null; } \
		|| echo "warning: could not install $$missing"; fi
	$(PY) -m pytest -p no:cacheprovider packaging/test_bundle.py

clean:
	rm -rf build dist .pytest_cache
