#!/usr/bin/env bash
# tests/e2e/secrets.sh CERTMGR: no secret leaks, no over-wide key modes (testing.md §4 "Secrets").
#   Canaries: the run-time passphrase (account.passphrase or key_passphrase true, given by
#   --pass-file or CERTMGR_PASSPHRASE), string passphrases of account.passphrase and
#   key_passphrase, a variable CERTMGR_TEST_SECRET in certmgr's environment, and the key bytes of
#   every private key left in the trees (22: every generation of every certificate key, live and
#   archived, and the account keys of both phases): the ciphertext lines of the encrypted PEM, and
#   of the decrypted key the private numbers as raw bytes, hex, base64url (JWK) and base64, and the
#   PKCS#8 and traditional base64 lines that hold no public bytes (those are in certificates).
#   Five runs (update, then update --force twice; umask 000 with account.passphrase true, then a
#   fresh tree under umask 077 with a string one) each go through `strace -f -v -y -s 65536`
#   (execve, clone, file creation, mkdir and chmod calls) while a poller samples
#   /proc/<pid>/cmdline and environ of certmgr and all its descendants every 2 ms; every hook the
#   lab can trigger and a service reload dump `env` and sleep briefly so that the poller sees them.
#   The log file takes each accepted log_level once (debug, info, normal, verbose, quiet), the
#   console runs with -d.  Checked:
#   - no canary in the log files, stdout, stderr, the argv and envp of any execve but certmgr's
#     own (its environment is the caller's), the /proc samples (certmgr's own environ only for
#     key bytes, and for passphrases once it runs children: CERTMGR_PASSPHRASE is wiped by then),
#     the hook and service dumps, Pebble's and nginx's logs, anything else under the lab; key
#     bytes only in key files (keys/key.pem and keys/key+cert.pem, live or archived: the store
#     archives whole files by rename(2); account/*/client.key), and no passphrase even there;
#     $TMPDIR stays empty; certmgr creates files only in data_dir, the challenge directory, the
#     log and the lock file, and leaves no temporary entry behind;
#   - hooks and services get a scrubbed environment: neither CERTMGR_PASSPHRASE nor
#     CERTMGR_TEST_SECRET in their `env`;
#   - every O_CREAT of a key file, an account file or one of their temporaries
#     (`.<name>.tmp-<16 hex>`, util/fs.cpp) is O_EXCL|O_NOFOLLOW with a mode that, after the
#     umask, is within the policy (keys 0640, account files 0600); no later chmod, fchmod or
#     fchmodat widens it; the directories holding them (keys/ 0750, account/ and archives/ 0700)
#     are never made wider; the final modes (stat) are the policy's.
#   Controls keep the search honest: the trace judge must flag a planted trace, and the canaries
#   must be found where they legitimately are (certmgr's own environment, the key files).
#   Not triggered here: ocsp_installed, sct_installed and rollback (they need an OCSP responder, a
#   CT log, `update --verify`; hooks::run builds their argv and environment like the others').
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/lab/e2e.sh
source "$HERE/../lab/e2e.sh" "$@"

command -v strace >/dev/null || fail "strace is required"
e2e_lab stable
unset CERTMGR_PASSPHRASE CERTMGR_TEST_SECRET
T_START=$SECONDS

R="$RANDOM$RANDOM$RANDOM"
RT="rt-canary-$R-Qz" # the run-time passphrase (--pass-file, CERTMGR_PASSPHRASE)
SP="sp-canary-$R-Jx" # a string key_passphrase
AP="ap-canary-$R-Vw" # a string account.passphrase
ES="es-canary-$R-Kq" # CERTMGR_TEST_SECRET, not certmgr's business at all
PASS_FILE=$LAB/rt.pass
printf '%s\n' "$RT" >"$PASS_FILE"
RUNS=$LAB/runs TRACES=$LAB/traces POLL=$LAB/poll DUMPS=$LAB/dumps TMPD=$LAB/tmpdir
mkdir -p "$RUNS" "$TRACES" "$POLL" "$DUMPS" "$TMPD"
chmod 700 "$TMPD"
JUDGE=$LAB/judge.py POLLER=$LAB/poller.py
export STRACE_ARGS_DIR=$HERE/../lab # the judge's strace line parser

# ---------------------------------------------------------------- the /proc poller
# poller.py ROOTFILE STOPFILE OUT CERTMGR: waits for a pid in ROOTFILE, then until STOPFILE exists
# samples every 2 ms cmdline and environ of certmgr (the first process below ROOT running CERTMGR)
# and of all its descendants; writes counters and every distinct blob (tagged) to OUT as JSON.
cat >"$POLLER" <<'PY'
import base64, hashlib, json, os, sys, time
root_file, stop_file, out_file, exe = sys.argv[1:5]
exe = os.path.realpath(exe)
open(out_file + ".ready", "w").close()

