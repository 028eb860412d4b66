#!/usr/bin/env python3
"""tests/lab/starttls_peer.py: a scripted STARTTLS (or plain TLS) server for the verify tests.

    starttls_peer.py PROTOCOL PORT CERT KEY CHAIN [FAULT]

PROTOCOL  smtp, imap, pop3, ftp, xmpp, sieve, or tls (TLS at once)
PORT      port on 127.0.0.1; 0 picks a free one.  Once listening, the peer prints
          "listening <port>" on stdout.
CERT      PEM file whose first CERTIFICATE block is the leaf (certmgr's cert.pem works)
KEY       PEM private key of the leaf
CHAIN     PEM file of the intermediates to send after the leaf, or "-" for none
          CERT, KEY and CHAIN may each be a comma-separated list (one entry per key type, e.g. an
          RSA and an ECDSA certificate); the TLS library picks the one the client asks for.
FAULT     no-starttls-offer  the capability list leaves STARTTLS out (the command is refused)
          bad-reply          the STARTTLS command gets an error reply
          hang               accept connections and never send a byte

Serves every connection in its own thread until killed.  Python standard library only.
"""
import os
import re
import socket
import ssl
import sys
import tempfile
import threading
import time

PROTOCOLS = ("smtp", "imap", "pop3", "ftp", "xmpp", "sieve", "tls")
FAULTS = ("no-starttls-offer", "bad-reply", "hang")
CERT_RE = re.compile(rb"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----\r?\n?", re.S)


def log(msg):
    sys.stderr.write(f"starttls_peer: {msg}\n")
    sys.stderr.flush()


def certificates(path):
    if path == "-":
        return []
    with open(path, "rb") as f:
        return CERT_RE.findall(f.read())


def make_context(certs, keys, chains, tmpdir):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    for i, (cert, key, chain) in enumerate(zip(certs, keys, chains)):
        leaf = certificates(cert)
        if not leaf:
            sys.exit(f"starttls_peer: {cert}: no certificate")
        combined = os.path.join(tmpdir, f"combined{i}.pem")
        with open(combined, "wb") as f:
            for block in [leaf[0]] + certificates(chain):
                f.write(block if block.endswith(b"\n") else block + b"\n")
        ctx.load_cert_chain(combined, key)
    return ctx


class Lines:
    """Line reader on a plain socket that never reads past the current line."""

    def __init__(self, sock):
        self.sock = sock

    def line(self):
        out = b""
        while not out.endswith(b"\n"):
            b = self.sock.recv(1)
            if not b:
                raise ConnectionError("client closed")
            out += b
            if len(out) > 4096:
                raise ConnectionError("line too long")
        return out.decode("utf-8", "replace").rstrip("\r\n")

    def until(self, marker):
        out = b""
        while marker not in out:
            b = self.sock.recv(1)
            if not b:
                raise ConnectionError("client closed")
            out += b
            if len(out) > 65536:
                raise ConnectionError("too much data")
        return out.decode("utf-8", "replace")

    def send(self, text):
        self.sock.sendall(text.encode())


