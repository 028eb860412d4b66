#!/usr/bin/env bash
# tests/e2e/hostile.sh CERTMGR: the hostile-CA corpus (testing.md §4, issue 7).
#
# Starts tests/fakeca/fakeca.py (its own test CA, HTTPS on a free loopback port, a second "evil"
# listener standing for another host), issues one certificate for two names with both key types
# through it (checked with openssl against the fake CA's root), then for every case in
# tests/hostile/cases/*.json loads the case's scenario into the fake CA and runs
#   timeout -k 5 60 /usr/bin/time -v strace -f -qq -y -e trace=%file,execve,fchmod,fchown,
#     ftruncate,write,connect certmgr -c CFG update --force
# and tests/hostile/judge.py judges the run against independent oracles: exit status class, the
# one error line (text, printable ASCII), the tree hash (data_dir without .backoff/), the
# challenge dir empty, no hook or service run (they append to a marker file), no write outside the
# allow-list, no execve but certmgr itself, no connection but to the fake CA, no request to the
# "evil" listener, no canary file, peak RSS and wall time bounded, request counts per case.
#
# Environment: HOSTILE_CASES (extglob of case names, default *, e.g. "@(token|chain)-*"),
# HOSTILE_KEEP=1 (keep the work dir), HOSTILE_TIMEOUT (outer deadline per case, default 60 s),
# HOSTILE_MAX_RSS_MB (default 200), HOSTILE_HTTP_TIMEOUT (settings.http_timeout, default 3).
set -uo pipefail
shopt -s extglob

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TESTS=$(cd "$HERE/.." && pwd)
# shellcheck source=tests/lab/e2e.sh
source "$TESTS/lab/e2e.sh" "$@"

FAKECA="$TESTS/fakeca/fakeca.py"
JUDGE="$TESTS/hostile/judge.py"
CASES_DIR="$TESTS/hostile/cases"
DEADLINE=${HOSTILE_TIMEOUT:-60}
MAX_RSS_KB=$((${HOSTILE_MAX_RSS_MB:-200} * 1024))
HTTP_TIMEOUT=${HOSTILE_HTTP_TIMEOUT:-3}
NAME=hostile.test

for tool in strace /usr/bin/time openssl curl timeout; do
  command -v "$tool" >/dev/null 2>&1 || fail "$tool is needed (Debian packages strace, time)"
done
judge() { "$LAB_PYTHON" "$JUDGE" "$@"; }
# A sanitizer build works under strace once LeakSanitizer (which needs ptrace itself) is off.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"

W=$(mktemp -d "${TMPDIR:-/tmp}/certmgr-hostile.XXXXXXXX") || fail "mktemp"
W=$(realpath "$W")
FAKECA_PID=
cleanup() {
  local rc=$?
  [[ -n $FAKECA_PID ]] && _lab_kill "$FAKECA_PID"
  FAKECA_PID=
  if [[ ${HOSTILE_KEEP:-0} == 1 ]]; then
    printf 'kept %s\n' "$W" >&2
  else
    rm -rf -- "$W"
  fi
  return "$rc"
}
trap 'cleanup; exit' EXIT
trap 'cleanup; trap - INT; kill -INT $$' INT
trap 'cleanup; trap - TERM; kill -TERM $$' TERM

CA=$W/ca D=$W/data CH=$W/www/.well-known/acme-challenge RUNS=$W/runs CWD=$W/cwd
LOCK=$W/certmgr.lock CERTLOG=$W/certmgr.log HOOKLOG=$W/hooks.log RESULTS=$W/results.jsonl
mkdir -p "$CA" "$CH" "$RUNS" "$CWD" || fail "mkdir"

ncases=$(judge validate "$CASES_DIR") || fail "malformed case files"
judge selftest "$W" || fail "the trace oracle misses escapes in its self-test"

