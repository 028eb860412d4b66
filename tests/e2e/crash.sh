#!/usr/bin/env bash
# tests/e2e/crash.sh CERTMGR: crash consistency of `update --force` (testing.md §4 "Fault", §6;
# issue 7 "Crash consistency").
#
# Two certificates x two key types (key_size 2048) in a stable lab. After every kill:
# tests/fault/tree-check --before (every certificate all old or all new, every live file parses and
# matches), then a recovery run (plain `update`) that must exit 0 and leave a clean tree
# (tree-check --after-run). Three parts:
#  1. Random SIGKILLs (seeded): `update --force` with hooks that sleep (so that some kills land
#     during a hook) runs in its own session and process group and is killed after a delay uniform
#     in [0, 1.2 x median run time] with `kill -KILL -- -PGID`; certmgr starts each hook in a
#     process group of its own, so every other process group of the session is then killed too,
#     and the hooks that outlived the kill of certmgr's group are counted. The median is that of
#     the last 5 complete timed runs (3 at the start, one more every 20 runs: the load of the
#     machine changes). A run that ends before its kill is checked as a completed run. Runs until
#     CRASH_KILLS kills hit a running certmgr (at most CRASH_ITERATIONS runs).
#  2. Power-loss lint: one `update --force` recorded with `strace -f -qq -y` over every mutating
#     file syscall; tests/fault/fsync-lint checks that every rename follows an fsync of the new file
#     and precedes an fsync of the parent directory.
#  3. Kill-point sweep: every (syscall S, occurrence n) of that recording (tests/fault/kill-points:
#     n = 1 .. the highest per-thread count of S, as strace's `when=n` counts) is a kill point; the
#     run is repeated with `strace -e inject=S:signal=SIGKILL:when=n` (killed on entry of that call).
#     The call each point stopped is compared with the recorded one; a point that stopped another
#     call (the syscall order differs a little between runs: challenge order, readdir order,
#     same-size key comparisons) is retried up to CRASH_DRIFT_RETRIES times at the occurrence
#     where that run had the recorded call (kill-points retarget), and what still differs is
#     reported. Points are visited in a seeded random order, bounded by CRASH_SWEEP_SECONDS
#     (0 = every point).
# A figures line ends the output.
#
# Environment: CRASH_SEED (default from the clock; printed), CRASH_KILLS (55), CRASH_ITERATIONS
# (3 x CRASH_KILLS + 10), CRASH_SWEEP_SECONDS (60; 0 = no bound), CRASH_DRIFT_RETRIES (2),
# CRASH_EVIDENCE_DIR (when set, a copy of every inconsistent tree is kept there).
#   CI form:   defaults (55 random kills, a 60 s sweep: about 5 to 6 minutes on 2 busy cores)
#   full form: CRASH_SWEEP_SECONDS=0 CRASH_KILLS=1000 (every kill point + 1,000 random kills)
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/lab/e2e.sh
source "$HERE/../lab/e2e.sh" "$@"
FAULT=$HERE/../fault
TREE_CHECK=$FAULT/tree-check

KILLS=${CRASH_KILLS:-55}
ITERATIONS=${CRASH_ITERATIONS:-$((KILLS * 3 + 10))} # upper bound; stops after KILLS kills that hit
SWEEP_SECONDS=${CRASH_SWEEP_SECONDS:-60}
DRIFT_RETRIES=${CRASH_DRIFT_RETRIES:-2}
EVIDENCE=${CRASH_EVIDENCE_DIR:-}
SEED=${CRASH_SEED:-$(($(date +%s%N) / 1000 % 32768))}
echo "crash test seed: $SEED (rerun with CRASH_SEED=$SEED)"
RANDOM=$SEED
command -v strace >/dev/null || fail "strace is not installed"
# LeakSanitizer cannot run under ptrace (the sanitizer build runs this rig too)
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
command -v setsid >/dev/null || fail "setsid is not installed"
T_START=$SECONDS

e2e_lab stable
mkdir -p "$LAB/crash"
exec {ERR}>&2 # stderr, for messages from blocks whose own stderr hides bash's "Killed" notices
write_config "$CFG" '[
    {"name": "crash1.test", "alt_names": ["crash1.test", "www.crash1.test"], "key_types": ["rsa", "ecdsa"]},
    {"name": "crash2.test", "key_types": ["rsa", "ecdsa"]}
  ]'