def read(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return None

def exe_of(pid):
    try:
        return os.readlink(f"/proc/{pid}/exe")
    except OSError:
        return None

root = None
while root is None and not os.path.exists(stop_file):
    text = read(root_file)
    if text and text.strip():
        root = int(text)
    else:
        time.sleep(0.001)
stats = {"samples": 0, "iterations": 0, "unreadable": 0, "pids": 0, "child_pids": 0}
blobs, pids, child_pids = {}, set(), set()
while root is not None:
    stopping = os.path.exists(stop_file)
    stats["iterations"] += 1
    kids = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        st = read(f"/proc/{name}/stat")
        if not st:
            continue
        fields = st[st.rfind(b")") + 2:].split()
        kids.setdefault(int(fields[1]), []).append(int(name))
    # certmgr: the first process below root running the binary, its parent running something else
    main, todo = None, [root]
    while todo and main is None:
        pid = todo.pop(0)
        for kid in kids.get(pid, []):
            if exe_of(kid) == exe:
                main = kid
                break
            todo.append(kid)
    if main is not None:
        below, todo = [], [main]
        while todo:
            for kid in kids.get(todo.pop(0), []):
                below.append(kid)
                todo.append(kid)
        for pid in [main] + below:
            pexe = exe_of(pid)
            cmd, env = read(f"/proc/{pid}/cmdline"), read(f"/proc/{pid}/environ")
            if pexe is None or cmd is None or env is None:
                stats["unreadable"] += 1
                continue
            stats["samples"] += 1
            pids.add(pid)
            if pexe == exe:  # certmgr, or a child of it between clone and execve (same memory)
                etag = "env-certmgr-late" if below else "env-certmgr-early"
            else:
                etag = "env-child"
                child_pids.add(pid)
            for tag, blob in (("cmdline", cmd), (etag, env)):
                blobs.setdefault((tag, hashlib.sha256(blob).hexdigest()), blob)
    if stopping:
        break
    time.sleep(0.002)
stats["pids"], stats["child_pids"] = len(pids), len(child_pids)
stats["blobs"] = [{"tag": t, "data": base64.b64encode(b).decode()} for (t, _), b in blobs.items()]
with open(out_file + ".tmp", "w") as f:
    json.dump(stats, f)
os.rename(out_file + ".tmp", out_file)
PY

# ---------------------------------------------------------------- the judge
#   judge.py trace UMASK CERTMGR DATA_DIRS ALLOWED TRACE...  creation/chmod policy over strace logs
#   judge.py tree DATA_DIR                                   final modes, leftovers, stray keys
#   judge.py canaries OUT DATA_DIR... -- SECRET...           canaries of the secrets and the keys
#   judge.py sweep CANARIES CERTMGR LAB SKIP...              canary hits under LAB
# Each prints one JSON report on stdout.
cat >"$JUDGE" <<'PY'
import base64, json, os, re, stat, sys
sys.path.insert(0, os.environ["STRACE_ARGS_DIR"])
from strace_args import split_args, unquote_bytes

TMP_RE = re.compile(r"^\.(.+)\.tmp-[0-9a-f]{16}$")
KEY_NAMES = {"key.pem", "key+cert.pem"}
ACCOUNT_NAMES = {"client.key", "client.key.next", "registration.json"}

def real_name(path):
    base = os.path.basename(path)
    m = TMP_RE.match(base)
    return (m.group(1), True) if m else (base, False)

def file_policy(path):
    """(class, widest mode) for key and account files (and their temporaries), else None."""
    name, _ = real_name(path)
    parts = path.split("/")
    if name in KEY_NAMES and len(parts) > 1 and parts[-2] == "keys":
        return "key", 0o640
    if name in ACCOUNT_NAMES and "account" in parts:
        return "account", 0o600
    return None

def dir_policy(path, data_dirs):
    for d in data_dirs:
        if path == d or not path.startswith(d + "/"):
            continue
        rel = path[len(d) + 1:].split("/")
        if rel[0] in ("archives", "account"):
            return rel[0] + " dir", 0o700
        if rel[-1] == "keys":
            return "keys dir", 0o750
    return None

# ------------------------------------------------------------ strace parsing
LINE_RE = re.compile(r"^(\d+)\s+(.*)$")
RESUMED_RE = re.compile(r"^<\.\.\. (\w+) resumed>(.*)$")
CALL_RE = re.compile(r"^(\w+)\((.*)\)\s+=\s+(.*)$", re.S)

def calls(path):
    pending = {}
    with open(path, encoding="latin-1") as f:
        for raw in f:
            m = LINE_RE.match(raw.rstrip("\n"))
            if not m:
                continue
            pid, rest = int(m.group(1)), m.group(2)
            r = RESUMED_RE.match(rest)
            if r:
                rest = pending.pop(pid, r.group(1) + "(") + r.group(2)
            elif rest.endswith("<unfinished ...>"):
                pending[pid] = rest[: -len("<unfinished ...>")].rstrip()
                continue
            c = CALL_RE.match(rest)
            if c:
                yield pid, c.group(1), split_args(c.group(2)), c.group(3), rest

def unquote(s):
    raw = unquote_bytes(s)
    return None if raw is None else raw.decode("latin-1")

def fd_path(s):
    m = re.match(r"^(?:-?\d+|AT_FDCWD)<(.*)>$", s, re.S)
    return m.group(1) if m else None

def strings_of(array):
    """The strings of an strace array [\"a\", \"b\"]."""
    return [unquote(a) or "" for a in split_args(array.strip()[1:-1])] if array.startswith("[") else []

def cmd_trace(argv):
    """trace UMASK CERTMGR DATA_DIRS(:) ALLOWED(:) TRACE...: JSON report on stdout."""
    umask, certmgr = int(argv[0], 8), argv[1]
    data_dirs = [d for d in argv[2].split(":") if d]
    allowed = [a for a in argv[3].split(":") if a]
    rep = {"execs": 0, "execs_ok": 0, "creations": 0, "over_wide": [], "unsafe": [], "outside": [],
           "chmods": 0, "dirs": 0, "self_exec": 0, "programs": set()}
    for trace in argv[4:]:
        hook_side, parent, first_exec = set(), {}, True
        for pid, name, args, ret, _ in calls(trace):
            ok = not ret.startswith("-1")
            if name in ("clone", "clone3", "fork", "vfork") and ok:
                child = int(re.match(r"^(\d+)", ret).group(1))
                if pid in hook_side:
                    hook_side.add(child)
            elif name == "execve":
                rep["execs"] += 1
                rep["execs_ok"] += ok
                prog = unquote(args[0]) or ""
                if first_exec and os.path.realpath(prog) == os.path.realpath(certmgr):
                    rep["self_exec"] += 1
                elif ok:
                    hook_side.add(pid)
                    rep["programs"].add(os.path.basename(prog))
                first_exec = False
            elif name in ("openat", "open", "creat"):
                if name == "openat":
                    dirp, p, flags = fd_path(args[0]), unquote(args[1]), args[2]
                    mode = args[3] if len(args) > 3 else None
                elif name == "open":
                    dirp, p, flags = None, unquote(args[0]), args[1]
                    mode = args[2] if len(args) > 2 else None
                else:
                    dirp, p, flags, mode = None, unquote(args[0]), "O_CREAT|O_WRONLY|O_TRUNC", args[1]
                if "O_CREAT" not in flags and "O_TMPFILE" not in flags:
                    continue
                path = fd_path(ret) if ok else None
                if path is None:
                    path = p if p.startswith("/") else os.path.join(dirp or "", p)
                path = os.path.normpath(path)
                if pid not in hook_side and ok and not any(path == a or path.startswith(a + "/") for a in allowed):
                    rep["outside"].append(path)
                pol = file_policy(path)
                if pol is None:
                    continue
                rep["creations"] += 1
                eff = int(mode, 8) & ~umask if mode else 0o7777
                if eff & ~pol[1]:
                    rep["over_wide"].append(f"{name} O_CREAT {path} mode {mode} (effective {eff:04o}, {pol[0]} max {pol[1]:04o})")
                if "O_EXCL" not in flags or "O_NOFOLLOW" not in flags:
                    rep["unsafe"].append(f"{name} {path} {flags}")
            elif name in ("mkdir", "mkdirat"):
                p = unquote(args[-2])
                if name == "mkdirat" and not p.startswith("/"):
                    p = os.path.join(fd_path(args[0]) or "", p)
                p = os.path.normpath(p)
                pol = dir_policy(p, data_dirs)
                if pol is None or not ok:
                    continue
                rep["dirs"] += 1
                eff = int(args[-1], 8) & ~umask
                if eff & ~pol[1]:
                    rep["over_wide"].append(f"{name} {p} mode {args[-1]} (effective {eff:04o}, {pol[0]} max {pol[1]:04o})")
            elif name in ("fchmod", "fchmodat", "chmod"):
                if name == "fchmod":
                    p, mode = fd_path(args[0]), args[1]
                elif name == "chmod":
                    p, mode = unquote(args[0]), args[1]
                else:
                    p, mode = unquote(args[1]), args[2]
                    if not p:
                        p = fd_path(args[0])
                    elif not p.startswith("/"):
                        p = os.path.join(fd_path(args[0]) or "", p)
                if not p:
                    continue
                p = os.path.normpath(re.sub(r" \(deleted\)$", "", p))
                pol = file_policy(p) or dir_policy(p, data_dirs)
                if pol is None:
                    continue
                rep["chmods"] += 1
                if int(mode, 8) & ~pol[1]:
                    rep["over_wide"].append(f"{name} {p} {mode} ({pol[0]} max {pol[1]:04o})")
    rep["programs"] = sorted(rep["programs"])
    json.dump(rep, sys.stdout)

def cmd_tree(argv):
    """tree DATA_DIR: final modes; leftovers; private keys only in key files."""
    data = argv[0]
    rep = {"files": 0, "over_wide": [], "wrong": [], "leftovers": [], "stray_keys": []}
    for dirpath, dirnames, filenames in os.walk(data):
        for n in dirnames + filenames:
            p = os.path.join(dirpath, n)
            st = os.lstat(p)
            mode = stat.S_IMODE(st.st_mode)
            if TMP_RE.match(n) or n.endswith(".partial") or n.endswith(".link-tmp"):
                rep["leftovers"].append(p)
            if stat.S_ISDIR(st.st_mode):
                pol = dir_policy(p, [data])
                want = pol[1] if pol else None
            elif stat.S_ISREG(st.st_mode):
                pol = file_policy(p)
                want = pol[1] if pol else None
                with open(p, "rb") as f:
                    if b"PRIVATE KEY-----" in f.read() and pol is None:
                        rep["stray_keys"].append(p)
            else:
                continue
            if pol is None:
                continue
            rep["files"] += 1
            if mode & ~pol[1]:
                rep["over_wide"].append(f"{p} {mode:04o} ({pol[0]} max {pol[1]:04o})")
            elif want is not None and mode != want:
                rep["wrong"].append(f"{p} {mode:04o} (expected {want:04o})")
    json.dump(rep, sys.stdout)

# ------------------------------------------------------------ canaries
def spread(items, n=4):
    """At most n items, first, last and evenly between."""
    if len(items) <= n:
        return items
    return [items[round(i * (len(items) - 1) / (n - 1))] for i in range(n)]

def find_all(hay, needle):
    i = hay.find(needle)
    while i >= 0:
        yield i, i + len(needle)
        i = hay.find(needle, i + 1)

def overlap(a, b):
    return max(0, min(a[1], b[1]) - max(a[0], b[0]))

def derived_canaries(add, tag, key):
    """Canaries of the private material of a decrypted key: each private number as raw bytes,
    hex, base64url (JWK) and base64 at the three alignments; the base64 lines of the PKCS#8 and
    traditional DER that overlap no public part (an RSA modulus, an EC point: those are in the
    certificates) and hold at least 12 private bytes (96 bits: no chance match)."""
    from cryptography.hazmat.primitives import serialization as ser
    from cryptography.hazmat.primitives.asymmetric import ec
    if isinstance(key, ec.EllipticCurvePrivateKey):
        size = (key.curve.key_size + 7) // 8
        nums = {"d": key.private_numbers().private_value.to_bytes(size, "big")}
        public = [key.public_key().public_bytes(ser.Encoding.X962, ser.PublicFormat.UncompressedPoint)]
    else:
        pn = key.private_numbers()
        raw = lambda n: n.to_bytes((n.bit_length() + 7) // 8, "big")
        nums = {k: raw(v) for k, v in (("d", pn.d), ("p", pn.p), ("q", pn.q), ("dp", pn.dmp1),
                                       ("dq", pn.dmq1), ("qi", pn.iqmp))}
        public = [raw(pn.public_numbers.n)]
    for label, raw in nums.items():
        add(f"{tag}: {label} raw", raw)
        add(f"{tag}: {label} hex", raw.hex())
        add(f"{tag}: {label} HEX", raw.hex().upper())
        add(f"{tag}: {label} base64url", base64.urlsafe_b64encode(raw).rstrip(b"="))
        for k in range(3):
            part = raw[k:]
            add(f"{tag}: {label} base64+{k}", base64.b64encode(part)[: len(part) // 3 * 4])
    for fmt in (ser.PrivateFormat.PKCS8, ser.PrivateFormat.TraditionalOpenSSL):
        der = key.private_bytes(ser.Encoding.DER, fmt, ser.NoEncryption())
        pub = [r for p in public for r in find_all(der, p)]
        priv = [r for p in nums.values() for r in find_all(der, p)]
        text = base64.b64encode(der)
        for i in range(len(text) // 64):
            line = (48 * i, 48 * i + 48)
            if any(overlap(line, r) for r in pub) or sum(overlap(line, r) for r in priv) < 12:
                continue
            add(f"{tag}: {fmt.name} PEM line {i}", text[64 * i: 64 * i + 64])

def cmd_canaries(argv):
    """canaries OUT DATA_DIR... -- PASSPHRASE...: every canary as JSON {name, kind, derived, data}.
    A passphrase starting with "es-" is of kind env, the others of kind pass."""
    from cryptography.hazmat.primitives import serialization as ser
    sep = argv.index("--")
    out, dirs, passes = argv[0], argv[1:sep], argv[sep + 1:]
    canaries, problems, seen = [], [], set()
    def adder(kind, derived):
        def add(name, data):
            if isinstance(data, str):
                data = data.encode()
            canaries.append({"name": name, "kind": kind, "derived": derived,
                             "data": base64.b64encode(data).decode()})
        return add
    for i, p in enumerate(passes):
        add = adder("env" if p.startswith("es-") else "pass", False)
        add(f"passphrase#{i}", p)
        add(f"passphrase#{i} hex", p.encode().hex())
        add(f"passphrase#{i} base64", base64.b64encode(p.encode()).decode().rstrip("="))
    block_re = re.compile(rb"-----BEGIN ([A-Z ]*PRIVATE KEY)-----\r?\n(.*?)-----END \1-----", re.S)
    order = [None] + [p.encode() for p in passes]
    for d in dirs:
        for dirpath, _, filenames in os.walk(d):
            for n in filenames:
                path = os.path.join(dirpath, n)
                with open(path, "rb") as f:
                    content = f.read()
                for m in block_re.finditer(content):
                    pem = m.group(0)
                    if pem in seen:  # key+cert.pem repeats key.pem; generations share inodes
                        continue
                    seen.add(pem)
                    tag = f"key {len(seen)} ({os.path.relpath(path, os.path.dirname(os.path.dirname(d)))})"
                    encrypted = m.group(1) == b"ENCRYPTED PRIVATE KEY"
                    if encrypted:  # the ciphertext is key bytes too; clear PEM lines come below
                        lines = [l.strip() for l in m.group(2).split(b"\n") if len(l.strip()) == 64]
                        for j, line in enumerate(spread(lines)):
                            adder("key", False)(f"{tag}: file line {j}", line)
                    key = None
                    for pw in order:
                        if (pw is None) == encrypted:
                            continue
                        try:
                            key = ser.load_pem_private_key(pem, pw)
                        except (TypeError, ValueError):
                            continue
                        order.remove(pw)
                        order.insert(0, pw)  # the same passphrase is likely next
                        break
                    if key is None:
                        problems.append(f"{path}: no known passphrase opens it")
                        continue
                    derived_canaries(adder("key", True), tag, key)
    with open(out, "w") as f:
        json.dump(canaries, f)
    json.dump({"keys": len(seen), "canaries": len(canaries), "problems": problems}, sys.stdout)

def key_file(path):
    p = file_policy(path)
    return p is not None and real_name(path)[0] != "registration.json"

SEP = b"\n\0\xff\xfe--sweep--\xfe\xff\0\n"
ALL = ("pass", "env", "key")
VARS = ("CERTMGR_PASSPHRASE=", "CERTMGR_TEST_SECRET=")

def cmd_sweep(argv):
    """sweep CANARIES CERTMGR LAB SKIP...: canary hits in every file under LAB but SKIP, and
    controls: canaries found where they may be (proof that the search sees them)."""
    canaries = [dict(c, data=base64.b64decode(c["data"])) for c in json.load(open(argv[0]))]
    certmgr, lab, skip = argv[1], argv[2], set(argv[3:])
    stats = {"files": 0, "traces": 0, "proc_blobs": 0, "bytes": 0, "unique_bytes": 0}
    # rule (forbidden kinds, forbidden names, control kinds) -> {blob: [where...]}
    groups = {}
    def put(where, blob, forbidden, names=(), control=()):
        stats["bytes"] += len(blob)
        groups.setdefault((forbidden, names, control), {}).setdefault(blob, []).append(where)
    for dirpath, _, filenames in os.walk(lab):
        for n in filenames:
            path = os.path.join(dirpath, n)
            if path in skip or os.path.islink(path):
                continue
            rel = os.path.relpath(path, lab)
            if rel.startswith("traces/"):
                stats["traces"] += 1
                first = True
                for pid, name, args, ret, text in calls(path):
                    if name != "execve":
                        put(f"{rel}: {name}", text.encode("latin-1"), ALL)
                        continue
                    prog = unquote(args[0]) or ""
                    argv_ = "\0".join(strings_of(args[1])).encode("latin-1")
                    envp = "\0".join(strings_of(args[2])).encode("latin-1")
                    put(f"{rel}: argv of execve({prog})", argv_, ALL)
                    if first and os.path.realpath(prog) == os.path.realpath(certmgr):
                        # certmgr's own environment is the caller's: the canaries were put there
                        put(f"{rel}: envp of certmgr", envp, (), (), ("pass", "env"))
                    else:
                        put(f"{rel}: envp of execve({prog})", envp, ALL, VARS)
                    first = False
                continue
            if rel.startswith("poll/") and n.endswith(".json"):
                for b in json.load(open(path))["blobs"]:
                    stats["proc_blobs"] += 1
                    blob, tag = base64.b64decode(b["data"]), b["tag"]
                    where = f"{rel}: {tag}"
                    if tag == "env-child":
                        put(where, blob, ALL, VARS)
                    elif tag == "env-certmgr-late":  # CERTMGR_PASSPHRASE is wiped by now
                        put(where, blob, ("pass", "key"), (), ("env",))
                    elif tag == "env-certmgr-early":
                        put(where, blob, ("key",), (), ("pass", "env"))
                    else:
                        put(where, blob, ALL)
                continue
            stats["files"] += 1
            with open(path, "rb") as f:
                blob = f.read()
            if key_file(path):
                put(rel, blob, ("pass", "env"), (), ("key",))
            else:
                put(rel, blob, ALL)
    hits, controls = [], {"pass": 0, "env": 0, "key": 0, "derived key": 0}
    for (forbidden, names, control), blobs in groups.items():
        parts = list(blobs)
        big = SEP.join(parts)
        stats["unique_bytes"] += len(big)
        for c in canaries:
            if c["data"] not in big:
                continue
            for part in parts:
                if c["data"] not in part:
                    continue
                if c["kind"] in forbidden:
                    hits.append(f"{c['name']} ({c['kind']}) in {blobs[part][0]} (and {len(blobs[part]) - 1} more)")
                elif c["kind"] in control:
                    controls[c["kind"]] += 1
                    controls["derived key"] += c["kind"] == "key" and c["derived"]
        for name in names:
            for part in parts:
                if name.encode() in part:
                    hits.append(f"variable {name} in {blobs[part][0]}")
    json.dump({"hits": hits, "controls": controls, **stats}, sys.stdout)

{"trace": cmd_trace, "tree": cmd_tree, "canaries": cmd_canaries, "sweep": cmd_sweep}[sys.argv[1]](sys.argv[2:])
PY

# ---------------------------------------------------------------- hooks, services, config
HOOK=$LAB/dump-hook
{
  printf '#!/bin/sh\nDIR=%q\n' "$DUMPS"
  cat <<'HOOK_EOF'
n=$$
while [ -e "$DIR/hook-$n.argv" ]; do n="$n+"; done
printf '%s\n' "$@" >"$DIR/hook-$n.argv"
env >"$DIR/hook-$n.env"
sleep 0.05
exit 0
HOOK_EOF
} >"$HOOK"
chmod 755 "$HOOK"
HOOKS=$(
  hook() { printf '{"args": ["%s", "%s", "%s"]}' "$HOOK" "$1" "$2"; }
  printf '{"set_http_challenge": %s, "clear_http_challenge": %s,' \
    "$(hook set '{domain}')" "$(hook clear '{challenge_file}')"
  printf '"private_key_installed": %s, "certificate_installed": %s,' \
    "$(hook key '{private_key_file}')" "$(hook cert '{certificate_file}')"
  printf '"full_certificate_installed": %s, "chain_installed": %s,' \
    "$(hook fullcert '{full_certificate_file}')" "$(hook chain '{chain_file}')"
  printf '"full_key_installed": %s, "params_installed": %s,' \
    "$(hook fullkey '{full_key_file}')" "$(hook params '{params_file}')"
  printf '"certificates_updated": %s}' "$(hook updated '{certificates}')"
)
SERVICES="{\"svc\": \"sleep 0.05; env >$DUMPS/svc-\$\$-\$PPID.env\"}"

# sconfig DIR ACCOUNT_PASS KP_PASS RT_PASS LEVEL: DIR/certmgr.json (data DIR/data, log
# DIR/certmgr.log) with kp.test (rsa+ecdsa, two names), rt.test (ecdsa) and clear.test (ecdsa,
# key in clear); passphrases are JSON values; all hooks; svc reloaded for kp.test and rt.test.
sconfig() {
  local dir=$1
  CFG_DATA_DIR=$dir/data CFG_LOG_FILE=$dir/certmgr.log CFG_LOCK_FILE=$dir/certmgr.lock \
    write_config "$dir/certmgr.json" "[$(cert_json kp.test '["rsa", "ecdsa"]' '["kp.test", "www.kp.test"]'),
      $(cert_json rt.test '["ecdsa"]'), $(cert_json clear.test '["ecdsa"]')]"
  "$LAB_PYTHON" - "$dir/certmgr.json" "$2" "$3" "$4" "$5" "$HOOKS" "$SERVICES" <<'PY' || fail "cannot write the config"
import json, sys
path, acct, kp, rt, level, hooks, services = sys.argv[1:8]
cfg = json.load(open(path))
cfg["account"]["passphrase"] = json.loads(acct)
cfg["settings"]["log_level"] = level
certs = {c["name"]: c for c in cfg["certificates"]}
certs["kp.test"]["key_passphrase"] = json.loads(kp)
certs["rt.test"]["key_passphrase"] = json.loads(rt)
certs["clear.test"]["key_passphrase"] = False
certs["kp.test"]["services"] = certs["rt.test"]["services"] = ["svc"]
cfg["hooks"] = json.loads(hooks)
cfg["services"] = json.loads(services)
json.dump(cfg, open(path, "w"), indent=2)
PY
  # rsa/cert+root.pem is written when root_cert.rsa.pem sits next to the config:
  # full_certificate_installed fires
  cp "$LAB/root.pem" "$dir/root_cert.rsa.pem"
}

# ---------------------------------------------------------------- one traced, polled run
STRACE_SET=execve,clone,clone3,fork,vfork,openat,open,creat,mkdir,mkdirat,fchmod,fchmodat,chmod
POLL_SAMPLES=0 POLL_CHILD_PIDS=0 RUNS_DONE=0

# wait_gone PID SECONDS: wait for a child of this shell, KILL it after SECONDS
wait_gone() {
  local pid=$1 deadline=$((SECONDS + $2))
  while kill -0 "$pid" 2>/dev/null && [[ $(ps -o stat= -p "$pid" 2>/dev/null) != Z* ]]; do
    ((SECONDS < deadline)) || { kill -KILL "$pid" 2>/dev/null; break; }
    sleep 0.02
  done
  wait "$pid" 2>/dev/null
}

# run_traced TAG UMASK [NAME=VALUE...] -- ARGS...: certmgr ARGS under strace and the poller, with
# umask UMASK, TMPDIR=$TMPD, CERTMGR_TEST_SECRET and the given variables.  Sets RC OUT ERR.
run_traced() {
  local tag=$1 um=$2 envs=() ppid cpid deadline
  shift 2
  while [[ $1 != -- ]]; do envs+=("$1"); shift; done
  shift
  OUT=$RUNS/$tag.out ERR=$RUNS/$tag.err
  local trace=$TRACES/$tag.trace
  rm -f "$POLL/root" "$POLL/stop"
  "$LAB_PYTHON" "$POLLER" "$POLL/root" "$POLL/stop" "$POLL/$tag.json" "$CERTMGR" &
  ppid=$!
  lab_track_pid "$ppid"
  deadline=$((SECONDS + 10))
  until [[ -e $POLL/$tag.json.ready ]]; do
    ((SECONDS < deadline)) || fail "the /proc poller did not start"
    sleep 0.01
  done
  (
    umask "$um"
    # LeakSanitizer cannot run under ptrace (sanitizer builds, testing.md §4)
    exec env CERTMGR_TEST_SECRET="$ES" TMPDIR="$TMPD" "${envs[@]}" \
      ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
      timeout -k 5 "${CERTMGR_TIMEOUT:-120}" strace -f --seccomp-bpf -qq -v -y -s 65536 \
      -e trace="$STRACE_SET" -o "$trace" -- "$CERTMGR" "$@" >"$OUT" 2>"$ERR" </dev/null
  ) &
  cpid=$!
  lab_track_pid "$cpid"
  printf '%s\n' "$cpid" >"$POLL/root.tmp" && mv "$POLL/root.tmp" "$POLL/root"
  RC=0
  wait "$cpid" || RC=$?
  lab_untrack_pid "$cpid"
  : >"$POLL/stop"
  wait_gone "$ppid" 20
  lab_untrack_pid "$ppid"
  rm -f "$POLL/$tag.json.ready"
  [[ -s $POLL/$tag.json ]] || fail "$tag: the /proc poller wrote nothing"
  local s c
  read -r s c < <("$LAB_PYTHON" -c 'import json, sys
d = json.load(open(sys.argv[1])); print(d["samples"], d["child_pids"])' "$POLL/$tag.json")
  POLL_SAMPLES=$((POLL_SAMPLES + s))
  POLL_CHILD_PIDS=$((POLL_CHILD_PIDS + c))
  RUNS_DONE=$((RUNS_DONE + 1))
  printf '  %s: exit %s, %s /proc samples of %s child processes\n' "$tag" "$RC" "$s" "$c"
  [[ $RC == 124 ]] && printf '  %s: killed after %ss (hang)\n' "$tag" "${CERTMGR_TIMEOUT:-120}" >&2
  return 0
}

# poller_saw_children TAG: the poller sampled at least one child of certmgr in run TAG
poller_saw_children() {
  local c
  c=$("$LAB_PYTHON" -c 'import json, sys; print(json.load(open(sys.argv[1]))["child_pids"])' "$POLL/$1.json")
  ((c > 0)) || { printf '  %s: no child of certmgr sampled\n' "$1" >&2; return 1; }
}

# trace_ok PHASE_DIR UMASK TAG...: the creation and chmod policy over the traces of runs TAG...
TRACE_EXECS=0 TRACE_EXECS_OK=0 TRACE_CREATIONS=0 TRACE_CHMODS=0 TRACE_DIRS=0 OVER_WIDE=0
trace_ok() {
  local dir=$1 um=$2 files=() t rep e k c m d o u x
  shift 2
  for t in "$@"; do files+=("$TRACES/$t.trace"); done
  rep=$("$LAB_PYTHON" "$JUDGE" trace "$um" "$CERTMGR" "$dir/data" \
    "$dir/data:$CHALLENGE_DIR:$dir/certmgr.log:$dir/certmgr.lock" "${files[@]}") ||
    { printf '  judge trace failed\n' >&2; return 1; }
  "$LAB_PYTHON" - "$rep" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
print(f'  {r["execs"]} execve ({r["execs_ok"]} successful, {r["self_exec"]} of certmgr itself; programs {", ".join(r["programs"])}), '
      f'{r["creations"]} key/account file creations, {r["chmods"]} chmods and {r["dirs"]} mkdirs of key/account/archive paths')
for what in ("over_wide", "unsafe", "outside"):
    for line in r[what][:20]:
        print(f"  {what}: {line}", file=sys.stderr)
PY
  read -r e k c m d o u x < <("$LAB_PYTHON" -c 'import json, sys
r = json.loads(sys.argv[1])
print(r["execs"], r["execs_ok"], r["creations"], r["chmods"], r["dirs"], len(r["over_wide"]), len(r["unsafe"]), len(r["outside"]))' "$rep")
  TRACE_EXECS=$((TRACE_EXECS + e)) TRACE_EXECS_OK=$((TRACE_EXECS_OK + k)) TRACE_CREATIONS=$((TRACE_CREATIONS + c))
  TRACE_CHMODS=$((TRACE_CHMODS + m)) TRACE_DIRS=$((TRACE_DIRS + d)) OVER_WIDE=$((OVER_WIDE + o))
  ((c > 0 && d > 0)) || { printf '  no key file or key directory creation seen in the trace\n' >&2; return 1; }
  ((o == 0 && u == 0 && x == 0))
}

# tree_ok PHASE_DIR: final modes (stat) within the policy and as set, no leftovers, no stray keys
TREE_FILES=0
tree_ok() {
  local rep
  rep=$("$LAB_PYTHON" "$JUDGE" tree "$1/data") || { printf '  judge tree failed\n' >&2; return 1; }
  "$LAB_PYTHON" - "$rep" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
print(f'  {r["files"]} key/account files and directories stat()ed')
for what in ("over_wide", "wrong", "leftovers", "stray_keys"):
    for line in r[what][:20]:
        print(f"  {what}: {line}", file=sys.stderr)
sys.exit(1 if any(r[w] for w in ("over_wide", "wrong", "leftovers", "stray_keys")) else 0)
PY
  local rc=$? f o
  read -r f o < <("$LAB_PYTHON" -c 'import json, sys
r = json.loads(sys.argv[1]); print(r["files"], len(r["over_wide"]))' "$rep")
  TREE_FILES=$((TREE_FILES + f)) OVER_WIDE=$((OVER_WIDE + o))
  return $rc
}

# env_scrubbed: no hook or service dump holds CERTMGR_PASSPHRASE or CERTMGR_TEST_SECRET
env_scrubbed() {
  local dumps=("$DUMPS"/*.env) bad
  [[ -e ${dumps[0]} ]] || { printf '  no dump: hooks did not run\n' >&2; return 1; }
  printf '  %s environment dumps of hooks and services\n' "${#dumps[@]}"
  bad=$(grep -HE '^(CERTMGR_PASSPHRASE|CERTMGR_TEST_SECRET)=' "${dumps[@]}" | cut -d= -f1)
  [[ -z $bad ]] || { printf '  %s\n' "$(oneline "$bad")" >&2; return 1; }
}
# dumps_of KIND: number of dumps of hooks of KIND (argv[1]) or of the service (svc)
dumps_of() {
  if [[ $1 == svc ]]; then
    find "$DUMPS" -name 'svc-*.env' | wc -l
  else
    grep -lx -- "$1" "$DUMPS"/hook-*.argv 2>/dev/null | wc -l
  fi
}

# ---------------------------------------------------------------- the judge judged
# A synthetic trace with one of each violation (and a call split by another thread): the trace
# judge must find them, or a clean verdict below would mean nothing.
SELF=$LAB/selftest
mkdir -p "$SELF"
k=$SELF/data/.generations/a/1.partial/rsa/keys
cat >"$SELF/t.trace" <<TRACE_EOF
100 execve("$CERTMGR", ["certmgr"], ["CERTMGR_PASSPHRASE=x"]) = 0
100 mkdir("$k", 0755) = 0
100 openat(AT_FDCWD</>, "$k/key.pem", O_WRONLY|O_CREAT|O_EXCL|O_NOFOLLOW|O_CLOEXEC, 0644) = 3<$k/key.pem>
100 fchmod(3<$k/key.pem>, 0660 <unfinished ...>
101 openat(AT_FDCWD</>, "$SELF/data/account/l/.client.key.tmp-0123456789abcdef", O_WRONLY|O_CREAT|O_CLOEXEC, 0600) = 4<$SELF/data/account/l/.client.key.tmp-0123456789abcdef>
100 <... fchmod resumed>) = 0
101 openat(AT_FDCWD</>, "/tmp/elsewhere", O_WRONLY|O_CREAT|O_EXCL, 0600) = 5</tmp/elsewhere>
101 fchmodat(AT_FDCWD</>, "$SELF/data/account/l", 0700) = 0
TRACE_EOF
judge_selftest() {
  local got
  got=$("$LAB_PYTHON" "$JUDGE" trace 000 "$CERTMGR" "$SELF/data" "$SELF/data" "$SELF/t.trace" |
    "$LAB_PYTHON" -c 'import json, sys
r = json.load(sys.stdin)
print(r["creations"], len(r["over_wide"]), len(r["unsafe"]), len(r["outside"]), r["chmods"], r["self_exec"])')
  [[ $got == "2 3 1 1 2 1" ]] || { printf '  judge: %s, expected 2 3 1 1 2 1\n' "$got" >&2; return 1; }
}
check "the trace judge finds planted violations (2 creations, 3 over-wide, 1 unsafe, 1 outside)" judge_selftest

# ---------------------------------------------------------------- phase A: umask 000
# The log file gets every accepted level once (config/sections.cpp: quiet, normal, verbose,
# info = verbose, debug); the console runs at -d, so stdout and stderr carry everything.
A=$LAB/A
mkdir -p "$A"
echo "== (A) umask 000: account.passphrase true, kp.test string, rt.test true"
sconfig "$A" true "\"$SP\"" true debug
run_traced A1 000 -- -c "$A/certmgr.json" -d --pass-file "$PASS_FILE" update
check "(A1) update, --pass-file, log_level debug: exit 0" rc_is 0
check "(A1) the poller sampled certmgr's children" poller_saw_children A1
for kt in rsa ecdsa; do
  check "(A1) kp.test/$kt issued" test -s "$A/data/kp.test/$kt/cert.pem"
done
sconfig "$A" true "\"$SP\"" true info
run_traced A2 000 CERTMGR_PASSPHRASE="$RT" -- -c "$A/certmgr.json" -d update --force
check "(A2) update --force, CERTMGR_PASSPHRASE, log_level info: exit 0" rc_is 0
sconfig "$A" true "\"$SP\"" true normal
run_traced A3 000 -- -c "$A/certmgr.json" -d --pass-file "$PASS_FILE" update --force
check "(A3) update --force, --pass-file, log_level normal: exit 0" rc_is 0
check "(A) archives exist (two --force runs)" test -d "$A/data/archives/kp.test"
check "(A) modes at creation and at every chmod within the policy (umask 000)" trace_ok "$A" 000 A1 A2 A3
check "(A) final modes (stat), no leftovers, private keys only in key files" tree_ok "$A"

# ---------------------------------------------------------------- phase B: umask 077
B=$LAB/B
mkdir -p "$B"
echo "== (B) umask 077: account.passphrase string, kp.test true, rt.test string"
sconfig "$B" "\"$AP\"" true "\"$SP\"" verbose
run_traced B1 077 CERTMGR_PASSPHRASE="$RT" -- -c "$B/certmgr.json" -d update
check "(B1) update, CERTMGR_PASSPHRASE, log_level verbose: exit 0" rc_is 0
check "(B1) the poller sampled certmgr's children" poller_saw_children B1
sconfig "$B" "\"$AP\"" true "\"$SP\"" quiet
run_traced B2 077 -- -c "$B/certmgr.json" -d --pass-file "$PASS_FILE" update --force
check "(B2) update --force, --pass-file, log_level quiet: exit 0" rc_is 0
check "(B) archives exist" test -d "$B/data/archives/kp.test"
# revoke --reason keyCompromise signs with the certificate's key (decrypted with SP) and archives
# it; account --rollover writes client.key.next and replaces client.key (the old key is kept
# aside for the canaries: its bytes must not have leaked either)
sconfig "$B" "\"$AP\"" true "\"$SP\"" debug
run_traced B3 077 -- -c "$B/certmgr.json" -d --pass-file "$PASS_FILE" revoke --reason keyCompromise rt.test
check "(B3) revoke --reason keyCompromise rt.test: exit 0" rc_is 0
check "(B3) rt.test/ecdsa left the live tree" test ! -e "$B/data/rt.test/ecdsa/keys/key.pem"
mkdir -p "$LAB/oldkeys"
cp "$B"/data/account/*/client.key "$LAB/oldkeys/client.key.before-rollover"
run_traced B4 077 CERTMGR_PASSPHRASE="$RT" -- -c "$B/certmgr.json" -d account --rollover
check "(B4) account --rollover: exit 0" rc_is 0
differ() { ! cmp -s "$1" "$2"; }
check "(B4) the account key changed" differ "$LAB/oldkeys/client.key.before-rollover" "$B"/data/account/*/client.key
check "(B) modes at creation and at every chmod within the policy (umask 077)" trace_ok "$B" 077 B1 B2 B3 B4
check "(B) final modes (stat), no leftovers, private keys only in key files" tree_ok "$B"

# ---------------------------------------------------------------- the sweep
echo "== canaries"
for kind in set clear key cert fullcert chain fullkey params updated svc; do
  check "hook/service $kind ran" test "$(dumps_of "$kind")" -gt 0
done
check "hooks and services get neither CERTMGR_PASSPHRASE nor CERTMGR_TEST_SECRET" env_scrubbed
check "\$TMPDIR is empty after every run" dir_empty "$TMPD"
CAN=$LAB/canaries.json
crep=$("$LAB_PYTHON" "$JUDGE" canaries "$CAN" "$A/data" "$B/data" "$LAB/oldkeys" -- "$RT" "$SP" "$AP" "$ES") ||
  fail "judge canaries failed"
read -r KEYS NCAN NPROB < <("$LAB_PYTHON" -c 'import json, sys
r = json.loads(sys.argv[1]); print(r["keys"], r["canaries"], len(r["problems"]))
for p in r["problems"]: print("  " + p, file=sys.stderr)' "$crep")
echo "  $KEYS distinct private keys in the trees (live and archived), $NCAN canaries"
check "every private key in the trees opens with a known passphrase (or none)" test "$NPROB" = 0
# A: 3 generations of kp.test rsa+ecdsa, rt.test, clear.test + account; B: 2 generations + two
# account keys (before and after the rollover)
check "all 23 private keys found (live and archived, both phases)" test "$KEYS" = 23
srep=$("$LAB_PYTHON" "$JUDGE" sweep "$CAN" "$CERTMGR" "$LAB" "$CAN" "$PASS_FILE" \
  "$A/certmgr.json" "$B/certmgr.json" "$SELF/t.trace" "$LAB/oldkeys/client.key.before-rollover") ||
  fail "judge sweep failed"
read -r HITS SWEPT STRACED BLOBS BYTES UBYTES CPASS CENV CKEY CDER < <("$LAB_PYTHON" -c 'import json, sys
r = json.loads(sys.argv[1]); c = r["controls"]
print(len(r["hits"]), r["files"], r["traces"], r["proc_blobs"], r["bytes"], r["unique_bytes"],
      c["pass"], c["env"], c["key"], c["derived key"])
for h in r["hits"][:40]: print("  hit: " + h, file=sys.stderr)' "$srep")
echo "  searched $SWEPT files, $STRACED traces, $BLOBS distinct /proc blobs ($BYTES bytes, $UBYTES distinct)"
echo "  controls (canaries found where they belong): passphrase $CPASS, CERTMGR_TEST_SECRET $CENV, key bytes $CKEY (derived $CDER)"
check "controls: the run-time passphrase seen in certmgr's own environment" test "$CPASS" -gt 0
check "controls: CERTMGR_TEST_SECRET seen in certmgr's own environment (execve and /proc)" test "$CENV" -gt 0
check "controls: key canaries seen in the key files (clear keys: decrypted canaries too)" test "$CKEY" -gt 0 -a "$CDER" -gt 0
check "no canary anywhere it must not be" test "$HITS" = 0

echo "== figures ($(date -u '+%Y-%m-%d'), $RUNS_DONE runs, $((SECONDS - T_START)) s)"
echo "  canary hits:                  $HITS (must be 0)"
echo "  execs inspected (execve):     $TRACE_EXECS ($TRACE_EXECS_OK successful, argv and envp each)"
echo "  /proc samples taken:          $POLL_SAMPLES ($POLL_CHILD_PIDS child processes)"
echo "  key-file creations inspected: $TRACE_CREATIONS (+ $TRACE_CHMODS chmods, $TRACE_DIRS mkdirs, $TREE_FILES final stats)"
echo "  over-wide modes:              $OVER_WIDE (must be 0)"
check "figures: 0 canary hits, 0 over-wide modes, something inspected" \
  test "$HITS" = 0 -a "$OVER_WIDE" = 0 -a "$TRACE_EXECS" -gt 0 -a "$POLL_SAMPLES" -gt 0 -a "$TRACE_CREATIONS" -gt 0

((T_FAIL == 0)) || lab_dump_logs
t_summary
