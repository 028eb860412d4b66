#!/usr/bin/env bash
# tests/e2e/passphrase.sh CERTMGR: encrypted private keys.
#   account.passphrase and key_passphrase as strings give encrypted PKCS#8 keys that openssl
#   decrypts with that passphrase (account key, keys/key.pem, the key in keys/key+cert.pem); a run
#   with nothing to do stays silent; changing key_passphrase to another string without the old one
#   at run time fails with one line and writes nothing, with the old one (CERTMGR_PASSPHRASE)
#   re-encrypts in place without re-issuing; the same holds for the account key; false writes
#   the keys in clear; true takes --pass-file, and fails before writing anything with no
#   passphrase source and no terminal; the run-time passphrase never shows in the log, the
#   output, a hook's argv/environment/stdin or its parent's argv, and CERTMGR_PASSPHRASE is not
#   passed on to hooks.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/lab/e2e.sh
source "$HERE/../lab/e2e.sh" "$@"

e2e_lab stable
unset CERTMGR_PASSPHRASE
export CHECK_RSA_BITS=2048 CHECK_EC_CURVE=prime256v1
KTS=(rsa ecdsa)
PW=$LAB/pw # one file per passphrase, for openssl -passin file:
mkdir -p "$PW"
for p in acct-pass-1 acct-pass-2 acct-wrong key-pass-1 key-pass-2; do printf '%s\n' "$p" >"$PW/$p"; done
CANARY="canary-$RANDOM$RANDOM-XyZ"
CANARY_FILE=$LAB/canary.pass
printf '%s\n' "$CANARY" >"$CANARY_FILE"

# A hook that records what a hook can see: its own argv, its environment, its stdin and its
# parent's argv.  Hooks get a scrubbed environment, so the dump directory is written into it.
HD=$LAB/hookdump
mkdir -p "$HD"
DUMP=$LAB/dump-hook
{
  printf '#!/bin/sh\nDIR=%q\n' "$HD"
  cat <<'HOOK_EOF'
n="$(date +%s%N)-$$"
tr '\0' '\n' <"/proc/$$/cmdline" >"$DIR/$n.self"
env >"$DIR/$n.env"
tr '\0' '\n' <"/proc/$PPID/cmdline" >"$DIR/$n.parent"
timeout 2 cat >"$DIR/$n.stdin"
exit 0
HOOK_EOF
} >"$DUMP"
chmod +x "$DUMP"
HOOKS="{\"private_key_installed\": {\"args\": [\"$DUMP\", \"key\", \"{key_type}\", \"{private_key_file}\"]},
        \"certificate_installed\": {\"args\": [\"$DUMP\", \"cert\", \"{key_type}\", \"{file}\"]}}"

# pconfig ACCOUNT_PASS KEY_PASS [HOOKS] [FRESH]: the config with pp.test (rsa, ecdsa); the
# passphrases are JSON values (null, false, true, "string"); HOOKS=1 adds the dump hooks;
# FRESH=1 adds fresh.test (ecdsa, key_passphrase true), never issued before.
pconfig() {
  write_config "$CFG" "[$(cert_json pp.test)]"
  "$LAB_PYTHON" - "$CFG" "$1" "$2" "${3:-0}" "${4:-0}" "$HOOKS" <<'PY' || fail "cannot write the config"
import json, sys
path, acct, key, hooks, fresh, hooks_json = sys.argv[1:7]
cfg = json.load(open(path))
cfg["account"]["passphrase"] = json.loads(acct)
cfg["certificates"][0]["key_passphrase"] = json.loads(key)
if fresh == "1":
    cfg["certificates"].append({"name": "fresh.test", "key_types": ["ecdsa"], "key_passphrase": True})
if hooks == "1":
    cfg["hooks"] = json.loads(hooks_json)
json.dump(cfg, open(path, "w"), indent=2)
PY
}