SPECS=("crash1.test:rsa,ecdsa:crash1.test,www.crash1.test" "crash2.test:rsa,ecdsa:crash2.test")
# The same configuration with hooks that log their start and end around a short sleep (the random
# kills use it): a kill between the two lines landed during a hook.
CFG_HOOKS=$LAB/certmgr-hooks.json
HOOK_LOG=$LAB/hooks.log
"$LAB_PYTHON" - "$CFG" "$CFG_HOOKS" "$HOOK_LOG" <<'PY' || fail "cannot write $CFG_HOOKS"
import json, sys
cfg = json.load(open(sys.argv[1]))
script = 'echo "start $$ $1" >>"$0"; sleep 0.1; echo "end $$ $1" >>"$0"'
hook = lambda what: {"args": ["/bin/sh", "-c", script, sys.argv[3], what], "timeout": 30}
cfg["hooks"] = {"certificate_installed": hook("{certificate_name}/{key_type}"),
                "certificates_updated": hook("updated")}
json.dump(cfg, open(sys.argv[2], "w"), indent=2)
PY

# --jobs 1 when certmgr has it (the strace counters are per thread), wherever it belongs
GARGS=() UARGS=()
if "$CERTMGR" --help 2>/dev/null | grep -q -- '--jobs'; then
  GARGS=(--jobs 1)
elif "$CERTMGR" update --help 2>/dev/null | grep -q -- '--jobs'; then
  UARGS=(--jobs 1)
fi
FORCE=("$CERTMGR" "${GARGS[@]}" -c "$CFG" update "${UARGS[@]}" --force)
FORCE_HOOKS=("$CERTMGR" "${GARGS[@]}" -c "$CFG_HOOKS" update "${UARGS[@]}" --force)
SNAP=$LAB/crash/snapshot # fingerprints of the tree before the run being killed

# tree_ok TAG TREE-CHECK-OPTIONS...: tree-check; its report is kept in $LAB/crash/TAG.tc, the
# "state NAME old|new" lines of --before in $LAB/crash/TAG.state
tree_ok() {
  local tag=$1
  shift
  "$TREE_CHECK" "$@" "$D" "$LAB/root.pem" "${SPECS[@]}" \
    >"$LAB/crash/$tag.state" 2>"$LAB/crash/$tag.tc" && return 0
  sed 's/^/  /' "$LAB/crash/$tag.tc" >&2
  return 1
}
# recover TAG CONFIG: plain update exits 0 and leaves a clean tree (new snapshot)
recover() {
  run_certmgr "$1-recovery" "${GARGS[@]}" -c "$2" update "${UARGS[@]}"
  rc_is 0 && tree_ok "$1-recovery" --after-run --snapshot "$SNAP"
}
now_ms() { local t=${EPOCHREALTIME/./}; printf '%s\n' "$((10#$t / 1000))"; }

# Counters over both parts
inconsistent=0 recoveries_ok=0 recoveries_failed=0 stale_challenges=0
declare -A outcome=() # "crash1.test:old crash2.test:new" -> kills that left that state
# after_kill TAG CONFIG WHAT: the checks after one kill; WHAT names the kill in reports
after_kill() {
  local tag=$1 config=$2 what=$3 state
  if tree_ok "$tag" --before "$SNAP"; then
    state=$(awk '$1 == "state" { printf "%s%s:%s", (NR > 1 ? " " : ""), $2, $3 }' "$LAB/crash/$tag.state")
    outcome[$state]=$((${outcome[$state]:-0} + 1))
  else
    inconsistent=$((inconsistent + 1))
    echo "  $what: INCONSISTENT TREE (tree-check above)" >&2
    find "$D" -printf '    %y %m %P -> %l\n' 2>/dev/null | LC_ALL=C sort -k3 | head -n 80 >&2
    if [[ -n $EVIDENCE ]]; then
      mkdir -p "$EVIDENCE" && cp -a "$D" "$EVIDENCE/$tag" && echo "  tree kept in $EVIDENCE/$tag" >&2
    fi
  fi
  if recover "$tag" "$config"; then
    recoveries_ok=$((recoveries_ok + 1))
  else
    recoveries_failed=$((recoveries_failed + 1))
    echo "  $what: recovery failed" >&2
  fi
  # Challenge files of the killed run: the recovery run sweeps them (challenge ledger).
  local left
  left=$(find "$CHALLENGE_DIR" -mindepth 1 -maxdepth 1 -printf x 2>/dev/null | wc -c)
  if ((left > 0)); then
    stale_challenges=$((stale_challenges + left))
    echo "  $what: $left challenge file(s) left after the recovery run" >&2
    find "$CHALLENGE_DIR" -mindepth 1 -maxdepth 1 -type f -delete
  fi
}

