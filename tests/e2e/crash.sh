#!/usr/bin/env bash
# tests/e2e/crash.sh CERTMGR: crash consistency of `update --force` (testing.md §4 "Fault", §6).
#
# Two certificates x two key types (key_size 2048) in a stable lab.
#  1. Random SIGKILLs: runs of `update --force` until CRASH_KILLS (default 55) kills hit a running
#     certmgr (at most CRASH_ITERATIONS, default 150, runs), each killed after a seeded random delay in [0, 1.2 x median run time]; after each kill tree-check (every
#     certificate all old or all new); every 5th iteration a plain `update` (recovery) must exit 0
#     and leave a clean tree (tree-check --after-run).
#  2. Kill-point sweep: one `update --force` recorded under strace; then for every (syscall,
#     occurrence) of rename/renameat/renameat2/symlink/symlinkat/link/linkat/unlink/unlinkat/mkdir/
#     mkdirat the run is repeated with strace killing certmgr on entry of that call, followed by
#     tree-check, recovery and tree-check --after-run.  Bounded by CRASH_SWEEP_SECONDS (default
#     100; 0 = no bound): points are visited in a seeded random order and the coverage is printed.
# Environment: CRASH_SEED (default: from the clock, printed), CRASH_KILLS, CRASH_ITERATIONS,
# CRASH_SWEEP_SECONDS.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/lab/e2e.sh
source "$HERE/../lab/e2e.sh" "$@"
TREE_CHECK=$HERE/../fault/tree-check

ITERATIONS=${CRASH_ITERATIONS:-150} # upper bound; stops after CRASH_KILLS kills that hit
KILLS=${CRASH_KILLS:-55}
SWEEP_SECONDS=${CRASH_SWEEP_SECONDS:-100}
SEED=${CRASH_SEED:-$(($(date +%s%N) / 1000 % 32768))}
echo "crash test seed: $SEED (rerun with CRASH_SEED=$SEED)"
RANDOM=$SEED

lab_start stable || fail "lab did not start"
cd "$LAB" || fail "cd $LAB"
D=$LAB/data
CFG=$LAB/certmgr.json
write_config "$CFG" '[
    {"name": "crash1.test", "alt_names": ["crash1.test", "www.crash1.test"], "key_types": ["rsa", "ecdsa"]},
    {"name": "crash2.test", "key_types": ["rsa", "ecdsa"]}
  ]'
SPECS=("crash1.test:rsa,ecdsa" "crash2.test:rsa,ecdsa")
lab_root_pem "$LAB/root.pem" || fail "cannot fetch /roots/0"
mkdir -p "$LAB/crash"

# --jobs 1 when certmgr has it (the strace counters are per thread), wherever it belongs
GARGS=() UARGS=()
if "$CERTMGR" --help 2>/dev/null | grep -q -- '--jobs'; then
  GARGS=(--jobs 1)
elif "$CERTMGR" update --help 2>/dev/null | grep -q -- '--jobs'; then
  UARGS=(--jobs 1)
fi
FORCE=("$CERTMGR" "${GARGS[@]}" -c "$CFG" update "${UARGS[@]}" --force)

# tree_ok TAG [--after-run]: tree-check; on failure its report is kept in $LAB/crash/TAG.tc
tree_ok() {
  local tag=$1
  shift
  "$TREE_CHECK" "$@" "$D" "$LAB/root.pem" "${SPECS[@]}" >"$LAB/crash/$tag.tc" 2>&1 && return 0
  sed 's/^/  /' "$LAB/crash/$tag.tc" >&2
  return 1
}
# recover TAG: plain update exits 0 and leaves a clean tree
recover() {
  run_certmgr "$1-recovery" "${GARGS[@]}" -c "$CFG" update "${UARGS[@]}"
  rc_is 0 && tree_ok "$1-recovery" --after-run
}
now_ms() { local t=${EPOCHREALTIME/./}; printf '%s\n' "$((10#$t / 1000))"; }

echo "== initial issuance"
run_certmgr initial -c "$CFG" update
check "initial update exits 0" rc_is 0
check "initial tree consistent" tree_ok initial --after-run
((T_FAIL == 0)) || { lab_dump_logs; t_summary; exit 1; }

echo "== median run time of update --force"
times=()
for i in 1 2 3; do
  t0=$(now_ms)
  run_certmgr "median$i" "${GARGS[@]}" -c "$CFG" update "${UARGS[@]}" --force
  times+=($(($(now_ms) - t0)))
  check "timing run $i: update --force exits 0" rc_is 0
done
check "tree consistent after the timing runs" tree_ok median --after-run
median=$(printf '%s\n' "${times[@]}" | sort -n | sed -n 2p)
max_delay=$((median * 12 / 10))
echo "run times ${times[*]} ms, median $median ms, kill delays in [0, $max_delay] ms"

