#!/usr/bin/env bash
# tests/e2e/accounts.sh CERTMGR: one ACME account per directory URL, `certmgr account`.
#   Two configs on the same data_dir, one per CA (two independent Pebbles): running A, B, then A
#   again leaves exactly two account subdirectories, each with client.key and registration.json
#   whose "directory" is its URL; the third run reuses A's account (same key bytes, same "uri",
#   no new-account request to the CA).  `certmgr account` pushes a changed account.email to the
#   CA (registration "body" shows mailto:) and prints the account URL; `certmgr account
#   --rollover` changes the key (new public key, same "uri"), and the CA accepts the new key: the
#   next `update --force` issues without registering again.  The other CA's account is untouched.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/lab/e2e.sh
source "$HERE/../lab/e2e.sh" "$@"

lab_start stable || fail "lab did not start"
lab_start_second_ca || fail "second CA did not start"
D=$LAB/data
CFGA=$LAB/a.json
CFGB=$LAB/b.json
lab_root_pem "$LAB/root.pem" || fail "cannot fetch /roots/0"
curl -fsS --cacert "$CA_BUNDLE" -o "$LAB/root2.pem" "$MGMT_URL2/roots/0" || fail "cannot fetch the second /roots/0"
export CHECK_EC_CURVE=prime256v1

write_config "$CFGA" "[$(cert_json a.test '["ecdsa"]')]"
CFG_ACME_URL=$ACME_URL2 write_config "$CFGB" "[$(cert_json b.test '["ecdsa"]')]"

# Accounts Pebble holds (its "There are now N accounts in memory" line; not the newAccount POSTs,
# which under LAB_CHAOS include badNonce retries and onlyReturnExisting lookups).
new_accounts() { sed -n 's/.*There are now \([0-9]*\) accounts in memory.*/\1/p' "$1" | tail -n 1 | grep . || echo 0; }
rollovers() { lab_count "$1" 'POST /rollover-account-key'; } # Pebble's keyChange path
# rollovers_are LOG N: exactly N keyChange requests; under LAB_CHAOS (badNonce retries, which
# Pebble logs like any request) between N and N + 30 when N > 0
rollovers_are() {
  local n
  n=$(rollovers "$1")
  if [[ ${LAB_CHAOS:-0} == 1 && $2 -gt 0 ]]; then
    ((n >= $2 && n <= $2 + 30)) || { printf '  keyChange: %s, expected %s..%s\n' "$n" "$2" $(($2 + 30)) >&2; return 1; }
  else
    count_is keyChange "$n" "$2"
  fi
}
# json_get FILE EXPR: a member of a JSON file (EXPR is a python expression over d)
json_get() {
  "$LAB_PYTHON" -c 'import json, sys
d = json.load(open(sys.argv[1]))
v = eval(sys.argv[2], {"d": d})
print(v if isinstance(v, str) else json.dumps(v, sort_keys=True))' "$1" "$2" 2>/dev/null
}
# account_dir URL: the account subdirectory whose registration.json names URL
account_dir() {
  local r
  for r in "$D"/account/*/registration.json; do
    [[ -f $r && $(json_get "$r" 'd["directory"]') == "$1" ]] && { dirname "$r"; return 0; }
  done
  return 1
}
serial() { openssl x509 -in "$D/$1/ecdsa/cert.pem" -noout -serial 2>/dev/null | cut -d= -f2; }
key_pub() { openssl pkey -in "$1" -pubout 2>/dev/null; }
count_is() { [[ $2 == "$3" ]] || { printf '  %s: %s, expected %s\n' "$1" "$2" "$3" >&2; return 1; }; }
# account_tree_ok: account/ holds exactly two subdirectories (nothing else), each with client.key
# and registration.json, their "directory" members being the two URLs
account_tree_ok() {
  local entries dirs rc=0 d dirsurls
  entries=$(find "$D/account" -mindepth 1 -maxdepth 1 | wc -l)
  dirs=$(find "$D/account" -mindepth 1 -maxdepth 1 -type d | wc -l)
  [[ $entries == 2 && $dirs == 2 ]] || {
    printf '  account/ holds %s entries (%s directories): %s\n' "$entries" "$dirs" \
      "$(oneline "$(find "$D/account" -mindepth 1 -maxdepth 1 -printf '%f ')")" >&2
    rc=1
  }
  dirsurls=""
  for d in "$D"/account/*/; do
    [[ -f $d/client.key && -f $d/registration.json ]] || { printf '  %s: lacks client.key or registration.json\n' "$d" >&2; rc=1; }
    dirsurls+="$(json_get "$d/registration.json" 'd["directory"]')"$'\n'
  done
  [[ $(LC_ALL=C sort <<<"${dirsurls%$'\n'}") == "$(printf '%s\n' "$ACME_URL" "$ACME_URL2" | LC_ALL=C sort)" ]] || {
    printf '  directory members: %s\n' "$(oneline "$dirsurls")" >&2
    rc=1
  }
  return $rc
}