echo "== initial issuance"
run_certmgr initial -c "$CFG" update
check "initial update exits 0" rc_is 0
check "initial tree consistent (and check_cert agrees)" tree_ok initial --openssl --after-run --snapshot "$SNAP"
((T_FAIL == 0)) || { lab_dump_logs; t_summary; exit 1; }

# timed_run TAG: one complete `update --force` with the hooks; its time joins `times`, max_delay
# becomes 1.2 x the median of the last 5; sets timed_ok
times=() timed_ok=1
timed_run() {
  local t0 median first
  : >"$HOOK_LOG"
  t0=$(now_ms)
  run_certmgr "$1" "${GARGS[@]}" -c "$CFG_HOOKS" update "${UARGS[@]}" --force
  times+=($(($(now_ms) - t0)))
  first=$((${#times[@]} > 5 ? ${#times[@]} - 5 : 0))
  median=$(printf '%s\n' "${times[@]:first}" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
  max_delay=$((median * 12 / 10))
  timed_ok=1
  rc_is 0 || timed_ok=0
  [[ $(grep -c '^end ' "$HOOK_LOG") == 5 ]] || { echo "  $1: not 5 hooks ran to their end" >&2; timed_ok=0; }
  tree_ok "$1" --before "$SNAP" --after-run --snapshot "$SNAP" || timed_ok=0
}

echo "== median run time of update --force (with the sleeping hooks)"
for i in 1 2 3; do
  timed_run "median$i"
  check "timing run $i: exit 0, 5 hooks ran to their end, tree consistent" test "$timed_ok" = 1
done
check "check_cert agrees with tree-check after the timing runs" tree_ok median --openssl --after-run
echo "run times ${times[*]} ms, kill delays in [0, $max_delay] ms"

echo "== random SIGKILLs until $KILLS hit a running certmgr (at most $ITERATIONS runs)"
# setsid started as below must not fork (it would if it led a process group): then the pid of the
# job is certmgr's, and its session and process group
setsid sh -c 'ps -o pid=,pgid=,sid= -p $$' >"$LAB/crash/setsid.out" </dev/null &
wait $!
read -r a b c <"$LAB/crash/setsid.out"
check "setsid runs the command as the leader of a new session and process group ($a $b $c)" \
  test "${a:-x}" = "${b:-y}" -a "${b:-y}" = "${c:-z}"
# session_pgids SID: the process groups of the live (not zombie) processes of session SID
session_pgids() { ps -e -o sid=,pgid=,stat= | awk -v s="$1" '$1 == s && $3 !~ /^Z/ { print $2 }' | sort -u; }
hits=0 finished=0 odd=0 in_hook=0 hook_survivors=0 timed_failed=0 r_inconsistent_before=$inconsistent
r_start=$SECONDS
for ((i = 1; i <= ITERATIONS && hits < KILLS; i++)); do
  if ((i % 20 == 0)); then
    timed_run "timed$i"
    ((timed_ok)) || timed_failed=$((timed_failed + 1))
  fi
  : >"$HOOK_LOG"
  # setsid: a new session and process group led by certmgr itself (pid = sid = pgid)
  setsid "${FORCE_HOOKS[@]}" >"$LAB/crash/run.out" 2>"$LAB/crash/run.err" </dev/null &
  pid=$!
  lab_track_pid "$pid"
  delay=$(((RANDOM * 32768 + RANDOM) % (max_delay + 1)))
  sleep "$((delay / 1000)).$(printf '%03d' $((delay % 1000)))"
  {
    kill -KILL -- "-$pid"
    # Hooks run in process groups of their own: what of the session outlived the group kill?
    survivors=0
    deadline=$((SECONDS + 5))
    while pgids=$(session_pgids "$pid") && [[ -n $pgids ]]; do
      if [[ $pgids != "$pid" ]]; then
        survivors=1
        for g in $pgids; do kill -KILL -- "-$g"; done
      fi
      ((SECONDS < deadline)) || { echo "  iteration $i: processes of session $pid still alive: $pgids" >&"$ERR"; break; }
      sleep 0.05
    done
    wait "$pid"
    st=$?
  } 2>/dev/null # (no "Killed" job notices)
  lab_untrack_pid "$pid"
  case $st in
    137) hits=$((hits + 1)) ;;
    0) finished=$((finished + 1)) ;;
    *)
      odd=$((odd + 1))
      echo "  iteration $i: update --force ended by itself with exit $st: $(head -c 300 "$LAB/crash/run.err")" >&2
      ;;
  esac
  if [[ $st == 137 ]]; then
    started=$(grep -c '^start ' "$HOOK_LOG") ended=$(grep -c '^end ' "$HOOK_LOG")
    ((started > ended || survivors)) && in_hook=$((in_hook + 1))
    ((survivors)) && hook_survivors=$((hook_survivors + 1))
    after_kill "kill$i" "$CFG_HOOKS" "iteration $i (delay $delay ms, status $st)"
  elif ! tree_ok "kill$i" --before "$SNAP" --after-run --snapshot "$SNAP"; then
    inconsistent=$((inconsistent + 1)) # a run that completed before its kill: no recovery needed
    echo "  iteration $i (delay $delay ms, status $st): INCONSISTENT TREE after a complete run" >&2
  fi
  ((i % 100 == 0)) && echo "  ... $i runs, $hits kills, $inconsistent inconsistent, $((SECONDS - r_start)) s"
done
r_runs=$((i - 1)) r_seconds=$((SECONDS - r_start))
r_inconsistent=$((inconsistent - r_inconsistent_before))
echo "$hits kills in $r_runs runs ($finished finished before the kill) in $r_seconds s; $in_hook during a hook;" \
  "after $hook_survivors kills a hook outlived the kill of certmgr's process group (killed with its own group);" \
  "timed runs ${times[*]} ms"
check "random kills: 0 inconsistent trees" test "$r_inconsistent" = 0
check "random kills: no run ended with an unexpected status" test "$odd" = 0
check "random kills: every timed run exits 0 with a consistent tree" test "$timed_failed" = 0
check "random kills: $KILLS kills hit a running certmgr ($hits in $r_runs runs)" test "$hits" -ge "$KILLS"

echo "== recording of update --force under strace; power-loss lint"
# every mutating file syscall (testing.md §4 list + rmdir, chmod, chown, lchown, truncate, creat,
# open, which glibc may also use); openat and write also catch reads and socket/pipe/log writes
SYSCALLS=openat,open,creat,write,pwrite64,fsync,fdatasync,rename,renameat,renameat2,unlink,unlinkat
SYSCALLS+=,rmdir,mkdir,mkdirat,symlink,symlinkat,link,linkat,chmod,fchmod,fchmodat,chown,fchown
SYSCALLS+=,lchown,fchownat,truncate,ftruncate
run_ms=0
t0=$(now_ms)
strace -f -qq -y -o "$LAB/crash/rec.log" -e trace="$SYSCALLS" "${FORCE[@]}" \
  >"$LAB/crash/run.out" 2>"$LAB/crash/run.err" </dev/null
st=$?
run_ms=$(($(now_ms) - t0))
if [[ $st != 0 ]]; then
  t_fail "recording run under strace exits 0 (exit $st)"
  sed 's/^/  /' "$LAB/crash/run.err" | head -n 20 >&2
else
  t_pass "recording run under strace exits 0 ($run_ms ms)"
  check "tree consistent after the recording run (and check_cert agrees)" tree_ok rec --openssl --after-run --snapshot "$SNAP"
  "$FAULT/fsync-lint" -v --data-dir "$D" "$LAB/crash/rec.log" >"$LAB/crash/lint.out" 2>&1
  lint_rc=$?
  sed 's/^/  /' "$LAB/crash/lint.out"
  check "power-loss lint: every rename follows an fsync of the new file and precedes one of its directory" \
    test "$lint_rc" = 0
fi

echo "== kill-point sweep"
P_SC=() P_N=() P_CALL=()
if [[ $st == 0 ]]; then
  while read -r sc n call; do
    P_SC+=("$sc") P_N+=("$n") P_CALL+=("$call")
  done < <("$FAULT/kill-points" points "$LAB/crash/rec.log" 2>"$LAB/crash/points.summary")
  sed 's/^/  /' "$LAB/crash/points.summary"
fi
total=${#P_SC[@]}
echo "enumerated $total kill points: $(printf '%s\n' "${P_SC[@]}" | uniq -c | awk '{ printf "%s%s %s", (NR > 1 ? ", " : ""), $2, $1 }')"
check "the recording found kill points" test "$total" -gt 0
order=()
for ((k = 0; k < total; k++)); do order+=("$k"); done
for ((k = total - 1; k > 0; k--)); do # seeded shuffle (Fisher-Yates with $RANDOM)
  j=$(((RANDOM * 32768 + RANDOM) % (k + 1)))
  tmp=${order[k]} order[k]=${order[j]} order[j]=$tmp
done
# kill_at S N: one run killed on entry of the N-th call of S; sets st and landed
kill_at() {
  {
    timeout -k 5 "${CERTMGR_TIMEOUT:-300}" strace -f -qq -y -o "$LAB/crash/point.log" -e trace="$1" \
      -e inject="$1:signal=SIGKILL:when=$2" "${FORCE[@]}" >"$LAB/crash/run.out" 2>"$LAB/crash/run.err" </dev/null
    st=$?
  } 2>/dev/null # (no "Killed" notice)
  landed=""
  [[ $st == 137 ]] && landed=$("$FAULT/kill-points" landed "$LAB/crash/point.log" "$1")
}
s_start=$SECONDS covered=0 s_runs=0 killed=0 not_reached=0 s_odd=0 drifted=0 drift_retries=0
s_inconsistent_before=$inconsistent
for k in "${order[@]}"; do
  if ((SWEEP_SECONDS > 0 && SECONDS - s_start >= SWEEP_SECONDS)); then break; fi
  sc=${P_SC[k]} n=${P_N[k]} want=${P_CALL[k]} at=${P_N[k]}
  for ((try = 0; try <= DRIFT_RETRIES; try++)); do
    if ((try > 0)); then
      drift_retries=$((drift_retries + 1))
      at=$("$FAULT/kill-points" retarget "$LAB/crash/rec.log" "$LAB/crash/point.log" "$sc" "$n")
    fi
    kill_at "$sc" "$at"
    s_runs=$((s_runs + 1))
    case $st in
      137) killed=$((killed + 1)) ;;
      0) not_reached=$((not_reached + 1)) ;;
      *)
        s_odd=$((s_odd + 1))
        echo "  kill point $sc:$n: run ended with exit $st: $(head -c 300 "$LAB/crash/run.err")" >&2
        ;;
    esac
    after_kill "sweep-$sc-$n-$try" "$CFG" "kill point $sc:$n (when=$at, status $st, stopped $landed)"
    [[ $st == 137 && $landed != "$want" ]] || break
  done
  if [[ $st == 137 && $landed != "$want" ]]; then
    drifted=$((drifted + 1))
    echo "  kill point $sc:$n (last try when=$at) stopped '$landed', recorded '$want'" >&2
  fi
  covered=$((covered + 1))
  ((covered % 50 == 0)) && echo "  ... $covered points, $inconsistent inconsistent, $((SECONDS - s_start)) s"
