#!/usr/bin/env bash
# Pacing: at the default ETL_HELIX_RATE of 5/s against the fake's real limit
# (25 requests per 5-s window), 200 events go out in 40 s +- 10 % and the
# fake never answers 429.  (A 40-s test, on purpose.)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/helix_lib.sh"
it_init helix_pacing
it_migrate
start_fake_helix   # default limit: 25 per 5 s
seed_reference
q "INSERT INTO transactions (transaction_id, transaction_date, store_id, pos_id, camera_id,
     currency, financial_status, total_amount, units, content_md5)
   SELECT 'P-' || lpad(i::text, 4, '0'), date_trunc('hour', now()) - interval '1 hour' + i * interval '1 second',
          12, 34, 'cam-' || (i % 3 + 1), 'USD', 'paid', i, 1, 'x'
   FROM generate_series(1, 200) i;
   INSERT INTO line_items SELECT transaction_id, 1, 1, 1, total_amount FROM transactions;" >/dev/null
enqueue
eq "200 events queued" 200 "$(q "SELECT count(*) FROM helix_outbox WHERE state = 'pending'")"

# Milliseconds in integer arithmetic: a fresh machine has no bc.
start_ms=$(( $(date +%s%N) / 1000000 ))
exit_is "emit at the default rate: 0" 0 etl emit --format json
ms=$(( $(date +%s%N) / 1000000 - start_ms ))
secs="$((ms / 1000)).$(printf '%03d' $((ms % 1000)))"
echo "# 200 events in $secs s ($(fake_stat requests) requests)"
check "200 events took 40 s +- 10 % ($secs s)" test "$ms" -ge 36000 -a "$ms" -le 44000
eq "all sent" 200 "$(jq .helix_sent "$IT_TMP/out")"
eq "zero 429s" 0 "$(fake_stat rate_limited)"
check_events "paced"
it_done
