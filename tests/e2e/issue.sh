#!/usr/bin/env bash
# tests/e2e/issue.sh CERTMGR: the main end-to-end test (testing.md §5) against the stable lab.
#   issuance of 3 certificates (several alt names, RSA-only, both key types), byte layout, modes,
#   links, silent no-op run (also with the CA unreachable), --force and archives, selection by alt
#   name, one failing certificate among good ones, lock busy, usage errors.
# Set LAB_SETUP=chaos to run it against the chaos setup.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/lab/e2e.sh
source "$HERE/../lab/e2e.sh" "$@"

e2e_lab
cd "$LAB" || fail "cd $LAB"
lab_intermediate_pem "$LAB/intermediate.pem" || fail "cannot fetch /intermediates/0"
export CHECK_INTERMEDIATE=$LAB/intermediate.pem CHECK_RSA_BITS=2048 CHECK_EC_CURVE=prime256v1

CERTS='[
    {"name": "multi.test", "alt_names": ["multi.test", "www.multi.test", "Api.Multi.Test"],
     "key_types": ["rsa", "ecdsa"]},
    {"name": "rsaonly.test", "key_types": ["rsa"]},
    {"name": "both.test"}
  ]'
write_config "$CFG" "$CERTS"

MULTI_NAMES=(multi.test www.multi.test Api.Multi.Test)

# snapshot NAME KT DIR: copy cert.pem, key.pem and the public key of the live NAME/KT into DIR
snapshot() {
  mkdir -p "$3"
  cp "$D/$1/$2/cert.pem" "$3/cert.pem" && cp "$D/$1/$2/keys/key.pem" "$3/key.pem" &&
    pubkey_of "$D/$1/$2/keys/key.pem" >"$3/pub.pem"
}
# fingerprint NAME: inode, link target and content of every file of a certificate, for "untouched"
fingerprint() {
  local g
  g=$(readlink "$D/$1")
  printf 'link %s\n' "$g"
  (cd "$D/$1/" && find . -printf '%p %y %m %i %s\n' | LC_ALL=C sort &&
    find . -type f -print0 | LC_ALL=C sort -z | xargs -0r sha256sum)
}
# one_line_per NAME...: stdout of the last run has exactly one line per NAME, each naming it
one_line_per() {
  local n c rc=0
  c=$(line_count "$OUT")
  [[ $c == "$#" ]] || { printf '  %s lines on stdout, expected %s\n' "$c" "$#" >&2; rc=1; }
  for n in "$@"; do
    c=$(grep -cF -- "$n" "$OUT")
    [[ $c == 1 ]] || { printf '  %s stdout lines name %s, expected 1\n' "$c" "$n" >&2; rc=1; }
  done
  ((rc)) && show_run
  return $rc
}
# generation_link NAME: <D>/NAME is a symlink to .generations/NAME/<N>, N not a half-built one
generation_link() {
  local t
  [[ -L $D/$1 ]] || { printf '  %s is not a symlink\n' "$D/$1" >&2; return 1; }
  t=$(readlink "$D/$1")
  [[ $t =~ ^(\./)?\.generations/$1/[^/]+/?$ && $t != *.partial* && -d $D/$1/ ]] ||
    { printf '  %s -> %s\n' "$D/$1" "$t" >&2; return 1; }
}
# archived_copy NAME KT FILE SNAPDIR: the old FILE (cert.pem or key.pem) of NAME/KT, byte-identical,
# is under archives/NAME/<stamp>/KT/ (cert.pem) or .../KT/keys/ (key.pem)
archived_copy() {
  local name=$1 kt=$2 file=$3 snap=$4 rel f
  [[ $file == key.pem ]] && rel="$kt/keys/key.pem" || rel="$kt/$file"
  for f in "$D/archives/$name"/*/"$rel"; do
    [[ -f $f ]] || continue
    if cmp -s "$f" "$snap/$file"; then
      local stamp=${f#"$D/archives/$name/"}
      stamp=${stamp%%/*}
      [[ $stamp =~ ^[0-9]{4}_[0-9]{2}_[0-9]{2}_[0-9]{6} ]] ||
        { printf '  archive dir %s is not a YYYY_MM_DD_HHMMSS stamp\n' "$stamp" >&2; return 1; }
      return 0
    fi
  done
  printf '  old %s of %s/%s not found under %s\n' "$file" "$name" "$kt" "$D/archives/$name/*/$rel" >&2
  return 1
}
pubkey_changed() { ! cmp -s <(pubkey_of "$D/$1/$2/keys/key.pem") "$3/pub.pem"; }
no_ecdsa_dir() { [[ ! -e $D/rsaonly.test/ecdsa ]]; }
account_modes() { mode_is 600 "$D"/account/*/client.key "$D"/account/*/registration.json; }
# validation_gets: every token nginx served got exactly 3 GETs with status 200 (§5 item 7);
# prints the number of tokens
validation_gets() {
  "$LAB_PYTHON" - "$NGINX_ACCESS_LOG" <<'EOF'
import collections, re, sys
hits = collections.Counter()
bad = []
for line in open(sys.argv[1]):
    m = re.search(r'"GET /\.well-known/acme-challenge/([^ ?"]+)[^"]*" (\d{3}) ', line)
    if not m:
        continue
    if m.group(2) != "200":
        bad.append(line.strip())
    hits[m.group(1)] += 1
wrong = {t: n for t, n in hits.items() if n != 3}
for l in bad[:5]:
    print("  non-200 challenge GET: " + l, file=sys.stderr)
for t, n in list(wrong.items())[:5]:
    print("  token %s fetched %d times, expected 3" % (t, n), file=sys.stderr)
print(len(hits))
sys.exit(1 if bad or wrong or not hits else 0)
EOF
}