serial() { openssl x509 -in "$D/pp.test/$1/cert.pem" -noout -serial 2>/dev/null | cut -d= -f2; }
cert_pub() { openssl x509 -in "$D/pp.test/$1/cert.pem" -noout -pubkey 2>/dev/null; }
# enc_pub KEYFILE PASSFILE: the public key of an encrypted key
enc_pub() { openssl pkey -in "$1" -passin "file:$2" -pubout 2>/dev/null; }
first_line() { local l; IFS= read -r l <"$1"; printf '%s\n' "$l"; }
# encrypted_with KEYFILE PASSFILE: an encrypted PKCS#8 PEM that PASSFILE decrypts and an empty
# passphrase does not
encrypted_with() {
  local k=$1 p=$2
  [[ -f $k ]] || { printf '  %s: missing\n' "$k" >&2; return 1; }
  [[ $(first_line "$k") == "-----BEGIN ENCRYPTED PRIVATE KEY-----" ]] ||
    { printf '  %s: first line "%s"\n' "$k" "$(first_line "$k")" >&2; return 1; }
  openssl pkey -in "$k" -passin "file:$p" -noout >/dev/null 2>&1 ||
    { printf '  %s: openssl cannot decrypt it with %s\n' "$k" "${p##*/}" >&2; return 1; }
  if openssl pkey -in "$k" -passin pass: -noout >/dev/null 2>&1; then
    printf '  %s: decrypts without a passphrase\n' "$k" >&2; return 1
  fi
}
# not_decrypted_by KEYFILE PASSFILE
not_decrypted_by() {
  if openssl pkey -in "$1" -passin "file:$2" -noout >/dev/null 2>&1; then
    printf '  %s still decrypts with %s\n' "$1" "${2##*/}" >&2; return 1
  fi
}
# cert_keys_ok KT PASSFILE: keys/key.pem encrypted with PASSFILE and matching cert.pem;
# keys/key+cert.pem starts with exactly that encrypted key; the chain verifies
cert_keys_ok() {
  local kt=$1 p=$2 dir=$D/pp.test/$1 rc=0 out
  encrypted_with "$dir/keys/key.pem" "$p" || return 1
  [[ -n $(cert_pub "$kt") && $(enc_pub "$dir/keys/key.pem" "$p") == "$(cert_pub "$kt")" ]] ||
    { printf '  %s: keys/key.pem does not match cert.pem\n' "$kt" >&2; rc=1; }
  cmp -s <(head -c "$(stat -c %s "$dir/keys/key.pem")" "$dir/keys/key+cert.pem") "$dir/keys/key.pem" ||
    { printf '  %s: keys/key+cert.pem does not start with keys/key.pem\n' "$kt" >&2; rc=1; }
  out=$(openssl verify -CAfile "$LAB/root.pem" -untrusted "$dir/chain.pem" "$dir/cert.pem" 2>&1)
  [[ $out == *": OK" ]] || { printf '  %s: openssl verify: %s\n' "$kt" "$(oneline "$out")" >&2; rc=1; }
  return $rc
}
# err_one_line_with ERE: stderr of the last run is exactly one line, matching ERE
err_one_line_with() {
  [[ $(line_count "$ERR") == 1 ]] && grep -Eq -- "$1" "$ERR" && return 0
  printf '  expected one stderr line matching /%s/\n' "$1" >&2
  show_run
  return 1
}
# run_no_source TAG ARGS...: certmgr with no passphrase in the environment, stdin /dev/null and,
# through setsid when available, no controlling terminal
run_no_source() {
  local tag=$1
  shift
  local dir=${RUN_DIR:-$LAB/runs} pre=()
  mkdir -p "$dir"
  OUT=$dir/$tag.out
  ERR=$dir/$tag.err
  RC=0
  command -v setsid >/dev/null && pre=(setsid -w)
  "${pre[@]}" env -u CERTMGR_PASSPHRASE timeout -k 5 "${CERTMGR_TIMEOUT:-300}" "$CERTMGR" "$@" \
    >"$OUT" 2>"$ERR" </dev/null || RC=$?
  printf '%s\n' "$RC" >"$dir/$tag.rc"
}
# no_secret_in FILE...: none of the configured string passphrases appears in FILE
no_secret_in() {
  local f p rc=0
  for f in "$@"; do
    for p in acct-pass-1 acct-pass-2 acct-wrong key-pass-1 key-pass-2 "$CANARY"; do
      if grep -qF -- "$p" "$f"; then printf '  %s contains a passphrase\n' "$f" >&2; rc=1; fi
    done
  done
  return $rc
}

