#!/usr/bin/env bash
# tests/e2e/lockwait.sh CERTMGR: the run lock and -w (behaviour §10.5) without a CA: `check`
# needs no network. Busy lock without -w: exit 3 and nothing done; with -w: waits until the
# other run releases the lock, then runs; min_run_delay = max_run_delay is a fixed delay [B18].
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/lab/e2e.sh
source "$HERE/../lab/e2e.sh" "$@"

LAB=$(mktemp -d)
holder=
cleanup() { [[ -n $holder ]] && kill "$holder" 2>/dev/null; rm -rf "$LAB"; }
trap cleanup EXIT INT TERM
LOCK=$LAB/run/certmgr.lock
mkdir -p "$LAB/run"
cat >"$LAB/certmgr.json" <<JSON
{"settings": {"data_dir": "$LAB/data", "log_file": null, "lock_file": "$LOCK",
              "acme_directory_url": "https://127.0.0.1:9/dir", "min_run_delay": 1, "max_run_delay": 1},
 "certificates": [{"name": "lock.test"}]}
JSON

# hold_lock SECONDS: holds the lock (blocking acquire), then creates $LAB/released and exits
hold_lock() {
  rm -f "$LAB/released" "$LAB/holding"
  flock -F "$LOCK" sh -c "touch '$LAB/holding'; sleep $1; touch '$LAB/released'" &
  holder=$!
  local deadline=$((SECONDS + 10))
  while [[ ! -e $LAB/holding ]] && ((SECONDS < deadline)); do sleep 0.05; done
  [[ -e $LAB/holding ]]
}

flock -F "$LOCK" sleep 60 & # no shell in between: killing it releases the lock
holder=$!
held() { ! flock -n "$LOCK" true; }
deadline=$((SECONDS + 10))
while ! held && ((SECONDS < deadline)); do sleep 0.05; done
check "the test holds the lock" held
run_certmgr busy -c "$LAB/certmgr.json" check
check "busy lock without -w: exit 3" rc_is 3
check "busy lock without -w: nothing on stdout" is_empty "$OUT"
check "busy lock without -w: one line on stderr naming the lock file" \
  test "$(line_count "$ERR")" = 1 -a -n "$(grep -F "$LOCK" "$ERR")"
check "busy lock without -w: nothing written" test ! -e "$LAB/data"
kill "$holder" 2>/dev/null
wait "$holder" 2>/dev/null
holder=

check "the test holds the lock for 3 s" hold_lock 3
run_certmgr wait -c "$LAB/certmgr.json" -w check
check "-w waits for the lock and then runs: exit 0" rc_is 0
check "-w ran only after the holder released the lock" test -e "$LAB/released"
wait "$holder" 2>/dev/null
holder=
check "-w: silent" is_empty "$OUT"
check "-w: no stderr" is_empty "$ERR"

t_summary
