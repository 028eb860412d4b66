#!/usr/bin/env bash
# tests/e2e/follower.sh CERTMGR: master/follower operation.
#   `certmgr auth NAME` (master) gets every authorization of NAME valid through http-01 and never
#   finalizes: no certificate file appears in the master's data_dir.  A follower that shares the
#   master's account (a copy of <data_dir>/account) and has NO auth section issues with
#   `update --no-auth` using only those valid authorizations: before the master's `auth` it fails
#   (exit 1, the `run "certmgr auth"` line, nothing written, no challenge requested from the CA,
#   none served); after it, it succeeds without any challenge.  `auth --csr` (CSR on stdin) does
#   the same for the names of a CSR.  Runs on the edge setup (PEBBLE_AUTHZREUSE=100).
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/lab/e2e.sh
source "$HERE/../lab/e2e.sh" "$@"

e2e_lab edge
export CHECK_RSA_BITS=2048 CHECK_EC_CURVE=prime256v1
M=$LAB/master
F=$LAB/follower
MCFG=$LAB/master.json
FCFG=$LAB/follower.json

# The master: http-01 through the lab's nginx webroot.
CFG_DATA_DIR=$M CFG_LOG_FILE=$LAB/master.log CFG_LOCK_FILE=$LAB/master.lock \
  write_config "$MCFG" "[$(cert_json other.test), $(cert_json f.test),
    $(cert_json csr.test '' '["csr.test", "www.csr.test"]')]"

# The follower: same CA, no auth section anywhere, its own data_dir, log and lock.
cat >"$FCFG" <<JSON
{
  "account": {"email": null},
  "settings": {
    "data_dir": $(json_str "$F"),
    "log_file": $(json_str "$LAB/follower.log"),
    "lock_file": $(json_str "$LAB/follower.lock"),
    "acme_directory_url": $(json_str "$ACME_URL"),
    "ca_bundle": $(json_str "$CA_BUNDLE"),
    "key_size": 2048,
    "key_curve": "secp256r1"
  },
  "certificates": [
    $(cert_json f.test),
    $(cert_json csr.test '' '["csr.test", "www.csr.test"]')
  ]
}
JSON

# challenge_posts: challenge responses ("POST /chalZ/") Pebble has received so far
challenge_posts() { lab_count "$PEBBLE_LOG" 'POST /chalZ/'; }
# finalizations: order finalizations Pebble has received so far
finalizations() { lab_count "$PEBBLE_LOG" 'POST /finalize-order/'; }
# no_cert_files DIR: no certificate or private key file anywhere under DIR
no_cert_files() {
  local found
  found=$(find "$1" \( -name cert.pem -o -name chain.pem -o -name key.pem -o -name 'key+cert.pem' \
    -o -name params.pem \) -printf '%P ' 2>/dev/null)
  [[ -z $found ]] || { printf '  certificate files under %s: %s\n' "$1" "$found" >&2; return 1; }
}
# count_is WHAT NOW WANT: NOW equals WANT (prints WHAT otherwise)
count_is() { [[ $2 == "$3" ]] || { printf '  %s: %s, expected %s\n' "$1" "$2" "$3" >&2; return 1; }; }
# pending_line NAME DOMAIN: stderr holds the "--no-auth" refusal for DOMAIN of certificate NAME,
# "[NAME] KT: authorization for DOMAIN is pending and --no-auth is set: run "certmgr auth" for it
# first (on the master)", possibly followed by "; <the other key type>: ..." on the same line
pending_line() {
  local re="^\[${1//./\\.}\] (rsa|ecdsa): authorization for ${2//./\\.} is pending and --no-auth is set: run \"certmgr auth\" for it first \(on the master\)(;|\$)"
  grep -Eq -- "$re" "$ERR" || { show_run; return 1; }
}
# run_certmgr_stdin FILE TAG ARGS...: run_certmgr with stdin from FILE
run_certmgr_stdin() {
  local in=$1 tag=$2
  shift 2
  local dir=${RUN_DIR:-$LAB/runs}
  mkdir -p "$dir"
  OUT=$dir/$tag.out
  ERR=$dir/$tag.err
  RC=0
  timeout -k 5 "${CERTMGR_TIMEOUT:-300}" "$CERTMGR" "$@" >"$OUT" 2>"$ERR" <"$in" || RC=$?
  printf '%s\n' "$RC" >"$dir/$tag.rc"
}

echo "== master: auth for another certificate registers the shared account"
g0=$(lab_challenge_gets)
f0=$(finalizations)
run_certmgr m-auth-other -c "$MCFG" auth other.test
check "master auth other.test: exit 0" rc_is 0
check "master auth other.test: validated through http-01 (nginx served challenges)" \
  test "$(lab_challenge_gets)" -gt "$g0"
