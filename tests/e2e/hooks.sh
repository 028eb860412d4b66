#!/usr/bin/env bash
# tests/e2e/hooks.sh CERTMGR: hooks and service reloads of `update` (behaviour §5.7, §5.8, §7):
#   every hook point fires after its transaction, in order, once per event, with the stable
#   paths in its fields and CERTMGR_* variables; a value with shell metacharacters stays one
#   literal argument; a failing and a hanging hook do not stop the run or change the exit
#   status; a service used by two changed certificates is reloaded once, none on a no-op run.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/lab/e2e.sh
source "$HERE/../lab/e2e.sh" "$@"

lab_start stable || fail "lab did not start"
# A data_dir whose path holds shell metacharacters, quotes and a newline: it reaches the hooks
# through {file}; if anything ever went through a shell, the canary would appear.
D="$LAB/da ta;\$(touch $LAB/canary)\`touch $LAB/canary2\` 'q\"
x"
CFG=$LAB/certmgr.json
# A root file for rsa next to the config: rsa/cert+root.pem is written, full_certificate_installed
# fires for rsa only.
lab_root_pem "$LAB/root_cert.rsa.pem" || fail "cannot fetch /roots/0"
REC=$LAB/rec
mkdir -p "$REC"
PROBE=$LAB/probe
# Hooks get a scrubbed environment, so the record directory is written into the probe itself.
{
  printf '#!/bin/sh\nREC=%q\n' "$REC"
  cat <<'PROBE_EOF'
# probe TAG ARGS...: appends TAG to $REC/order, its argv (NUL-separated) and CERTMGR_* env to files
n=$(wc -l <"$REC/order" 2>/dev/null || echo 0)
n=$((n + 0))
printf '%s\n' "$1" >>"$REC/order"
printf '%s\0' "$@" >"$REC/$n.argv"
env | grep '^CERTMGR_' | sort >"$REC/$n.env"
cat >"$REC/$n.stdin"
PROBE_EOF
} >"$PROBE"
chmod +x "$PROBE"

HOOKS="{
  \"set_http_challenge\": \"$PROBE set {domain} {file}\",
  \"clear_http_challenge\": \"$PROBE clear {domain} {challenge_file}\",
  \"params_installed\": \"$PROBE params {certificate_name} {params_file}\",
  \"certificate_installed\": [\"$PROBE cert {certificate_name} {key_type} {file}\",
                              {\"args\": [\"/bin/sh\", \"-c\", \"exit 3\"]},
                              {\"args\": [\"/bin/sleep\", \"30\"], \"timeout\": 1}],
  \"full_key_installed\": \"$PROBE fullkey {key_name} {key_type} {full_key_file}\",
  \"full_certificate_installed\": \"$PROBE fullcert {key_type} {full_certificate_file}\",
  \"chain_installed\": \"$PROBE chain {key_type} {chain_file}\",
  \"private_key_installed\": {\"args\": [\"$PROBE\", \"key\", \"{key_type}\", \"{private_key_file}\"],
                              \"input\": \"key of {certificate_name}\\n\"},
  \"certificates_updated\": \"$PROBE updated {certificates}\"
}"
SERVICES="{\"svc\": \"echo reloaded >> $LAB/svc.log\", \"broken\": \"exit 7\"}"
write_config "$CFG" '[
    {"name": "one.test", "alt_names": ["one.test", "www.one.test"], "services": ["svc"]},
    {"name": "two.test", "key_types": ["ecdsa"], "services": ["svc", "broken"]}
  ]'
# data_dir (with its newline), hooks and services go in through a JSON encoder:
"$LAB_PYTHON" - "$CFG" "$HOOKS" "$SERVICES" "$D" <<'PY'
import json, sys
cfg = json.load(open(sys.argv[1]))
cfg["settings"]["data_dir"] = sys.argv[4]
cfg["hooks"] = json.loads(sys.argv[2])
cfg["services"] = json.loads(sys.argv[3])
json.dump(cfg, open(sys.argv[1], "w"), indent=2)
PY

run_certmgr first -c "$CFG" update
check "update with hooks: exit 0 despite failing hooks and service" rc_is 0
check "update with hooks: two summary lines" test "$(line_count "$OUT")" = 2
check "no shell ever ran a field value" test ! -e "$LAB/canary" -a ! -e "$LAB/canary2"
check "failing hook reported on stderr" grep -q 'certificate_installed' "$ERR"
check "hanging hook reported as killed" grep -qi 'killed\|timed out\|timeout' "$ERR"
check "failing service reported on stderr" grep -q 'broken' "$ERR"
check "svc reloaded exactly once for two changed certificates" test "$(cat "$LAB/svc.log")" = reloaded

