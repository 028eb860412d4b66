#!/usr/bin/env bash
# tests/e2e/packaging.sh CERTMGR: the files for unattended runs and the man page (behaviour
# §10.2, §10.6).  Oracles are the tools that will read these files: logrotate (a real rotation in
# a temporary directory, as root), systemd-analyze verify, groff/man, cron's field rules, and
# the CLI's own --help compared with man/certmgr.1.  Each checker is also run on a broken copy
# (negative control), so a checker that can no longer fail is itself a failure.
# Needs logrotate, systemd (systemd-analyze), man-db and groff-base; no lab, no network.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
# shellcheck source=tests/lab/e2e.sh
source "$HERE/../lab/e2e.sh" "$@"

T=$(mktemp -d "${TMPDIR:-/tmp}/certmgr-packaging.XXXXXXXX") || exit 1
T=$(realpath -e "$T")
trap '[[ ${KEEP:-0} == 1 ]] || rm -rf -- "$T"' EXIT
trap 'rm -rf -- "$T"; trap - INT; kill -INT $$' INT
trap 'rm -rf -- "$T"; trap - TERM; kill -TERM $$' TERM

LOGROTATE_CONF=$SRC/logrotate.d/certmgr
SERVICE=$SRC/packaging/certmgr.service
TIMER=$SRC/packaging/certmgr.timer
CRON=$SRC/packaging/certmgr.cron
MANPAGE=$SRC/man/certmgr.1

# have TOOL PACKAGE: TOOL is installed (a FAIL line naming the package otherwise)
have() {
  command -v "$1" >/dev/null 2>&1 && return 0
  t_fail "$1 not installed (apt-get install $2; scripts/test installs it)"
  return 1
}
# show FILE: indented head of FILE on stderr, for failure reports
show() { [[ -s $1 ]] && head -n 30 "$1" | sed 's/^/    | /' >&2; return 0; }
# no_error_lines FILE: FILE has no line containing "error" (any case)
no_error_lines() {
  ! grep -qi 'error' "$1" && return 0
  echo "  error lines:" >&2
  grep -i 'error' "$1" | head -n 10 | sed 's/^/    | /' >&2
  return 1
}
# status_ok_no_errors STATUS FILE: STATUS is 0 and FILE has no error lines
status_ok_no_errors() {
  [[ $1 == 0 ]] || { printf '  exit status %s\n' "$1" >&2; show "$2"; return 1; }
  no_error_lines "$2"
}
# contains FILE TEXT...: FILE has each TEXT (fixed strings)
contains() {
  local f=$1 text rc=0
  shift
  for text in "$@"; do
    grep -qF -- "$text" "$f" || { printf '  %s: no "%s"\n' "$f" "$text" >&2; rc=1; }
  done
  ((rc == 0)) || show "$f"
  return "$rc"
}
# has_lines FILE LINE...: FILE has each LINE as a whole line
has_lines() {
  local f=$1 line rc=0
  shift
  for line in "$@"; do
    grep -qxF -- "$line" "$f" || { printf '  %s: no line "%s"\n' "$f" "$line" >&2; rc=1; }
  done
  return "$rc"
}
# has_match FILE ERE / lacks_match FILE ERE: some line / no line of FILE matches ERE
has_match() { grep -qE -- "$2" "$1" && return 0; printf '  %s: no line matches %s\n' "$1" "$2" >&2; return 1; }
lacks_match() {
  grep -qE -- "$2" "$1" || return 0
  printf '  %s: lines matching %s:\n' "$1" "$2" >&2
  grep -E -- "$2" "$1" | head -n 5 | sed 's/^/    | /' >&2
  return 1
}
# absent PATH: PATH does not exist
absent() { [[ ! -e $1 && ! -L $1 ]] && return 0; printf '  %s exists\n' "$1" >&2; return 1; }
# equal WHAT GOT WANT: two strings are equal
equal() { [[ $2 == "$3" ]] && return 0; printf '  %s: got %q, expected %q\n' "$1" "$2" "$3" >&2; return 1; }
# content_is CONTENT FILE / gz_content_is CONTENT FILE: FILE (gzip'ed) holds exactly CONTENT
content_is() {
  local got
  got=$(cat -- "$2" 2>/dev/null) || { printf '  %s: missing\n' "$2" >&2; return 1; }
  equal "$2" "$got" "$1"
}
gz_content_is() {
  local got
  got=$(zcat -- "$2" 2>/dev/null) || { printf '  %s: missing or not gzip\n' "$2" >&2; return 1; }
  equal "$2" "$got" "$1"
}
# empty_file_with MODE-OWNER-GROUP FILE: FILE is an empty regular file with that stat %a %U %G
empty_file_with() {
  [[ -f $2 ]] || { printf '  %s: missing\n' "$2" >&2; return 1; }
  is_empty "$2" && equal "$2 mode, owner, group" "$(stat -c '%a %U %G' -- "$2")" "$1"
}
# lines_at_least N FILE: FILE has at least N non-empty lines
lines_at_least() {
  (($(grep -c . "$2") >= $1)) && return 0
  printf '  %s: fewer than %s lines:\n' "$2" "$1" >&2
  show "$2"
  return 1
}
# substituted FILE PATTERN: FILE (a temporary copy edited by sed) has exactly one PATTERN line
substituted() {
  local n
  n=$(grep -cxF -- "$2" "$1")
  ((n == 1)) && return 0
  printf '  %s: %s lines "%s" after the substitution, expected 1\n' "$1" "$n" "$2" >&2
  return 1
}

