#!/usr/bin/env bash
# Builds with warnings as errors and runs the whole CTest suite, then builds
# again with AddressSanitizer + UndefinedBehaviorSanitizer and runs it again.
# Installs what it needs first (scripts/setup.sh).  Usage: scripts/test.sh
#   ETL_TEST_FAST=1 scripts/test.sh   only the first pass: no sanitizers, no
#                                     valgrind, no fuzzing
# After the two passes: the main integration tests again with every etl
# process under valgrind (0 errors, 0 definite leaks), and 60 s of fuzzing.
# The long variants are by hand: scripts/valgrind.sh (every test),
# scripts/fuzz.sh 3600, test/chaos/chaos.sh --trials 100.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
jobs=$(nproc 2>/dev/null || echo 2)

bash scripts/setup.sh

run_suite() {
  local dir=$1 type=$2
  echo "==> $type build in $dir"
  cmake -S "$top" -B "$dir" -DETL_WERROR=ON -DCMAKE_BUILD_TYPE="$type" >/dev/null
  cmake --build "$dir" -j"$jobs" 2>&1 | grep -Ev '^\[ *[0-9]+%\]|^(gmake|make)\[' || true
  [[ ${PIPESTATUS[0]} -eq 0 ]] || { echo "build failed" >&2; exit 1; }
  echo "==> $type tests"
  (cd "$dir" && ctest -j"$jobs" --output-on-failure --timeout 900)
}

run_suite build RelWithDebInfo
if [[ -z "${ETL_TEST_FAST:-}" ]]; then
  # halt_on_error: a sanitizer report fails the test that caused it.
  export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1:abort_on_error=0}
  export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
  run_suite build-asan Asan
  echo "==> valgrind on the main integration tests"
  bash scripts/valgrind.sh test_load_merge test_rejects test_run_windows test_helix_run test_refsync
  echo "==> fuzzing, 60 s"
  bash scripts/fuzz.sh 60
fi
echo "scripts/test.sh: all tests passed"
