#!/usr/bin/env python3
"""tests/hostile/judge.py: the oracle of tests/e2e/hostile.sh (one hostile-CA case at a time).

  judge.py validate CASES_DIR              schema check of every case file; prints the count
  judge.py prepare OUTDIR CASE...          writes each case's fake-CA scenario to OUTDIR/NAME.json,
                                           prints "NAME ACCOUNT NEEDS" per case
  judge.py writes TRACE --allow ...        the mutating calls of a trace grouped by allow-list
                                           entry (used on the benign run to justify the list)
  judge.py check --case CASE ...           judge one run: prints one PASS/FAIL line (+ reasons
                                           indented below), appends a JSON result to --results
  judge.py selftest DIR                    the trace oracle against a hand-written strace record
  judge.py record RESULTS NAME REASON      a case that could not run: one FAIL line and result
  judge.py summary RESULTS                 totals; exit 1 when any case failed

Independent oracles only: the strace record (strace -f -qq -y) of certmgr, the fake CA's request
log, hashes of the tree taken by the runner, /usr/bin/time -v, and the bytes certmgr printed.

Case file (tests/hostile/cases/NAME.json):
  {"about": "...", "account": "existing"|"new", "needs": ["http_timeout"] (certmgr settings the
   case cannot run without: without them it fails at once), "scenario": {...fakeca scenario...},
   "expect": {"exit": "fail"|"ok"|INT, "stderr": REGEX (searched in the one line),
              "stderr_lines": N (default 1 on fail, 0 on ok), "max_seconds": S (default 20),
              "requests": [{"endpoint": E, "min": N, "max": N}] (fake-CA requests of the run),
              "gap": {"endpoint": E, "calls": [A, B], "min": S, "max": S} (seconds between
              consecutive calls A..B of E), "backoff": true (<data_dir>/.backoff/<name>.json must
              exist afterwards), "contract": "why" (written against the issue-7 contract)}}
"fail" means exit status 1, an unchanged tree and no hook; "ok" means exit 0, a changed tree and
the install hook run.
"""
import argparse
import json
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lab"))
from strace_args import split_args, unquote_bytes  # noqa: E402

CONTROL = re.compile(rb"[\x00-\x08\x0b-\x1f\x7f-\xff]")
WRITE_FLAGS = ("O_WRONLY", "O_RDWR", "O_CREAT", "O_TRUNC", "O_APPEND")
KNOWN_TOP = {"about", "account", "needs", "scenario", "expect"}
KNOWN_EXPECT = {"exit", "stderr", "stderr_lines", "max_seconds", "requests", "gap", "backoff",
                "contract", "note"}


def load_case(path):
    with open(path, "rb") as f:
        case = json.load(f)
    case.setdefault("expect", {})
    case["name"] = os.path.basename(path)[:-5]
    return case


# ---------------------------------------------------------------- strace parsing
def unquote(s):
    """A strace string literal ("...") as text; None for NULL or a non-string."""
    raw = unquote_bytes(s)
    return None if raw is None else raw.decode("utf-8", "surrogateescape")


def fd_path(arg):
    """'3</a/b>' -> '/a/b'; 'AT_FDCWD</x>' -> '/x'; None when undecorated."""
    m = re.match(r"^(?:-?\d+|AT_FDCWD)<(.*)>$", arg.strip(), re.S)
    return m.group(1) if m else None


def join(base, path):
    if path is None:
        return None
    if path.startswith("/") or base is None:
        return os.path.normpath(path) if path.startswith("/") else path
    return os.path.normpath(os.path.join(base, path))


class Call:
    def __init__(self, pid, name, args, ret):
        self.pid, self.name, self.args, self.ret = pid, name, args, ret

    @property
    def failed(self):
        return self.ret.startswith("-1 ")

    def ret_path(self):
        m = re.match(r"^\d+<(.*)>$", self.ret.strip(), re.S)
        return m.group(1) if m else None


