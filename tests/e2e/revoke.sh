#!/usr/bin/env bash
# tests/e2e/revoke.sh CERTMGR: `certmgr revoke [--reason R] [--dry-run] NAME...`.
#   Usage errors (no name, unknown reason) exit 2 and revoke nothing; --dry-run prints what it
#   would revoke, contacts nobody and changes nothing; a real revocation revokes the current
#   certificate of every key type at the CA (Pebble's management API is the oracle: status
#   Revoked with the RFC 5280 reason code), prints one line per key type, archives the files under
#   archives/<name>/ and removes them from the live tree (params.pem stays); revoking again says
#   "no certificate to revoke"; a certificate the CA already revoked is reported "already
#   revoked" (exit 0); the next `update` issues certificates with new keys; revoking one
#   certificate leaves the others alone.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/lab/e2e.sh
source "$HERE/../lab/e2e.sh" "$@"

e2e_lab stable
# root files next to the config: <kt>/cert+root.pem is written for both key types
cp "$LAB/root.pem" "$LAB/root_cert.rsa.pem"
cp "$LAB/root.pem" "$LAB/root_cert.ecdsa.pem"
export CHECK_RSA_BITS=2048 CHECK_EC_CURVE=prime256v1
write_config "$CFG" "[$(cert_json rev.test), $(cert_json sup.test '["ecdsa"]')]"

LIVE_FILES=(cert.pem chain.pem cert+root.pem keys/key.pem keys/key+cert.pem)

# serial NAME KT: the serial of the live certificate, as openssl prints it (upper-case hex)
serial() { openssl x509 -in "$D/$1/$2/cert.pem" -noout -serial 2>/dev/null | cut -d= -f2; }
# norm_serial S: S lower-case, without colons and leading zeros (for comparisons)
norm_serial() {
  local s
  s=$(printf '%s' "$1" | tr -d ':' | tr '[:upper:]' '[:lower:]' | sed 's/^0*//')
  printf '%s\n' "${s:-0}"
}
# ca_status SERIAL [MGMT]: "Status Reason" as Pebble's management API reports them
ca_status() {
  curl -fsS --max-time 10 --cacert "$CA_BUNDLE" "${2:-$MGMT_URL}/cert-status-by-serial/$1" 2>/dev/null |
    "$LAB_PYTHON" -c 'import json, sys
d = json.load(sys.stdin)
r = d.get("Reason")
print(d.get("Status"), "-" if r is None else r)' 2>/dev/null
}
# ca_status_is SERIAL WANT: Pebble reports "WANT" ("Valid -", "Revoked 1", ...) for SERIAL
ca_status_is() {
  local got
  got=$(ca_status "$1")
  [[ $got == "$2" ]] || { printf '  serial %s: CA says "%s", expected "%s"\n' "$1" "$got" "$2" >&2; return 1; }
}
# revocations: revocation requests Pebble has received so far
revocations() { lab_count "$PEBBLE_LOG" 'POST /revoke-cert'; }
# stdout_has_line KIND NAME KT SERIAL REASON: stdout of the last run holds the line
#   KIND=revoked: "[NAME] KT: certificate SERIAL revoked (REASON)"
#   KIND=would:   "[NAME] KT: would revoke certificate SERIAL (REASON)"
# (the serial compared as hex, case, colons and leading zeros ignored)
stdout_has_line() {
  local kind=$1 name=$2 kt=$3 want line s
  want=$(norm_serial "$4")
  local reason=$5 re
  case $kind in
    revoked) re="^\[${name//./\\.}\] $kt: certificate ([0-9A-Fa-f:]+) revoked \(${reason}\)\$" ;;
    would) re="^\[${name//./\\.}\] $kt: would revoke certificate ([0-9A-Fa-f:]+) \(${reason}\)\$" ;;
  esac
  while IFS= read -r line; do
    if [[ $line =~ $re ]]; then
      s=$(norm_serial "${BASH_REMATCH[1]}")
      [[ $s == "$want" ]] && return 0
    fi
  done <"$OUT"
  printf '  no line "%s" for %s/%s serial %s (%s) on stdout\n' "$kind" "$name" "$kt" "$4" "$reason" >&2
  show_run
  return 1
}
# stdout_matches ERE: some stdout line of the last run matches ERE
stdout_matches() { grep -Eq -- "$1" "$OUT" || { show_run; return 1; }; }
# live_files_gone NAME KT: none of the revoked files is left in the live tree
live_files_gone() {
  local f left=""
  for f in "${LIVE_FILES[@]}"; do
    [[ -e $D/$1/$2/$f ]] && left+="$f "
  done
  [[ -z $left ]] || { printf '  %s/%s still has: %s\n' "$1" "$2" "$left" >&2; return 1; }
}
# live_files_present NAME KT: all of them are there (cert+root.pem included)
live_files_present() {
  local f missing=""
  for f in "${LIVE_FILES[@]}"; do
    [[ -f $D/$1/$2/$f ]] || missing+="$f "
  done
  [[ -z $missing ]] || { printf '  %s/%s lacks: %s\n' "$1" "$2" "$missing" >&2; return 1; }
}
# archived NAME KT FILE CMPFILE: a file KT/FILE under archives/NAME/<stamp>/ is byte-equal to
# CMPFILE (a copy taken before the revocation); prints its path
archived() {
  local f
  while IFS= read -r -d '' f; do
    if cmp -s "$f" "$4"; then printf '%s\n' "$f"; return 0; fi
  done < <(find "$D/archives/$1" -path "*/$2/$3" -type f -print0 2>/dev/null)
  printf '  no archived %s/%s equal to the revoked one under archives/%s\n' "$2" "$3" "$1" >&2
  return 1
}

