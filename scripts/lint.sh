#!/usr/bin/env bash
# Formatting (clang-format) and static analysis (cppcheck); any finding fails.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t sources < <(git ls-files '*.c' '*.h' 2>/dev/null || find cmd lib tests -name '*.[ch]')
clang-format --dry-run --Werror "${sources[@]}"
cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
  --inline-suppr --std=c11 -D_GNU_SOURCE -I lib \
  --suppress=missingIncludeSystem \
  cmd lib tests/unit tests/fuzz
python3 scripts/check_layers.py
echo "lint: clean"
