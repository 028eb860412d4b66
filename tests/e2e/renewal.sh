#!/usr/bin/env bash
# tests/e2e/renewal.sh CERTMGR: the renewal decision end to end (issue 3 and 4, behaviour §5.2):
#   - with Pebble issuing 40-second certificates, a certificate past half its lifetime is renewed
#     while a fresh one is not, and a run for the fresh one alone makes no CA request;
#   - a changed key_size re-issues only rsa, a changed key_curve only ecdsa, changed alt_names
#     both; the other key type keeps its certificate byte for byte;
#   - ocsp_must_staple: Pebble drops the extension, so one re-issue, then silence (no loop).
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/lab/e2e.sh
source "$HERE/../lab/e2e.sh" "$@"

# Certificates live 40 s: under 10 days, so they are due after half their lifetime (20 s).
LAB_VALIDITY=40 e2e_lab stable
export CHECK_RSA_BITS=2048 CHECK_EC_CURVE=prime256v1

serial() { openssl x509 -in "$D/$1/$2/cert.pem" -noout -serial | cut -d= -f2; }
not_before() { date -u -d "$(openssl x509 -in "$D/$1/$2/cert.pem" -noout -startdate | cut -d= -f2)" +%s; }
# same_serial NAME KT OLD / new_serial NAME KT OLD
same_serial() { [[ $(serial "$1" "$2") == "$3" ]] || { echo "  $1/$2 serial changed" >&2; return 1; }; }
new_serial() { [[ $(serial "$1" "$2") != "$3" ]] || { echo "  $1/$2 serial unchanged" >&2; return 1; }; }

config() { # config KEY_SIZE CURVE ALT_NAMES STAPLE: settings of change.test (the others keep
  # the lab defaults, 2048 and secp256r1, so their renewal is decided by time alone)
  write_config "$CFG" "[
    {\"name\": \"due.test\"},
    {\"name\": \"fresh.test\"},
    {\"name\": \"change.test\", \"key_size\": $1, \"key_curve\": \"$2\",
     \"alt_names\": $3, \"ocsp_must_staple\": $4}
  ]"
}

echo "== due.test issued first"
config 2048 secp256r1 '["change.test"]' false
run_certmgr first -c "$CFG" update due.test
check "due.test issued" rc_is 0
check "due.test/rsa correct" check_cert "$D" due.test rsa "$LAB/root.pem" due.test
issued_at=$(not_before due.test rsa)

echo "== config changes re-issue exactly the affected key type"
run_certmgr c0 -c "$CFG" update change.test
check "change.test issued" rc_is 0
rsa0=$(serial change.test rsa)
ec0=$(serial change.test ecdsa)
config 3072 secp256r1 '["change.test"]' false
run_certmgr c1 -c "$CFG" update change.test
check "key_size change: exit 0" rc_is 0
check "key_size change: one summary line" stdout_lines 1
check "key_size change: rsa re-issued" new_serial change.test rsa "$rsa0"
check "key_size change: ecdsa untouched" same_serial change.test ecdsa "$ec0"
CHECK_RSA_BITS=3072 check "key_size change: rsa key is 3072 bits" check_cert "$D" change.test rsa "$LAB/root.pem" change.test
rsa1=$(serial change.test rsa)
config 3072 secp384r1 '["change.test"]' false
run_certmgr c2 -c "$CFG" update change.test
check "key_curve change: exit 0" rc_is 0
check "key_curve change: ecdsa re-issued" new_serial change.test ecdsa "$ec0"
check "key_curve change: rsa untouched" same_serial change.test rsa "$rsa1"
CHECK_EC_CURVE=secp384r1 CHECK_EC_BITS=384 check "key_curve change: ecdsa key is P-384" \
  check_cert "$D" change.test ecdsa "$LAB/root.pem" change.test
ec2=$(serial change.test ecdsa)
config 3072 secp384r1 '["change.test", "www.change.test"]' false
run_certmgr c3 -c "$CFG" update change.test
check "alt_names change: exit 0" rc_is 0
check "alt_names change: rsa re-issued" new_serial change.test rsa "$rsa1"
check "alt_names change: ecdsa re-issued" new_serial change.test ecdsa "$ec2"
CHECK_RSA_BITS=3072 check "alt_names change: rsa has both names" \
  check_cert "$D" change.test rsa "$LAB/root.pem" change.test www.change.test
check "alt_names change: link www.change.test" check_link "$D" www.change.test change.test
rsa3=$(serial change.test rsa)
ec3=$(serial change.test ecdsa)
config 3072 secp384r1 '["change.test", "www.change.test"]' true
run_certmgr c4 -c "$CFG" update change.test
check "must-staple requested: exit 0" rc_is 0
check "must-staple requested: rsa re-issued" new_serial change.test rsa "$rsa3"
check "must-staple requested: ecdsa re-issued" new_serial change.test ecdsa "$ec3"
check "must-staple dropped by Pebble: one warning line" test "$(line_count "$ERR")" -ge 1
req0=$(lab_requests)
run_certmgr c5 -c "$CFG" update change.test
check "must-staple dropped: next run exit 0" rc_is 0
check "must-staple dropped: next run silent" is_empty "$OUT"
check "must-staple dropped: next run no stderr" is_empty "$ERR"
check "must-staple dropped: next run makes no CA request" requests_delta_is "$req0" 0

echo "== renewal window: wait until due.test is past half its lifetime"
wait_until=$((issued_at + 21))
while (($(date +%s) < wait_until)); do sleep 0.5; done
run_certmgr fresh -c "$CFG" update fresh.test
check "fresh.test issued" rc_is 0
due_rsa=$(serial due.test rsa)
due_ec=$(serial due.test ecdsa)
fresh_rsa=$(serial fresh.test rsa)
req0=$(lab_requests)
run_certmgr fresh2 -c "$CFG" update fresh.test
check "fresh certificate: nothing to do" rc_is 0
check "fresh certificate: silent" is_empty "$OUT"
check "fresh certificate: no CA request" requests_delta_is "$req0" 0
run_certmgr window -c "$CFG" update due.test fresh.test
check "renewal run: exit 0" rc_is 0
check "renewal run: one summary line (due.test)" stdout_lines 1
check "renewal run: the line names due.test" grep -q 'due\.test' "$OUT"
check "due.test/rsa renewed" new_serial due.test rsa "$due_rsa"
check "due.test/ecdsa renewed" new_serial due.test ecdsa "$due_ec"
check "fresh.test not renewed" same_serial fresh.test rsa "$fresh_rsa"
check "due.test/rsa correct after renewal" check_cert "$D" due.test rsa "$LAB/root.pem" due.test

((T_FAIL == 0)) || lab_dump_logs
t_summary