done
s_seconds=$((SECONDS - s_start))
s_inconsistent=$((inconsistent - s_inconsistent_before))
per_point=$(awk -v s="$s_seconds" -v r="$s_runs" 'BEGIN { printf "%.1f", (r ? s / r : 0) }')
echo "swept $covered of $total kill points in $s_seconds s ($s_runs runs, $per_point s per run):" \
  "$killed killed, $not_reached ran to the end, $drift_retries retries, $drifted stopped another call than recorded"
check "kill points: 0 inconsistent trees" test "$s_inconsistent" = 0
check "kill points: strace killed certmgr at the chosen calls" test "$killed" -gt 0
check "kill points: no run ended with an unexpected status" test "$s_odd" = 0
if ((SWEEP_SECONDS == 0)); then
  check "kill points: every enumerated point ran" test "$covered" = "$total"
fi

echo "== after every kill"
for state in "${!outcome[@]}"; do echo "  ${outcome[$state]} kills left: $state"; done | LC_ALL=C sort
echo "  challenge files still there after the recovery run: $stale_challenges"
check "every recovery run exits 0 and leaves a clean tree" test "$recoveries_failed" = 0
check "every recovery run removes the challenge files of the killed run" test "$stale_challenges" = 0
echo "crash figures ($(date -u '+%Y-%m-%d %H:%M UTC')): kill points enumerated $total, kill points run $covered" \
  "($s_runs runs), random kills $hits, inconsistent trees $inconsistent, recoveries ok/failed" \
  "$recoveries_ok/$recoveries_failed, stale challenge files $stale_challenges, seed $SEED, $((SECONDS - T_START)) s"

((T_FAIL == 0)) || lab_dump_logs
t_summary