# accepts_args ARGS...: certmgr's command line parser accepts ARGS.  Run as
# `certmgr -c <missing file> ARGS`: accepted arguments get as far as loading the configuration
# and fail there, naming the file; rejected ones fail with a usage message first.  Nothing runs.
accepts_args() {
  local missing=$T/no-such-config.json err
  err=$("$CERTMGR" -c "$missing" "$@" 2>&1 </dev/null)
  [[ $err == "$missing: "* ]] && return 0
  printf '  certmgr %s: %s\n' "$*" "$(head -n 1 <<<"$err")" >&2
  return 1
}

# ================================================================ logrotate.d/certmgr
if have logrotate logrotate; then
  # 1. the real file, unchanged: parses, and logrotate reads the intended policy from it
  logrotate -d -s "$T/lr-real.state" "$LOGROTATE_CONF" >"$T/lr-real.out" 2>&1
  RC=$?
  check "logrotate -d logrotate.d/certmgr: exit 0" rc_is 0
  check "logrotate -d logrotate.d/certmgr: no error lines" no_error_lines "$T/lr-real.out"
  check "logrotate: /var/log/certmgr/*.log weekly, 12 rotations" \
    contains "$T/lr-real.out" "rotating pattern: /var/log/certmgr/*.log  weekly (12 rotations)"
  check "logrotate: notifempty" contains "$T/lr-real.out" "empty log files are not rotated"
  check "logrotate: no copytruncate (lines written during a rotation would be lost)" \
    lacks_match "$LOGROTATE_CONF" '^[[:space:]]*copytruncate'

  # 2. the same file with only its path changed to a temporary log directory
  LOGDIR=$T/log
  LOG=$LOGDIR/certmgr.log
  mkdir -m 0750 "$LOGDIR"
  sed "s|^/var/log/certmgr/\*\.log |$LOGDIR/*.log |" "$LOGROTATE_CONF" >"$T/lr.conf"
  check "logrotate: temp copy points at $LOGDIR" substituted "$T/lr.conf" "$LOGDIR/*.log {"
  printf 'old line\n' >"$LOG"
  logrotate -d -s "$T/lr-d.state" "$T/lr.conf" >"$T/lr-d.out" 2>&1
  RC=$?
  check "logrotate -d (temp log dir, log present): exit 0" rc_is 0
  check "logrotate -d (temp log dir, log present): no error lines" no_error_lines "$T/lr-d.out"
  check "logrotate -d considers $LOG" contains "$T/lr-d.out" "considering log $LOG"
  rm -f -- "$LOG"

  # 3. real rotations (create, su and chown need root)
  if ((EUID == 0)); then
    rotate() { # rotate TAG: logrotate -f on the temp copy; RC and $T/lr-TAG.out
      logrotate -f -s "$T/lr.state" "$T/lr.conf" >"$T/lr-$1.out" 2>&1
      RC=$?
      check "logrotate -f ($1): exit 0, no error lines" status_ok_no_errors "$RC" "$T/lr-$1.out"
    }
    # a run in progress: the log opened once with O_APPEND, as certmgr does, across a rotation
    exec {fd}>>"$LOG"
    printf 'line 1 before rotation\n' >&"$fd"
    rotate first
    printf 'line 2 from the running process after the rename\n' >&"$fd"
    exec {fd}>&-
    check "rotation 1: the running process kept writing to certmgr.log.1 (no line lost)" content_is \
      $'line 1 before rotation\nline 2 from the running process after the rename' "$LOG.1"
    check "rotation 1: certmgr.log.1 not compressed yet (delaycompress)" absent "$LOG.1.gz"
    check "rotation 1: new empty certmgr.log, 0640 root:adm" empty_file_with "640 root adm" "$LOG"

    printf 'line 3 of the next run\n' >>"$LOG"
    rotate second
    check "rotation 2: certmgr.log.2.gz holds the first week" gz_content_is \
      $'line 1 before rotation\nline 2 from the running process after the rename' "$LOG.2.gz"
    check "rotation 2: certmgr.log.1 holds the second week, uncompressed" \
      content_is 'line 3 of the next run' "$LOG.1"

    rotate empty
    check "rotation 3: an empty log is not rotated (notifempty)" absent "$LOG.3.gz"
    check "rotation 3: certmgr.log.1 unchanged" content_is 'line 3 of the next run' "$LOG.1"

    for i in $(seq 4 15); do
      printf 'line of week %d\n' "$i" >>"$LOG"
      logrotate -f -s "$T/lr.state" "$T/lr.conf" >>"$T/lr-many.out" 2>&1 ||
        printf 'logrotate error: exit status %d in round %d\n' "$?" "$i" >>"$T/lr-many.out"
    done
    check "14 rotations: no error lines" no_error_lines "$T/lr-many.out"
    kept=$(find "$LOGDIR" -name 'certmgr.log.*' -printf '%f\n' | sort -V | tr '\n' ' ')
    want="certmgr.log.1 $(for i in $(seq 2 12); do printf 'certmgr.log.%d.gz ' "$i"; done)"
    check "14 rotations: 12 kept (certmgr.log.1, .2.gz .. .12.gz)" equal "kept" "$kept" "$want"
  else
    echo "SKIP: real logrotate runs need root"
  fi
