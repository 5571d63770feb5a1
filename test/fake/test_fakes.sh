#!/usr/bin/env bash
# test_fakes.sh BUILD_DIR: checks that fake_source and fake_helix (found in
# BUILD_DIR) behave as test/fake/README.md says. Needs bash, curl and jq.
# Prints one line per check, then "N passed, N failed"; exits 1 on a failure.
set -u

B=${1:?usage: test_fakes.sh BUILD_DIR}
TMP=$(mktemp -d)
PIDS=()
PASS=0
FAIL=0

cleanup() {
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null
	done
	for p in "${PIDS[@]}"; do
		wait "$p" 2>/dev/null
	done
	rm -rf "$TMP"
}
trap cleanup EXIT

ok() { PASS=$((PASS + 1)); echo "ok   - $1"; }
nok() { FAIL=$((FAIL + 1)); echo "FAIL - $1${2:+ ($2)}"; }
# check NAME COMMAND...: passes when COMMAND succeeds
check() { local n=$1; shift; if "$@"; then ok "$n"; else nok "$n"; fi; }
# eq NAME GOT WANT
eq() { if [ "$2" == "$3" ]; then ok "$1"; else nok "$1" "got '$2', want '$3'"; fi; }
# lt NAME A B: A < B as integers
lt() { if [ "$2" -lt "$3" ]; then ok "$1"; else nok "$1" "$2 is not < $3"; fi; }

# start VAR BINARY ARGS...: starts a fake on an ephemeral port; sets $VAR to
# its base URL and ${VAR}_PID to its pid.
start() {
	local var=$1 bin=$2 pf="$TMP/$1.port"
	shift 2
	"$B/$bin" --port 0 --port-file "$pf" "$@" 2>>"$TMP/$var.err" &
	local pid=$!
	PIDS+=("$pid")
	for _ in $(seq 100); do
		[ -s "$pf" ] && break
		sleep 0.05
	done
	if [ ! -s "$pf" ]; then
		echo "cannot start $bin $*:" >&2
		cat "$TMP/$var.err" >&2
		exit 1
	fi
	printf -v "$var" 'http://127.0.0.1:%s' "$(tr -d '\n' <"$pf")"
	printf -v "${var}_PID" '%s' "$pid"
}

# code URL [curl args]: prints the HTTP status only
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }

# pages URL RESOURCE LIMIT [since until]: follows next_cursor (URL-encoded)
# and prints every record, one per line; writes the page count to $TMP/npages.
pages() {
	local base=$1 res=$2 limit=$3 since=${4:-} until=${5:-} cur="" n=0 body
	while :; do
		local args=(-s -G "$base/v1/$res" --data-urlencode "limit=$limit")
		[ -n "$since" ] && args+=(--data-urlencode "since=$since")
		[ -n "$until" ] && args+=(--data-urlencode "until=$until")
		[ -n "$cur" ] && args+=(--data-urlencode "cursor=$cur")
		body=$(curl "${args[@]}") || return 1
		n=$((n + 1))
		jq -c '.data[]' <<<"$body" || return 1
		cur=$(jq -r '.next_cursor // empty' <<<"$body")
		[ -z "$cur" ] && break
	done
	echo "$n" >"$TMP/npages"
}

# ------------------------------------------------------------- fake_source

