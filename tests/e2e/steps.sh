#!/usr/bin/env bash
# tests/e2e/steps.sh CERTMGR: the step flags of `update` (behaviour §1.2, §5.9): --certs runs only
# the certificate step, --params only the DH/EC parameter step, both or none run both.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/lab/e2e.sh
source "$HERE/../lab/e2e.sh" "$@"

e2e_lab stable
export CHECK_RSA_BITS=2048 CHECK_EC_CURVE=prime256v1

config() { write_config "$CFG" "[{\"name\": \"steps.test\", \"dhparam_size\": $1}]"; }
serial() { openssl x509 -in "$D/steps.test/$1/cert.pem" -noout -serial | cut -d= -f2; }
dh_bits() { openssl dhparam -in "$D/steps.test/params.pem" -noout -text | sed -n 's/.*(\([0-9]*\) bit).*/\1/p'; }
dh_in_cert() { # the DH block of cert.pem equals the one of params.pem
  cmp -s <(sed -n '/BEGIN DH/,/END DH/p' "$D/steps.test/$1/cert.pem") \
    <(sed -n '/BEGIN DH/,/END DH/p' "$D/steps.test/params.pem")
}

config 2048
for step in --ocsp --sct "--ocsp --sct"; do
  # shellcheck disable=SC2086 # the step flags are words
  run_certmgr "only$step" -c "$CFG" update $step
  check "update $step on a new certificate: exit 0, nothing issued" rc_is 0
  check "update $step: no tree for the certificate" test ! -e "$D/steps.test"
  check "update $step: silent" is_empty "$OUT"
done
run_certmgr first -c "$CFG" update --certs
check "update --certs on a new certificate: exit 0" rc_is 0
check "update --certs issues the rsa certificate" test -s "$D/steps.test/rsa/cert.pem"
check "update --certs issues the ecdsa certificate" test -s "$D/steps.test/ecdsa/cert.pem"
check "update --certs writes no params.pem" test ! -e "$D/steps.test/params.pem"
run_certmgr params0 -c "$CFG" update --params
check "update --params: exit 0" rc_is 0
check "update --params adds params.pem (2048 bits)" test "$(dh_bits)" = 2048
check "update --params: cert.pem carries the DH block" dh_in_cert rsa
rsa=$(serial rsa)
ec=$(serial ecdsa)

config 3072
run_certmgr certs -c "$CFG" update --certs
check "dhparam_size change with --certs: exit 0" rc_is 0
check "dhparam_size change with --certs: silent (params step not run)" is_empty "$OUT"
check "dhparam_size change with --certs: params.pem still 2048 bits" test "$(dh_bits)" = 2048
run_certmgr params -c "$CFG" update --params
check "update --params: exit 0" rc_is 0
check "update --params: one summary line" stdout_lines 1
check "update --params: params.pem now 3072 bits" test "$(dh_bits)" = 3072
check "update --params: rsa not re-issued" test "$(serial rsa)" = "$rsa"
check "update --params: ecdsa not re-issued" test "$(serial ecdsa)" = "$ec"
check "update --params: rsa cert.pem carries the new DH block" dh_in_cert rsa
check "update --params: ecdsa cert.pem carries the new DH block" dh_in_cert ecdsa
check "update --params: files still consistent" check_cert "$D" steps.test ecdsa "$LAB/root.pem" steps.test

req0=$(lab_requests)
run_certmgr pforce -c "$CFG" update --params --force
check "update --params --force: exit 0" rc_is 0
check "update --params --force: no certificate re-issued" test "$(serial rsa)" = "$rsa"
check "update --params --force: no CA request" test "$(lab_requests)" = "$req0"
run_certmgr cforce -c "$CFG" update --certs --force
check "update --certs --force: exit 0" rc_is 0
check "update --certs --force: rsa re-issued" test "$(serial rsa)" != "$rsa"
check "update --certs --force: ecdsa re-issued" test "$(serial ecdsa)" != "$ec"
check "update --certs --force: params kept" test "$(dh_bits)" = 3072
check "update --certs --force: files consistent" check_cert "$D" steps.test rsa "$LAB/root.pem" steps.test

((T_FAIL == 0)) || lab_dump_logs
t_summary