fi

# ================================================================ systemd units
if have systemd-analyze systemd; then
  check "certmgr.service: ExecStart=/usr/bin/certmgr update" \
    substituted "$SERVICE" "ExecStart=/usr/bin/certmgr update"
  # The units as installed name /usr/bin/certmgr, and systemd-analyze verify refuses a unit
  # whose ExecStart binary is missing: verify copies whose ExecStart is the binary under test.
  # Documentation=man:certmgr(1) is checked too (verify runs `man`): MANPATH finds our page.
  mkdir -p "$T/units" "$T/man/man1"
  cp -- "$MANPAGE" "$T/man/man1/certmgr.1"
  sed "s|^ExecStart=/usr/bin/certmgr |ExecStart=$CERTMGR |" "$SERVICE" >"$T/units/certmgr.service"
  cp -- "$TIMER" "$T/units/certmgr.timer"
  check "certmgr.service copy runs $CERTMGR" \
    substituted "$T/units/certmgr.service" "ExecStart=$CERTMGR update"

  # verify_units OUT UNIT...: systemd-analyze verify; RC, and OUT holds what it said about us.
  # verify also loads the units ours refer to (network-online.target, timers.target, ...) and
  # may warn about unrelated unit files installed on this machine; those lines name a unit file
  # of the system directories and not certmgr, and are dropped.  Anything else is kept.
  verify_units() {
    local out=$1
    shift
    MANPATH=$T/man SYSTEMD_LOG_COLOR=0 SYSTEMD_PAGER=cat \
      systemd-analyze verify "$@" >"$out.raw" 2>&1
    RC=$?
    grep -vE '^(/usr)?(/lib|/etc|/run)/systemd/[^ ]*: ' "$out.raw" | grep -v '^$' >"$out.kept"
    { cat "$out.kept"; grep -i certmgr "$out.raw" | grep -vxFf "$out.kept"; } >"$out"
    return 0
  }
  verify_units "$T/verify.out" "$T/units/certmgr.service" "$T/units/certmgr.timer"
  check "systemd-analyze verify certmgr.service certmgr.timer: exit 0" rc_is 0
  check "systemd-analyze verify: no messages about our units" is_empty "$T/verify.out"

  oncal=$(sed -n 's/^OnCalendar=//p' "$TIMER")
  systemd-analyze calendar "$oncal" >"$T/calendar.out" 2>&1
  check "certmgr.timer: OnCalendar is twice a day at 00:00 and 12:00" \
    contains "$T/calendar.out" "Normalized form: *-*-* 00,12:00:00"
  check "certmgr.timer: Persistent, randomized, in timers.target" \
    has_lines "$TIMER" Persistent=true WantedBy=timers.target
  check "certmgr.timer: RandomizedDelaySec set" has_match "$TIMER" '^RandomizedDelaySec=[1-9]'
  check "certmgr.service: oneshot, idle I/O, NoNewPrivileges" \
    has_lines "$SERVICE" Type=oneshot IOSchedulingClass=idle NoNewPrivileges=yes
  # ProtectSystem=full or strict make /etc read-only, and certmgr writes /etc/certmgr
  if grep -qE '^ProtectSystem=(full|strict)$' "$SERVICE"; then
    check "certmgr.service: /etc read-only but /etc/certmgr in ReadWritePaths" \
      has_match "$SERVICE" '^ReadWritePaths=.*[ =-]/etc/certmgr( |$)'
  fi
  # the command line of ExecStart is accepted by certmgr
  read -r -a exec_args <<<"$(sed -n 's|^ExecStart=/usr/bin/certmgr ||p' "$SERVICE")"
  check "certmgr accepts the service's arguments (${exec_args[*]})" accepts_args "${exec_args[@]}"

  # negative control: a unit with an unknown key and a timer with a bad calendar are reported
  mkdir -p "$T/units-bad"
  sed 's/^Type=oneshot$/Type=oneshot\nFrobnicate=yes/' "$T/units/certmgr.service" \
    >"$T/units-bad/certmgr.service"
  sed 's/^OnCalendar=.*/OnCalendar=twice a day/' "$TIMER" >"$T/units-bad/certmgr.timer"
  verify_units "$T/verify-bad.out" "$T/units-bad/certmgr.service" "$T/units-bad/certmgr.timer"
  check "negative control: verify reports an unknown key and a bad OnCalendar" \
    contains "$T/verify-bad.out" "Frobnicate" "calendar"
