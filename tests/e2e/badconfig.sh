#!/usr/bin/env bash
# tests/e2e/badconfig.sh CERTMGR: malformed configurations (testing.md §4, behaviour §2).
# Each case runs `certmgr -c FILE update` and must give: exit 2, stdout empty, exactly one stderr
# line naming FILE and the expected JSON pointer, and nothing written (no data_dir, no log file,
# no lock file).  No lab: acme_directory_url points at a closed port.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/lab/e2e.sh
source "$HERE/../lab/e2e.sh" "$@"

T=$(mktemp -d "${TMPDIR:-/tmp}/certmgr-badconfig.XXXXXXXX") || exit 1
T=$(realpath -e "$T")
trap '[[ ${KEEP:-0} == 1 ]] || rm -rf -- "$T"' EXIT
trap 'rm -rf -- "$T"; trap - INT; kill -INT $$' INT
trap 'rm -rf -- "$T"; trap - TERM; kill -TERM $$' TERM
RUN_DIR=$T/runs
mkdir -p "$T/cases" "$T/challenges" "$RUN_DIR"

# a CA bundle that exists (never used: the no-lab port is closed)
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj "/CN=unused" \
  -keyout "$T/ca-key.pem" -out "$T/ca.pem" >/dev/null 2>&1 || fail "openssl req"
PY=/usr/bin/python3
[[ -x $PY ]] || PY=python3
PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

# settings members of the base config, in order; @SET@ = all of them, @SET-k1-k2@ = all but k1, k2
SET_KEYS=(data_dir log_file lock_file acme_directory_url ca_bundle key_size key_curve auth)
declare -A SETV=(
  [data_dir]='"@T@/data"' [log_file]='"@T@/certmgr.log"' [lock_file]='"@T@/certmgr.lock"'
  [acme_directory_url]='"https://127.0.0.1:@PORT@/dir"' [ca_bundle]='"@T@/ca.pem"' [key_size]=2048
  [key_curve]='"secp256r1"' [auth]='{"type": "http", "challenge_dir": "@T@/challenges"}'
)
settings_but() {
  local k x out="" skip
  for k in "${SET_KEYS[@]}"; do
    skip=0
    for x in "$@"; do [[ $x == "$k" ]] && skip=1; done
    ((skip)) && continue
    out+="${out:+, }\"$k\": ${SETV[$k]}"
  done
  printf '%s' "$out"
}
CERT='{"name": "a.test", "alt_names": ["a.test", "www.a.test"], "key_types": ["rsa", "ecdsa"]}'