def parse_trace(path, start_cwd):
    calls, pending, cwd, signals = [], {}, {}, []
    first_pid = None
    with open(path, "r", encoding="utf-8", errors="surrogateescape") as f:
        for raw in f:
            line = raw.rstrip("\n")
            m = re.match(r"^(\d+) +(.*)$", line)
            if not m:
                continue
            pid, rest = int(m.group(1)), m.group(2)
            if first_pid is None:
                first_pid = pid
            if rest.startswith("+++") or rest.startswith("---"):
                if "killed by" in rest:
                    signals.append((pid, rest))
                continue
            if rest.endswith("<unfinished ...>"):
                pending[pid] = rest[: -len("<unfinished ...>")].rstrip()
                continue
            r = re.match(r"^<\.\.\. (\w+) resumed>(.*)$", rest)
            if r:
                rest = pending.pop(pid, r.group(1) + "(") + r.group(2)
            cm = re.match(r"^(\w+)\((.*)\)\s+=\s+(.*)$", rest, re.S)
            if not cm:
                continue
            name, argtext, ret = cm.group(1), cm.group(2), cm.group(3)
            args = split_args(argtext)
            call = Call(pid, name, args, ret)
            c = cwd.get(pid, start_cwd)
            if name == "chdir" and not call.failed:
                cwd[pid] = join(c, unquote(args[0]))
            call.cwd = c
            calls.append(call)
    return calls, first_pid, signals


def resolve(call, dirfd_arg, path_arg):
    p = unquote(path_arg) if path_arg is not None else None
    if dirfd_arg is None:
        return join(call.cwd, p)
    base = fd_path(dirfd_arg)
    if dirfd_arg.startswith("AT_FDCWD") and base is None:
        base = call.cwd
    if p is None:  # NULL path: the fd itself
        return base
    return join(base, p)


def mutations(calls):
    """(kind, path, call) for every call that changes the file system or writes a file."""
    out = []
    for c in calls:
        n, a = c.name, c.args
        try:
            if n in ("open", "creat"):
                flags = a[1] if n == "open" else "O_CREAT"
                if any(fl in flags for fl in WRITE_FLAGS):
                    out.append(("open-w", c.ret_path() or resolve(c, None, a[0]), c))
            elif n in ("openat", "openat2"):
                flags = a[2]
                if any(fl in flags for fl in WRITE_FLAGS):
                    out.append(("open-w", c.ret_path() or resolve(c, a[0], a[1]), c))
            elif n in ("mkdir", "mkdirat"):
                if "EEXIST" in c.ret:
                    continue
                path = resolve(c, None, a[0]) if n == "mkdir" else resolve(c, a[0], a[1])
                out.append(("mkdir", path, c))
            elif n == "rename":
                out.append(("rename-from", resolve(c, None, a[0]), c))
                out.append(("rename-to", resolve(c, None, a[1]), c))
            elif n in ("renameat", "renameat2"):
                out.append(("rename-from", resolve(c, a[0], a[1]), c))
                out.append(("rename-to", resolve(c, a[2], a[3]), c))
            elif n in ("unlink", "rmdir"):
                out.append((n, resolve(c, None, a[0]), c))
            elif n == "unlinkat":
                out.append(("unlink", resolve(c, a[0], a[1]), c))
            elif n == "symlink":
                out.append(("symlink", resolve(c, None, a[1]), c))
            elif n == "symlinkat":
                out.append(("symlink", resolve(c, a[1], a[2]), c))
            elif n == "link":
                out.append(("link", resolve(c, None, a[1]), c))
            elif n == "linkat":
                out.append(("link", resolve(c, a[2], a[3]), c))
            elif n in ("chmod", "chown", "lchown", "truncate", "utime", "utimes", "mknod",
                       "setxattr", "lsetxattr", "removexattr", "lremovexattr"):
                out.append((n, resolve(c, None, a[0]), c))
            elif n in ("fchmodat", "fchownat", "utimensat", "futimesat", "mknodat"):
                out.append((n, resolve(c, a[0], a[1]), c))
            elif n in ("fchmod", "fchown", "ftruncate", "write", "pwrite64", "writev",
                       "fsetxattr", "fremovexattr"):
                out.append((n, fd_path(a[0]) or ("fd:" + a[0]), c))
        except IndexError:
            out.append(("unparsed", c.name + "(" + ",".join(a) + ")", c))
    return out


def execs(calls):
    out = []
    for c in calls:
        if c.name in ("execve", "execveat"):
            out.append((c.pid, unquote(c.args[0] if c.name == "execve" else c.args[1]), c))
    return out


