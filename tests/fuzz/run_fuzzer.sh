#!/usr/bin/env bash
# Runs one libFuzzer target for FUZZ_TIME seconds (default 5): the meson test of a
# fuzzer in a -Dfuzz=true build (suite 'fuzz'), run by scripts/fuzz.sh / `make fuzz`.
#
#   run_fuzzer.sh FUZZER SEED_DIR WORK_DIR MAX_LEN
#
# The seeds are read, never written: new inputs go to WORK_DIR/corpus (kept between
# runs), failing ones to WORK_DIR/artifacts/. Fails (non-zero) on any crash, abort(),
# leak, UBSan report, slow input (FUZZ_UNIT_TIMEOUT s, default 10) or out-of-memory
# (FUZZ_RSS_MB, default 1024), printing libFuzzer's report and how to replay the
# input. On success prints one line: executions run clean, corpus size.
set -euo pipefail
fuzzer=$(realpath "$1") seeds=$2 work=$3 max_len=$4
name=$(basename "$fuzzer")
[[ -d $seeds ]] || { echo "$name: no seed corpus at $seeds" >&2; exit 1; }
mkdir -p "$work/corpus" "$work/artifacts"
log=$work/last.log
# UBSan findings are failures, not warnings; leaks too (libFuzzer's -detect_leaks).
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
rc=0
"$fuzzer" -max_total_time="${FUZZ_TIME:-5}" -max_len="$max_len" \
  -timeout="${FUZZ_UNIT_TIMEOUT:-10}" -rss_limit_mb="${FUZZ_RSS_MB:-1024}" \
  -print_final_stats=1 -artifact_prefix="$work/artifacts/" \
  "$work/corpus" "$seeds" >"$log" 2>&1 || rc=$?
runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
if [[ $rc -eq 0 ]]; then
  corpus=$(find "$work/corpus" -type f | wc -l)
  echo "$name: ${runs:-0} executions clean in ${FUZZ_TIME:-5} s (-max_len=$max_len," \
    "$corpus inputs in $work/corpus)"
  exit 0
fi
# The report: the end of libFuzzer's output, without its progress lines.
grep -Ev '^#[0-9]+[[:space:]]+(NEW|REDUCE|pulse|INITED|RELOAD)' "$log" | tail -60 >&2
artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
echo "$name: FAILED (exit $rc) after ${runs:-?} executions; input: ${artifact:-see $log}" >&2
echo "  replay: $fuzzer ${artifact:-FILE}   (once fixed, add it to $seeds)" >&2
exit $rc
