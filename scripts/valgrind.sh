#!/usr/bin/env bash
# Runs the integration tests with every etl process under valgrind: memory
# errors and definite leaks fail, wherever they happen (also in runs whose
# exit status a test does not look at).  Usage:
#
#   scripts/valgrind.sh                      every test/integration/test_*.sh
#   scripts/valgrind.sh test_cli test_reports   only these
#   VG_SKIP="test_chaos" scripts/valgrind.sh    all but these
#
# It builds build-valgrind (RelWithDebInfo), starts a PostgreSQL cluster of
# its own (scripts/pg.sh), and sets ETL_BIN to a wrapper that execs
#   valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite
# on the real binary, one log per process in build-valgrind/vg/<test>/.
# The fakes run natively.  Tests with tight timing (a lock refused "at
# once", pacing) may fail under valgrind's slowdown; they are listed apart
# from memory errors, and only memory errors fail the script (VG_STRICT=1:
# test failures too).  Prints the time each test took.
set -uo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
out=$top/build-valgrind
command -v valgrind >/dev/null || { echo "valgrind.sh: valgrind not found (apt-get install valgrind)" >&2; exit 69; }

echo "==> building in $out"
cmake -S "$top" -B "$out" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null || exit 1
cmake --build "$out" -j"$(nproc 2>/dev/null || echo 2)" 2>&1 | grep -Ev '^\[ *[0-9]+%\]|^(gmake|make)\[' || true
[[ -x "$out/etl" ]] || { echo "valgrind.sh: build failed" >&2; exit 1; }

if [[ $# -gt 0 ]]; then
  tests=("$@")
else
  tests=()
  for f in "$top"/test/integration/test_*.sh; do tests+=("$(basename "$f" .sh)"); done
fi
skip=" ${VG_SKIP:-} "

pg=$out/pgtest
bash "$top/scripts/pg.sh" start "$pg" >/dev/null || { echo "valgrind.sh: cannot start PostgreSQL" >&2; exit 69; }
trap 'bash "$top/scripts/pg.sh" stop "$pg" >/dev/null 2>&1' EXIT

vgdir=$out/vg
rm -rf "$vgdir"
mkdir -p "$vgdir"
wrapper=$out/etl-valgrind
# The log directory comes from VG_LOG_DIR at run time: one per test.
cat >"$wrapper" <<EOF
#!/bin/sh
exec valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \\
  --show-leak-kinds=definite --num-callers=30 --log-file="\${VG_LOG_DIR:-$vgdir}/etl.%p.log" \\
  "$out/etl" "\$@"
EOF
chmod +x "$wrapper"

total_start=$(date +%s)
memfail=() testfail=()
printf '%-24s %8s  %-6s %s\n' TEST SECONDS TEST VALGRIND
for t in "${tests[@]}"; do
  [[ "$skip" == *" $t "* ]] && continue
  script=$top/test/integration/$t.sh
  [[ -f "$script" ]] || { echo "valgrind.sh: no test $t" >&2; exit 64; }
  mkdir -p "$vgdir/$t"
  start=$(date +%s)
  VG_LOG_DIR=$vgdir/$t ETL_BIN=$wrapper ETL_BUILD_DIR=$out ETL_PG_DIR=$pg ETL_SRC_DIR=$top \
    ETL_TEST_CASES=$top/test/cases timeout 3600 bash "$script" >"$vgdir/$t.out" 2>&1
  rc=$?
  secs=$(( $(date +%s) - start ))
  # --quiet: a log says something only when valgrind found something.
  bad=$(find "$vgdir/$t" -name 'etl.*.log' -size +0 | wc -l)
  n=$(find "$vgdir/$t" -name 'etl.*.log' | wc -l)
  result=pass; [[ $rc -eq 0 ]] || { result=FAIL; testfail+=("$t"); }
  vg="clean ($n processes)"
  if [[ $bad -gt 0 ]]; then vg="ERRORS in $bad of $n processes"; memfail+=("$t"); fi
  printf '%-24s %8d  %-6s %s\n' "$t" "$secs" "$result" "$vg"
done
echo "total: $(( $(date +%s) - total_start )) s"

for t in "${memfail[@]:-}"; do
  [[ -n "$t" ]] || continue
  echo "---- $t: valgrind reports (first 60 lines of each, at most 3 processes)"
  find "$vgdir/$t" -name 'etl.*.log' -size +0 | head -3 | while read -r f; do echo "== $f"; head -60 "$f"; done
done
for t in "${testfail[@]:-}"; do
  [[ -n "$t" ]] || continue
  echo "---- $t failed under valgrind: $(grep -c '^not ok' "$vgdir/$t.out") assertions; see $vgdir/$t.out"
  grep '^not ok' "$vgdir/$t.out" | head -5
done
if [[ ${#memfail[@]} -gt 0 ]]; then echo "valgrind.sh: memory errors or definite leaks" >&2; exit 1; fi
if [[ -n "${VG_STRICT:-}" && ${#testfail[@]} -gt 0 ]]; then echo "valgrind.sh: tests failed" >&2; exit 1; fi
echo "scripts/valgrind.sh: no memory error, no definite leak"
