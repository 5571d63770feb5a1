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
exec bash "$src/test/chaos/chaos.sh" --trials "${CHAOS_TRIALS:-10}"
