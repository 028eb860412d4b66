"""tests/lab/strace_args.py: the arguments of one strace line (`strace -y -s N` output), for the
judges of the hostile-CA and secrets rigs (tests/hostile/judge.py, tests/e2e/secrets.sh)."""
import codecs
import re


def split_args(text):
    """Top-level comma split of a strace argument list (strings, brackets, <fd paths>)."""
    out, cur, depth, i, n = [], [], 0, 0, len(text)
    while i < n:
        c = text[i]
        if c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            cur.append(text[i:j + 1])
            i = j + 1
            # strace marks truncated strings with "..."
            continue
        if c in "([{<":
            depth += 1
        elif c in ")]}>":
            depth -= 1
        if c == "," and depth == 0:
            out.append("".join(cur).strip())
            cur = []
        else:
            cur.append(c)
        i += 1
    if cur:
        out.append("".join(cur).strip())
    return out


def unquote_bytes(s):
    """The bytes of a strace string literal ("..." with C escapes, maybe truncated "..."...);
    None for NULL or anything else that is not a string."""
    m = re.match(r'^"(.*)"(\.\.\.)?$', s.strip(), re.S)
    if not m:
        return None
    return codecs.escape_decode(m.group(1).encode("latin-1"))[0]