run_certmgr issue -c "$CFG" update
check "update: exit 0" rc_is 0
check "rev.test/rsa issued" check_cert "$D" rev.test rsa "$LAB/root.pem" rev.test
check "rev.test/ecdsa issued" check_cert "$D" rev.test ecdsa "$LAB/root.pem" rev.test
check "rev.test/rsa has cert+root.pem (root file configured)" live_files_present rev.test rsa
check "rev.test/ecdsa has cert+root.pem (root file configured)" live_files_present rev.test ecdsa
declare -A SER PUB
mkdir -p "$LAB/before"
for kt in rsa ecdsa; do
  SER[$kt]=$(serial rev.test $kt)
  PUB[$kt]=$(pubkey_of "$D/rev.test/$kt/cert.pem")
  mkdir -p "$LAB/before/$kt/keys"
  for f in "${LIVE_FILES[@]}"; do cp "$D/rev.test/$kt/$f" "$LAB/before/$kt/$f"; done
  check "rev.test/$kt: Pebble reports it valid" ca_status_is "${SER[$kt]}" "Valid -"
done
[[ -n ${SER[rsa]} && -n ${SER[ecdsa]} ]] || fail "no serials"

echo "== usage errors"
T0=$(tree_hash "$D")
r0=$(lab_requests)
run_certmgr nonames -c "$CFG" revoke
check "revoke without names: exit 2" rc_is 2
run_certmgr badreason -c "$CFG" revoke --reason bogusReason rev.test
check "revoke --reason bogusReason: exit 2" rc_is 2
check "usage errors: tree unchanged" test "$(tree_hash "$D")" = "$T0"
check "usage errors: no CA request" requests_delta_is "$r0" 0
check "usage errors: rsa still valid at the CA" ca_status_is "${SER[rsa]}" "Valid -"
check "usage errors: ecdsa still valid at the CA" ca_status_is "${SER[ecdsa]}" "Valid -"

echo "== --dry-run"
r0=$(lab_requests)
run_certmgr dry -c "$CFG" revoke --dry-run --reason keyCompromise rev.test
check "revoke --dry-run: exit 0" rc_is 0
check "revoke --dry-run: would-revoke line for rsa" stdout_has_line would rev.test rsa "${SER[rsa]}" keyCompromise
check "revoke --dry-run: would-revoke line for ecdsa" stdout_has_line would rev.test ecdsa "${SER[ecdsa]}" keyCompromise
check "revoke --dry-run: two lines" stdout_lines 2
check "revoke --dry-run: tree unchanged" test "$(tree_hash "$D")" = "$T0"
check "revoke --dry-run: no CA request" requests_delta_is "$r0" 0
check "revoke --dry-run: rsa still valid at the CA" ca_status_is "${SER[rsa]}" "Valid -"
check "revoke --dry-run: ecdsa still valid at the CA" ca_status_is "${SER[ecdsa]}" "Valid -"