echo "== first run: issue 3 certificates"
req0=$(lab_requests)
run_certmgr first -c "$CFG" update
check "first update exits 0" rc_is 0
check "first update: one stdout line per certificate" one_line_per multi.test rsaonly.test both.test
check "first update: stderr empty" is_empty "$ERR"
check "first update made CA requests" test "$(lab_requests)" -gt "$req0"

check "multi.test/rsa correct" check_cert "$D" multi.test rsa "$LAB/root.pem" "${MULTI_NAMES[@]}"
check "multi.test/ecdsa correct" check_cert "$D" multi.test ecdsa "$LAB/root.pem" "${MULTI_NAMES[@]}"
check "rsaonly.test/rsa correct" check_cert "$D" rsaonly.test rsa "$LAB/root.pem" rsaonly.test
check "rsaonly.test has no ecdsa dir" no_ecdsa_dir
check "both.test/rsa correct" check_cert "$D" both.test rsa "$LAB/root.pem" both.test
check "both.test/ecdsa correct" check_cert "$D" both.test ecdsa "$LAB/root.pem" both.test
for n in multi.test rsaonly.test both.test; do
  check "$n/params.pem present" test -s "$D/$n/params.pem"
  check "$n is a link to .generations/$n/<N>" generation_link "$n"
done
check "link www.multi.test -> multi.test" check_link "$D" www.multi.test multi.test
check "link api.multi.test -> multi.test" check_link "$D" api.multi.test multi.test
check "challenge dir empty after success" dir_empty "$CHALLENGE_DIR"
top_level_only() {
  local extra
  extra=$(find "$D" -mindepth 1 -maxdepth 1 ! -name account ! -name archives ! -name .generations \
    ! -name multi.test ! -name rsaonly.test ! -name both.test ! -name www.multi.test \
    ! -name api.multi.test -printf '%f ')
  [[ -z $extra ]] || { printf '  unexpected in data_dir: %s\n' "$extra" >&2; return 1; }
}
check "nothing else in data_dir" top_level_only
check "account files mode 600" account_modes
check "data_dir created 755 (traversable by the servers that read it)" mode_is 755 "$D"
check "account/ is 700" mode_is 700 "$D/account"
tokens=$(validation_gets)
check "3 validation GETs per challenge token, all answered 200" test $? = 0
# Pebble's own record of the challenges it validated: the same tokens, at least one per name
# (multi.test 3, rsaonly.test 1, both.test 1; 9 when every order gets fresh authorizations)
pebble_tokens=$(grep -o 'Attempting to validate w/ HTTP: [^ ]*' "$PEBBLE_LOG" | sort -u | wc -l)
check "nginx served the $pebble_tokens tokens Pebble validated (nginx: $tokens)" test "$tokens" = "$pebble_tokens"
check "at least 5 challenges validated ($pebble_tokens)" test "$pebble_tokens" -ge 5

