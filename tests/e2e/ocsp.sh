#!/usr/bin/env bash
# tests/e2e/ocsp.sh CERTMGR: the OCSP step of `update` (issue 6) against Pebble certificates whose
# AIA names an `openssl ocsp` responder of the lab (signing with Pebble's intermediate key):
# good responses stored as <kt>/ocsp.der and kept while fresh; a revoked certificate re-issued
# with a new key; a response signed by a stranger or with status unknown stored nowhere; no AIA
# URL → no file, no request; ocsp_responder_urls used when the AIA has none. Every check uses
# openssl as the oracle.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/lab/e2e.sh
source "$HERE/../lab/e2e.sh" "$@"
export CHECK_RSA_BITS=2048 CHECK_EC_CURVE=prime256v1

NAME=ocsp.test

cert() { printf '%s/%s/%s/cert.pem' "$D" "$NAME" "$1"; }
der() { printf '%s/%s/%s/ocsp.der' "$D" "$NAME" "$1"; }
serial() { openssl x509 -in "$(cert "$1")" -noout -serial | cut -d= -f2; }
pubkey() { openssl x509 -in "$(cert "$1")" -noout -pubkey; }
# ocsp_status KT: "good"/"revoked"/"unknown" when <kt>/ocsp.der verifies (issuer-signed, for the
# current leaf, valid now) according to `openssl ocsp`; prints the failure otherwise
ocsp_status() {
  local out leaf="$LAB/leaf-$1.pem"
  [[ -f $(der "$1") ]] || { printf '  %s: missing\n' "$(der "$1")" >&2; return 1; }
  openssl x509 -in "$(cert "$1")" -out "$leaf" || return 1
  out=$(openssl ocsp -respin "$(der "$1")" -issuer "$LAB/int.pem" -VAfile "$LAB/int.pem" \
    -cert "$leaf" -no_nonce 2>&1)
  if [[ $out != *"Response verify OK"* ]]; then
    printf '  openssl ocsp: %s\n' "$(oneline "$out")" >&2
    return 1
  fi
  sed -n "s|^$leaf: \([a-z]*\)$|\1|p" <<<"$out"
}
ocsp_good() {
  local s
  s=$(ocsp_status "$1") || return 1
  [[ $s == good ]] || { printf '  %s: status %s\n' "$(der "$1")" "$s" >&2; return 1; }
}
not() { ! "$@"; }
no_der() { [[ ! -e $(der "$1") ]] || { printf '  %s exists\n' "$(der "$1")" >&2; return 1; }; }
mode_0644() { mode_is 644 "$(der "$1")"; }
# err_has TEXT: stderr of the last run mentions TEXT (case-insensitive)
err_has() { grep -qi -- "$1" "$ERR" || { printf '  stderr lacks "%s"\n' "$1" >&2; show_run; return 1; }; }
# ocsp_requests: number of requests the current responder log shows
ocsp_requests() { lab_count "$LAB/ocsp-$OCSP_PORT.log" 'Received request'; }
# index LINES...: the responder's index (each argument one line)
index() {
  if (($#)); then printf '%s\n' "$@" >"$LAB/index.txt"; else : >"$LAB/index.txt"; fi
}
responder() { # responder [RSIGNER RKEY [ARGS...]]: (re)start on $OCSP_PORT with the current index
  lab_ocsp_stop
  lab_ocsp_start "$OCSP_PORT" "$LAB/index.txt" "${1:-$LAB/int.pem}" "${2:-$LAB/int.key}" \
    "$LAB/int.pem" "${@:3}" || fail "OCSP responder did not start"
}
# strip_ocsp: remove the stored responses, as if they had never been fetched
strip_ocsp() { rm -f -- "$(der rsa)" "$(der ecdsa)"; }

# ---------------------------------------------------------------- a lab without OCSP URL
unset LAB_OCSP_URL
e2e_lab stable
lab_intermediate_pem "$LAB/int.pem" || fail "cannot fetch /intermediates/0"
write_config "$CFG" "[$(cert_json "$NAME")]"
run_certmgr plain -c "$CFG" update
check "no AIA OCSP URL: exit 0" rc_is 0
check "no AIA OCSP URL: the certificates are issued" test -s "$(cert ecdsa)"
check "no AIA OCSP URL: no ocsp.der (rsa)" no_der rsa
check "no AIA OCSP URL: no ocsp.der (ecdsa)" no_der ecdsa
check "no AIA OCSP URL: stderr empty (no warning, no request)" is_empty "$ERR"
run_certmgr plain2 -c "$CFG" update --ocsp
check "no AIA OCSP URL, update --ocsp: exit 0, silent" rc_is 0
check "no AIA OCSP URL, update --ocsp: stdout empty" is_empty "$OUT"
check "no AIA OCSP URL, update --ocsp: stderr empty" is_empty "$ERR"

# ocsp_responder_urls is used when the certificate names no responder
curl -fsS --cacert "$CA_BUNDLE" -o "$LAB/int.key" "$MGMT_URL/intermediate-keys/0" ||
  fail "cannot fetch /intermediate-keys/0"
OCSP_PORT=$(free_port) || fail "no free port"
index "$(lab_ocsp_index_line V "$(serial rsa)")" "$(lab_ocsp_index_line V "$(serial ecdsa)")"
responder
write_config "$CFG" "[$(cert_json "$NAME")]" \
  "\"ocsp_responder_urls\": [\"http://127.0.0.1:$OCSP_PORT/\"]"
run_certmgr configured -c "$CFG" update
check "ocsp_responder_urls: exit 0" rc_is 0
check "ocsp_responder_urls: rsa ocsp.der good" ocsp_good rsa
check "ocsp_responder_urls: ecdsa ocsp.der good" ocsp_good ecdsa
check "ocsp_responder_urls: stderr empty" is_empty "$ERR"
lab_ocsp_stop
lab_stop

# ---------------------------------------------------------------- a lab whose certificates name a responder
OCSP_PORT=$(free_port) || fail "no free port"
export LAB_OCSP_URL="http://127.0.0.1:$OCSP_PORT/"
e2e_lab stable
lab_intermediate_pem "$LAB/int.pem" || fail "cannot fetch /intermediates/0"
curl -fsS --cacert "$CA_BUNDLE" -o "$LAB/int.key" "$MGMT_URL/intermediate-keys/0" ||
  fail "cannot fetch /intermediate-keys/0"
write_config "$CFG" "[$(cert_json "$NAME")]"

run_certmgr certs -c "$CFG" update --certs
check "update --certs: exit 0" rc_is 0
check "update --certs: no ocsp.der yet" no_der ecdsa
aia=$(openssl x509 -in "$(cert ecdsa)" -noout -ocsp_uri)
check "the lab's certificates carry the responder URL" test "$aia" = "$LAB_OCSP_URL"
RSA=$(serial rsa) EC=$(serial ecdsa)

# good responses are stored
index "$(lab_ocsp_index_line V "$RSA")" "$(lab_ocsp_index_line V "$EC")"
responder
run_certmgr good -c "$CFG" update
check "good: exit 0" rc_is 0
check "good: rsa ocsp.der verifies with openssl, status good" ocsp_good rsa
check "good: ecdsa ocsp.der verifies with openssl, status good" ocsp_good ecdsa
check "good: ocsp.der mode 0644 (rsa)" mode_0644 rsa
check "good: ocsp.der mode 0644 (ecdsa)" mode_0644 ecdsa
check "good: stderr empty" is_empty "$ERR"
check "good: files consistent" check_cert "$D" "$NAME" ecdsa "$LAB/root.pem" "$NAME"
cp "$(der rsa)" "$LAB/rsa.der.1"
cp "$(der ecdsa)" "$LAB/ecdsa.der.1"

# a fresh stored response is kept: same bytes, nothing said, no request
req0=$(ocsp_requests)
run_certmgr keep -c "$CFG" update
check "keep: exit 0" rc_is 0
check "keep: rsa ocsp.der unchanged" cmp -s "$(der rsa)" "$LAB/rsa.der.1"
check "keep: ecdsa ocsp.der unchanged" cmp -s "$(der ecdsa)" "$LAB/ecdsa.der.1"
check "keep: stdout empty" is_empty "$OUT"
check "keep: stderr empty" is_empty "$ERR"
check "keep: no OCSP request" test "$(ocsp_requests)" = "$req0"

# a responder signing with a key of its own: rejected, nothing written, a warning
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj "/CN=rogue" \
  -addext "extendedKeyUsage=OCSPSigning" -keyout "$LAB/rogue.key" -out "$LAB/rogue.pem" \
  >/dev/null 2>&1 || fail "cannot make the rogue responder certificate"
strip_ocsp
responder "$LAB/rogue.pem" "$LAB/rogue.key"
req0=$(ocsp_requests)
run_certmgr rogue -c "$CFG" update
check "wrong signer: exit 0 (a warning)" rc_is 0
check "wrong signer: the responder was asked" test "$(ocsp_requests)" -gt "$req0"
check "wrong signer: no rsa ocsp.der" no_der rsa
check "wrong signer: no ecdsa ocsp.der" no_der ecdsa
check "wrong signer: a warning naming the failed signature" err_has "signature does not verify"
check "wrong signer: no re-issue" test "$(serial rsa)" = "$RSA"

# a responder that does not know the serials (status unknown): nothing written
index
responder
run_certmgr unknown -c "$CFG" update
check "unknown: exit 0" rc_is 0
check "unknown: no rsa ocsp.der" no_der rsa
check "unknown: no ecdsa ocsp.der" no_der ecdsa
check "unknown: a warning naming the rsa serial" err_has "$RSA"
check "unknown: a warning naming the ecdsa serial" err_has "$EC"
check "unknown: no re-issue" test "$(serial ecdsa)" = "$EC"

# good again: the missing files are fetched; responses now valid for one minute only
index "$(lab_ocsp_index_line V "$RSA")" "$(lab_ocsp_index_line V "$EC")"
responder "$LAB/int.pem" "$LAB/int.key" -nmin 1
run_certmgr good2 -c "$CFG" update
fetched=$SECONDS
check "good again: exit 0" rc_is 0
check "good again: rsa ocsp.der good" ocsp_good rsa
check "good again: ecdsa ocsp.der good" ocsp_good ecdsa

# the rsa certificate revoked: once half of the stored responses' minute has passed they are
# replaced; the revocation is reported loudly and rsa re-issued with a new key; ecdsa untouched
# but for its new response
rsa_key=$(pubkey rsa)
cp "$(der ecdsa)" "$LAB/ecdsa.der.2"
index "$(lab_ocsp_index_line R "$RSA" keyCompromise)" "$(lab_ocsp_index_line V "$EC")"
responder
wait_s=$((fetched + 32 - SECONDS))
((wait_s > 0)) && sleep "$wait_s"
run_certmgr revoked -c "$CFG" update
printf '  (revoked run: exit %s)\n' "$RC"
check "revoked: stderr says revoked" err_has "revoked"
check "revoked: stderr names the certificate" err_has "$NAME"
check "revoked: rsa re-issued (new serial)" test "$(serial rsa)" != "$RSA"
check "revoked: rsa re-issued with a new key" test "$(pubkey rsa)" != "$rsa_key"
check "revoked: rsa files consistent" check_cert "$D" "$NAME" rsa "$LAB/root.pem" "$NAME"
check "revoked: ecdsa not re-issued" test "$(serial ecdsa)" = "$EC"
check "revoked: ecdsa ocsp.der replaced half-way through its validity" \
  not cmp -s "$(der ecdsa)" "$LAB/ecdsa.der.2"
check "revoked: ecdsa ocsp.der good" ocsp_good ecdsa
# the old response is for the old certificate: it must not stay next to the new one
if [[ -e $(der rsa) ]]; then
  check "revoked: an rsa ocsp.der left is good for the new certificate" ocsp_good rsa
else
  t_pass "revoked: no rsa ocsp.der for the new certificate (unknown to the responder)"
fi

# the new rsa certificate becomes known: its response is fetched
index "$(lab_ocsp_index_line R "$RSA" keyCompromise)" "$(lab_ocsp_index_line V "$(serial rsa)")" \
  "$(lab_ocsp_index_line V "$EC")"
responder
run_certmgr after -c "$CFG" update
check "after re-issue: exit 0" rc_is 0
check "after re-issue: rsa ocsp.der good for the new certificate" ocsp_good rsa
check "after re-issue: stderr empty" is_empty "$ERR"

((T_FAIL == 0)) || lab_dump_logs
t_summary