def connects(calls):
    out = []
    for c in calls:
        if c.name != "connect" or len(c.args) < 2:
            continue
        addr = c.args[1]
        m = re.search(r'sin6?_port=htons\((\d+)\).*?'
                      r'(?:inet_addr\("([^"]+)"\)|inet_pton\(AF_INET6, "([^"]+)")', addr)
        if m:
            out.append(("inet", "%s:%s" % (m.group(2) or m.group(3), m.group(1)), c))
            continue
        m = re.search(r'sun_path=("[^"]*")', addr)
        if m:
            out.append(("unix", unquote(m.group(1)), c))
            continue
        out.append(("other", addr[:120], c))
    return out


def allowed(path, dirs, exact):
    if path is None:
        return False
    if not path.startswith("/"):
        # socket:[..], pipe:[..], anon_inode:[..]: not files
        return bool(re.match(r"^(socket|pipe|anon_inode|fd):", path))
    p = os.path.normpath(path)
    if p in exact or p == "/dev/null" or p.startswith("/dev/pts/") or p == "/dev/tty":
        return True
    return any(p == d or p.startswith(d.rstrip("/") + "/") for d in dirs)


# ---------------------------------------------------------------- commands
def cmd_validate(args):
    names = sorted(f for f in os.listdir(args.dir) if f.endswith(".json"))
    bad = 0
    for f in names:
        try:
            case = load_case(os.path.join(args.dir, f))
            unknown = set(case) - KNOWN_TOP - {"name"}
            unknown |= set(case["expect"]) - KNOWN_EXPECT
            if unknown:
                raise ValueError("unknown members %s" % sorted(unknown))
            if not case.get("about"):
                raise ValueError("no about")
            if "stderr" in case["expect"]:
                re.compile(case["expect"]["stderr"])
        except (ValueError, OSError) as e:
            print("bad case %s: %s" % (f, e), file=sys.stderr)
            bad += 1
    print(len(names))
    return 1 if bad else 0


def cmd_prepare(args):
    """For each case file: writes its scenario to OUTDIR/NAME.json and prints one line
    "NAME ACCOUNT NEEDS" (account mode existing or new, needed settings or "-")."""
    os.makedirs(args.outdir, exist_ok=True)
    for path in args.cases:
        case = load_case(path)
        with open(os.path.join(args.outdir, case["name"] + ".json"), "w") as f:
            json.dump(case.get("scenario", {}), f)
        print(case["name"], case.get("account", "existing"),
              ",".join(case.get("needs", [])) or "-")
    return 0


def cmd_writes(args):
    calls, _, _ = parse_trace(args.trace, args.cwd)
    groups = {}
    outside = []
    for kind, path, c in mutations(calls):
        key = None
        for label, d in args.named:
            if path and allowed(path, [d], set()):
                key = label
                break
        if key is None and allowed(path, [], set(args.exact)):
            key = "runner's stdout/stderr, sockets, pipes, /dev/null"
        if key is None:
            outside.append("%s %s (%s)" % (kind, path, c.name))
            continue
        g = groups.setdefault(key, {})
        g[kind] = g.get(kind, 0) + 1
    for key, kinds in groups.items():
        print("  %-52s %s" % (key, ", ".join("%s %d" % kv for kv in sorted(kinds.items()))))
    for o in outside:
        print("  OUTSIDE: " + o)
    ex = [(pid, p) for pid, p, _ in execs(calls)]
    print("  execve: " + ", ".join(p for _, p in ex))
    print("  connect: " + ", ".join(sorted({"%s %s" % (k, a) for k, a, _ in connects(calls)})))
    return 1 if outside else 0


def read_bytes(path, limit=1 << 20):
    try:
        with open(path, "rb") as f:
            return f.read(limit)
    except OSError:
        return b""


def peak_rss_kb(time_file):
    m = re.search(rb"Maximum resident set size \(kbytes\): (\d+)", read_bytes(time_file))
    return int(m.group(1)) if m else -1


