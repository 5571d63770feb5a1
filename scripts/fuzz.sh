#!/usr/bin/env bash
# Builds the libFuzzer targets of test/fuzz with clang into build-fuzz and
# runs each one, splitting the time evenly.  Usage:
#
#   scripts/fuzz.sh [SECONDS]        total time, default 60 (CI: 30 s a target)
#   scripts/fuzz.sh --runs N         each target for N executions instead
#   FUZZ_TARGETS="fuzz_page" scripts/fuzz.sh 600   only some targets
#   FUZZ_JOBS=2 scripts/fuzz.sh 3600 that many processes per target (-fork)
#
# Seeds come from test/fuzz/corpus/<target> (read only); what the fuzzer
# learns is kept in build-fuzz/corpus/<target> so later runs start from it.
# A crash leaves build-fuzz/crash-* (or leak-*, timeout-*) and fails the
# script; reproduce with build-fuzz/<target> build-fuzz/crash-<hash>.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
out=$top/build-fuzz

runs=
total=60
case "${1:-}" in
  --runs) runs=${2:?--runs needs a count} ;;
  "") ;;
  *[!0-9]*) echo "usage: scripts/fuzz.sh [SECONDS] | --runs N" >&2; exit 64 ;;
  *) total=$1 ;;
esac
targets=${FUZZ_TARGETS:-fuzz_page fuzz_config}
jobs=${FUZZ_JOBS:-1}

cc=${FUZZ_CC:-}
if [[ -z "$cc" ]]; then
  for c in clang-14 clang; do command -v "$c" >/dev/null && { cc=$c; break; }; done
fi
[[ -n "$cc" ]] || { echo "fuzz.sh: clang not found (apt-get install clang-14)" >&2; exit 69; }

echo "==> building fuzz targets with $cc in $out"
cmake -S "$top/test/fuzz" -B "$out" -DCMAKE_C_COMPILER="$cc" >/dev/null
cmake --build "$out" -j"$(nproc 2>/dev/null || echo 2)" 2>&1 | grep -Ev '^\[ *[0-9]+%\]|^(gmake|make)\[' || true
[[ ${PIPESTATUS[0]} -eq 0 ]] || { echo "fuzz.sh: build failed" >&2; exit 1; }

ntargets=$(wc -w <<<"$targets")
per=$(( total / ntargets )); (( per >= 1 )) || per=1
status=0
for t in $targets; do
  dict=
  case "$t" in
    fuzz_page) dict=$top/test/fuzz/page.dict ;;
    fuzz_config) dict=$top/test/fuzz/config.dict ;;
  esac
  mkdir -p "$out/corpus/$t" "$out/artifacts"
  args=(-max_len=65536 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
        -artifact_prefix="$out/artifacts/$t-" ${dict:+-dict="$dict"})
  if [[ -n "$runs" ]]; then args+=(-runs="$runs"); else args+=(-max_total_time="$per"); fi
  (( jobs > 1 )) && args+=(-fork="$jobs" -ignore_crashes=0)
  if [[ -n "$runs" ]]; then echo "==> $t: $runs runs"; else echo "==> $t: $per s"; fi
  # stdin from /dev/null: a config may name /dev/stdin as a secret file.
  # stderr of the target (etl's own warnings for odd configs) is closed
  # with -close_fd_mask=2; libFuzzer and the sanitizers still report.
  log=$out/$t.log
  if "$out/$t" "${args[@]}" -close_fd_mask=2 "$out/corpus/$t" "$top/test/fuzz/corpus/$t" \
       </dev/null >"$log" 2>&1; then
    grep -E '^stat::number_of_executed_units|^stat::peak_rss_mb|^#[0-9]+ *DONE|^INFO: fuzzed for|^INFO: exiting' "$log" | sed "s/^/    /" || true
  else
    status=1
    echo "fuzz.sh: $t FAILED; the end of $log:" >&2
    tail -n 40 "$log" >&2
  fi
done
if [[ $status -ne 0 ]]; then
  echo "fuzz.sh: reproduce with $out/<target> $out/artifacts/<target>-crash-..." >&2
  exit 1
fi
echo "scripts/fuzz.sh: no crash"
