# paramcrypt: `make demo` shows the protocol, `make test` runs every test.
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c

CARGO ?= cargo
PYTHON ?= python3
VENV := .venv
VPY := $(VENV)/bin/python
THUMB := thumbv7em-none-eabihf

.PHONY: all build demo test test-rust test-nostd test-interop venv clean

all: build

build:
	$(CARGO) build --release

demo:
	$(CARGO) run --quiet --release --example demo

test: test-rust test-nostd test-interop
	@echo "make test: all suites passed"

# Unit, integration and doc tests; examples are built too.
test-rust:
	$(CARGO) test

# The core is no_std + alloc: check it builds without std, on the host and
# for a Cortex-M4F when that target is installed.
test-nostd:
	$(CARGO) rustc --quiet --lib --no-default-features --crate-type rlib
	@if rustup target list --installed 2>/dev/null | grep -qx $(THUMB); then \
	  $(CARGO) rustc --quiet --lib --no-default-features --crate-type rlib --target $(THUMB) \
	  && echo "no_std core builds for $(THUMB)"; \
	else \
	  echo "SKIPPED: no_std build for $(THUMB) (target not installed: rustup target add $(THUMB))"; \
	fi

# paramcrypt's output opened by Python `cryptography` (OpenSSL): the committed
# document and a fresh one. The other direction is tests/interop.rs.
test-interop: venv
	$(VPY) tests/interop/open_paramcrypt_output.py tests/data/keys/rsa2048_pkcs8.pem \
	  < tests/data/interop/from_paramcrypt.json
	$(CARGO) run --quiet --example emit_interop -- tests/data/keys/rsa2048_public.pem \
	  | $(VPY) tests/interop/open_paramcrypt_output.py tests/data/keys/rsa2048_pkcs8.pem

venv: $(VENV)/.installed

$(VENV)/.installed: requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

clean:
	$(CARGO) clean
	rm -rf $(VENV)