echo "== (a) string passphrases"
pconfig '"acct-pass-1"' '"key-pass-1"'
run_certmgr a -c "$CFG" update
check "(a) update: exit 0" rc_is 0
check "(a) update: stderr empty" is_empty "$ERR"
AKS=("$D"/account/*/client.key)
AK=${AKS[0]}
check "(a) one account key under account/<label>/client.key" test "${#AKS[@]}" = 1 -a -f "$AK"
check "(a) account key encrypted with the account passphrase" encrypted_with "$AK" "$PW/acct-pass-1"
APUB=$(enc_pub "$AK" "$PW/acct-pass-1")
REG=$(dirname "$AK")/registration.json
cp "$REG" "$LAB/reg.before"
declare -A SER PUB
for kt in "${KTS[@]}"; do
  check "(a) $kt: keys encrypted with key_passphrase, matching, key+cert starts with the key" \
    cert_keys_ok "$kt" "$PW/key-pass-1"
  SER[$kt]=$(serial "$kt")
  PUB[$kt]=$(cert_pub "$kt")
done
check "(a) no passphrase in the log" no_secret_in "$LAB/certmgr.log"

echo "== (b) nothing to do"
run_certmgr b -c "$CFG" update
check "(b) no-op run: exit 0" rc_is 0
check "(b) no-op run: stdout empty" is_empty "$OUT"
check "(b) no-op run: stderr empty" is_empty "$ERR"
check "(b) rsa not re-issued" test "$(serial rsa)" = "${SER[rsa]}"
check "(b) rsa key still readable" cert_keys_ok rsa "$PW/key-pass-1"

echo "== (c) key_passphrase changed, old one not given"
pconfig '"acct-pass-1"' '"key-pass-2"'
T0=$(tree_hash "$D")
run_certmgr c -c "$CFG" update
check "(c) changed key_passphrase without the old one: exit 1" rc_is 1
check "(c) one stderr line for pp.test naming the key file" err_one_line_with '^\[pp\.test\] .*key\.pem'
check "(c) the error does not quote a passphrase" no_secret_in "$ERR" "$OUT" "$LAB/certmgr.log"
check "(c) nothing written" test "$(tree_hash "$D")" = "$T0"

echo "== (d) the same change with the old passphrase at run time"
CERTMGR_PASSPHRASE=key-pass-1 run_certmgr d -c "$CFG" update
check "(d) CERTMGR_PASSPHRASE=<old>: exit 0" rc_is 0
for kt in "${KTS[@]}"; do
  check "(d) $kt: re-encrypted with the new passphrase" cert_keys_ok "$kt" "$PW/key-pass-2"
  check "(d) $kt: the old passphrase no longer opens it" not_decrypted_by "$D/pp.test/$kt/keys/key.pem" "$PW/key-pass-1"
  check "(d) $kt: same serial (not re-issued)" test "$(serial "$kt")" = "${SER[$kt]}"
  check "(d) $kt: same public key" test "$(cert_pub "$kt")" = "${PUB[$kt]}"
done
check "(d) account key untouched" encrypted_with "$AK" "$PW/acct-pass-1"

echo "== (c2) wrong account passphrase"
pconfig '"acct-wrong"' '"key-pass-2"'
T0=$(tree_hash "$D")
run_certmgr c2 -c "$CFG" update --force
check "(c2) wrong account passphrase (update --force): exit 1" rc_is 1
check "(c2) one stderr line about the account key" err_one_line_with 'passphrase|decrypt|client\.key|account'
check "(c2) the error does not quote a passphrase" no_secret_in "$ERR" "$OUT"
check "(c2) nothing written" test "$(tree_hash "$D")" = "$T0"
check "(c2) not re-issued" test "$(serial rsa)" = "${SER[rsa]}"

echo "== (c3) account passphrase changed with the old one at run time"
pconfig '"acct-pass-2"' '"key-pass-2"'
CERTMGR_PASSPHRASE=acct-pass-1 run_certmgr c3 -c "$CFG" update --force
check "(c3) CERTMGR_PASSPHRASE=<old account passphrase>, update --force: exit 0" rc_is 0
check "(c3) account key re-encrypted with the new passphrase" encrypted_with "$AK" "$PW/acct-pass-2"
check "(c3) account key: same public key" test "$(enc_pub "$AK" "$PW/acct-pass-2")" = "$APUB"
check "(c3) registration.json unchanged (same account)" cmp -s "$REG" "$LAB/reg.before"
check "(c3) rsa re-issued by --force, keys still on key-pass-2" cert_keys_ok rsa "$PW/key-pass-2"
for kt in "${KTS[@]}"; do SER[$kt]=$(serial "$kt"); PUB[$kt]=$(cert_pub "$kt"); done

echo "== (e) key_passphrase false: keys in clear"
pconfig '"acct-pass-2"' 'false'
CERTMGR_PASSPHRASE=key-pass-2 run_certmgr e -c "$CFG" update
check "(e) key_passphrase false: exit 0" rc_is 0
for kt in "${KTS[@]}"; do
  check "(e) $kt: keys/key.pem is a clear PKCS#8 key" \
    test "$(first_line "$D/pp.test/$kt/keys/key.pem")" = "-----BEGIN PRIVATE KEY-----"
  check "(e) $kt: same serial" test "$(serial "$kt")" = "${SER[$kt]}"
  check "(e) $kt: same public key" test "$(cert_pub "$kt")" = "${PUB[$kt]}"
  check "(e) $kt: the whole tree correct" check_cert "$D" pp.test "$kt" "$LAB/root.pem" pp.test
done

echo "== (f) key_passphrase true"
pconfig '"acct-pass-2"' 'true' 1
run_certmgr f -c "$CFG" --pass-file "$CANARY_FILE" update
check "(f) true with --pass-file: exit 0" rc_is 0
for kt in "${KTS[@]}"; do
  check "(f) $kt: encrypted with the --pass-file passphrase" cert_keys_ok "$kt" "$CANARY_FILE"
  check "(f) $kt: same serial" test "$(serial "$kt")" = "${SER[$kt]}"
done
pconfig '"acct-pass-2"' 'true' 1 1
T0=$(tree_hash "$D")
run_no_source f-none -c "$CFG" update
check "(f) true with no passphrase source and no terminal: exit non-zero" test "$RC" != 0 -a "$RC" != 124
check "(f) no source: one stderr line" err_one_line_with 'assphrase'
check "(f) no source: nothing written" test "$(tree_hash "$D")" = "$T0"
check "(f) no source: fresh.test not created" test ! -e "$D/fresh.test"

echo "== (g) the run-time passphrase stays secret"
pconfig '"acct-pass-2"' 'true' 1
# dumps of earlier runs (the re-encryption of (f) may have fired hooks) go to a subdirectory
mkdir -p "$HD/f" "$HD/g1"
find "$HD" -maxdepth 1 -type f -exec mv -t "$HD/f" {} +
run_certmgr g1 -c "$CFG" --pass-file "$CANARY_FILE" update --force
check "(g) --pass-file, update --force: exit 0" rc_is 0
dumps=("$HD"/*.env)
check "(g) the dump hook ran" test -f "${dumps[0]}"
check "(g) rsa re-issued, key encrypted with the run-time passphrase" cert_keys_ok rsa "$CANARY_FILE"
check "(g) rsa re-issued (new serial)" test "$(serial rsa)" != "${SER[rsa]}"
find "$HD" -maxdepth 1 -type f -exec mv -t "$HD/g1" {} +
CERTMGR_PASSPHRASE=$CANARY run_certmgr g2 -c "$CFG" update --force
check "(g) CERTMGR_PASSPHRASE, update --force: exit 0" rc_is 0
dumps=("$HD"/*.env)
check "(g) the dump hook ran again" test -f "${dumps[0]}"
no_var_in_hooks() {
  local f rc=0
  for f in "$HD"/*.env; do
    if grep -q '^CERTMGR_PASSPHRASE=' "$f"; then printf '  %s has CERTMGR_PASSPHRASE\n' "$f" >&2; rc=1; fi
  done
  return $rc
}
check "(g) hooks do not get CERTMGR_PASSPHRASE" no_var_in_hooks
canary_nowhere() {
  local hits
  hits=$(grep -rlF --exclude=canary.pass -- "$CANARY" "$LAB" 2>/dev/null)
  [[ -z $hits ]] || { printf '  the passphrase appears in: %s\n' "$(oneline "$hits")" >&2; return 1; }
}
check "(g) the passphrase is nowhere under \$LAB (log, runs' stdout/stderr, hook argv/env/stdin/parent argv)" \
  canary_nowhere
check "(g) ... and the hook dumps exist to be searched" test -n "$(find "$HD/g1" -name '*.parent' -size +0)" -a -n "$(find "$HD" -maxdepth 1 -name '*.parent' -size +0)"

((T_FAIL == 0)) || lab_dump_logs
t_summary