# argv_of N: the NUL-separated argv of record N as lines with \n escaped
argv_is() { # argv_is N EXPECTED-ARG... : record N's argv (after $0) equals the arguments
  local n=$1
  shift
  cmp -s "$REC/$n.argv" <(printf '%s\0' "$@") || {
    printf '  record %s argv: %s\n' "$n" "$(tr '\0' '|' <"$REC/$n.argv")" >&2
    return 1
  }
}
# one.test: rsa and ecdsa each need an order with 2 names (2 set and 2 clear each), two.test one
# (1 + 1); each commit fires params, then per key type cert, key+cert, chain, key; then updated.
n_set=$(grep -c '^set$' "$REC/order")
n_clear=$(grep -c '^clear$' "$REC/order")
# Pebble's own record of the challenges it validated is the oracle for the count (it may reuse
# an authorization now and then): one set and one clear hook per validated token.
n_tokens=$(grep -o 'Attempting to validate w/ HTTP: [^ ]*' "$PEBBLE_LOG" | sort -u | wc -l)
check "set_http_challenge once per challenge file ($n_set hooks, $n_tokens tokens)" \
  test "$n_set" = "$n_tokens" -a "$n_tokens" -ge 3
check "clear_http_challenge once per challenge file ($n_clear hooks)" test "$n_clear" = "$n_tokens"
file_events=$(grep -v '^set$\|^clear$' "$REC/order" | tr '\n' ' ')
check "file hooks in order after each commit, then certificates_updated once" \
  test "$file_events" = "params cert fullcert fullkey chain key cert fullkey chain key params cert fullkey chain key updated "
# find the records by tag
rec_of() { awk -v t="$1" -v k="$2" '$0 == t { if (++c == k) { print NR - 1; exit } }' "$REC/order"; }
r=$(rec_of cert 1)
check "certificate_installed argv: name, key type, stable path with metacharacters as one argument" \
  argv_is "$r" cert one.test rsa "$D/one.test/rsa/cert.pem"
check "certificate_installed env: CERTMGR_EVENT, NAME, KEY_TYPE, CERT, KEY, CHAIN" \
  grep -qx "CERTMGR_EVENT=certificate_installed" "$REC/$r.env"
check "env CERTMGR_CERT is the stable path" grep -qxF "CERTMGR_CERT=$D/one.test/rsa/cert.pem" <(tr '\n' '\001' <"$REC/$r.env" | sed 's/\x01\([A-Z_]*=\)/\n\1/g')
check "env CERTMGR_KEY_TYPE" grep -qx "CERTMGR_KEY_TYPE=rsa" "$REC/$r.env"
r=$(rec_of fullcert 1)
check "full_certificate_installed argv" argv_is "$r" fullcert rsa "$D/one.test/rsa/cert+root.pem"
root_is_last_cert() { # cert+root.pem = cert.pem's leaf and chain, then the root, then params
  cmp -s <(openssl crl2pkcs7 -nocrl -certfile "$D/one.test/rsa/cert+root.pem" | openssl pkcs7 -print_certs | grep -c BEGIN) <(echo 3) &&
    grep -qF "$(sed -n 2p "$LAB/root_cert.rsa.pem")" "$D/one.test/rsa/cert+root.pem"
}
check "rsa/cert+root.pem holds leaf, intermediate and root" root_is_last_cert
check "no ecdsa/cert+root.pem without root_cert.ecdsa.pem" test ! -e "$D/one.test/ecdsa/cert+root.pem"
r=$(rec_of key 1)
check "private_key_installed object form: argv" argv_is "$r" key rsa "$D/one.test/rsa/keys/key.pem"
check "private_key_installed: input template on stdin" test "$(cat "$REC/$r.stdin")" = "key of one.test"
r=$(rec_of params 1)
check "params_installed argv" argv_is "$r" params one.test "$D/one.test/params.pem"
r=$(rec_of updated 1)
check "certificates_updated argv: sorted JSON array" argv_is "$r" updated '["one.test", "two.test"]'
r=$(rec_of set 1)
set_file=$(tr '\0' '\n' <"$REC/$r.argv" | sed -n 3p)
check "set_http_challenge file is inside the challenge dir" test "$(dirname "$set_file")" = "$CHALLENGE_DIR"
check "no hook received a generation path" bash -c "! grep -rq '.generations' '$REC'"

echo "== no-op run: no hooks, no reloads"
: >"$REC/order"
rm -f "$LAB/svc.log"
run_certmgr second -c "$CFG" update
check "no-op run: exit 0" rc_is 0
check "no-op run: silent" is_empty "$OUT"
check "no-op run: silent on stderr" is_empty "$ERR"
check "no-op run: no hook ran" test ! -s "$REC/order"
check "no-op run: no service reloaded" test ! -e "$LAB/svc.log"

((T_FAIL == 0)) || lab_dump_logs
t_summary
