#!/usr/bin/env bash
# tests/e2e/backoff.sh CERTMGR: load on the CA (issue 7). A certificate whose validation keeps
# failing backs off across runs: after two consecutive failures at most one new order per day
# (one order per retry, not one per key type), no request at all while it waits, reset by
# success and overridden by --force; a --no-auth failure does not count; a run with nothing due
# sends 0 requests. The clock of certmgr is moved with libfaketime (simulated hourly cron runs
# over three days); the oracle is Pebble's request log.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/lab/e2e.sh
source "$HERE/../lab/e2e.sh" "$@"

FAKETIME_LIB=$(dpkg -L libfaketime 2>/dev/null | grep '/libfaketimeMT\.so\.1$' | head -1)
[[ -n $FAKETIME_LIB && -e $FAKETIME_LIB ]] || fail "libfaketime is not installed (package faketime)"

e2e_lab stable
write_config "$CFG" "[$(cert_json good.test '["rsa", "ecdsa"]'),
  $(cert_json bad.test '["rsa", "ecdsa"]')]"
lab_servfail bad.test || fail "cannot make bad.test fail validation"

BASE=$(date +%s)
# orders Pebble created (not the newOrder POSTs: under LAB_CHAOS those include badNonce retries)
orders() { lab_count "$PEBBLE_LOG" 'Added order '; }
STATE=$D/.backoff/bad.test.json
failures() { sed -n 's/.*"failures":\([0-9]*\).*/\1/p' "$STATE" 2>/dev/null; }

# at SECONDS TAG ARGS...: certmgr with its clock at BASE + SECONDS (and running on from there)
at() {
  local offset=$1 tag=$2
  shift 2
  local when
  when=$(date -u -d "@$((BASE + offset))" '+%Y-%m-%d %H:%M:%S')
  ORDERS0=$(orders) REQ0=$(lab_requests)
  LD_PRELOAD=$FAKETIME_LIB FAKETIME="@$when" FAKETIME_DONT_FAKE_MONOTONIC=1 \
    ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0 \
    run_certmgr "$tag" -c "$CFG" update "$@"
  NEW_ORDERS=$(($(orders) - ORDERS0)) NEW_REQUESTS=$(($(lab_requests) - REQ0))
}
one_error_line() { [[ $(line_count "$ERR") == 1 ]] && grep -q "$1" "$ERR" || { show_run; return 1; }; }

echo "== first failure: every key type ordered, no delay yet"
at 0 first
check "first run: exit 1" rc_is 1
check "first run: good.test issued" test -s "$D/good.test/ecdsa/cert.pem"
check "first run: 4 orders (2 key types x 2 certificates)" test "$NEW_ORDERS" = 4
check "first run: one error line for bad.test" one_error_line '^\[bad\.test\] '
check "first run: back-off state records 1 failure" test "$(failures)" = 1
check "first run: state file 0644" mode_is 644 "$STATE"

echo "== second failure a minute later: one order (not one per key type), then a day's wait"
at 60 second
check "second run: exit 1" rc_is 1
check "second run: 1 order" test "$NEW_ORDERS" = 1
check "second run: the error line names the back-off" one_error_line 'no new order before'
check "second run: 2 failures" test "$(failures)" = 2

echo "== while backing off: no request at all, one line, exit 1"
at 120 waiting
check "waiting run: exit 1" rc_is 1
check "waiting run: 0 requests to the CA" test "$NEW_REQUESTS" = 0
check "waiting run: one line saying until when and how to retry" \
  one_error_line 'not ordering before .* after 2 failed attempts .*--force bad.test'
check "waiting run: stdout empty" is_empty "$OUT"

echo "== hourly cron for three days"
declare -A per_hour
total=0
for ((h = 1; h <= 72; h++)); do
  at $((h * 3600)) "hour$h"
  per_hour[$h]=$NEW_ORDERS
  total=$((total + NEW_ORDERS))
  [[ $RC == 1 ]] || { t_fail "hour $h: exit 1 (got $RC)"; show_run; }
done
worst=0
for ((h = 1; h <= 49; h++)); do
  sum=0
  for ((k = h; k < h + 24; k++)); do sum=$((sum + per_hour[$k])); done
  ((sum > worst)) && worst=$sum
