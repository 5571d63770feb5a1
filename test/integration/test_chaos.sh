#!/usr/bin/env bash
# The crash test in CI: test/chaos/chaos.sh with 10 trials on the shared
# test cluster (each trial SIGKILLs `etl run` 1-3 times at random moments,
# then compares the result with an uninterrupted twin; see chaos.sh).
# By hand, longer: test/chaos/chaos.sh --trials 100.  CHAOS_SEED=S repeats
# a CI run's kill moments (the seed is printed).
set -u
: "${ETL_BIN:?ETL_BIN must name the etl binary}"
: "${ETL_PG_DIR:?ETL_PG_DIR must name the test cluster directory}"
src=${ETL_SRC_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
before=$(pgrep -f -- '--port-file /tmp/etl-chaos[.]' | sort)
bash "$src/test/chaos/chaos.sh" --trials "${CHAOS_TRIALS:-10}"
rc=$?
# Whatever chaos.sh started is stopped when it exits: no fake server of
# its work directory may outlive it.
sleep 0.2
left=$(comm -13 <(echo "$before") <(pgrep -f -- '--port-file /tmp/etl-chaos[.]' | sort))
if [[ -n "$left" ]]; then
  echo "not ok - chaos.sh left its fake servers running:" >&2
  ps -o pid=,args= -p $left >&2
  kill $left 2>/dev/null
  exit 1
fi
exit $rc