echo "== A, B, A"
run_certmgr a1 -c "$CFGA" update
check "A: update: exit 0" rc_is 0
check "A: a.test issued by the first CA" check_cert "$D" a.test ecdsa "$LAB/root.pem" a.test
check "A: one newAccount at the first CA" count_is newAccount "$(new_accounts "$PEBBLE_LOG")" 1
ADIR=$(account_dir "$ACME_URL")
check "A: an account subdirectory for the first URL" test -n "$ADIR" -a -f "$ADIR/client.key"
[[ -n $ADIR ]] || fail "no account directory for $ACME_URL"
cp "$ADIR/client.key" "$LAB/a.key.1"
A_URI=$(json_get "$ADIR/registration.json" 'd["uri"]')
check "A: registration uri belongs to the first CA" test "${A_URI#"https://127.0.0.1:$LAB_ACME_PORT/"}" != "$A_URI"

run_certmgr b1 -c "$CFGB" update
check "B: update: exit 0" rc_is 0
check "B: b.test issued by the second CA" check_cert "$D" b.test ecdsa "$LAB/root2.pem" b.test
check "B: one newAccount at the second CA" count_is newAccount "$(new_accounts "$PEBBLE_LOG2")" 1
BDIR=$(account_dir "$ACME_URL2")
check "B: its own account subdirectory" test -n "$BDIR" -a "$BDIR" != "$ADIR"
check "B: A's key untouched" cmp -s "$ADIR/client.key" "$LAB/a.key.1"
B_URI=$(json_get "${BDIR:-/nonexistent}/registration.json" 'd["uri"]')
check "B: registration uri belongs to the second CA" \
  test -n "$B_URI" -a "${B_URI#"https://127.0.0.1:$LAB_ACME_PORT2/"}" != "$B_URI"

a_serial=$(serial a.test)
run_certmgr a2 -c "$CFGA" update --force
check "A again (update --force): exit 0" rc_is 0
check "A again: a.test re-issued" test "$(serial a.test)" != "$a_serial"
check "A again: no newAccount at the first CA" count_is newAccount "$(new_accounts "$PEBBLE_LOG")" 1
check "A again: same client.key bytes" cmp -s "$(account_dir "$ACME_URL")/client.key" "$LAB/a.key.1"
check "A again: same registration uri" test "$(json_get "$ADIR/registration.json" 'd["uri"]')" = "$A_URI"
check "after A, B, A: exactly two account subdirectories, one per URL" account_tree_ok

cp "$BDIR/client.key" "$LAB/b.key"
cp "$BDIR/registration.json" "$LAB/b.reg"

echo "== account.email and certmgr account"
"$LAB_PYTHON" - "$CFGA" <<'PY' || fail "cannot edit the config"
import json, sys
cfg = json.load(open(sys.argv[1]))
cfg["account"]["email"] = "admin@example.com"
json.dump(cfg, open(sys.argv[1], "w"), indent=2)
PY
run_certmgr acct -c "$CFGA" account
check "certmgr account: exit 0" rc_is 0
# out_has_word WORD: WORD is one of the blank-separated words of the last run's stdout
out_has_word() {
  awk -v w="$1" '{ for (i = 1; i <= NF; i++) if ($i == w) found = 1 } END { exit !found }' "$OUT" ||
    { printf '  "%s" not on stdout\n' "$1" >&2; show_run; return 1; }
}
check "certmgr account: prints the account URL" out_has_word "$A_URI"
contact_is() {
  local got
  got=$(json_get "$ADIR/registration.json" 'd["body"].get("contact")')
  [[ $got == '["mailto:admin@example.com"]' ]] || { printf '  body.contact: %s\n' "$got" >&2; return 1; }
}
check "certmgr account: registration body has contact mailto:admin@example.com" contact_is
check "certmgr account: same uri" test "$(json_get "$ADIR/registration.json" 'd["uri"]')" = "$A_URI"
check "certmgr account: same key" cmp -s "$ADIR/client.key" "$LAB/a.key.1"
check "certmgr account: no new account" count_is newAccount "$(new_accounts "$PEBBLE_LOG")" 1

echo "== certmgr account --rollover"
r0=$(rollovers "$PEBBLE_LOG")
run_certmgr roll -c "$CFGA" account --rollover
check "account --rollover: exit 0" rc_is 0
check "account --rollover: the CA got a key change" rollovers_are "$PEBBLE_LOG" $((r0 + 1))
check "account --rollover: client.key has a new public key" \
  test -n "$(key_pub "$ADIR/client.key")" -a "$(key_pub "$ADIR/client.key")" != "$(key_pub "$LAB/a.key.1")"
check "account --rollover: same registration uri" test "$(json_get "$ADIR/registration.json" 'd["uri"]')" = "$A_URI"
check "account --rollover: the second CA's account untouched" \
  cmp -s "$BDIR/client.key" "$LAB/b.key"
check "account --rollover: the second CA's registration untouched" cmp -s "$BDIR/registration.json" "$LAB/b.reg"
check "account --rollover: no key change at the second CA" rollovers_are "$PEBBLE_LOG2" 0

a_serial=$(serial a.test)
run_certmgr a3 -c "$CFGA" update --force
check "update --force with the new key: exit 0" rc_is 0
check "update --force with the new key: a.test re-issued" test "$(serial a.test)" != "$a_serial"
check "update --force with the new key: a.test correct" check_cert "$D" a.test ecdsa "$LAB/root.pem" a.test
check "update --force with the new key: no new account (the CA knows the new key)" \
  count_is newAccount "$(new_accounts "$PEBBLE_LOG")" 1
check "still exactly two account subdirectories" account_tree_ok

((T_FAIL == 0)) || lab_dump_logs
t_summary
