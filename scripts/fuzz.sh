#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz with clang (build-fuzz: -Dfuzz=true,
# ASan + UBSan) and runs each of them: `make fuzz` and `make fuzz-smoke`.
#
#   scripts/fuzz.sh [--smoke] [TARGET...]     (TARGET: event, config, esl, ...)
#
#   default   FUZZ_TIME seconds (60) per target, one target at a time;
#   --smoke   5 seconds per target, two at a time: `make test` runs this, so a fuzzer
#             that finds a crash in its seeds or within seconds fails the build.
#
# They run as the meson tests of suite 'fuzz' in build-fuzz (tests/fuzz/run_fuzzer.sh),
# so build-fuzz/meson-logs/testlog.json holds the results (scripts/test-summary.py
# counts them). New inputs accumulate in build-fuzz/tests/fuzz/work/<target>/corpus,
# failing ones in .../artifacts; tests/fuzz/corpus (the seeds) is only read.
# Installs clang when it is missing (scripts/install-deps.sh --dev).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${FUZZ_BUILD:-build-fuzz}
time=${FUZZ_TIME:-60}
processes=1
targets=()
for arg in "$@"; do
  case "$arg" in
  --smoke) time=${FUZZ_SMOKE_TIME:-5} processes=2 ;;
  -*) echo "fuzz.sh: unknown option $arg (--smoke)" >&2; exit 2 ;;
  *) targets+=("$arg") ;;
  esac
done
if [[ ${#targets[@]} -eq 0 ]]; then
  for f in tests/fuzz/fuzz_*.c; do
    f=${f#tests/fuzz/fuzz_}
    targets+=("${f%.c}")
  done
fi

# clang and libFuzzer's runtime (libclang-rt-14-dev, only recommended by clang).
if ! command -v clang >/dev/null ||
  [[ ! -f $(clang --print-runtime-dir)/libclang_rt.fuzzer-$(uname -m).a ]]; then
  scripts/install-deps.sh --dev
fi
if [[ ! -f $BUILD/build.ninja ]]; then
  CC=clang meson setup "$BUILD" -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false
fi
ninja -C "$BUILD" "${targets[@]/#/tests/fuzz/fuzz_}"
echo "fuzzing ${#targets[@]} target(s) for $time s each"
rm -f "$BUILD/meson-logs/testlog.json"
rc=0
FUZZ_TIME=$time meson test -C "$BUILD" --no-rebuild --suite fuzz --print-errorlogs \
  --num-processes "$processes" "${targets[@]/#/fuzz_}" || rc=$?
# run_fuzzer.sh's line per target: executions run clean, or the failing input.
grep -hE '^fuzz_[a-z_]+: ' "$BUILD/meson-logs/testlog.txt" || true
[[ $rc -eq 0 ]] && echo "fuzz: all clean" || echo "fuzz: FAILED (see above)" >&2
exit $rc