fi

# ================================================================ packaging/certmgr.cron
# cron_problems FILE: what Debian's cron would reject or ignore in FILE (a cron.d file)
cron_problems() {
  local f=$1 line n=0 jobs=0 fields args
  [[ -z $(tail -c 1 -- "$f") ]] || echo "last line has no newline (cron ignores it)"
  while IFS= read -r line; do
    n=$((n + 1))
    [[ $line =~ ^[[:space:]]*(#|$) ]] && continue
    [[ $line =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] && continue
    jobs=$((jobs + 1))
    read -r -a fields <<<"$line"
    if ((${#fields[@]} < 7)); then echo "line $n: fewer than 7 fields: $line"; continue; fi
    local re_min='^(\*|[0-5]?[0-9])(-[0-5]?[0-9])?(/[0-9]+)?(,([0-5]?[0-9])(-[0-5]?[0-9])?)*$'
    local re_hour='^(\*|1?[0-9]|2[0-3])(-(1?[0-9]|2[0-3]))?(/[0-9]+)?(,(1?[0-9]|2[0-3]))*$'
    [[ ${fields[0]} =~ $re_min ]] || echo "line $n: bad minute ${fields[0]}"
    [[ ${fields[1]} =~ $re_hour ]] || echo "line $n: bad hour ${fields[1]}"
    [[ ${fields[2]} == '*' && ${fields[3]} == '*' && ${fields[4]} == '*' ]] ||
      echo "line $n: day/month/weekday should be *"
    [[ ${fields[5]} == root ]] || echo "line $n: user field is ${fields[5]}, not root"
    [[ ${fields[6]} == certmgr || ${fields[6]} == */certmgr ]] ||
      echo "line $n: command is ${fields[6]}, not certmgr"
    args=("${fields[@]:7}")
    accepts_args "${args[@]}" 2>"$T/cron-args.err" ||
      echo "line $n: certmgr rejects ${args[*]}: $(oneline "$(cat "$T/cron-args.err")")"
  done <"$f"
  ((jobs > 0)) || echo "no job line"
}
cron_problems "$CRON" >"$T/cron.out"
check "certmgr.cron: a valid cron.d job whose arguments certmgr accepts" is_empty "$T/cron.out"
check "certmgr.cron: runs with -w (random wait, waits for the lock)" \
  has_match "$CRON" '^[^#]*root +certmgr .*(-w|--randomwait) .*update'
printf '17 25 * * * root certmgr --frobnicate update\n' >"$T/bad.cron"
printf '17 3,15 * * * root certmgr -w update' >>"$T/bad.cron" # no final newline
cron_problems "$T/bad.cron" >"$T/cron-bad.out"
check "negative control: the cron checker reports a missing newline, hour 25, a bad option" \
  contains "$T/cron-bad.out" "no newline" "bad hour 25" "rejects --frobnicate"

# ================================================================ man/certmgr.1
if have groff groff-base; then
  groff -t -ww -man -Tutf8 "$MANPAGE" >/dev/null 2>"$T/groff.err"
  RC=$?
  check "groff -t -ww -man man/certmgr.1: exit 0" rc_is 0
  check "groff -t -ww -man man/certmgr.1: no warnings" is_empty "$T/groff.err"
  sed '0,/^\.SH /s//.undefined\n&/' "$MANPAGE" >"$T/groff-bad.1"
  groff -t -ww -man -Tutf8 "$T/groff-bad.1" >/dev/null 2>"$T/groff-bad.err"
  check "negative control: groff warns about an undefined macro" \
    contains "$T/groff-bad.err" "macro 'undefined' not defined"
fi
if have man man-db; then
  # what lintian runs on Debian packages' man pages
  LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 -Z "$MANPAGE" \
    >/dev/null 2>"$T/man.err"
  RC=$?
  check "man --warnings -l man/certmgr.1: exit 0" rc_is 0
  check "man --warnings -l man/certmgr.1: no warnings" is_empty "$T/man.err"
fi

# ---------------------------------------------------------------- --help against the man page
# help_options TEXT: the option names (-c, --config, ...) of the "Options:" block of a CLI11 help
help_options() {
  awk '/^[A-Za-z].*:$/ { block = $0; next } block == "Options:" && /^  -/ { print $1 }' <<<"$1" |
    tr ',' '\n' | sed -n '/^-/p'
}
# help_subcommands TEXT: the names of the "Subcommands:" block
help_subcommands() {
  awk '/^[A-Za-z].*:$/ { block = $0; next } block == "Subcommands:" && /^  [a-z]/ { print $1 }' <<<"$1"
}
# man_plain FILE: troff source with \- as -, font escapes removed
man_plain() { sed 's/\\-/-/g; s/\\f[BIRP]//g; s/\\f(..//g' "$1"; }
# man_section TEXT SH [SS]: the lines of section .SH SH (and of its .SS SS), excluding headers
man_section() {
  awk -v sh="$2" -v ss="${3:-}" '
    /^\.SH / { name = substr($0, 5); gsub(/"/, "", name); in_sh = (name == sh); in_ss = 0; next }
    /^\.SS / { name = substr($0, 5); gsub(/"/, "", name); in_ss = (name == ss); next }
    in_sh && (ss == "" || in_ss) { print }' <<<"$1"
}
# man_subsections TEXT SH: the names of the .SS headers of section .SH SH
man_subsections() {
  awk -v sh="$2" '
    /^\.SH / { name = substr($0, 5); gsub(/"/, "", name); in_sh = (name == sh); next }
    in_sh && /^\.SS / { name = substr($0, 5); gsub(/"/, "", name); print name }' <<<"$1"
}
# tag_options TEXT: option names on the tag lines (the line after .TP) of TEXT
tag_options() {
  awk 'tp { print; tp = 0 } /^\.TP/ { tp = 1 }' <<<"$1" |
    grep -oE '(^|[^A-Za-z0-9-])--?[A-Za-z0-9][A-Za-z0-9-]*' | sed 's/^[^-]*//' | sort -u
}
# man_help_problems MANFILE: every option of --help (and of each subcommand's --help) is a tag of
# its section of the man page, every subcommand has a .SS under SUBCOMMANDS, and every option
# tag of those sections exists in --help.  Prints one line per problem.
man_help_problems() {
  local plain help sub sub_help opt global_help global_tags section tags
  plain=$(man_plain "$1")
  help=$("$CERTMGR" --help 2>&1) || { echo "certmgr --help failed"; return; }
  global_help=$(help_options "$help")
  [[ -n $global_help ]] || echo "certmgr --help lists no options (help format changed?)"
  global_tags=$(tag_options "$(man_section "$plain" "GLOBAL OPTIONS")")
  for opt in $global_help; do
    grep -qxF -- "$opt" <<<"$global_tags" || echo "$opt (certmgr --help) is not in GLOBAL OPTIONS"
  done
  for opt in $global_tags; do
    grep -qxF -- "$opt" <<<"$global_help" || echo "GLOBAL OPTIONS documents $opt, unknown to --help"
  done
  for sub in $(help_subcommands "$help"); do
    section=$(man_section "$plain" SUBCOMMANDS "$sub")
    grep -qxF -- "$sub" <<<"$(man_subsections "$plain" SUBCOMMANDS)" ||
      { echo "subcommand $sub has no .SS $sub under SUBCOMMANDS"; continue; }
    sub_help=$(help_options "$("$CERTMGR" "$sub" --help 2>&1)")
    tags=$(tag_options "$section")
    for opt in $sub_help; do
      grep -qxF -- "$opt" <<<"$tags" && continue
      # inherited from the global options (-h, --help) and documented there
      grep -qxF -- "$opt" <<<"$global_help" && grep -qxF -- "$opt" <<<"$global_tags" && continue
      echo "$opt (certmgr $sub --help) is not in .SS $sub"
    done
    for opt in $tags; do
      grep -qxF -- "$opt" <<<"$sub_help" || echo ".SS $sub documents $opt, unknown to $sub --help"
    done
  done
}
help_text=$("$CERTMGR" --help 2>&1)
subs=$(help_subcommands "$help_text")
help_text_file=$T/help.txt
printf '%s\n' "$help_text" >"$help_text_file"
check "certmgr --help lists options and subcommands" \
  contains "$help_text_file" "Options:" "Subcommands:"
man_help_problems "$MANPAGE" >"$T/manhelp.out"
check "man page documents every option and subcommand of --help ($(oneline "$subs")), nothing more" \
  is_empty "$T/manhelp.out"

# negative controls: a copy without one global option, one subcommand option, one .SS
first_sub=$(head -n 1 <<<"$subs")
g_opt=$(help_options "$help_text" | grep -- '^--' | grep -vx -- '--help' | tail -n 1)
s_opt=$(help_options "$("$CERTMGR" "$first_sub" --help 2>&1)" | grep -- '^--' | grep -vx -- '--help' |
  head -n 1)
mutate() { # mutate NAME SED-EXPR: copy of the man page edited; fails if nothing changed
  sed "$2" "$MANPAGE" >"$T/$1.1"
  ! cmp -s "$MANPAGE" "$T/$1.1" || { echo "  mutation $1 changed nothing" >&2; return 1; }
}
esc() { printf '%s' "${1//-/\\\\-}"; } # --no-color -> \\-\\-no\\-color (a sed pattern for \-\-no\-color)
for m in "global:$g_opt" "sub:$s_opt"; do
  what=${m%%:*} opt=${m#*:}
  [[ -n $opt ]] || { t_fail "negative control $what: no option to remove"; continue; }
  if mutate "no-$what" "s/$(esc "$opt")//g"; then
    man_help_problems "$T/no-$what.1" >"$T/no-$what.out"
    check "negative control: man page without $opt fails the check" \
      contains "$T/no-$what.out" "$opt "
  else
    t_fail "negative control: cannot remove $opt from a copy of the man page"
  fi
done
if mutate no-ss "s/^\.SS $first_sub\$/.SS renamed/"; then
  man_help_problems "$T/no-ss.1" >"$T/no-ss.out"
  check "negative control: man page without .SS $first_sub fails the check" \
    contains "$T/no-ss.out" "subcommand $first_sub has no .SS"
else
  t_fail "negative control: no .SS $first_sub to rename"
fi

t_summary