echo "== second run: nothing due"
req0=$(lab_requests)
run_certmgr second -c "$CFG" update
check "second update exits 0" rc_is 0
check "second update: stdout empty" is_empty "$OUT"
check "second update: stderr empty" is_empty "$ERR"
check "second update: 0 CA requests" requests_delta_is "$req0" 0

echo "== no-op run with the CA unreachable"
closed=$(free_port)
CFG_ACME_URL="https://127.0.0.1:$closed/dir" write_config "$LAB/closed.json" "$CERTS"
hash0=$(tree_hash "$D")
run_certmgr closed -c "$LAB/closed.json" update
check "no-op run with CA down exits 0" rc_is 0
check "no-op run with CA down: stdout empty" is_empty "$OUT"
check "no-op run with CA down: stderr empty" is_empty "$ERR"
check "no-op runs leave the tree unchanged" test "$(tree_hash "$D")" = "$hash0"

echo "== update --force multi.test"
for kt in rsa ecdsa; do snapshot multi.test $kt "$LAB/snap1/$kt" || fail "snapshot"; done
fp_rsaonly=$(fingerprint rsaonly.test)
fp_both=$(fingerprint both.test)
run_certmgr force1 -c "$CFG" update --force multi.test
check "update --force multi.test exits 0" rc_is 0
check "update --force multi.test: one stdout line" one_line_per multi.test
check "update --force multi.test: stderr empty" is_empty "$ERR"
for kt in rsa ecdsa; do
  check "multi.test/$kt: new key" pubkey_changed multi.test $kt "$LAB/snap1/$kt"
  check "multi.test/$kt correct after --force" check_cert "$D" multi.test $kt "$LAB/root.pem" "${MULTI_NAMES[@]}"
  check "old multi.test/$kt cert.pem archived" archived_copy multi.test $kt cert.pem "$LAB/snap1/$kt"
  check "old multi.test/$kt keys/key.pem archived" archived_copy multi.test $kt key.pem "$LAB/snap1/$kt"
done
check "rsaonly.test untouched by --force multi.test" test "$(fingerprint rsaonly.test)" = "$fp_rsaonly"
check "both.test untouched by --force multi.test" test "$(fingerprint both.test)" = "$fp_both"
check "links still right after --force" check_link "$D" www.multi.test multi.test
check "challenge dir empty after --force" dir_empty "$CHALLENGE_DIR"

echo "== update --force www.multi.test (selection by alt name)"
for kt in rsa ecdsa; do snapshot multi.test $kt "$LAB/snap2/$kt" || fail "snapshot"; done
run_certmgr force2 -c "$CFG" update --force www.multi.test
check "update --force www.multi.test exits 0" rc_is 0
check "update --force www.multi.test: one stdout line naming multi.test" one_line_per multi.test
check "update --force www.multi.test: stderr empty" is_empty "$ERR"
for kt in rsa ecdsa; do
  check "multi.test/$kt re-issued via alt name" pubkey_changed multi.test $kt "$LAB/snap2/$kt"
  check "multi.test/$kt correct" check_cert "$D" multi.test $kt "$LAB/root.pem" "${MULTI_NAMES[@]}"
  check "second old multi.test/$kt cert.pem archived" archived_copy multi.test $kt cert.pem "$LAB/snap2/$kt"