# expand TEMPLATE: @SET@, @SET-key-key@, @CERT@, @T@, @PORT@ replaced
expand() {
  local s=$1 tok keys
  while [[ $s =~ @SET-([a-z_-]+)@ ]]; do
    tok=${BASH_REMATCH[0]}
    IFS=- read -r -a keys <<<"${BASH_REMATCH[1]}"
    s=${s//"$tok"/$(settings_but "${keys[@]}")}
  done
  s=${s//@SET@/$(settings_but)}
  s=${s//@CERT@/$CERT}
  s=${s//@T@/$T}
  s=${s//@PORT@/$PORT}
  printf '%s\n' "$s"
}

nothing_written() {
  local p rc=0
  for p in "$T/data" "$T/certmgr.log" "$T/certmgr.lock"; do
    [[ ! -e $p ]] || { printf '  %s was created\n' "$p" >&2; rc=1; }
  done
  [[ -z $(ls -A "$T/challenges") ]] || { printf '  challenge dir written\n' >&2; rc=1; }
  rm -rf -- "$T/data" "$T/certmgr.log" "$T/certmgr.lock"
  return $rc
}

# one stderr line that names FILE and contains POINTER (as "<pointer>" followed by a non-pointer
# character, so /certificates/0 does not match /certificates/01) and WORD when given
one_error_line() {
  local file=$1 ptr=$2 word=${3:-} line
  if [[ $(line_count "$ERR") != 1 ]]; then
    printf '  %s stderr lines, expected 1\n' "$(line_count "$ERR")" >&2
    show_run
    return 1
  fi
  IFS= read -r line <"$ERR"
  [[ $line == *"$file"* ]] || { printf '  stderr does not name %s: %s\n' "$file" "$line" >&2; return 1; }
  if [[ -n $ptr ]]; then
    [[ $line =~ (^|[^A-Za-z0-9_/])${ptr//./\\.}([^A-Za-z0-9_]|$) ]] ||
      { printf '  stderr does not contain pointer %s: %s\n' "$ptr" "$line" >&2; return 1; }
  fi
  if [[ -n $word ]]; then
    [[ $line == *"$word"* ]] || { printf '  stderr does not mention %s: %s\n' "$word" "$line" >&2; return 1; }
  fi
  return 0
}

# bad NAME POINTER TEMPLATE [WORD]: POINTER "" = only the file must be named (syntax errors);
# WORD: a text the message must contain as well (for a missing member, reported at its parent)
bad() {
  local name=$1 ptr=$2 word=${4:-} file=$T/cases/$1.json
  expand "$3" >"$file"
  run_certmgr "$name" -c "$file" update
  check "$name: exit 2" rc_is 2
  check "$name: one stderr line naming the file${ptr:+ and $ptr}${word:+ and $word}" \
    one_error_line "$file" "$ptr" "$word"
  check "$name: stdout empty" is_empty "$OUT"
  check "$name: nothing written" nothing_written
}

# ---------------------------------------------------------------- control: the base config loads
expand '{"account": {"email": null}, "settings": {@SET@}, "certificates": [@CERT@]}' >"$T/cases/base.json"
run_certmgr base -c "$T/cases/base.json" update
base_not_config_error() {
  [[ $RC != 2 ]] || { printf '  the valid base config was rejected:\n' >&2; show_run; return 1; }
}
check "control: valid base config is accepted (exit $RC, CA unreachable)" base_not_config_error
rm -rf -- "$T/data" "$T/certmgr.log" "$T/certmgr.lock"

# ---------------------------------------------------------------- syntax
bad syntax-missing-brace "" '{"settings": {@SET@}, "certificates": [@CERT@]'
bad syntax-trailing-comma "" '{"settings": {@SET@}, "certificates": [@CERT@,]}'
bad syntax-comment "" '{"settings": {@SET@}, // comment
  "certificates": [@CERT@]}'
bad syntax-single-quotes "" "{'settings': {@SET@}, 'certificates': [@CERT@]}"
bad syntax-empty-file "" ''
bad syntax-garbage-after "" '{"settings": {@SET@}, "certificates": [@CERT@]} x'

# ---------------------------------------------------------------- shape of the document
bad top-level-array "" '[{"settings": {@SET@}, "certificates": [@CERT@]}]'
bad unknown-section /frobnicate '{"settings": {@SET@}, "certificates": [@CERT@], "frobnicate": {}}'
bad settings-not-object /settings '{"settings": "fast", "certificates": [@CERT@]}'
bad account-not-object /account '{"account": [], "settings": {@SET@}, "certificates": [@CERT@]}'
bad account-unknown-key /account/mail '{"account": {"mail": "a@b.test"}, "settings": {@SET@}, "certificates": [@CERT@]}'
bad account-email-number /account/email '{"account": {"email": 42}, "settings": {@SET@}, "certificates": [@CERT@]}'

# ---------------------------------------------------------------- settings
bad settings-unknown-key /settings/renewal_day '{"settings": {@SET@, "renewal_day": 30}, "certificates": [@CERT@]}'
bad renewal-days-string /settings/renewal_days '{"settings": {@SET@, "renewal_days": "soon"}, "certificates": [@CERT@]}'
bad archive-days-object /settings/archive_days '{"settings": {@SET@, "archive_days": {}}, "certificates": [@CERT@]}'
bad key-size-string /settings/key_size '{"settings": {@SET-key_size@, "key_size": "large"}, "certificates": [@CERT@]}'
bad key-size-negative /settings/key_size '{"settings": {@SET-key_size@, "key_size": -1}, "certificates": [@CERT@]}'
bad key-curve-unknown /settings/key_curve '{"settings": {@SET-key_curve@, "key_curve": "secp123r1"}, "certificates": [@CERT@]}'
bad data-dir-number /settings/data_dir '{"settings": {@SET-data_dir@, "data_dir": 7}, "certificates": [@CERT@]}'
bad acme-url-array /settings/acme_directory_url '{"settings": {@SET-acme_directory_url@, "acme_directory_url": ["x"]}, "certificates": [@CERT@]}'
bad auth-unknown-type /settings/auth/type '{"settings": {@SET-auth@, "auth": {"type": "carrier-pigeon"}}, "certificates": [@CERT@]}'
bad auth-missing-type /settings/auth '{"settings": {@SET-auth@, "auth": {"challenge_dir": "@T@/challenges"}}, "certificates": [@CERT@]}' type
bad auth-challenge-dir-number /settings/auth/challenge_dir '{"settings": {@SET-auth@, "auth": {"type": "http", "challenge_dir": 5}}, "certificates": [@CERT@]}'

# ---------------------------------------------------------------- certificates
# a missing member is reported at its parent object, naming the member
bad certificates-missing / '{"settings": {@SET@}}' certificates
bad certificates-empty /certificates '{"settings": {@SET@}, "certificates": []}'
bad certificates-string /certificates '{"settings": {@SET@}, "certificates": "a.test"}'
bad certificate-not-object /certificates/0 '{"settings": {@SET@}, "certificates": ["a.test"]}'
bad certificate-no-name /certificates/0 '{"settings": {@SET@}, "certificates": [{"alt_names": ["a.test"]}]}' name
bad name-number /certificates/0/name '{"settings": {@SET@}, "certificates": [{"name": 42}]}'
bad name-empty /certificates/0/name '{"settings": {@SET@}, "certificates": [{"name": ""}]}'
bad name-with-slash /certificates/0/name '{"settings": {@SET@}, "certificates": [{"name": "a/b.test"}]}'
bad name-dotdot /certificates/0/name '{"settings": {@SET@}, "certificates": [{"name": ".."}]}'
bad duplicate-names /certificates/1/name '{"settings": {@SET@}, "certificates": [{"name": "a.test"}, {"name": "A.test"}]}'
bad certificate-unknown-key /certificates/0/frobnicate '{"settings": {@SET@}, "certificates": [{"name": "a.test", "frobnicate": 1}]}'
bad alt-names-number /certificates/0/alt_names '{"settings": {@SET@}, "certificates": [{"name": "a.test", "alt_names": 5}]}'
bad alt-name-not-string /certificates/0/alt_names '{"settings": {@SET@}, "certificates": [{"name": "a.test", "alt_names": ["a.test", 1]}]}'
bad alt-name-with-slash /certificates/0/alt_names '{"settings": {@SET@}, "certificates": [{"name": "a.test", "alt_names": ["a.test", "www/x.test"]}]}'
bad key-type-unknown /certificates/0/key_types/1 '{"settings": {@SET@}, "certificates": [{"name": "a.test", "key_types": ["rsa", "dsa"]}]}'
bad key-type-ed25519 /certificates/0/key_types/0 '{"settings": {@SET@}, "certificates": [{"name": "a.test", "key_types": ["ed25519"]}]}'
bad key-types-number /certificates/0/key_types '{"settings": {@SET@}, "certificates": [{"name": "a.test", "key_types": 2}]}'
bad cert-key-curve-bad /certificates/1/key_curve '{"settings": {@SET@}, "certificates": [@CERT@, {"name": "b.test", "key_curve": "bogus"}]}'
bad cert-key-size-string /certificates/0/key_size '{"settings": {@SET@}, "certificates": [{"name": "a.test", "key_size": "big"}]}'
bad cert-auth-unknown-type /certificates/0/auth/type '{"settings": {@SET@}, "certificates": [{"name": "a.test", "auth": {"type": "smoke-signal"}}]}'
bad cert-auth-challenge-dir-bool /certificates/0/auth/challenge_dir '{"settings": {@SET@}, "certificates": [{"name": "a.test", "auth": {"type": "http", "challenge_dir": true}}]}'

t_summary