echo "== revoke --reason keyCompromise"
sup_ser=$(serial sup.test ecdsa)
SUP0=$(tree_hash "$D/sup.test/")
run_certmgr revoke -c "$CFG" revoke --reason keyCompromise rev.test
check "revoke --reason keyCompromise rev.test: exit 0" rc_is 0
check "revoke: line for rsa" stdout_has_line revoked rev.test rsa "${SER[rsa]}" keyCompromise
check "revoke: line for ecdsa" stdout_has_line revoked rev.test ecdsa "${SER[ecdsa]}" keyCompromise
check "revoke: two lines" stdout_lines 2
check "revoke: stderr empty" is_empty "$ERR"
for kt in rsa ecdsa; do
  check "revoke: Pebble reports rev.test/$kt revoked, reason 1" ca_status_is "${SER[$kt]}" "Revoked 1"
  check "revoke: rev.test/$kt files gone from the live tree" live_files_gone rev.test $kt
  for f in "${LIVE_FILES[@]}"; do
    check "revoke: rev.test/$kt/$f archived" archived rev.test $kt "$f" "$LAB/before/$kt/$f"
  done
done
check "revoke: params.pem stays" test -s "$D/rev.test/params.pem"
check "revoke: sup.test untouched" test "$(tree_hash "$D/sup.test/")" = "$SUP0"
check "revoke: sup.test still valid at the CA" ca_status_is "$sup_ser" "Valid -"

echo "== revoke again: nothing left"
r0=$(revocations)
T1=$(tree_hash "$D")
run_certmgr again -c "$CFG" revoke rev.test
check "revoke again: exit 0" rc_is 0
check "revoke again: rsa has no certificate to revoke" stdout_matches '^\[rev\.test\] rsa: no certificate to revoke$'
check "revoke again: ecdsa has no certificate to revoke" stdout_matches '^\[rev\.test\] ecdsa: no certificate to revoke$'
check "revoke again: no revocation request" test "$(revocations)" = "$r0"
check "revoke again: tree unchanged" test "$(tree_hash "$D")" = "$T1"

echo "== update after the revocation"
run_certmgr reissue -c "$CFG" update
check "update after revoke: exit 0" rc_is 0
for kt in rsa ecdsa; do
  check "update after revoke: rev.test/$kt correct" check_cert "$D" rev.test $kt "$LAB/root.pem" rev.test
  check "update after revoke: rev.test/$kt has a new public key" \
    test "$(pubkey_of "$D/rev.test/$kt/cert.pem")" != "${PUB[$kt]}"
  check "update after revoke: rev.test/$kt has a new serial" test "$(serial rev.test $kt)" != "${SER[$kt]}"
  check "update after revoke: new rev.test/$kt valid at the CA" ca_status_is "$(serial rev.test $kt)" "Valid -"
done

echo "== revoke --reason superseded sup.test"
cp "$D/sup.test/ecdsa/cert.pem" "$LAB/sup.cert.pem"
cp "$D/sup.test/ecdsa/chain.pem" "$LAB/sup.chain.pem"
cp "$D/sup.test/ecdsa/keys/key.pem" "$LAB/sup.key.pem"
cp "$D/sup.test/ecdsa/keys/key+cert.pem" "$LAB/sup.key+cert.pem"
REV0=$(tree_hash "$D/rev.test/")
run_certmgr superseded -c "$CFG" revoke --reason superseded sup.test
check "revoke --reason superseded sup.test: exit 0" rc_is 0
check "superseded: line for ecdsa" stdout_has_line revoked sup.test ecdsa "$sup_ser" superseded
check "superseded: one line" stdout_lines 1
check "superseded: Pebble reports reason 4" ca_status_is "$sup_ser" "Revoked 4"
check "superseded: sup.test/ecdsa files gone" live_files_gone sup.test ecdsa
check "superseded: rev.test untouched" test "$(tree_hash "$D/rev.test/")" = "$REV0"
check "superseded: rev.test/rsa still valid at the CA" ca_status_is "$(serial rev.test rsa)" "Valid -"

echo "== a certificate the CA already revoked"
# put the revoked files back into the live tree, as an operator restoring a backup would
mkdir -p "$D/sup.test/ecdsa/keys"
cp "$LAB/sup.cert.pem" "$D/sup.test/ecdsa/cert.pem"
cp "$LAB/sup.chain.pem" "$D/sup.test/ecdsa/chain.pem"
cp "$LAB/sup.key.pem" "$D/sup.test/ecdsa/keys/key.pem"
cp "$LAB/sup.key+cert.pem" "$D/sup.test/ecdsa/keys/key+cert.pem"
run_certmgr already -c "$CFG" revoke --reason keyCompromise sup.test
check "revoke of an already revoked certificate: exit 0" rc_is 0
check "already revoked: reported on stdout" stdout_matches '^\[sup\.test\] ecdsa: .*already revoked'
check "already revoked: the CA keeps reason 4" ca_status_is "$sup_ser" "Revoked 4"

((T_FAIL == 0)) || lab_dump_logs
t_summary