def dialog(proto, fault, io):
    """The plain-text part; True when the client may start TLS now."""
    offer = fault != "no-starttls-offer"
    ok = fault is None
    if proto == "tls":
        return True
    if proto == "smtp":
        io.send("220 peer.test ESMTP starttls_peer\r\n")
        while True:
            cmd = io.line().upper()
            if cmd.startswith("EHLO"):
                io.send("250-peer.test\r\n250-PIPELINING\r\n" + ("250-STARTTLS\r\n" if offer else "")
                        + "250 8BITMIME\r\n")
            elif cmd == "STARTTLS":
                if not offer:
                    io.send("502 5.5.1 command not implemented\r\n")
                    return False
                io.send("220 2.0.0 ready to start TLS\r\n" if ok else "454 4.7.0 TLS not available\r\n")
                return ok
            elif cmd == "QUIT":
                io.send("221 bye\r\n")
                return False
            else:
                io.send("500 5.5.2 what?\r\n")
    if proto == "imap":
        io.send("* OK starttls_peer ready\r\n")
        while True:
            parts = io.line().split(" ", 2)
            tag, cmd = parts[0], (parts[1].upper() if len(parts) > 1 else "")
            if cmd == "CAPABILITY":
                io.send("* CAPABILITY IMAP4rev1 " + ("STARTTLS " if offer else "") + "LOGINDISABLED\r\n")
                io.send(f"{tag} OK CAPABILITY completed\r\n")
            elif cmd == "STARTTLS":
                if not offer:
                    io.send(f"{tag} BAD unknown command\r\n")
                    return False
                io.send(f"{tag} OK begin TLS negotiation now\r\n" if ok else f"{tag} NO TLS not available\r\n")
                return ok
            elif cmd == "LOGOUT":
                io.send(f"* BYE\r\n{tag} OK\r\n")
                return False
            else:
                io.send(f"{tag} BAD unknown command\r\n")
    if proto == "pop3":
        io.send("+OK starttls_peer ready\r\n")
        while True:
            cmd = io.line().upper()
            if cmd == "CAPA":
                io.send("+OK capability list follows\r\nUSER\r\n" + ("STLS\r\n" if offer else "")
                        + "UIDL\r\n.\r\n")
            elif cmd == "STLS":
                if not offer:
                    io.send("-ERR unknown command\r\n")
                    return False
                io.send("+OK begin TLS\r\n" if ok else "-ERR TLS not available\r\n")
                return ok
            elif cmd == "QUIT":
                io.send("+OK bye\r\n")
                return False
            else:
                io.send("-ERR unknown command\r\n")
    if proto == "ftp":
        io.send("220-starttls_peer\r\n220 ready\r\n")
        while True:
            cmd = io.line().upper()
            if cmd == "FEAT":
                io.send("211-Features:\r\n" + (" AUTH TLS\r\n" if offer else "") + " PBSZ\r\n PROT\r\n UTF8\r\n211 End\r\n")
            elif cmd == "AUTH TLS":
                if not offer:
                    io.send("502 command not implemented\r\n")
                    return False
                io.send("234 proceed with negotiation\r\n" if ok else "534 TLS not available\r\n")
                return ok
            elif cmd == "QUIT":
                io.send("221 bye\r\n")
                return False
            else:
                io.send("500 unknown command\r\n")
    if proto == "xmpp":
        header = io.until(b">")
        if "<?xml" in header:
            header = io.until(b">")
        m = re.search(r"to=['\"]([^'\"]*)['\"]", header)
        domain = m.group(1) if m else "peer.test"
        features = ("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls>" if offer else "") + \
            "<mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism></mechanisms>"
        io.send("<?xml version='1.0'?><stream:stream from='%s' id='peer1' version='1.0' xml:lang='en' "
                "xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>"
                "<stream:features>%s</stream:features>" % (domain, features))
        io.until(b"/>")
        if not offer:
            io.send("<stream:error><unsupported-stanza-type xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"
                    "</stream:error></stream:stream>")
            return False
        io.send("<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>" if ok
                else "<failure xmlns='urn:ietf:params:xml:ns:xmpp-tls'/></stream:stream>")
        return ok
    if proto == "sieve":
        io.send('"IMPLEMENTATION" "starttls_peer"\r\n"SIEVE" "fileinto vacation"\r\n"SASL" ""\r\n'
                + ('"STARTTLS"\r\n' if offer else "") + '"VERSION" "1.0"\r\nOK "ready"\r\n')
        while True:
            cmd = io.line().upper()
            if cmd == "STARTTLS":
                if not offer:
                    io.send('NO "unknown command"\r\n')
                    return False
                io.send('OK "begin TLS negotiation now"\r\n' if ok else 'NO "TLS not available"\r\n')
                return ok
            if cmd == "LOGOUT":
                io.send('OK "bye"\r\n')
                return False
            io.send('NO "unknown command"\r\n')
    return False


def serve(conn, addr, proto, fault, ctx):
    try:
        conn.settimeout(60)
        if fault == "hang":
            while conn.recv(4096):
                pass
            return
        if not dialog(proto, fault, Lines(conn)):
            return
        tls = ctx.wrap_socket(conn, server_side=True)
        try:
            tls.recv(1)  # until the client closes
        except (OSError, ssl.SSLError):
            pass
        tls.close()
    except (OSError, ConnectionError, ssl.SSLError) as e:
        log(f"{addr}: {e}")
    finally:
        try:
            conn.close()
        except OSError:
            pass


def main():
    args = sys.argv[1:]
    if len(args) not in (5, 6) or args[0] not in PROTOCOLS or (len(args) == 6 and args[5] not in FAULTS):
        sys.exit(__doc__)
    proto, port = args[0], int(args[1])
    certs, keys, chains = (a.split(",") for a in args[2:5])
    if not (len(certs) == len(keys) == len(chains)):
        sys.exit("starttls_peer: CERT, KEY and CHAIN need the same number of entries")
    fault = args[5] if len(args) == 6 else None
    with tempfile.TemporaryDirectory() as tmpdir:
        ctx = make_context(certs, keys, chains, tmpdir)
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port))
    srv.listen(16)
    print(f"listening {srv.getsockname()[1]}", flush=True)
    while True:
        conn, addr = srv.accept()
        threading.Thread(target=serve, args=(conn, addr, proto, fault, ctx), daemon=True).start()


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