def cmd_check(args):
    case = load_case(args.case)
    exp = case["expect"]
    name = case["name"]
    reasons, escapes = [], []
    rc = args.rc
    hang = rc in (124, 137) and args.wall >= args.deadline - 1
    crash = (rc >= 128 and not hang)
    err = read_bytes(args.stderr)
    out = read_bytes(args.stdout)
    if re.search(rb"AddressSanitizer|LeakSanitizer|runtime error:|terminate called|"
                 rb"Segmentation fault", err):
        crash = True
    want = exp.get("exit", "fail")
    ok_expected = want == "ok" or want == 0
    if hang:
        reasons.append("hang: killed after %.0f s" % args.wall)
    elif crash:
        reasons.append("crash: exit status %d" % rc)
    elif want == "fail" and rc != 1:
        reasons.append("exit status %d, expected 1" % rc)
    elif ok_expected and rc != 0:
        reasons.append("exit status %d, expected 0" % rc)
    elif isinstance(want, int) and rc != want:
        reasons.append("exit status %d, expected %d" % (rc, want))

    # stderr: N lines, printable ASCII, the expected text
    lines = err.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    want_lines = exp.get("stderr_lines", 0 if ok_expected else 1)
    if len(lines) != want_lines:
        reasons.append("stderr has %d lines, expected %d: %r" % (len(lines), want_lines, err[:300]))
    for label, data in (("stderr", err), ("stdout", out)):
        bad = CONTROL.search(data)
        if bad:
            reasons.append("raw control or non-ASCII bytes on %s: %r" % (label, bad.group(0)))
    if exp.get("stderr") and not re.search(exp["stderr"].encode(), err):
        reasons.append("stderr does not match /%s/: %r" % (exp["stderr"], err[:400]))
    logpart = read_bytes(args.certlog, 1 << 24)[args.certlog_from:]
    if CONTROL.search(logpart):
        reasons.append("raw control or non-ASCII bytes in the log file: %r"
                       % CONTROL.search(logpart).group(0))

    # the tree, the challenge dir, hooks, canary
    if ok_expected:
        if args.tree_before == args.tree_after:
            reasons.append("tree unchanged after an expected success")
        if args.marker != "yes":
            reasons.append("the install hook did not run after an expected success")
    else:
        # after a hang (killed at the deadline) a slow but valid answer may have been installed:
        # a failure, not an escape
        if args.tree_before != args.tree_after:
            reasons.append("tree changed")
            if not hang:
                escapes.append("tree changed")
        if args.marker == "yes":
            reasons.append("a hook or service ran")
            if not hang:
                escapes.append("hook ran")
    if args.challenge_left:
        reasons.append("challenge dir not empty: %s" % args.challenge_left)
    if args.canary:
        reasons.append("canary created: %s" % args.canary)
        escapes.append("canary")
    if exp.get("backoff") and args.backoff != "yes":
        reasons.append("no <data_dir>/.backoff/<name>.json after the failure")

    # the trace: writes, execs, connects
    calls, first_pid, signals = parse_trace(args.trace, args.cwd)
    if not calls:
        reasons.append("empty trace")
    escapes += escapes_of(calls, first_pid, args.certmgr, args.allow, set(args.allow_exact),
                          set(args.hook_exec) if ok_expected else set(), args.acme_port)

    # the fake CA's log
    reqs = []
    with open(args.log, "rb") as f:
        for i, line in enumerate(f):
            if i >= args.log_from:
                try:
                    reqs.append(json.loads(line))
                except ValueError:
                    pass
    http_reqs = [r for r in reqs if "endpoint" in r]
    evil = [r for r in http_reqs if r["endpoint"] == "evil"]
    if evil:
        escapes.append("%d requests to the other host" % len(evil))
    count = {}
    for r in http_reqs:
        count[r["endpoint"]] = count.get(r["endpoint"], 0) + 1
    for rq in exp.get("requests", []):
        n = count.get(rq["endpoint"], 0)
        if n < rq.get("min", 0) or n > rq.get("max", 1 << 30):
            reasons.append("%d %s requests, expected %s..%s" % (n, rq["endpoint"], rq.get("min", 0),
                                                                rq.get("max", "")))
    if exp.get("gap"):
        g = exp["gap"]
        ts = [r["t"] for r in http_reqs if r["endpoint"] == g["endpoint"]]
        if g.get("calls"):
            a, b = g["calls"]
            ts = ts[a - 1:b]
        gaps = [b - a for a, b in zip(ts, ts[1:])]
        if not gaps:
            reasons.append("no repeated %s request to measure a gap" % g["endpoint"])
        else:
            lo, hi = min(gaps), max(gaps)
            if lo < g.get("min", 0) or hi > g.get("max", 1e9):
                reasons.append("%s gaps %.2f..%.2f s, expected %s..%s" % (
                    g["endpoint"], lo, hi, g.get("min", 0), g.get("max", "")))

    rss = peak_rss_kb(args.time)
    if rss < 0 and not hang:
        reasons.append("no peak RSS from /usr/bin/time")
    if rss > args.max_rss_kb:
        reasons.append("peak RSS %d kB over %d kB" % (rss, args.max_rss_kb))
    max_s = float(exp.get("max_seconds", args.default_max_seconds))
    if args.wall > max_s and not hang:
        reasons.append("took %.1f s, bound %.0f s" % (args.wall, max_s))
    for e in escapes:
        if "ESCAPE: " + e not in reasons:
            reasons.append("ESCAPE: " + e)
    passed = not reasons
    tag = "  [contract]" if exp.get("contract") else ""
    mem = "%7.1f MB" % (rss / 1024.0) if rss >= 0 else "    n/a   "
    print("%s %-44s %6.2fs %s%s" % ("PASS" if passed else "FAIL", name, args.wall, mem, tag))
    if not passed:
        for r in reasons:
            print("    - " + r[:600])
        if lines:
            print("    stderr: %r" % err[:300])
    with open(args.results, "a") as f:
        f.write(json.dumps({"name": name, "pass": passed, "escapes": len(escapes), "crash": crash,
                            "hang": hang, "rss_kb": rss, "wall": args.wall, "rc": rc,
                            "contract": bool(exp.get("contract")), "reasons": reasons}) + "\n")
    return 0 if passed else 1