check "master auth other.test: no order finalized" count_is finalizations "$(finalizations)" "$f0"
check "master auth other.test: no certificate files in the master's data_dir" no_cert_files "$M"
check "master auth other.test: challenge directory left empty" dir_empty "$CHALLENGE_DIR"
acct_keys=("$M"/account/*/client.key)
check "master has an account key under account/<label>/client.key" \
  test "${#acct_keys[@]}" = 1 -a -f "${acct_keys[0]}"

mkdir -p "$F"
cp -a "$M/account" "$F/account" || fail "cannot copy the master's account"

echo "== follower before the master's auth: refused"
F0=$(tree_hash "$F")
g0=$(lab_challenge_gets)
c0=$(challenge_posts)
run_certmgr f-early -c "$FCFG" update --no-auth f.test
check "follower --no-auth with a pending authorization: exit 1" rc_is 1
check "follower: stderr names the pending authorization and says to run certmgr auth" pending_line f.test f.test
check "follower: nothing under data_dir/f.test" test ! -e "$F/f.test"
check "follower: data_dir unchanged" test "$(tree_hash "$F")" = "$F0"
check "follower: no challenge response sent to the CA" count_is "challenge POSTs" "$(challenge_posts)" "$c0"
check "follower: no challenge served" count_is "challenge GETs" "$(lab_challenge_gets)" "$g0"
check "follower: no challenge file written" dir_empty "$CHALLENGE_DIR"

echo "== master: auth f.test"
g0=$(lab_challenge_gets)
f0=$(finalizations)
run_certmgr m-auth -c "$MCFG" auth f.test
check "master auth f.test: exit 0" rc_is 0
check "master auth f.test: validated through http-01" test "$(lab_challenge_gets)" -gt "$g0"
check "master auth f.test: no order finalized" count_is finalizations "$(finalizations)" "$f0"
check "master auth f.test: no f.test in the master's data_dir" test ! -e "$M/f.test"
check "master auth f.test: no certificate files in the master's data_dir" no_cert_files "$M"

echo "== follower after the master's auth: issues without any challenge"
g0=$(lab_challenge_gets)
c0=$(challenge_posts)
run_certmgr f-ok -c "$FCFG" update --no-auth f.test
check "follower --no-auth f.test: exit 0" rc_is 0
check "follower: f.test/rsa correct" check_cert "$F" f.test rsa "$LAB/root.pem" f.test
check "follower: f.test/ecdsa correct" check_cert "$F" f.test ecdsa "$LAB/root.pem" f.test
check "follower: no challenge served during its run" count_is "challenge GETs" "$(lab_challenge_gets)" "$g0"
check "follower: no challenge response sent to the CA" count_is "challenge POSTs" "$(challenge_posts)" "$c0"
check "follower: no challenge file written" dir_empty "$CHALLENGE_DIR"
check "master: still no certificate files (auth never finalizes)" no_cert_files "$M"

echo "== auth --csr"
openssl req -new -newkey rsa:2048 -nodes -keyout "$LAB/csr.key" -subj "/CN=csr.test" \
  -addext "subjectAltName=DNS:csr.test,DNS:www.csr.test" -out "$LAB/csr.pem" >"$LAB/csr.log" 2>&1 ||
  fail "cannot create the CSR"
F0=$(tree_hash "$F")
c0=$(challenge_posts)
run_certmgr f-csr-early -c "$FCFG" update --no-auth csr.test
check "follower --no-auth csr.test before auth --csr: exit 1" rc_is 1
check "follower csr.test before auth --csr: the run \"certmgr auth\" line" pending_line csr.test '(csr.test|www.csr.test)'
check "follower csr.test before auth --csr: data_dir unchanged" test "$(tree_hash "$F")" = "$F0"
check "follower csr.test before auth --csr: no challenge response sent" count_is "challenge POSTs" "$(challenge_posts)" "$c0"

g0=$(lab_challenge_gets)
f0=$(finalizations)
run_certmgr_stdin "$LAB/csr.pem" m-csr -c "$MCFG" auth --csr
check "master auth --csr < csr.pem: exit 0" rc_is 0
check "master auth --csr: both names validated through http-01" test "$(lab_challenge_gets)" -ge $((g0 + 2))
check "master auth --csr: no order finalized" count_is finalizations "$(finalizations)" "$f0"
check "master auth --csr: no certificate files" no_cert_files "$M"

g0=$(lab_challenge_gets)
c0=$(challenge_posts)
run_certmgr f-csr -c "$FCFG" update --no-auth csr.test
check "follower --no-auth csr.test after auth --csr: exit 0" rc_is 0
check "follower: csr.test/rsa correct" check_cert "$F" csr.test rsa "$LAB/root.pem" csr.test www.csr.test
check "follower: csr.test/ecdsa correct" check_cert "$F" csr.test ecdsa "$LAB/root.pem" csr.test www.csr.test
check "follower csr.test: no challenge served" count_is "challenge GETs" "$(lab_challenge_gets)" "$g0"
check "follower csr.test: no challenge response sent" count_is "challenge POSTs" "$(challenge_posts)" "$c0"

((T_FAIL == 0)) || lab_dump_logs
t_summary
