#!/usr/bin/env bash
# tests/e2e/sct.sh CERTMGR: the SCT step of `update` (issue 6) against tests/lab/ct_log.py, a tiny
# RFC 6962 log: each key type gets <kt>/scts/<log>.sct, an SCT that parses and whose signature
# verifies with the log key over the certificate (checked here with python3-cryptography, not by
# certmgr); the add-chain URL keeps the log URL's path prefix [B32]; a second run keeps the files
# silently; a log answering with a bad signature or garbage is a warning with no file and exit 0;
# a shard whose [start, end) window does not hold the certificate's notAfter is not asked.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/lab/e2e.sh
source "$HERE/../lab/e2e.sh" "$@"

e2e_lab stable
export CHECK_RSA_BITS=2048 CHECK_EC_CURVE=prime256v1
NAME=sct.test

# start_log TAG MODE PREFIX...: ct_log.py in MODE on a free port answering under each PREFIX;
# sets <TAG>_PORT, <TAG>_KEY (base64 SPKI), <TAG>_ID (base64 log id); requests in $LAB/ct-TAG.req
start_log() {
  local tag=$1 mode=$2 port pid i args=()
  shift 2
  for i in "$@"; do args+=(--prefix "$i"); done
  port=$(free_port) || fail "no free port for the $tag log"
  "$LAB_PYTHON" "$HERE/../lab/ct_log.py" --port "$port" --mode "$mode" "${args[@]}" \
    --key-out "$LAB/ct-$tag.key" --id-out "$LAB/ct-$tag.id" --requests "$LAB/ct-$tag.req" \
    >"$LAB/ct-$tag.log" 2>&1 &
  pid=$!
  lab_track_pid "$pid"
  for ((i = 0; i < 150; i++)); do
    [[ -s $LAB/ct-$tag.id ]] && break
    kill -0 "$pid" 2>/dev/null || { cat "$LAB/ct-$tag.log" >&2; fail "the $tag log did not start"; }
    sleep 0.1
  done
  [[ -s $LAB/ct-$tag.id ]] || fail "the $tag log is not ready"
  : >>"$LAB/ct-$tag.req"
  printf -v "${tag}_PORT" '%s' "$port"
  printf -v "${tag}_KEY" '%s' "$(tr -d '\n' <"$LAB/ct-$tag.key")"
  printf -v "${tag}_ID" '%s' "$(tr -d '\n' <"$LAB/ct-$tag.id")"
}

# log_entry TAG PATH [START END]: one ct_logs shard object for the TAG log under PATH
log_entry() {
  local port key id window=""
  port=${1}_PORT key=${1}_KEY id=${1}_ID
  [[ -n ${3:-} ]] && window=", \"start\": \"$3\", \"end\": \"$4\""
  printf '{"url": "http://127.0.0.1:%s%s", "log_id": "%s", "key": "%s"%s}' \
    "${!port}" "$2" "${!id}" "${!key}" "$window"
}

# config SUBMIT_LOGS_JSON CT_LOGS_JSON: one certificate (rsa + ecdsa), the logs at the top level
config() {
  write_config "$CFG" "[$(cert_json "$NAME" '["rsa", "ecdsa"]')]" "\"ct_submit_logs\": $1"
  "$LAB_PYTHON" - "$CFG" "$2" <<'EOF' || fail "cannot add ct_logs to the config"
import json, sys
cfg = json.load(open(sys.argv[1]))
cfg["ct_logs"] = json.loads(sys.argv[2])
json.dump(cfg, open(sys.argv[1], "w"), indent=2)
EOF
}

