# Thin wrapper over meson/ninja. `make run` and `make test` work on a fresh Debian 12.
BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
FUZZ_TIME  ?= 60
CONFIG     ?= config.yaml.example
DEMO_SINK_PORT ?= 9000

.PHONY: all deps browser-deps build run test test-fast lint format bench fuzz fuzz-smoke clean

all: build

deps:
	@scripts/install-deps.sh

# Chromium and tests/browser/node_modules for the dashboard's browser tests (without
# them those tests are skipped).
browser-deps:
	@scripts/install-deps.sh --browser

$(BUILD)/build.ninja:
	meson setup $(BUILD)

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

# Starts eventhub with the embedded broker and the example config, plus a demo
# webhook receiver on 127.0.0.1:$(DEMO_SINK_PORT) (the example route's endpoint).
# The receiver dies with eventhub (parent-death signal); Ctrl-C stops everything.
run: build
	@setpriv --pdeathsig TERM $(BUILD)/cmd/demo-receiver/demo-receiver --port $(DEMO_SINK_PORT) & \
	exec $(BUILD)/cmd/eventhub/eventhub -config $(CONFIG)

lint:
	@scripts/install-deps.sh --dev
	scripts/lint.sh

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

# Unit + integration tests, then the same suite under ASan+UBSan, then each fuzzer for a
# few seconds (fuzz-smoke); prints N passed, N failed.
test: build lint
	@rm -f $(BUILD)/meson-logs/testlog.json $(ASAN_BUILD)/meson-logs/testlog.json \
	  $(FUZZ_BUILD)/meson-logs/testlog.json
	-meson test -C $(BUILD) --print-errorlogs --num-processes 2
	@test -f $(ASAN_BUILD)/build.ninja || meson setup $(ASAN_BUILD) -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug
	ninja -C $(ASAN_BUILD)
	-ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	  meson test -C $(ASAN_BUILD) --print-errorlogs --num-processes 2 --timeout-multiplier 2
	-FUZZ_BUILD=$(FUZZ_BUILD) scripts/fuzz.sh --smoke
	@scripts/test-summary.py $(BUILD)/meson-logs/testlog.json $(ASAN_BUILD)/meson-logs/testlog.json \
	  $(FUZZ_BUILD)/meson-logs/testlog.json

test-fast: build
	meson test -C $(BUILD) --print-errorlogs --num-processes 2

bench: build
	scripts/bench.sh all

# The libFuzzer targets of tests/fuzz (clang, ASan+UBSan, in $(FUZZ_BUILD)), one after the
# other for FUZZ_TIME seconds each; FUZZ_TARGETS="event config" runs only those.
fuzz:
	@scripts/install-deps.sh --dev
	FUZZ_BUILD=$(FUZZ_BUILD) FUZZ_TIME=$(FUZZ_TIME) scripts/fuzz.sh $(FUZZ_TARGETS)

# Each fuzzer for 5 seconds (what `make test` runs).
fuzz-smoke:
	@scripts/install-deps.sh --dev
	FUZZ_BUILD=$(FUZZ_BUILD) scripts/fuzz.sh --smoke

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