echo "== random SIGKILLs until $KILLS hit a running certmgr (at most $ITERATIONS runs)"
hits=0 finished=0 odd=0 inconsistent=0 recovery_failures=0
for ((i = 1; i <= ITERATIONS && hits < KILLS; i++)); do
  "${FORCE[@]}" >"$LAB/crash/$i.out" 2>"$LAB/crash/$i.err" </dev/null &
  pid=$!
  lab_track_pid "$pid"
  delay=$(((RANDOM * 32768 + RANDOM) % (max_delay + 1)))
  sleep "$((delay / 1000)).$(printf '%03d' $((delay % 1000)))"
  kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null # (no "Killed" job notice)
  st=$?
  lab_untrack_pid "$pid"
  case $st in
    137) hits=$((hits + 1)) ;;
    0) finished=$((finished + 1)) ;;
    *)
      odd=$((odd + 1))
      echo "  iteration $i: update --force ended by itself with exit $st: $(head -c 300 "$LAB/crash/$i.err")" >&2
      ;;
  esac
  if ! tree_ok "kill$i"; then
    inconsistent=$((inconsistent + 1))
    echo "  iteration $i (delay $delay ms, status $st): inconsistent tree" >&2
  fi
  if ((i % 5 == 0)) && ! recover "kill$i"; then
    recovery_failures=$((recovery_failures + 1))
    echo "  iteration $i: recovery failed" >&2
  fi
done
check "final recovery after the random kills" recover final-random
echo "$hits kills, $inconsistent inconsistent ($finished runs finished before the kill, seed $SEED)"
check "random kills: 0 inconsistent trees" test "$inconsistent" = 0
check "random kills: every recovery run exits 0 with a clean tree" test "$recovery_failures" = 0
check "random kills: no run ended with an unexpected status" test "$odd" = 0
check "random kills: $KILLS kills hit a running certmgr ($hits in $((i - 1)) runs)" \
  test "$hits" -ge "$KILLS"

echo "== strace kill-point sweep"
SYSCALLS=rename,renameat,renameat2,symlink,symlinkat,link,linkat,unlink,unlinkat,mkdir,mkdirat
if ! strace -f -qq -o "$LAB/rec.log" -e trace=$SYSCALLS "${FORCE[@]}" >"$LAB/crash/rec.out" 2>"$LAB/crash/rec.err" </dev/null; then
  t_fail "recording run under strace exits 0"
else
  t_pass "recording run under strace exits 0"
  check "tree consistent after the recording run" tree_ok rec --after-run
  # kill points: for each syscall S, n = 1 .. the largest per-thread count of S
  mapfile -t points < <(awk '
      match($0, /^[0-9]+ +[a-z0-9_]+\(/) {
        split(substr($0, RSTART, RLENGTH - 1), f, " +"); n[f[1], f[2]]++
        if (n[f[1], f[2]] > m[f[2]]) m[f[2]] = n[f[1], f[2]]
      }
      END { for (s in m) for (i = 1; i <= m[s]; i++) print s ":" i }' "$LAB/rec.log" |
    LC_ALL=C sort -t: -k1,1 -k2,2n)
  total=${#points[@]}
  echo "recorded $total kill points: $(printf '%s\n' "${points[@]%%:*}" | uniq -c | awk '{printf "%s%s x%s", (NR > 1 ? ", " : ""), $2, $1}')"
  check "the recording found kill points" test "$total" -gt 0
  # seeded shuffle (Fisher-Yates with $RANDOM)
  for ((k = total - 1; k > 0; k--)); do
    j=$(((RANDOM * 32768 + RANDOM) % (k + 1)))
    tmp=${points[k]} points[k]=${points[j]} points[j]=$tmp
  done
  start=$SECONDS covered=0 killed=0 s_inconsistent=0 s_recovery=0
  for p in "${points[@]}"; do
    if ((SWEEP_SECONDS > 0 && SECONDS - start >= SWEEP_SECONDS)); then break; fi
    sc=${p%%:*} n=${p#*:}
    { strace -f -qq -o /dev/null -e trace="$sc" -e inject="$sc:signal=SIGKILL:when=$n" \
      "${FORCE[@]}" >"$LAB/crash/sweep.out" 2>"$LAB/crash/sweep.err" </dev/null; } 2>/dev/null
    st=$?
    covered=$((covered + 1))
    [[ $st == 137 ]] && killed=$((killed + 1))
    if [[ $st != 137 && $st != 0 ]]; then
      echo "  kill point $p: run ended with exit $st: $(head -c 300 "$LAB/crash/sweep.err")" >&2
    fi
    if ! tree_ok "sweep-$sc-$n"; then
      s_inconsistent=$((s_inconsistent + 1))
      echo "  kill point $p (status $st): inconsistent tree" >&2
    fi
    if ! recover "sweep-$sc-$n"; then
      s_recovery=$((s_recovery + 1))
      echo "  kill point $p: recovery failed" >&2
    fi
  done
  echo "swept $covered of $total kill points in $((SECONDS - start)) s ($killed killed), $s_inconsistent inconsistent"
  check "kill points: 0 inconsistent trees" test "$s_inconsistent" = 0
  check "kill points: every recovery exits 0 with a clean tree" test "$s_recovery" = 0
  check "kill points: strace killed certmgr at the chosen calls" test "$killed" -gt 0
fi

((T_FAIL == 0)) || lab_dump_logs
t_summary