# sct_ok KT LOG TAG: <kt>/scts/<LOG>.sct is one RFC 6962 v1 SCT of the TAG log whose signature
# verifies with its key over the x509_entry of <kt>/cert.pem's leaf, timestamp not in the future
sct_ok() {
  local key=${3}_KEY id=${3}_ID
  "$LAB_PYTHON" - "$D/$NAME/$1/scts/$2.sct" "$D/$NAME/$1/cert.pem" "${!key}" "${!id}" <<'EOF'
import base64, struct, sys, time
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
sct_file, cert_file, key_b64, id_b64 = sys.argv[1:5]
def bad(why):
    print(f"  {sct_file}: {why}", file=sys.stderr); sys.exit(1)
try:
    b = open(sct_file, "rb").read()
except OSError as e:
    bad(e)
if len(b) < 47 or b[0] != 0: bad("not a v1 SCT")
log_id, (ts, ext_len) = b[1:33], struct.unpack(">QH", b[33:43])
ext = b[43:43 + ext_len]
rest = b[43 + ext_len:]
if len(rest) < 4: bad("truncated")
hash_alg, sig_alg, sig_len = rest[0], rest[1], struct.unpack(">H", rest[2:4])[0]
sig = rest[4:]
if (hash_alg, sig_alg) != (4, 3): bad(f"signature algorithm {hash_alg},{sig_alg}, expected 4,3")
if len(sig) != sig_len: bad(f"signature length {sig_len} but {len(sig)} bytes follow")
if log_id != base64.b64decode(id_b64): bad("log id is not the log's")
if ts > time.time() * 1000 + 300000: bad("timestamp in the future")
pem = open(cert_file).read()
start = pem.index("-----BEGIN CERTIFICATE-----")
leaf = x509.load_pem_x509_certificate(pem[start:pem.index("-----END CERTIFICATE-----") + 25].encode())
der = leaf.public_bytes(serialization.Encoding.DER)
data = struct.pack(">BBQH", 0, 0, ts, 0) + len(der).to_bytes(3, "big") + der + struct.pack(">H", ext_len) + ext
key = serialization.load_der_public_key(base64.b64decode(key_b64))
try:
    key.verify(sig, data, ec.ECDSA(hashes.SHA256()))
except Exception:
    bad("signature does not verify with the log key over the certificate")
EOF
}

# requests TAG [PATH]: add-chain requests the TAG log answered (under PATH only, when given)
requests() {
  if [[ -n ${2:-} ]]; then lab_count "$LAB/ct-$1.req" "^POST $2/ct/v1/add-chain "; else line_count "$LAB/ct-$1.req"; fi
}
# chains_complete TAG: every request of the TAG log carried leaf + intermediate (2 or more)
chains_complete() { awk '$3 < 2 { bad = 1 } END { exit bad }' "$LAB/ct-$1.req"; }
# same_sum FILE SUM: FILE exists and its sha256sum output is SUM
same_sum() { [[ -f $1 && $(sha256sum <"$1") == "$2" ]] || { printf '  %s missing or changed\n' "$1" >&2; return 1; }; }
# only_about_old FILE: every line of FILE names the log "old" (a warning that it has no shard for
# the certificate is allowed, none about another log)
only_about_old() { ! grep -v -- ' old ' "$1" >/dev/null || { show_run; return 1; }; }
no_file() { [[ ! -e $1 ]] || { printf '  %s exists\n' "$1" >&2; return 1; }; }
mentions() { grep -q -- "$2" "$1" || { printf '  %s does not mention %s\n' "$1" "$2" >&2; show_run; return 1; }; }

# The step must exist (issue 6): `update --sct`.
"$CERTMGR" update --help 2>&1 | grep -q -- '--sct' || fail "certmgr update has no --sct"

start_log good ok /prefix /old /shard
start_log badsig bad-signature /
start_log garbage garbage /

# ---------------------------------------------------------------- one good log
config '["testlog"]' "{\"testlog\": $(log_entry good /prefix)}"
run_certmgr first -c "$CFG" update
check "update with one CT log: exit 0" rc_is 0
check "update with one CT log: no warning" is_empty "$ERR"
for kt in rsa ecdsa; do
  check "$kt: files consistent" check_cert "$D" "$NAME" "$kt" "$LAB/root.pem" "$NAME"
  check "$kt: scts/testlog.sct is an SCT of the log, verifying over the certificate" sct_ok "$kt" testlog good
  check "$kt: scts/testlog.sct is 0644" mode_is 644 "$D/$NAME/$kt/scts/testlog.sct"