done
check "rsaonly.test untouched by --force www.multi.test" test "$(fingerprint rsaonly.test)" = "$fp_rsaonly"
check "both.test untouched by --force www.multi.test" test "$(fingerprint both.test)" = "$fp_both"

echo "== one failing certificate among good ones"
mkdir -p "$LAB/elsewhere"
write_config "$LAB/fail.json" "[
    {\"name\": \"bad.test\", \"auth\": {\"type\": \"http\", \"challenge_dir\": \"$LAB/elsewhere\"}},
    {\"name\": \"good.test\"}
  ]"
run_certmgr failing -c "$LAB/fail.json" update
check "one failing certificate: exit 1" rc_is 1
check "good.test/rsa issued" check_cert "$D" good.test rsa "$LAB/root.pem" good.test
check "good.test/ecdsa issued" check_cert "$D" good.test ecdsa "$LAB/root.pem" good.test
check "stdout names good.test only" one_line_per good.test
err_one_line() {
  if [[ $(line_count "$ERR") == 1 ]] && grep -q -- '^\[bad\.test\] ' "$ERR" && ! grep -q -- 'good\.test' "$ERR"; then
    return 0
  fi
  show_run
  return 1
}
check "stderr: exactly one line, starting with [bad.test]" err_one_line
no_bad_files() {
  local left
  left=$(find "$D" -name '*bad.test*' ! -path "$D/.backoff/bad.test.json" | head -n 5)
  [[ -z $left ]] || { printf '  left for bad.test: %s\n' "$(oneline "$left")" >&2; return 1; }
}
check "bad.test has no files" no_bad_files
check "bad.test: its failure is recorded for the back-off" grep -q '"failures":1' "$D/.backoff/bad.test.json"
check "challenge dir empty after failure" dir_empty "$CHALLENGE_DIR"
check "bad.test's challenge dir empty after failure" dir_empty "$LAB/elsewhere"

echo "== lock busy"
LOCK=$LAB/certmgr.lock
flock -F "$LOCK" sleep 60 & # blocking: our probe below may hold it for an instant
holder=$!
lab_track_pid "$holder"
held() {
  local deadline=$((SECONDS + 15))
  while ((SECONDS < deadline)); do
    flock -n "$LOCK" true 2>/dev/null || return 0
    kill -0 "$holder" 2>/dev/null || { echo "  the flock holder exited" >&2; return 1; }
    sleep 0.05
  done
  return 1
}
if held; then
  t_pass "test holds the lock"
  req0=$(lab_requests)
  hash0=$(tree_hash "$D")
  run_certmgr locked -c "$CFG" update --force
  check "lock busy: exit 3" rc_is 3
  check "lock busy: stdout empty" is_empty "$OUT"
  check "lock busy: 0 CA requests" requests_delta_is "$req0" 0
  check "lock busy: tree unchanged" test "$(tree_hash "$D")" = "$hash0"
else
  t_fail "test holds the lock (lock test skipped)"
fi
kill "$holder" 2>/dev/null
wait "$holder" 2>/dev/null
lab_untrack_pid "$holder"

echo "== usage errors"
hash0=$(tree_hash "$D")
for argv in "update --debug" "example.com" "update --no-such-option"; do
  # shellcheck disable=SC2086
  run_certmgr usage -c "$CFG" $argv
  check "certmgr -c CFG $argv exits 2" rc_is 2
  check "certmgr -c CFG $argv: stdout empty" is_empty "$OUT"
  check "certmgr -c CFG $argv: tree unchanged" test "$(tree_hash "$D")" = "$hash0"
done
(cd "$LAB" && run_certmgr usage2 update --debug)
check "certmgr update --debug (no -c) exits 2" test "$(cat "$LAB/runs/usage2.rc")" = 2
(cd "$LAB" && run_certmgr usage3 example.com)
check "certmgr example.com (no -c) exits 2" test "$(cat "$LAB/runs/usage3.rc")" = 2
check "usage errors leave the tree unchanged" test "$(tree_hash "$D")" = "$hash0"

((T_FAIL == 0)) || lab_dump_logs
t_summary