# verbatim strace -f -qq -y lines (long on purpose)
SELFTEST_TRACE = r"""100 execve("/x/certmgr", ["/x/certmgr", "-c", "c.json"], 0x7ffd /* 3 vars */) = 0
100 openat(AT_FDCWD</w/cwd>, "/etc/ssl/openssl.cnf", O_RDONLY) = 3</etc/ssl/openssl.cnf>
100 openat(7</w/ch>, "tok", O_WRONLY|O_CREAT|O_EXCL|O_NOFOLLOW|O_CLOEXEC, 0644) = 8</w/ch/tok>
100 write(8</w/ch/tok>, "tok.thumb", 9) = 9
100 openat(AT_FDCWD</w/cwd>, "/w/ch/../../etc/x", O_WRONLY|O_CREAT|O_TRUNC, 0644) = 5</etc/x>
100 mkdir("rel", 0755)                 = 0
100 mkdir("/w", 0755)                  = -1 EEXIST (File exists)
100 renameat2(AT_FDCWD</w/cwd>, "/w/data/a.tmp", AT_FDCWD</w/cwd>, "/w/data/a", RENAME_NOREPLACE) = 0
100 renameat(AT_FDCWD</w/cwd>, "/w/data/b.tmp", 4</etc>, "passwd") = 0
100 symlinkat("/etc/shadow", 7</w/data>, "link") = 0
100 unlinkat(7</w/ch>, "../other", 0) = 0
100 write(1</w/runs/out>, "done\n", 5) = 5
100 write(4<socket:[123]>, "\26\3\1", 3) = 3
100 fchmod(9</tmp/stray>, 0600)         = 0
101 execve("/bin/sh", ["sh", "-c", "touch canary"], 0x55 /* 3 vars */ <unfinished ...>
100 connect(4<socket:[123]>, {sa_family=AF_INET, sin_port=htons(4443), sin_addr=inet_addr("127.0.0.1")}, 16) = 0
101 <... execve resumed>)                = 0
100 connect(5<socket:[124]>, {sa_family=AF_INET, sin_port=htons(443), sin_addr=inet_addr("169.254.169.254")}, 16) = -1 EINPROGRESS (Operation now in progress)
100 utimensat(AT_FDCWD</w/cwd>, "/w/lock", NULL, 0) = 0
"""
SELFTEST_WANT = {"open-w /etc/x", "mkdir /w/cwd/rel", "rename-to /etc/passwd", "unlink /w/other",
                 "fchmod /tmp/stray", "execve /bin/sh", "connect inet 169.254.169.254:443"}


def escapes_of(calls, first_pid, certmgr, allow, exact, hook_ok, acme_port):
    """Everything the trace did outside the allow-list, as short texts."""
    out = []
    for kind, path, c in mutations(calls):
        if not allowed(path, allow, exact):
            out.append("%s %s" % (kind, path))
    for pid, path, c in execs(calls):
        if pid == first_pid and os.path.realpath(path or "") == os.path.realpath(certmgr):
            continue
        if path in hook_ok:
            continue
        out.append("execve %s" % path)
    for kind, addr, c in connects(calls):
        if kind == "inet" and addr == "127.0.0.1:%d" % acme_port:
            continue
        if kind == "unix" and addr in ("/var/run/nscd/socket", "/run/nscd/socket"):
            continue
        out.append("connect %s %s" % (kind, addr))
    return out


