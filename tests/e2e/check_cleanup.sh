#!/usr/bin/env bash
# tests/e2e/check_cleanup.sh CERTMGR: `certmgr check` (behaviour §3.6, [B25], [B26]) repairs modes,
# owners and alt-name links of a damaged tree, reports each repair on stdout and is silent on a
# sound tree; `certmgr cleanup` (§4.3) prunes exactly the archives older than the cutoff, with
# --days, --dry-run, names, and settings.archive_days, also of certificates no longer configured.
# Needs root (chown).
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/lab/e2e.sh
source "$HERE/../lab/e2e.sh" "$@"

[[ $(id -u) == 0 ]] || fail "check_cleanup.sh needs root (chown)"
NOBODY=$(id -u nobody) || fail "no user nobody"
e2e_lab stable
CERTS='[
    {"name": "one.test", "alt_names": ["one.test", "www.one.test"]},
    {"name": "two.test", "alt_names": ["two.test", "www.two.test"], "key_types": ["rsa"]}
  ]'
write_config "$CFG" "$CERTS"

# stdout_is LINE...: stdout of the last run is exactly these lines, in this order
stdout_is() {
  if [[ $# == 0 ]]; then is_empty "$OUT"; return; fi
  cmp -s "$OUT" <(printf '%s\n' "$@") && return 0
  printf '  stdout differs from the expected lines:\n' >&2
  diff <(printf '%s\n' "$@") "$OUT" | sed 's/^/    /' >&2
  return 1
}
# owner_is USER:GROUP PATH: numeric owner of PATH (not following symlinks)
owner_is() {
  local got
  got=$(stat -c %u:%g -- "$2") || return 1
  [[ $got == "$1" ]] || { printf '  %s: owner %s, expected %s\n' "$2" "$got" "$1" >&2; return 1; }
}
# live_hash: names, modes, owners, links and bytes of everything but archives/
live_hash() {
  (cd "$D" && find . -path ./archives -prune -o -printf '%p %y %m %U:%G %l\n' | LC_ALL=C sort &&
    find -L . -path ./archives -prune -o -type f -print0 | LC_ALL=C sort -z | xargs -0r sha256sum) |
    sha256sum | cut -d' ' -f1
}
# local_day DAYS: the local date DAYS×24 h ago as YYYY_MM_DD (the clock certmgr's cutoff uses)
local_day() {
  "$LAB_PYTHON" -c 'import sys, time
print(time.strftime("%Y_%m_%d", time.localtime(time.time() - int(sys.argv[1]) * 86400)))' "$1"
}
# archive NAME STAMP: an archive directory as a commit leaves it, with one file
archive() {
  mkdir -p "$D/archives/$1/$2/rsa" && printf 'old cert\n' >"$D/archives/$1/$2/rsa/cert.pem"
}
present() { [[ -e $1 ]] || { printf '  %s: missing\n' "$1" >&2; return 1; }; }
absent() { [[ ! -e $1 && ! -L $1 ]] || { printf '  %s: still there\n' "$1" >&2; return 1; }; }
# stamps NAME: the entries of archives/NAME, sorted, on one line
stamps() { find "$D/archives/$1" -mindepth 1 -maxdepth 1 -printf '%f\n' | LC_ALL=C sort | tr '\n' ' '; }

echo "== issue two certificates"
run_certmgr first -c "$CFG" update
check "update exits 0" rc_is 0
check "update: stderr empty" is_empty "$ERR"
check "link www.one.test -> one.test" check_link "$D" www.one.test one.test

echo "== check on a sound tree"
hash0=$(live_hash)
run_certmgr sound -c "$CFG" check
check "check on a sound tree exits 0" rc_is 0
check "check on a sound tree: stdout empty" is_empty "$OUT"
check "check on a sound tree: stderr empty" is_empty "$ERR"
check "check on a sound tree changes nothing" test "$(live_hash)" = "$hash0"

echo "== check repairs a damaged tree"
chmod 0666 "$D/one.test/rsa/keys/key.pem"
chmod 0700 "$D/two.test/rsa"
chown nobody "$D/one.test/ecdsa/cert.pem"
ln -sfn two.test "$D/www.one.test"
ACCT=$(cd "$D/account" && echo */) && ACCT=${ACCT%/} # the one account/<label>/ of this CA
chmod 0755 "$D/account"
chmod 0750 "$D/account/$ACCT"
chmod 0644 "$D/account/$ACCT/client.key"
run_certmgr repair -c "$CFG" check
check "check exits 0" rc_is 0
check "check: stderr empty" is_empty "$ERR"
check "check: one stdout line per repair" stdout_is \
  "[one.test] ecdsa/cert.pem: owner $NOBODY:0 -> 0:0" \
  "[one.test] rsa/keys/key.pem: mode 0666 -> 0640" \
  "[two.test] rsa: mode 0700 -> 0755" \
  "replaced link www.one.test -> two.test by www.one.test -> one.test" \
  "account: mode 0755 -> 0700" \
  "account/$ACCT: mode 0750 -> 0700" \
  "account/$ACCT/client.key: mode 0644 -> 0600"
check "key mode 0640 again" mode_is 640 "$D/one.test/rsa/keys/key.pem"
check "kt dir mode 0755 again" mode_is 755 "$D/two.test/rsa/"
check "cert owner root again" owner_is 0:0 "$D/one.test/ecdsa/cert.pem"
check "link www.one.test -> one.test again" check_link "$D" www.one.test one.test
check "account/ 0700 again" mode_is 700 "$D/account"
check "account/<label>/ 0700 again" mode_is 700 "$D/account/$ACCT"
check "account/<label>/client.key 0600 again" mode_is 600 "$D/account/$ACCT/client.key"
check "the repaired tree is the sound one" test "$(live_hash)" = "$hash0"
check "one.test/ecdsa still correct" check_cert "$D" one.test ecdsa "$LAB/root.pem" one.test www.one.test
run_certmgr again -c "$CFG" check
check "second check exits 0" rc_is 0
check "second check: stdout empty" is_empty "$OUT"
check "second check: stderr empty" is_empty "$ERR"

echo "== check with names"
chmod 0604 "$D/one.test/rsa/keys/key+cert.pem"
chmod 0600 "$D/two.test/rsa/cert.pem"
run_certmgr named -c "$CFG" check www.one.test
check "check www.one.test exits 0" rc_is 0
check "check www.one.test repairs one.test only" stdout_is \
  "[one.test] rsa/keys/key+cert.pem: mode 0604 -> 0640"
check "two.test left for its own check" mode_is 600 "$D/two.test/rsa/cert.pem"
run_certmgr unknown -c "$CFG" check two.test nosuch.test
check "check with an unknown name exits 1" rc_is 1
check "check two.test nosuch.test still repairs two.test" mode_is 644 "$D/two.test/rsa/cert.pem"
check "check with an unknown name: stderr names it" grep -q 'nosuch\.test' "$ERR"

echo "== cleanup"
for i in 1 2; do
  run_certmgr "force$i" -c "$CFG" update --force one.test
  check "update --force one.test ($i) exits 0" rc_is 0
done
recent=$(stamps one.test)
check "two forced updates made two archives ($recent)" test "$(wc -w <<<"$recent")" = 2
day30=$(local_day 30)
day31=$(local_day 31)
archive one.test 2020_01_01_000000
archive one.test 2021_06_15_120000_1
archive one.test "${day31}_235959"
archive one.test "${day30}_000000" # the boundary day: not yet 30 days old
archive one.test notes             # not a stamp: never ours
archive gone.test 2020_02_02_000000
archive gone.test "$(local_day 0)_000000"
before=$(tree_hash "$D")
live=$(live_hash)

run_certmgr dry -c "$CFG" cleanup --dry-run --days 30
check "cleanup --dry-run exits 0" rc_is 0
check "cleanup --dry-run: stderr empty" is_empty "$ERR"
check "cleanup --dry-run lists the old archives" stdout_is \
  "[one.test] would remove archive 2020_01_01_000000" \
  "[one.test] would remove archive 2021_06_15_120000_1" \
  "[one.test] would remove archive ${day31}_235959" \
  "[gone.test] would remove archive 2020_02_02_000000"
check "cleanup --dry-run removes nothing" test "$(tree_hash "$D")" = "$before"

run_certmgr prune -c "$CFG" cleanup --days 30
check "cleanup --days 30 exits 0" rc_is 0
check "cleanup --days 30: stderr empty" is_empty "$ERR"
check "cleanup --days 30 reports each removed archive" stdout_is \
  "[one.test] removed archive 2020_01_01_000000" \
  "[one.test] removed archive 2021_06_15_120000_1" \
  "[one.test] removed archive ${day31}_235959" \
  "[gone.test] removed archive 2020_02_02_000000"
check "one.test keeps the recent and foreign entries" \
  test "$(stamps one.test)" = "$(printf '%s\n' $recent "${day30}_000000" notes | LC_ALL=C sort | tr '\n' ' ')"
check "gone.test keeps its recent archive" test "$(stamps gone.test)" = "$(local_day 0)_000000 "
check "cleanup leaves the live tree alone" test "$(live_hash)" = "$live"
run_certmgr prune2 -c "$CFG" cleanup --days 30
check "second cleanup --days 30: exit 0, stdout empty" stdout_is
check "second cleanup --days 30 exits 0" rc_is 0

echo "== cleanup with names"
archive two.test 2020_03_03_000000
archive gone.test 2020_04_04_000000
run_certmgr names -c "$CFG" cleanup --days 30 www.two.test
check "cleanup www.two.test exits 0" rc_is 0
check "cleanup www.two.test prunes two.test only" stdout_is \
  "[two.test] removed archive 2020_03_03_000000"
check "an unconfigured certificate is pruned only without names" \
  present "$D/archives/gone.test/2020_04_04_000000"
run_certmgr unknown2 -c "$CFG" cleanup --days 30 nosuch.test
check "cleanup with an unknown name exits 1" rc_is 1
check "cleanup with an unknown name: stderr names it" grep -q 'nosuch\.test' "$ERR"

echo "== cleanup with settings.archive_days"
write_config "$LAB/keep0.json" "$CERTS" '"archive_days": 0'
hash1=$(tree_hash "$D")
run_certmgr days0 -c "$LAB/keep0.json" cleanup
check "archive_days 0: exit 0" rc_is 0
check "archive_days 0: nothing pruned, nothing printed" stdout_is
check "archive_days 0: tree unchanged" test "$(tree_hash "$D")" = "$hash1"
run_certmgr days0b -c "$CFG" cleanup --days 0
check "--days 0: nothing pruned" test "$(tree_hash "$D")" = "$hash1"
write_config "$LAB/keep1.json" "$CERTS" '"archive_days": 1'
archive one.test "$(local_day 2)_120000"
run_certmgr days1 -c "$LAB/keep1.json" cleanup
check "archive_days 1: exit 0" rc_is 0
check "archive_days 1: stderr empty" is_empty "$ERR"
check "archive_days 1 prunes everything before yesterday" stdout_is \
  "[one.test] removed archive ${day30}_000000" \
  "[one.test] removed archive $(local_day 2)_120000" \
  "[gone.test] removed archive 2020_04_04_000000"
check "archive_days 1 keeps today's archives" \
  test "$(stamps one.test)" = "$(printf '%s\n' $recent notes | LC_ALL=C sort | tr '\n' ' ')"

((T_FAIL == 0)) || lab_dump_logs
t_summary