done
check "one add-chain per key type, at <url>/ct/v1/add-chain [B32]" test "$(requests good /prefix)" = 2
check "no other request reached the log (no doubled slash)" test "$(requests good)" = 2
check "the chain sent holds the leaf and its intermediate" chains_complete good
sum_rsa=$(sha256sum <"$D/$NAME/rsa/scts/testlog.sct")
sum_ec=$(sha256sum <"$D/$NAME/ecdsa/scts/testlog.sct")

run_certmgr second -c "$CFG" update
check "second run: exit 0" rc_is 0
check "second run: silent (stdout)" is_empty "$OUT"
check "second run: silent (stderr)" is_empty "$ERR"
check "second run: rsa SCT kept" same_sum "$D/$NAME/rsa/scts/testlog.sct" "$sum_rsa"
check "second run: ecdsa SCT kept" same_sum "$D/$NAME/ecdsa/scts/testlog.sct" "$sum_ec"

run_certmgr sctonly -c "$CFG" update --sct
check "update --sct: exit 0" rc_is 0
check "update --sct: silent" is_empty "$ERR"
check "update --sct: SCT kept" same_sum "$D/$NAME/rsa/scts/testlog.sct" "$sum_rsa"

# ---------------------------------------------------------------- failing logs: warnings only
for pair in "badsig:bad-signature" "garbage:garbage"; do
  tag=${pair%%:*} mode=${pair#*:} port_var=${pair%%:*}_PORT
  config "[\"testlog\", \"$tag\"]" \
    "{\"testlog\": $(log_entry good /prefix), \"$tag\": $(log_entry "$tag" /)}"
  before=$(requests "$tag")
  run_certmgr "fail-$tag" -c "$CFG" update
  check "$mode log: exit 0" rc_is 0
  check "$mode log: asked once per key type" test "$(($(requests "$tag") - before))" = 2
  check "$mode log: a warning on stderr" test -s "$ERR"
  check "$mode log: the warning names the log's URL" mentions "$ERR" "127.0.0.1:${!port_var}/ct/v1/add-chain"
  for kt in rsa ecdsa; do
    check "$mode log: no $kt/scts/$tag.sct" no_file "$D/$NAME/$kt/scts/$tag.sct"
  done
  check "$mode log: the good SCT is untouched" same_sum "$D/$NAME/rsa/scts/testlog.sct" "$sum_rsa"
done

# ---------------------------------------------------------------- shards by notAfter
# "old": its only shard ended long before the certificate's notAfter: never asked, no file.
# "sharded": the 2000 shard is skipped, the shard holding notAfter is asked.
config '["testlog", "old", "sharded"]' "{\"testlog\": $(log_entry good /prefix),
  \"old\": [$(log_entry good /old 2000-01-01T00:00:00Z 2001-01-01T00:00:00Z)],
  \"sharded\": [$(log_entry good /old 2000-01-01T00:00:00Z 2001-01-01T00:00:00Z),
                $(log_entry good /shard 2001-01-01T00:00:00Z 2200-01-01T00:00:00Z)]}"
run_certmgr shards -c "$CFG" update
check "shards: exit 0" rc_is 0
check "shards: nothing on stderr but (optionally) that log old has no shard" only_about_old "$ERR"
check "shards: the shard outside notAfter is never asked" test "$(requests good /old)" = 0
for kt in rsa ecdsa; do
  check "shards: no $kt/scts/old.sct" no_file "$D/$NAME/$kt/scts/old.sct"
  check "shards: $kt/scts/sharded.sct from the shard holding notAfter" sct_ok "$kt" sharded good
done
check "shards: the matching shard asked once per key type" test "$(requests good /shard)" = 2

((T_FAIL == 0)) || { lab_dump_logs; tail -n 20 "$LAB"/ct-*.log >&2; }
t_summary