test_source_basics() {
	local body cur n
	start S fake_source --sales 1000

	body=$(curl -s "$S/v1/stores")
	eq "envelope: data is an array" "$(jq -r '.data|type' <<<"$body")" array
	eq "envelope: next_cursor present and null" \
		"$(jq -c 'has("next_cursor"), .next_cursor' <<<"$body" | tr '\n' ' ')" "true null "
	eq "stores: 5 by default" "$(jq '.data|length' <<<"$body")" 5
	eq "pos: 2 per store" "$(pages "$S" pos 3 | wc -l)" 10
	eq "cameras: one per POS" "$(pages "$S" cameras 1000 | wc -l)" 10
	eq "items: 50" "$(pages "$S" items 7 | wc -l)" 50
	eq "exchange_rates: USD is \"1\"" \
		"$(pages "$S" exchange_rates 1000 | jq -r 'select(.currency=="USD") | .rate_to_usd' | sort -u)" 1
	eq "unknown resource: 404" "$(code "$S/v1/nope")" 404

	# pagination until a null cursor, cursors passed URL-encoded
	n=$(pages "$S" stores 2 | wc -l)
	eq "pagination: 5 stores at limit 2 take 3 pages" "$n $(cat "$TMP/npages")" "5 3"
	cur=$(curl -s "$S/v1/stores?limit=2" | jq -r .next_cursor)
	check "cursor holds characters that need URL-encoding" \
		grep -q '[+/=]' <<<"$cur"
	eq "cursor sent raw (+ becomes a space): 400" \
		"$(code "$S/v1/stores?limit=2&cursor=$cur")" 400
	eq "cursor URL-encoded: 200" \
		"$(code -G "$S/v1/stores" --data-urlencode limit=2 --data-urlencode "cursor=$cur")" 200
	eq "cursor of another resource: 400" \
		"$(code -G "$S/v1/items" --data-urlencode "cursor=$cur")" 400
	eq "bad limit: 400" "$(code "$S/v1/stores?limit=abc")" 400

	pages "$S" sales 100 >"$TMP/all_sales" || nok "page all sales"
	eq "sales: 1000 over 10 pages of 100" \
		"$(wc -l <"$TMP/all_sales") $(cat "$TMP/npages")" "1000 10"
	eq "sales: unique transaction ids" \
		"$(jq -r .transaction_id "$TMP/all_sales" | sort -u | wc -l)" 1000
	eq "sales: no Z-less timestamps" \
		"$(jq -r .transaction_date "$TMP/all_sales" | grep -cvE '(Z|[+-][0-9]{2}:[0-9]{2})$')" 0
	check "sales: some dates carry +01:00 / -05:00 offsets" \
		grep -qE '"transaction_date":"[^"]*(\+01:00|-05:00)"' "$TMP/all_sales"
	check "sales: amounts both as numbers and as strings" \
		bash -c "grep -q '\"total_amount\":\"' '$TMP/all_sales' && grep -q '\"total_amount\":[0-9]' '$TMP/all_sales'"
	eq "sales: ~80% paid" \
		"$(jq -r .financial_status "$TMP/all_sales" | grep -c '^paid$' | awk '{print ($1 > 700 && $1 < 900)}')" 1
	check "sales: walk-in (null customer) present" \
		grep -q '"customer":null' "$TMP/all_sales"
	check "sales: null billing and empty province present" \
		bash -c "grep -q '\"billing_address\":null' '$TMP/all_sales' && grep -q '\"province\":\"\"' '$TMP/all_sales'"

	# the consistency rule, in integer cents, over every generated sale
	local bad
	bad=$(jq -s '
		def cents: (if type == "string" then tonumber else . end) * 100 | round;
		def two: type == "number" or test("^[0-9]+(\\.[0-9]{1,2})?$");
		[ .[] | select(
			((.total_amount|cents) !=
			 ([.line_items[] | .quantity * (.unit_price|cents)] | add)
			 - ((.total_discounts // 0)|cents) + ((.total_tax // 0)|cents))
			or ([.total_amount, (.total_discounts // 0), (.total_tax // 0),
			     (.line_items[].unit_price)] | map(two) | all | not)
			or (.line_items | length < 1 or length > 4)) ] | length' "$TMP/all_sales")
	eq "sales: total = sum(qty*price) - discounts + tax, to the cent" "$bad" 0
	eq "sales: line items average ~2.5" \
		"$(jq -s '[.[].line_items|length]|add/length|(. > 2.2 and . < 2.8)' "$TMP/all_sales")" true

	# half-open windows: sale 125 of 1000 over 24 h is exactly at 03:00:00Z
	local a b
	a=$(pages "$S" sales 1000 2026-11-20T02:00:00Z 2026-11-20T03:00:00Z | jq -r .transaction_id)
	b=$(pages "$S" sales 1000 2026-11-20T03:00:00Z 2026-11-20T04:00:00Z | jq -r .transaction_id)
	check "window: a sale at until is excluded" bash -c "! grep -q -- '-0000125$' <<<'$a'"
	check "window: a sale at since is included" grep -q -- '-0000125$' <<<"$b"
	eq "window: adjacent windows do not overlap" \
		"$(sort <<<"$a"$'\n'"$b" | uniq -d | wc -l)" 0
	eq "window: 2 h = two 1 h windows" \
		"$(pages "$S" sales 1000 2026-11-20T02:00:00Z 2026-11-20T04:00:00Z | wc -l)" \
		"$(($(wc -l <<<"$a") + $(wc -l <<<"$b")))"
	eq "window: since given with an offset means the same instant" \
		"$(pages "$S" sales 1000 2026-11-20T04:00:00+01:00 2026-11-20T04:00:00Z | wc -l)" \
		"$(wc -l <<<"$b")"
	eq "window: since without an offset: 400" \
		"$(code "$S/v1/sales?since=2026-11-20T02:00:00&until=2026-11-20T03:00:00Z")" 400
	eq "window: unencoded '+' offset: 400" \
		"$(code "$S/v1/sales?since=2026-11-20T02:00:00+01:00")" 400
	cur=$(curl -s "$S/v1/sales?limit=5&since=2026-11-20T02:00:00Z&until=2026-11-20T03:00:00Z" | jq -r .next_cursor)
	eq "window: cursor with another window: 400" \
		"$(code -G "$S/v1/sales" --data-urlencode "cursor=$cur" --data-urlencode since=2026-11-20T01:00:00Z)" 400
}

test_source_token() {
	start ST fake_source --token s3cret --log "$TMP/calls.jsonl"
	eq "bearer: missing token: 401" "$(code "$ST/v1/stores")" 401
	eq "bearer: 401 body has a message" \
		"$(curl -s "$ST/v1/stores" | jq -r '.message|type')" string
	eq "bearer: wrong token: 401" "$(code -H 'Authorization: Bearer nope' "$ST/v1/stores")" 401
	eq "bearer: right token: 200" "$(code -H 'Authorization: Bearer s3cret' "$ST/v1/stores")" 200
	eq "call log records the Authorization header" \
		"$(curl -s "$ST/_control/calls" | jq -r '.[-1].headers.authorization')" "Bearer s3cret"
	eq "--log: one JSON line per call" \
		"$(jq -s 'length' "$TMP/calls.jsonl") $(jq -r -s '.[-1].status' "$TMP/calls.jsonl")" "4 200"
}

test_source_invalid_dup() {
	local n
	start SI fake_source --sales 88 --invalid-ratio 1 --stores 3
	n=$(curl -s "$SI/_control/expect" | jq '.reasons | length')
	eq "invalid: ratio 1 over 88 sales cycles through 44 kinds" "$n" 44
	eq "invalid: every kind twice" \
		"$(curl -s "$SI/_control/expect" | jq '[.reasons[]] | unique')" "$(jq -n '[2]')"
	pages "$SI" sales 1000 >"$TMP/inv"
	eq "invalid: transaction_id missing twice" \
		"$(jq -s 'map(select(has("transaction_id") | not)) | length' "$TMP/inv")" 2
	eq "invalid: an empty line_items array twice" \
		"$(jq -s 'map(select(.line_items == [])) | length' "$TMP/inv")" 2

	start SD fake_source --sales 200 --duplicate-ratio 0.1
	pages "$SD" sales 1000 >"$TMP/dup"
	eq "duplicates: 20 ids served twice" \
		"$(jq -r .transaction_id "$TMP/dup" | sort | uniq -d | wc -l)" 20
	eq "duplicates: the first served has the greater updated_at and other content" \
		"$(jq -s 'group_by(.transaction_id) | map(select(length == 2))
			| map(.[0].updated_at > .[1].updated_at and .[0] != .[1]) | all' "$TMP/dup")" true
	eq "expect: duplicates counted" \
		"$(curl -s "$SD/_control/expect" | jq .duplicates)" 20

	start SO fake_source --out-of-window 2
	pages "$SO" sales 1000 2026-11-20T05:00:00Z 2026-11-20T06:00:00Z >"$TMP/oow"
	eq "out-of-window: 2 extra sales outside the window" \
		"$(jq -r .transaction_id "$TMP/oow" | grep -c '^OOW-')" 2
}

test_source_late_fixture() {
	local before after
	start SL fake_source --late-ratio 0.2 --late-after 2026-11-21T00:00:00Z \
		--now 2026-11-20T12:00:00Z
	before=$(pages "$SL" sales 1000 2026-11-20T00:00:00Z 2026-11-20T06:00:00Z | wc -l)
	curl -s -XPOST "$SL/_control/now" -d '{"now":"2026-11-21T01:00:00Z"}' >/dev/null
	after=$(pages "$SL" sales 1000 2026-11-20T00:00:00Z 2026-11-20T06:00:00Z | wc -l)
	eq "late: sales appear once the clock passes --late-after" \
		"$((after - before)) $after" "50 250"

	mkdir -p "$TMP/fx"
	cat >"$TMP/fx/stores.json" <<-'EOF'
	[ {"store_id": 7, "name": "Seven", "price": 1.50},
	  {"store_id": 8, "name": "Eight \"8\""} ]
	EOF
	cat >"$TMP/fx/sales.json" <<-'EOF'
	[{"transaction_id":"F1","transaction_date":"2026-11-20T09:00:00Z"},
	 {"transaction_id":"F2","transaction_date":"2026-11-20T09:59:59Z"},
	 {"transaction_id":"F3","transaction_date":"2026-11-20T10:00:00Z"},
	 {"transaction_id":"F4","transaction_date":"2026-11-20T11:00:00+01:00"},
	 {"transaction_id":"F5","transaction_date":"2026-11-20T09:30:00"},
	 {"transaction_id":"F6","transaction_date":"garbage"},
	 {"transaction_id":"F7"}]
	EOF
	start SF fake_source --data "$TMP/fx"
	eq "fixture: records served verbatim" \
		"$(curl -s "$SF/v1/stores" | grep -c '"price": 1.50}')" 1
	eq "fixture: missing file is an empty resource" \
		"$(curl -s "$SF/v1/items" | jq -c .data)" "[]"
	eq "fixture: half-open window, undated records in every window" \
		"$(pages "$SF" sales 2 2026-11-20T09:00:00Z 2026-11-20T10:00:00Z | jq -r .transaction_id | tr '\n' ' ')" \
		"F1 F2 F5 F6 F7 "
	curl -s -XPOST "$SF/_control/append/sales" -d '[{"transaction_id":"F8","transaction_date":"2026-11-20T09:10:00Z"}]' >/dev/null
	eq "fixture: append" \
		"$(pages "$SF" sales 100 2026-11-20T09:00:00Z 2026-11-20T09:20:00Z | jq -r .transaction_id | tr '\n' ' ')" \
		"F1 F5 F6 F7 F8 "
	curl -s -XPOST "$SF/_control/data/sales" -d '[{"transaction_id":"R1","transaction_date":"2026-11-20T09:10:00Z"}]' >/dev/null
	eq "fixture: replace" "$(pages "$SF" sales 100 | jq -r .transaction_id)" R1
	curl -s -XPOST "$SF/_control/reset" >/dev/null
	eq "fixture: reset reloads --data" "$(pages "$SF" sales 100 | wc -l)" 7

	start SV fake_source --overlay "$TMP/fx"
	eq "overlay: missing file keeps the generated resource" \
		"$(pages "$SV" items 1000 | wc -l) $(curl -s "$SV/v1/stores" | jq '.data|length')" "50 2"
}

test_source_faults() {
	local out rc
	start SX fake_source
	curl -s -XPOST "$SX/_control/faults" -d '[
		{"path":"/v1/stores","status":503,"count":2},
		{"path":"/v1/pos","status":429,"retry_after":"2"},
		{"path":"/v1/pos","status":429,"skip":1},
		{"method":"GET","path":"/v1/items","delay_ms":400},
		{"path":"/v1/cameras","truncate":"body"},
		{"path":"/v1/cameras","truncate":"conn"},
		{"path":"/v1/exchange_rates","drop":true},
		{"path":"/v1/sales","status":500,"body":"oops","count":-1}]' >/dev/null
	eq "fault: 503 twice, then 200" \
		"$(code "$SX/v1/stores") $(code "$SX/v1/stores") $(code "$SX/v1/stores")" "503 503 200"
	out=$(curl -s -D - -o /dev/null "$SX/v1/pos" | tr -d '\r')
	check "fault: 429 with Retry-After" grep -qi '^retry-after: 2$' <<<"$out"
	eq "fault: skip lets one through, then 429 without Retry-After" \
		"$(code "$SX/v1/pos") $(curl -s -D - -o /dev/null "$SX/v1/pos" | tr -d '\r' | grep -ci '^retry-after')" "200 0"
	out=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' "$SX/v1/items")
	eq "fault: delay_ms then a normal answer" \
		"$(awk '{print $1, ($2 >= 0.39)}' <<<"$out")" "200 1"
	out=$(curl -s "$SX/v1/cameras")
	check "fault: truncated body is a 200 with cut JSON" bash -c "! jq . >/dev/null 2>&1 <<<'$out'"
	curl -s -o /dev/null "$SX/v1/cameras"
	rc=$?
	eq "fault: truncated connection (curl: partial file)" "$rc" 18
	curl -s -o /dev/null "$SX/v1/exchange_rates"
	rc=$?
	eq "fault: drop (curl: empty reply)" "$rc" 52
	eq "fault: count -1 applies forever" \
		"$(code "$SX/v1/sales") $(code "$SX/v1/sales") $(curl -s "$SX/v1/sales")" "500 500 oops"
	eq "call log: faults recorded" \
		"$(curl -s "$SX/_control/calls" | jq -r '[.[] | .fault // "-"] | join(",")')" \
		"status,status,-,status,-,status,delay,truncate_body,truncate_conn,drop,status,status,status"
	eq "call log: control calls excluded, query kept" \
		"$(curl -s "$SX/_control/calls" | jq -r '[.[] | select(.path|startswith("/_control"))] | length')" 0
	curl -s -XPOST "$SX/_control/reset" >/dev/null
	eq "reset: faults and log cleared" \
		"$(code "$SX/v1/sales") $(curl -s "$SX/_control/calls" | jq length)" "200 1"
	eq "bad fault rule: 400" "$(code -XPOST "$SX/_control/faults" -d '[{"status":"x"}]')" 400
}

test_source_memory() {
	local rss body
	start SM fake_source --sales 100000 --invalid-ratio 0.05 --duplicate-ratio 0.05
	pages "$SM" sales 1000 2026-11-20T00:00:00Z 2026-11-21T00:00:00Z | wc -l >"$TMP/mem_n"
	eq "100k window: 100+ pages of 1000, all records" \
		"$(cat "$TMP/npages") $(cat "$TMP/mem_n")" \
		"$(curl -s "$SM/_control/expect?since=2026-11-20T00:00:00Z&until=2026-11-21T00:00:00Z" | jq '(.records / 1000 | ceil | tostring) + " " + (.records | tostring)' -r)"
	rss=$(awk '/^VmRSS/ {print $2}' "/proc/$SM_PID/status")
	# AddressSanitizer's shadow memory and quarantine inflate RSS; the
	# plain build's pass of this suite holds the fake to the bound.
	if ldd "$B/fake_source" 2>/dev/null | grep -q 'libasan'; then
		echo "# skipped under AddressSanitizer: 100k window RSS bound (RSS $rss KiB)"
	else
		lt "100k window: RSS of the fake < 50 MiB (KiB)" "$rss" 51200
	fi
	body=$(curl -s "$SM/v1/sales?limit=9999")
	eq "limit is capped at 5000" "$(jq '.data|length' <<<"$body")" 5000
}

# -------------------------------------------------------------- fake_helix

helix_token() { curl -s -XPOST -H "x-api-key: ${2:-k1}" "$1/token" | jq -r .token; }

test_helix() {
	local t uid out ev
	start H fake_helix --api-key k1 --rate-limit 0 --cameras cam-1,cam-2,cam-3
	eq "token: wrong key: 401" "$(code -XPOST -H 'x-api-key: no' "$H/token")" 401
	t=$(helix_token "$H")
	check "token: issued" test -n "$t"
	eq "no token: 401" "$(code "$H/cameras/v1/video_tagging/event_type")" 401
	eq "no token: 401 body has a message" \
		"$(curl -s "$H/cameras/v1/video_tagging/event_type" | jq -r '.message|type')" string
	local A=(-H "x-verkada-auth: $t" -H 'Content-Type: application/json')
	local ET="$H/cameras/v1/video_tagging/event_type" EV="$H/cameras/v1/video_tagging/event"
	uid=$(curl -s "${A[@]}" -XPOST "$ET" -d '{"name":"Sales Transaction","event_schema":
		{"transaction_id":"string","total":"float","items":"integer","paid":"boolean"}}' | jq -r .event_type_uid)
	check "event type: created with a uid" test -n "$uid"
	eq "event type: duplicate name: 400" \
		"$(code "${A[@]}" -XPOST "$ET" -d '{"name":"Sales Transaction","event_schema":{}}')" 400
	eq "event type: 11 attributes: 400" \
		"$(code "${A[@]}" -XPOST "$ET" -d '{"name":"x","event_schema":{"a1":"string","a2":"string","a3":"string","a4":"string","a5":"string","a6":"string","a7":"string","a8":"string","a9":"string","a10":"string","a11":"string"}}')" 400
	eq "event type: 21-char attribute name: 400" \
		"$(code "${A[@]}" -XPOST "$ET" -d '{"name":"y","event_schema":{"abcdefghijklmnopqrstu":"string"}}')" 400
	eq "event type: unknown attribute type: 400" \
		"$(code "${A[@]}" -XPOST "$ET" -d '{"name":"z","event_schema":{"a":"date"}}')" 400
	eq "event type: list by name" \
		"$(curl -s "${A[@]}" -G "$ET" --data-urlencode 'name=Sales Transaction' | jq -r '.event_types[0].event_type_uid')" "$uid"
	eq "event type: PATCH replaces the schema" \
		"$(code "${A[@]}" -XPATCH "$ET?event_type_uid=$uid" -d '{"event_schema":{"transaction_id":"string","total":"float","items":"integer","paid":"boolean","store":"string"}}') $(curl -s "${A[@]}" "$ET?event_type_uid=$uid" | jq '.event_types[0].event_schema|length')" "200 5"

	ev="{\"camera_id\":\"cam-1\",\"event_type_uid\":\"$uid\",\"time_ms\":1795165200000,\"attributes\":{\"transaction_id\":\"T-1\",\"total\":104.5,\"items\":3,\"paid\":true},\"flagged\":false}"
	eq "event: create" "$(code "${A[@]}" -XPOST "$EV" -d "$ev")" 200
	out=$(curl -s "${A[@]}" -XPOST "$EV" -d "{\"camera_id\":\"cam-1\",\"event_type_uid\":\"$uid\",\"time_ms\":1,\"attributes\":{\"total\":\"104.50\"}}" -w ' %{http_code}')
	eq "event: float sent as a string: 400 with the message" "$out" '{"message":"Wrong type for field total"} 400'
	eq "event: integer sent as 2.5: 400" \
		"$(code "${A[@]}" -XPOST "$EV" -d "{\"camera_id\":\"cam-1\",\"event_type_uid\":\"$uid\",\"time_ms\":2,\"attributes\":{\"items\":2.5}}")" 400
	eq "event: time_ms as a string: 400" \
		"$(code "${A[@]}" -XPOST "$EV" -d "{\"camera_id\":\"cam-1\",\"event_type_uid\":\"$uid\",\"time_ms\":\"3\"}")" 400
	eq "event: unknown camera: 400" \
		"$(code "${A[@]}" -XPOST "$EV" -d "{\"camera_id\":\"cam-9\",\"event_type_uid\":\"$uid\",\"time_ms\":4}")" 400
	eq "event: unknown event type: 400" \
		"$(code "${A[@]}" -XPOST "$EV" -d '{"camera_id":"cam-1","event_type_uid":"nope","time_ms":5}')" 400
	eq "event: string over 200 chars: 400" \
		"$(code "${A[@]}" -XPOST "$EV" -d "{\"camera_id\":\"cam-1\",\"event_type_uid\":\"$uid\",\"time_ms\":6,\"attributes\":{\"transaction_id\":\"$(printf 'x%.0s' $(seq 201))\"}}")" 400
	eq "event: second POST of a triple: 200" "$(code "${A[@]}" -XPOST "$EV" -d "$ev")" 200
	eq "event: ... counted as a duplicate" \
		"$(curl -s "$H/_control/stats" | jq -c '[.duplicates, .events]') $(curl -s "$H/_control/events" | jq '.[0].creates')" "[1,1] 2"
	local Q="camera_id=cam-1&event_type_uid=$uid&time_ms=1795165200000"
	eq "event: GET" "$(curl -s "${A[@]}" "$EV?$Q" | jq -c '[.attributes.total, .flagged]')" "[104.5,false]"
	eq "event: GET absent: 404" "$(code "${A[@]}" "$EV?camera_id=cam-1&event_type_uid=$uid&time_ms=7")" 404
	eq "event: PATCH merges attributes" \
		"$(code "${A[@]}" -XPATCH "$EV?$Q" -d '{"attributes":{"total":99.5}}') $(curl -s "${A[@]}" "$EV?$Q" | jq -c '[.attributes.total, .attributes.items]')" "200 [99.5,3]"
	eq "event: PATCH absent: 404" "$(code "${A[@]}" -XPATCH "$EV?camera_id=cam-2&event_type_uid=$uid&time_ms=7" -d '{"attributes":{}}')" 404
	eq "event: DELETE, then GET: 404" \
		"$(code "${A[@]}" -XDELETE "$EV?$Q") $(code "${A[@]}" "$EV?$Q")" "200 404"

	curl -s -XPOST "$H/_control/faults" -d '[{"method":"POST","path":"/cameras/v1/video_tagging/event","drop_after":true}]' >/dev/null
	curl -s -o /dev/null "${A[@]}" -XPOST "$EV" -d "$ev"
	local rc=$?
	eq "drop_after: no answer (curl: empty reply)" "$rc" 52
	eq "drop_after: the event was stored anyway" \
		"$(curl -s "$H/_control/events" | jq '[.[] | select(.time_ms == 1795165200000)] | length')" 1

	eq "footage link" \
		"$(curl -s "${A[@]}" "$H/cameras/v1/footage/link?camera_id=cam-2&timestamp=1795165200" | jq -r .url)" \
		"https://fake.helix/footage/cam-2/1795165200"
	eq "thumbnail link" \
		"$(curl -s "${A[@]}" "$H/cameras/v1/footage/thumbnails/link?camera_id=cam-2&timestamp=5&expiry=60" | jq -c '[.url, .timestamp, .expiry]')" \
		'["https://fake.helix/thumbnails/cam-2/5",5,60]'
	out=$(curl -s "${A[@]}" "$H/cameras/v1/devices?page_size=2")
	eq "devices: paged" \
		"$(jq -c '[(.cameras|length), .next_page_token]' <<<"$out") $(curl -s "${A[@]}" "$H/cameras/v1/devices?page_size=2&page_token=$(jq -r .next_page_token <<<"$out")" | jq -c '[.cameras[0].camera_id, .next_page_token]')" \
		'[2,"2"] ["cam-3",null]'

	curl -s -XPOST "$H/_control/expire-tokens" >/dev/null
	eq "expire-tokens: the token now gets 401" "$(code "${A[@]}" "$ET")" 401
	eq "a new token works" "$(code -H "x-verkada-auth: $(helix_token "$H")" "$ET")" 200
	curl -s -XPOST "$H/_control/reset" >/dev/null
	eq "reset: events, types, tokens and stats cleared" \
		"$(curl -s "$H/_control/stats" | jq -c '[.events, .event_types, .requests]') $(code -H "x-verkada-auth: $t" "$ET")" "[0,0,0] 401"
}

test_helix_limits() {
	local t codes hdr s e
	start HT fake_helix --token-ttl 1 --rate-limit 0
	t=$(helix_token "$HT" test-key)
	eq "token ttl: valid at first" "$(code -H "x-verkada-auth: $t" "$HT/cameras/v1/devices")" 200
	sleep 1.2
	eq "token ttl: 401 after expiry" "$(code -H "x-verkada-auth: $t" "$HT/cameras/v1/devices")" 401

	start HR fake_helix
	local urls=()
	for _ in $(seq 26); do urls+=("$HR/token"); done
	codes=$(curl -s -XPOST -H 'x-api-key: test-key' -o /dev/null -o /dev/null -o /dev/null -o /dev/null \
		-o /dev/null -o /dev/null -o /dev/null -o /dev/null -o /dev/null -o /dev/null -o /dev/null \
		-o /dev/null -o /dev/null -o /dev/null -o /dev/null -o /dev/null -o /dev/null -o /dev/null \
		-o /dev/null -o /dev/null -o /dev/null -o /dev/null -o /dev/null -o /dev/null -o /dev/null \
		-o /dev/null -w '%{http_code} ' "${urls[@]}")
	eq "rate limit: 25 pass, the 26th in 5 s gets 429" \
		"$(tr -s ' ' '\n' <<<"$codes" | grep . | sort | uniq -c | awk '{printf "%s:%s ", $2, $1}')" "200:25 429:1 "
	hdr=$(curl -s -D - -o /dev/null -XPOST -H 'x-api-key: test-key' "$HR/token" | tr -d '\r')
	check "rate limit: 429 has no Retry-After" bash -c "grep -q ' 429' <<<'$hdr' && ! grep -qi '^retry-after' <<<'$hdr'"
	eq "rate limit: message" \
		"$(curl -s -XPOST -H 'x-api-key: test-key' "$HR/token" | jq -r .message)" "rate limited"
	eq "rate limit: counted" "$(curl -s "$HR/_control/stats" | jq .rate_limited)" 3

	start HL fake_helix --latency-ms 300 --rate-limit 0
	local pids=()
	s=$(date +%s%N)
	for _ in $(seq 8); do
		curl -s -o /dev/null -XPOST -H 'x-api-key: test-key' "$HL/token" &
		pids+=($!)
	done
	wait "${pids[@]}"
	e=$(date +%s%N)
	lt "latency: 8 concurrent requests at 300 ms take < 1200 ms (not 2400)" \
		"$(((e - s) / 1000000))" 1200
	eq "latency: each answer waited >= 300 ms" \
		"$(curl -s "$HL/_control/calls" | jq '[.[].duration_ms >= 299] | all')" true

	start HA fake_helix --max-age-days 30 --now 2026-11-21T00:00:00Z --rate-limit 0
	t=$(helix_token "$HA" test-key)
	local uid
	uid=$(curl -s -XPOST -H "x-verkada-auth: $t" "$HA/cameras/v1/video_tagging/event_type" \
		-d '{"name":"S","event_schema":{}}' | jq -r .event_type_uid)
	eq "max-age: 31-day-old event: 400" \
		"$(code -XPOST -H "x-verkada-auth: $t" "$HA/cameras/v1/video_tagging/event" \
			-d "{\"camera_id\":\"any\",\"event_type_uid\":\"$uid\",\"time_ms\":1792540800000}")" 400
	eq "max-age: recent event: 200" \
		"$(code -XPOST -H "x-verkada-auth: $t" "$HA/cameras/v1/video_tagging/event" \
			-d "{\"camera_id\":\"any\",\"event_type_uid\":\"$uid\",\"time_ms\":1795219200000}")" 200
}

test_shutdown() {
	start SS fake_source
	kill -TERM "$SS_PID"
	wait "$SS_PID"
	eq "SIGTERM: exits 0" "$?" 0
}

for t in test_source_basics test_source_token test_source_invalid_dup \
	test_source_late_fixture test_source_faults test_source_memory \
	test_helix test_helix_limits test_shutdown; do
	echo "# $t"
	"$t"
done

echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
