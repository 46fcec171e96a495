# Thin wrapper around CMake. `make run` and `make test` are the two commands
# of the README; everything else is for development.
BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
PREFIX     ?= /usr/local
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
FUZZ_SECONDS ?= 60
CMAKE      ?= cmake
CTEST      ?= ctest

MAKEFLAGS += --no-print-directory

FUZZ_NAMES := $(patsubst fuzz/fuzz_%.c,%,$(wildcard fuzz/fuzz_*.c))

.PHONY: all deps configure build test test-asan run install fuzz lint bench clean

all: build

deps:
	@bash scripts/install-deps.sh

configure: deps
	$(CMAKE) -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DRK_WERROR=ON -DCMAKE_INSTALL_PREFIX=$(PREFIX)

build: configure
	$(CMAKE) --build $(BUILD) -j $(JOBS)

test: build
	cd $(BUILD) && $(CTEST) --output-on-failure --no-tests=error -j2
	$(MAKE) --no-print-directory test-asan

# The whole suite again under AddressSanitizer and UBSan.
test-asan: deps
	$(CMAKE) -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug \
		-DRK_SANITIZE=ON -DRK_WERROR=ON
	$(CMAKE) --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && \
		ASAN_OPTIONS=detect_leaks=1 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		$(CTEST) --output-on-failure --no-tests=error -j2

run: build
	REKISTERI_BIN=$(BUILD)/rekisteri bash scripts/demo.sh

install: build
	$(CMAKE) --install $(BUILD)
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ] && \
		command -v ldconfig >/dev/null; then ldconfig; fi

# libFuzzer builds with clang; each target runs FUZZ_SECONDS seconds on a
# copy of its corpus (new inputs land in $(FUZZ_BUILD)/corpus/NAME, crashes
# in $(FUZZ_BUILD)/artifacts).
fuzz: deps
	CC=clang $(CMAKE) -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DRK_FUZZ=ON -DBUILD_TESTING=ON
	$(CMAKE) --build $(FUZZ_BUILD) -j $(JOBS)
	@set -e; mkdir -p $(FUZZ_BUILD)/artifacts; \
	if [ -z "$(FUZZ_NAMES)" ]; then echo "no fuzz targets in fuzz/"; fi; \
	for n in $(FUZZ_NAMES); do \
		echo "== fuzz_$$n for $(FUZZ_SECONDS) s"; \
		mkdir -p $(FUZZ_BUILD)/corpus/$$n; \
		$(FUZZ_BUILD)/fuzz_$$n -max_total_time=$(FUZZ_SECONDS) \
			-print_final_stats=1 \
			-artifact_prefix=$(FUZZ_BUILD)/artifacts/$$n- \
			$(FUZZ_BUILD)/corpus/$$n fuzz/corpus/$$n; \
	done

lint: configure
	$(CMAKE) --build $(BUILD) --target lint

bench: build
	$(CMAKE) --build $(BUILD) --target bench

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
	@if [ -d demo ]; then echo "demo/ kept (the demo register); rm -rf demo to start it over"; fi