done
echo "orders of bad.test in 72 hourly runs: $total (hours: $(for h in "${!per_hour[@]}"; do ((per_hour[$h] > 0)) && printf '%s ' "$h"; done))"
check "hourly runs: at most 1 order in any 24 hours (worst $worst)" test "$worst" -le 1
check "hourly runs: still retried once a day ($total orders in 3 days)" test "$total" -ge 2

echo "== success resets"
lab_clear_servfail bad.test || fail "cannot clear servfail"
at $((75 * 3600)) fixed
check "after the fix: exit 0" rc_is 0
check "after the fix: bad.test issued" test -s "$D/bad.test/rsa/cert.pem"
check "after the fix: back-off state removed" test ! -e "$STATE"
at $((75 * 3600 + 60)) idle
check "nothing due: exit 0" rc_is 0
check "nothing due: 0 requests" test "$NEW_REQUESTS" = 0
check "nothing due: silent" is_empty "$OUT"
check "nothing due: no stderr" is_empty "$ERR"

echo "== --force ignores the back-off"
# a name never validated (under LAB_CHAOS Pebble may reuse bad.test's valid authorizations)
write_config "$CFG" "[$(cert_json good.test '["rsa", "ecdsa"]'),
  $(cert_json bad.test '["rsa", "ecdsa"]'), $(cert_json forced.test '["rsa", "ecdsa"]')]"
lab_servfail forced.test || fail "cannot make forced.test fail validation"
FSTATE=$D/.backoff/forced.test.json
at $((76 * 3600)) force1 --force forced.test
at $((76 * 3600 + 60)) force2 --force forced.test
check "two forced failures: 2 failures recorded" grep -q '"failures":2' "$FSTATE"
at $((76 * 3600 + 120)) force-waiting forced.test
check "plain update in back-off: exit 1" rc_is 1
check "plain update in back-off: 0 requests" test "$NEW_REQUESTS" = 0
at $((76 * 3600 + 180)) force3 --force forced.test
check "--force orders despite the back-off" test "$NEW_ORDERS" -ge 1
check "--force failure: exit 1" rc_is 1
check "--force failure counted: 3 failures" grep -q '"failures":3' "$FSTATE"

echo "== a changed set of names starts over (the admin fixed the configuration)"
write_config "$CFG" "[$(cert_json good.test '["rsa", "ecdsa"]'),
  $(cert_json bad.test '["rsa", "ecdsa"]'),
  $(cert_json forced.test '["rsa", "ecdsa"]' '["forced.test", "www.forced.test"]')]"
at $((76 * 3600 + 240)) renamed forced.test
check "new names: ordered at once despite the back-off" test "$NEW_ORDERS" -ge 1
check "new names: the failure count starts over" grep -q '"failures":1' "$FSTATE"

echo "== cleanup drops the state of a certificate no longer configured"
write_config "$CFG" "[$(cert_json good.test '["rsa", "ecdsa"]'),
  $(cert_json bad.test '["rsa", "ecdsa"]')]"
run_certmgr cleanup-dry -c "$CFG" cleanup --dry-run
check "cleanup --dry-run: says it would remove the state" grep -q '\[forced.test\] would remove back-off state' "$OUT"
check "cleanup --dry-run: state kept" test -e "$FSTATE"
run_certmgr cleanup -c "$CFG" cleanup
check "cleanup: exit 0" rc_is 0
check "cleanup: state of forced.test removed" test ! -e "$FSTATE"

echo "== a --no-auth failure does not count"
write_config "$CFG" "[$(cert_json good.test '["rsa", "ecdsa"]'),
  $(cert_json bad.test '["rsa", "ecdsa"]'), $(cert_json follower.test '["ecdsa"]')]"
lab_servfail follower.test || fail "cannot make follower.test fail validation"
at $((77 * 3600)) noauth1 --no-auth follower.test
check "--no-auth with a pending authorization: exit 1" rc_is 1
check "--no-auth: the error names the pending authorization" grep -q 'pending and --no-auth' "$ERR"
at $((77 * 3600 + 60)) noauth2 --no-auth follower.test
check "--no-auth again: the CA is asked again (no back-off)" test "$NEW_ORDERS" = 1
check "--no-auth failures leave no back-off state" test ! -e "$D/.backoff/follower.test.json"

t_summary