def cmd_selftest(args):
    """The trace oracle must see every kind of escape in a hand-written strace record."""
    path = os.path.join(args.dir, "selftest.trace")
    with open(path, "w") as f:
        f.write(SELFTEST_TRACE)
    calls, first_pid, _ = parse_trace(path, "/w/cwd")
    got = set(escapes_of(calls, first_pid, "/x/certmgr", ["/w/data", "/w/ch"],
                         {"/w/lock", "/w/runs/out"}, set(), 4443))
    if got != SELFTEST_WANT:
        print("judge selftest: escapes %s, expected %s" % (sorted(got), sorted(SELFTEST_WANT)))
        return 1
    return 0


def cmd_record(args):
    """A case that could not run (its scenario was refused): one FAIL line and result."""
    print("FAIL %-44s %s" % (args.name, args.reason))
    with open(args.results, "a") as f:
        f.write(json.dumps({"name": args.name, "pass": False, "escapes": 0, "crash": False,
                            "hang": False, "rss_kb": 0, "wall": 0.0, "rc": -1, "contract": False,
                            "reasons": [args.reason]}) + "\n")
    return 1


def cmd_summary(args):
    rs = []
    with open(args.results) as f:
        for line in f:
            rs.append(json.loads(line))
    if not rs:
        print("no results")
        return 1
    fails = [r for r in rs if not r["pass"]]
    print("cases %d, passed %d, failed %d, escapes %d, crashes %d, hangs %d, max RSS %.1f MB (%s), "
          "max time %.2f s (%s), total certmgr time %.0f s" % (
              len(rs), len(rs) - len(fails), len(fails), sum(1 for r in rs if r["escapes"]),
              sum(1 for r in rs if r["crash"]), sum(1 for r in rs if r["hang"]),
              max(r["rss_kb"] for r in rs) / 1024.0, max(rs, key=lambda r: r["rss_kb"])["name"],
              max(r["wall"] for r in rs), max(rs, key=lambda r: r["wall"])["name"],
              sum(r["wall"] for r in rs)))
    if fails:
        print("failed: " + " ".join(r["name"] + ("[contract]" if r["contract"] else "")
                                    for r in fails))
    return 1 if fails else 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("validate")
    p.add_argument("dir")
    p = sub.add_parser("prepare")
    p.add_argument("outdir")
    p.add_argument("cases", nargs="+")
    p = sub.add_parser("writes")
    p.add_argument("trace")
    p.add_argument("--cwd", required=True)
    p.add_argument("--named", nargs=2, action="append", default=[], metavar=("LABEL", "PATH"))
    p.add_argument("--exact", action="append", default=[])
    p = sub.add_parser("check")
    for opt in ("--case", "--stdout", "--stderr", "--trace", "--time", "--log", "--certmgr",
                "--tree-before", "--tree-after", "--certlog", "--results", "--cwd"):
        p.add_argument(opt, required=True)
    p.add_argument("--rc", type=int, required=True)
    p.add_argument("--wall", type=float, required=True)
    p.add_argument("--deadline", type=float, required=True)
    p.add_argument("--log-from", type=int, required=True)
    p.add_argument("--certlog-from", type=int, required=True)
    p.add_argument("--acme-port", type=int, required=True)
    p.add_argument("--allow", action="append", default=[])
    p.add_argument("--allow-exact", action="append", default=[])
    p.add_argument("--hook-exec", action="append", default=[])
    p.add_argument("--marker", default="no")
    p.add_argument("--backoff", default="no")
    p.add_argument("--challenge-left", default="")
    p.add_argument("--canary", default="")
    p.add_argument("--max-rss-kb", type=int, default=200 * 1024)
    p.add_argument("--default-max-seconds", type=float, default=20)
    p = sub.add_parser("selftest")
    p.add_argument("dir")
    p = sub.add_parser("record")
    p.add_argument("results")
    p.add_argument("name")
    p.add_argument("reason")
    p = sub.add_parser("summary")
    p.add_argument("results")
    args = ap.parse_args()
    return {"validate": cmd_validate, "prepare": cmd_prepare,
            "writes": cmd_writes, "check": cmd_check, "record": cmd_record,
            "selftest": cmd_selftest,
            "summary": cmd_summary}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