# ---------------------------------------------------------------- the fake CA
# start_fakeca [PORT]: starts it (same ports again when given), sets ACME_PORT MGMT_PORT EVIL_PORT.
start_fakeca() {
  rm -f "$CA/ports.json"
  "$LAB_PYTHON" "$FAKECA" --dir "$CA" --challenge-dir "$CH" --port "${1:-0}" \
    --mgmt-port "${2:-0}" --evil-port "${3:-0}" >>"$W/fakeca.out" 2>&1 &
  FAKECA_PID=$!
  local deadline=$((SECONDS + 30))
  until [[ -s $CA/ports.json ]]; do
    kill -0 "$FAKECA_PID" 2>/dev/null || { tail -n 20 "$W/fakeca.out" >&2; return 1; }
    ((SECONDS < deadline)) || { printf 'fake CA not ready after 30 s\n' >&2; return 1; }
    sleep 0.1
  done
  read -r ACME_PORT MGMT_PORT EVIL_PORT < <("$LAB_PYTHON" -c 'import json,sys
p = json.load(open(sys.argv[1])); print(p["acme"], p["mgmt"], p["evil"])' "$CA/ports.json")
  curl -fsS -o /dev/null --max-time 5 --cacert "$CA/tls.pem" "https://127.0.0.1:$ACME_PORT/dir"
}
start_fakeca || fail "the fake CA did not start"
# scenario FILE: load it into the fake CA (resets its call counters)
scenario() {
  curl -fsS -o /dev/null --max-time 10 -X POST --data-binary "@$1" \
    "http://127.0.0.1:$MGMT_PORT/scenario"
}

# ---------------------------------------------------------------- certmgr configuration
HOOK=$W/hook.sh
printf '#!/bin/sh\nprintf "%%s\\n" "$*" >> %q\n' "$HOOKLOG" >"$HOOK"
chmod 755 "$HOOK"
# write_cfg FILE DIRECTORY_URL DATA_DIR [HTTP_TIMEOUT]
write_cfg() {
  "$LAB_PYTHON" - "$@" <<EOF
import json, sys
settings = {"data_dir": sys.argv[3], "log_file": "$CERTLOG", "lock_file": "$LOCK",
            "acme_directory_url": sys.argv[2], "ca_bundle": "$CA/tls.pem", "key_size": 2048,
            "key_curve": "secp256r1", "color_output": False, "cert_poll_time": 3,
            "auth": {"type": "http", "challenge_dir": "$CH", "delay": 1, "retry": 3}}
if len(sys.argv) > 4:
    settings["http_timeout"] = int(sys.argv[4])
cfg = {"account": {"email": None}, "settings": settings,
       "hooks": {"certificate_installed": "$HOOK installed {certificate_name} {key_type}",
                 "certificates_updated": "$HOOK updated {certificates}"},
       "services": {"svc": "printf 'service\\\\n' >> '$HOOKLOG'"},
       "certificates": [{"name": "$NAME", "alt_names": ["$NAME", "www.$NAME"],
                         "key_types": ["rsa", "ecdsa"], "services": ["svc"]}]}
json.dump(cfg, open(sys.argv[1], "w"), indent=2)
EOF
}
DIR_URL="https://127.0.0.1:$ACME_PORT/dir"
# Does this certmgr know settings.http_timeout (issue 7 contract)? A config naming it either
# loads (then the hostile runs use it) or is refused with exit 2 naming the key.
write_cfg "$W/probe.json" "$DIR_URL" "$W/probe-data" "$HTTP_TIMEOUT"
"$CERTMGR" -c "$W/probe.json" check >"$W/probe.out" 2>&1 </dev/null
probe_rc=$?
if grep -q 'http_timeout' "$W/probe.out" && ((probe_rc == 2)); then
  HT=()
  printf 'NOTE: no settings.http_timeout in this certmgr: slow-server cases hit its own timeouts\n'
else
  HT=("$HTTP_TIMEOUT")
  printf 'settings.http_timeout = %s\n' "$HTTP_TIMEOUT"
fi
CFG=$W/certmgr.json
write_cfg "$CFG" "$DIR_URL" "$D" "${HT[@]}"

STRACE=(strace -f -qq -y -s 64 -e "trace=%file,execve,fchmod,fchown,ftruncate,write,connect")
# traced_run TAG CFG: certmgr update --force under timeout, time and strace; sets RC WALL R.
traced_run() {
  R=$RUNS/$1
  mkdir -p "$R"
  local t0 t1
  t0=$(date +%s.%N)
  (cd "$CWD" && exec timeout -k 5 "$DEADLINE" /usr/bin/time -v -o "$R/time" \
    "${STRACE[@]}" -o "$R/trace" -- "$CERTMGR" -c "$2" update --force) \
    >"$R/out" 2>"$R/err" </dev/null
  RC=$?
  t1=$(date +%s.%N)
  WALL=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
}

# tree_state: hash of data_dir without .backoff/ (the contract's persisted failure state)
tree_state() {
  (
    cd "$D" 2>/dev/null || { echo absent; exit 0; }
    find . -path ./.backoff -prune -o -printf '%p %y %m %U:%G %l\n' | LC_ALL=C sort
    find . -path ./.backoff -prune -o -type f -print0 | LC_ALL=C sort -z | xargs -0r sha256sum
  ) | sha256sum | cut -d' ' -f1
}

# ---------------------------------------------------------------- first issuance (benign)
echo "== first issuance through the fake CA (rsa and ecdsa)"
traced_run first "$CFG"
((RC == 0)) || {
  cat "$R/err" >&2
  tail -n 20 "$CA/requests.jsonl" >&2
  fail "first update: exit $RC"
}
for kt in rsa ecdsa; do
  v=$(openssl verify -purpose sslserver -CAfile "$CA/root.pem" -untrusted "$D/$NAME/$kt/chain.pem" \
    "$D/$NAME/$kt/cert.pem" 2>&1)
  [[ $v == *": OK" ]] || fail "$kt chain does not verify against the fake CA root: $v"
  cmp -s <(openssl x509 -in "$D/$NAME/$kt/cert.pem" -noout -pubkey) \
    <(openssl pkey -in "$D/$NAME/$kt/keys/key.pem" -pubout) || fail "$kt: key does not match"
done
[[ -s $HOOKLOG ]] || fail "the install hook did not run after the first issuance"
echo "PASS first issuance: both key types verify against the fake CA root, hooks ran"

echo "== benign traced run (update --force): what certmgr writes, execs and connects to"
: >"$HOOKLOG"
traced_run benign "$CFG"
((RC == 0)) || { cat "$R/err" >&2; fail "benign update --force: exit $RC"; }
judge writes "$R/trace" --cwd "$CWD" --named "data_dir $D" "$D" --named "challenge dir $CH" "$CH" \
  --named "lock file $LOCK" "$LOCK" --named "log file $CERTLOG" "$CERTLOG" \
  --named "hook/service output $HOOKLOG" "$HOOKLOG" --exact "$R/out" --exact "$R/err" ||
  fail "the benign run writes outside data_dir, the challenge dir, the lock file and the log file"

# ---------------------------------------------------------------- the cases
: >"$RESULTS"
# shellcheck disable=SC2206 # the pattern is meant to glob
cases=("$CASES_DIR"/${HOSTILE_CASES:-*}.json)
[[ -e ${cases[0]} ]] || fail "no case matches '${HOSTILE_CASES:-*}'"
judge prepare "$W/scenarios" "${cases[@]}" >"$W/manifest" || fail "cannot read the cases"
printf '== %s of %s cases\n' "${#cases[@]}" "$ncases"
T_START=$SECONDS
before=$(tree_state)
while read -r cname account needs; do
  kill -0 "$FAKECA_PID" 2>/dev/null || {
    printf 'fake CA died; restarting it on the same ports\n'
    _lab_kill "$FAKECA_PID"
    start_fakeca "$ACME_PORT" "$MGMT_PORT" "$EVIL_PORT" || fail "fake CA restart"
  }
  case_file=$CASES_DIR/$cname.json
  if [[ $needs == *http_timeout* && ${#HT[@]} == 0 ]]; then
    # without a bound on each request a slow server holds certmgr until the outer deadline
    judge record "$RESULTS" "$cname" "needs settings.http_timeout, which this certmgr lacks"
    continue
  fi
  if ! scenario "$W/scenarios/$cname.json"; then
    judge record "$RESULTS" "$cname" "the fake CA refused the scenario"
    continue
  fi
  cfg=$CFG
  accounts_before=$(ls -A "$D/account" 2>/dev/null)
  if [[ $account == new ]]; then
    cfg=$W/certmgr-new.json
    write_cfg "$cfg" "$DIR_URL/new-$cname" "$D" "${HT[@]}"
  fi
  : >"$HOOKLOG"
  log_from=$(wc -l <"$CA/requests.jsonl")
  certlog_from=$(stat -c %s "$CERTLOG" 2>/dev/null || echo 0)
  traced_run "$cname" "$cfg"
  # a new-account case may leave its account directory: note it, remove it
  if [[ $cfg != "$CFG" ]]; then
    while IFS= read -r a; do
      [[ -n $a ]] && ! grep -qxF -- "$a" <<<"$accounts_before" && rm -rf -- "${D:?}/account/$a"
    done < <(ls -A "$D/account" 2>/dev/null)
  fi
  after=$(tree_state)
  left=$(find "$CH" -mindepth 1 -printf '%f ' | head -c 300)
  # canary: what $(touch canary) would make; hostile-escape*: the file names of traversal tokens
  canary=$(find "$CWD" / /tmp "${HOME:-/root}" -maxdepth 1 \
    \( -name 'canary*' -o -name 'hostile-escape*' \) 2>/dev/null | head -n 3 | tr '\n' ' ')
  canary+=$(find "$W" \( -name 'canary*' -o -name 'hostile-escape*' \) 2>/dev/null |
    head -n 3 | tr '\n' ' ')
  marker=no
  [[ -s $HOOKLOG ]] && marker=yes
  backoff=no
  [[ -e $D/.backoff/$NAME.json ]] && backoff=yes
  judge check --case "$case_file" --rc "$RC" --wall "$WALL" --deadline "$DEADLINE" \
    --stdout "$R/out" --stderr "$R/err" --trace "$R/trace" --time "$R/time" --cwd "$CWD" \
    --log "$CA/requests.jsonl" --log-from "$log_from" --certmgr "$CERTMGR" \
    --certlog "$CERTLOG" --certlog-from "$certlog_from" --acme-port "$ACME_PORT" \
    --tree-before "$before" --tree-after "$after" --results "$RESULTS" \
    --allow "$D" --allow "$CH" --allow-exact "$LOCK" --allow-exact "$CERTLOG" \
    --allow-exact "$HOOKLOG" --allow-exact "$R/out" --allow-exact "$R/err" \
    --hook-exec "$HOOK" --hook-exec /bin/sh --marker "$marker" --backoff "$backoff" \
    --challenge-left "$left" --canary "$canary" --max-rss-kb "$MAX_RSS_KB"
  # leave nothing for the next case: challenge files, canaries, escapes inside the work dir
  find "$CH" -mindepth 1 -delete 2>/dev/null
  find "$W" \( -name 'canary*' -o -name 'hostile-escape*' \) -exec rm -rf -- {} + 2>/dev/null
  before=$after
done <"$W/manifest"
printf '== corpus ran in %d s\n' "$((SECONDS - T_START))"
judge summary "$RESULTS"
