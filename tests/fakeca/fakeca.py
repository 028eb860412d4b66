#!/usr/bin/env python3
"""tests/fakeca/fakeca.py: a small fake ACME v2 (RFC 8555) server that misbehaves on command.

  fakeca.py --dir DIR --challenge-dir PATH [--port 0] [--mgmt-port 0] [--evil-port 0]
            [--scenario FILE] [--log FILE]

Python 3 stdlib + python3-cryptography (Debian 12: 38.0.4) only. Everything on 127.0.0.1.

At start it makes, under DIR:
  tls.pem, tls-key.pem   the listener certificate (self-signed, CA:TRUE, IP:127.0.0.1): the
                         client trusts it as its CA bundle
  root.pem               its test CA root (EC P-256)
  inter-ec.pem, inter-rsa.pem   two intermediates under that root (EC P-256 and RSA 2048)
  ports.json             {"acme": P, "mgmt": M, "evil": E}, written (atomically) once every
                         listener accepts: wait for this file
Listeners:
  ACME  https://127.0.0.1:P   the ACME server (HTTP/1.1 keep-alive)
  MGMT  http://127.0.0.1:M    management: POST /scenario (JSON body) loads a scenario and resets
                              the call counters; POST /reset = empty scenario; GET /health;
                              GET /counts (calls per endpoint since the last load)
  EVIL  https://127.0.0.1:E   "another host": answers 200 "evil" and logs every request as
                              endpoint "evil" (a client must never get here)

The normal flow: GET /dir (any path starting /dir: a new directory URL gives the client a new
account), HEAD/GET /nonce, POST /acct-new (newAccount, also onlyReturnExisting), POST /acct/<id>
(account update), POST /order-new, POST /order/<id>, POST /authz/<id>, POST /chall/<id> (http-01
validated at once by reading <challenge-dir>/<token>, which must hold token.thumbprint), POST
/finalize/<id> (CSR signature and names checked), POST /cert/<id> (PEM chain: leaf, intermediate),
POST /revoke, POST /key-change. Every POST must be a valid JWS (RFC 8555 §6.2): a nonce this server
issued and has not seen yet (badNonce otherwise), "url" equal to the request URL, a "jwk"
(newAccount, revoke) or the "kid" of a known account, and a good ES256/ES384/RS256 signature.

Every request (ACME and EVIL) appends one JSON line to --log (default DIR/requests.jsonl):
  {"t": unix time, "gen": scenario number, "method", "path", "endpoint", "call": n (1-based, per
   endpoint since the scenario was loaded), "status", "rule": index of the rule applied or null,
   "jws": {...} or null, "note": ...}
Validations add {"event": "validate", "token": ..., "ok": bool, "why": ...} lines.

Scenario (JSON object; strings may use the placeholders {base} = https://127.0.0.1:P, {evil} =
https://127.0.0.1:E, {acme_port}, {evil_port}, {httpdate+N} = the HTTP-date N s after loading):
  "rules": [ RULE, ... ]    the first rule matching (endpoint, call number) changes the answer
  "state": { ... }          server-side misbehaviour:
     "token": STRING        token of every new challenge (also what validation looks for)
     "token_len": N         length of the random base64url tokens (default 43, at most 256)
     "issuer": "ec"|"rsa"   intermediate that signs leaves (default ec)
     "chain": MODE          what /cert answers (see CHAIN_MODES)
     "validate": "never"|"always"   skip reading the challenge file
RULE members:
  "endpoint": directory|newNonce|newAccount|account|newOrder|order|authz|challenge|finalize|
              certificate|revokeCert|keyChange|unknown|"*"
  "calls": "all" (default) | [n, ...] | {"from": a, "to": b} (to optional)
  "status": int, "reason": str
  "headers": {name: VALUE or null (drop)}; "add_headers": [[name, VALUE], ...] (duplicates allowed)
  "content_type": VALUE (shorthand for headers Content-Type)
  "redirect": {"status": 302, "location": URL}
  "json_set": {"a/0/b": JSON, ...}  change the normal JSON answer ("*" = every array element);
              {"$raw_hex": "2e2e"} as a value puts raw bytes there, {"$repeat": "a", "n": 9}
              a long string, {"$copies": "a/0", "n": 9} a list of 9 copies of the answer's a/0
  "json_del": ["a/b", ...]
  "body_replace": [[OLD, NEW], ...] on the serialized body (VALUEs)
  "body": VALUE | {"size": N, "fill": "A"} (streamed, Content-Length N) | {"endless": "A"} (chunked,
          never ends) | {"gzip_bomb": N} (gzip of N zero bytes, Content-Encoding: gzip)
          | {"deep_json": N} ([[[...]]] N deep) | {"deep_object": N} ({"a":{"a":...}} N deep)
  "delay": seconds before anything is sent
  "silence": seconds: headers sent, then nothing, then the connection is closed
  "drip": {"bytes": 1, "interval": 1.0, "headers": false}  send the body (and with "headers" the
          whole answer) in small pieces
  "cut": N    send the first N bytes of the answer, then close; "close": true  close at once
  "badnonce": true   answer 400 urn:ietf:params:acme:error:badNonce (with a fresh Replay-Nonce)
  "if_status": S     apply the rule only when the normal JSON answer has "status": S
  "skip": true       do not run the normal handler (the request changes no state: a 5xx that
                     did nothing); the answer is only what the rule says
VALUE = string | {"hex": ".."} | {"repeat": VALUE, "n": k} | {"concat": [VALUE, ...]} | {"json": X}
Loops (endless, drip, silence, delay) end when another scenario is loaded or after 300 s.
"""
import argparse
import base64
import datetime
import email.utils
import hashlib
import http.server
import json
import os
import re
import secrets
import socket
import ssl
import sys
import threading
import time
import zlib

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric import utils as asym_utils
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

ENDPOINTS = ("directory", "newNonce", "newAccount", "account", "newOrder", "order", "authz",
             "challenge", "finalize", "certificate", "revokeCert", "keyChange", "unknown")
CHAIN_MODES = (
    "normal",            # leaf, intermediate
    "wrong_key",         # leaf for a key that is not the CSR's
    "wrong_names",       # leaf for evil.test only
    "extra_name",        # leaf for the ordered names plus evil.test
    "missing_name",      # leaf for the first ordered name only
    "private_key_block",  # leaf, intermediate, a PRIVATE KEY block
    "private_key_first",  # a PRIVATE KEY block, leaf, intermediate
    "rsa_private_key_block",  # leaf, RSA PRIVATE KEY block, intermediate
    "other_block",       # leaf, intermediate, an X509 CRL block
    "blocks_100000",     # leaf then 100,000 copies of the intermediate (about 80 MB, streamed)
    "blocks_fit",        # leaf then as many intermediates as fit in 1,000,000 bytes
    "no_leaf",           # intermediate only
    "no_leaf_root",      # intermediate, root
    "leaf_only",         # leaf only
    "truncated",         # the chain cut in the middle of the intermediate's base64
    "bad_base64",        # the intermediate block with base64 garbage inside
    "not_issued",        # leaf, then an intermediate of another CA
    "reversed",          # intermediate, leaf
    "der_huge_length",   # leaf block = SEQUENCE claiming 2 GiB
    "der_deep",          # leaf block = 50,000 nested SEQUENCEs
    "der_indefinite",    # leaf block = 100,000 nested BER indefinite-length SEQUENCEs
    "der_inter_bomb",    # leaf, then an intermediate block that is a DER bomb
    "empty",             # no bytes at all
    "der_body",          # the leaf as raw DER (application/pkix-cert)
    "nul_inside",        # a NUL byte inside the leaf's base64
)
MAX_LOOP_SECONDS = 300


def b64u(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64u_dec(text):
    if isinstance(text, str):
        text = text.encode()
    if not re.fullmatch(rb"[A-Za-z0-9_-]*", text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + b"=" * (-len(text) % 4))


def now_utc():
    return datetime.datetime.now(datetime.timezone.utc)


def rfc3339(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


# ---------------------------------------------------------------- values of the scenario
def value_bytes(v):
    """A scenario VALUE as bytes."""
    if v is None:
        return b""
    if isinstance(v, bool):
        return b"true" if v else b"false"
    if isinstance(v, (int, float)):
        return str(v).encode()
    if isinstance(v, str):
        return v.encode("utf-8", "surrogatepass")
    if isinstance(v, dict):
        if "hex" in v:
            return bytes.fromhex(v["hex"])
        if "repeat" in v:
            return value_bytes(v["repeat"]) * int(v.get("n", 1))
        if "concat" in v:
            return b"".join(value_bytes(x) for x in v["concat"])
        if "json" in v:
            return json.dumps(v["json"]).encode()
    if isinstance(v, list):
        return b"".join(value_bytes(x) for x in v)
    raise ValueError("bad value %r" % (v,))


def substitute(obj, mapping):
    """Placeholders {base}, {evil}, ... replaced in every string of obj; {httpdate+N} is the
    HTTP-date N seconds after the scenario was loaded."""
    if isinstance(obj, str):
        for k, val in mapping.items():
            obj = obj.replace("{" + k + "}", val)
        return re.sub(r"\{httpdate([+-]\d+)\}",
                      lambda m: email.utils.formatdate(time.time() + int(m.group(1)), usegmt=True),
                      obj)
    if isinstance(obj, list):
        return [substitute(x, mapping) for x in obj]
    if isinstance(obj, dict):
        return {substitute(k, mapping): substitute(v, mapping) for k, v in obj.items()}
    return obj


class RawBytes:
    """A JSON string value whose bytes are put into the serialized document as they are."""

    def __init__(self, data):
        self.data = data


def json_value(v):
    if isinstance(v, dict) and "$raw_hex" in v:
        return RawBytes(bytes.fromhex(v["$raw_hex"]))
    if isinstance(v, dict) and "$repeat" in v:
        return str(v["$repeat"]) * int(v.get("n", 1))
    return v


def serialize(doc):
    """json.dumps with RawBytes placeholders replaced by their raw bytes."""
    raws = []

    def conv(o):
        if isinstance(o, RawBytes):
            raws.append(o.data)
            return "\x00RAW%d\x00" % (len(raws) - 1)
        if isinstance(o, dict):
            return {k: conv(v) for k, v in o.items()}
        if isinstance(o, list):
            return [conv(v) for v in o]
        return o

    text = json.dumps(conv(doc), ensure_ascii=False).encode("utf-8", "surrogatepass")
    for i, data in enumerate(raws):
        text = text.replace(json.dumps("\x00RAW%d\x00" % i).encode(), b'"' + data + b'"')
    return text


def pointer_set(doc, path, value, delete=False):
    parts = path.split("/")

    def walk(node, i):
        key = parts[i]
        last = i == len(parts) - 1
        if isinstance(node, list):
            idxs = range(len(node)) if key == "*" else [int(key)]
            for j in idxs:
                if j >= len(node):
                    continue
                if last:
                    if delete:
                        node[j] = None
                    else:
                        node[j] = value
                else:
                    walk(node[j], i + 1)
            if last and delete:
                node[:] = [x for x in node if x is not None]
        elif isinstance(node, dict):
            if last:
                if delete:
                    node.pop(key, None)
                else:
                    node[key] = value
            else:
                if key not in node:
                    node[key] = {}
                walk(node[key], i + 1)

    walk(doc, 0)


# ---------------------------------------------------------------- test CA
def new_ec():
    return ec.generate_private_key(ec.SECP256R1())


def name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def ca_cert(subject_key, cn, issuer_key=None, issuer_cert=None, days=3650):
    t = now_utc() - datetime.timedelta(hours=1)
    issuer_name = issuer_cert.subject if issuer_cert else name(cn)
    signer = issuer_key or subject_key
    b = (x509.CertificateBuilder().subject_name(name(cn)).issuer_name(issuer_name)
         .public_key(subject_key.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(t).not_valid_after(t + datetime.timedelta(days=days))
         .add_extension(x509.BasicConstraints(
             ca=True, path_length=None if issuer_cert is None else 0), critical=True)
         .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                      key_encipherment=False, data_encipherment=False,
                                      key_agreement=False, key_cert_sign=True, crl_sign=True,
                                      encipher_only=False, decipher_only=False), critical=True)
         .add_extension(x509.SubjectKeyIdentifier.from_public_key(subject_key.public_key()),
                        critical=False))
    if issuer_cert is not None:
        b = b.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
            issuer_key.public_key()), critical=False)
    return b.sign(signer, hashes.SHA256())


def pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM)


def der_len(n):
    if n < 0x80:
        return bytes([n])
    out = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(out)]) + out


def pem_block(label, der):
    b = base64.encodebytes(der).replace(b"\n", b"")
    lines = [b[i:i + 64] for i in range(0, len(b), 64)]
    return (b"-----BEGIN " + label + b"-----\n" + b"\n".join(lines) + b"\n-----END " + label
            + b"-----\n")


class TestCA:
    def __init__(self, directory):
        tag = secrets.token_hex(4)
        self.root_key = new_ec()
        self.root = ca_cert(self.root_key, "certmgr fakeca root " + tag)
        self.inter_keys = {"ec": new_ec(),
                           "rsa": rsa.generate_private_key(public_exponent=65537, key_size=2048)}
        self.inters = {k: ca_cert(v, "certmgr fakeca %s intermediate %s" % (k, tag), self.root_key,
                                  self.root) for k, v in self.inter_keys.items()}
        self._foreign = None
        self._bombs = {}
        self._lock = threading.Lock()
        for fname, data in (("root.pem", pem(self.root)), ("inter-ec.pem", pem(self.inters["ec"])),
                            ("inter-rsa.pem", pem(self.inters["rsa"]))):
            write_atomic(os.path.join(directory, fname), data)

    def foreign(self):
        with self._lock:
            if self._foreign is None:
                k = new_ec()
                rk = new_ec()
                r = ca_cert(rk, "certmgr fakeca foreign root")
                self._foreign = (k, ca_cert(k, "certmgr fakeca ec intermediate", rk, r))
            return self._foreign

    def issue(self, public_key, names, issuer="ec", signer=None):
        key, cert = signer if signer else (self.inter_keys[issuer], self.inters[issuer])
        t = now_utc() - datetime.timedelta(minutes=5)
        b = (x509.CertificateBuilder().subject_name(name(names[0])).issuer_name(cert.subject)
             .public_key(public_key).serial_number(x509.random_serial_number())
             .not_valid_before(t).not_valid_after(t + datetime.timedelta(days=90))
             .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]),
                            critical=False)
             .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
             .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                            critical=False)
             .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                          key_encipherment=isinstance(public_key, rsa.RSAPublicKey),
                                          data_encipherment=False, key_agreement=False,
                                          key_cert_sign=False, crl_sign=False, encipher_only=False,
                                          decipher_only=False), critical=True)
             .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()),
                            critical=False))
        return b.sign(key, hashes.SHA256())

    def bomb(self, kind):
        with self._lock:
            if kind not in self._bombs:
                if kind == "der_huge_length":
                    data = (b"\x30\x84\x7f\xff\xff\xff" + b"\x30\x84\x7f\xff\xff\xf0"
                            + b"\x00" * 4096)
                elif kind == "der_deep":
                    data = b"\x05\x00"
                    for _ in range(50000):
                        data = b"\x30" + der_len(len(data)) + data
                else:  # der_indefinite
                    data = b"\x30\x80" * 100000 + b"\x00\x00" * 100000
                self._bombs[kind] = pem_block(b"CERTIFICATE", data)
            return self._bombs[kind]


def write_atomic(path, data):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())
    os.replace(tmp, path)


def listener_tls(directory):
    key = new_ec()
    t = now_utc() - datetime.timedelta(hours=1)
    cert = (x509.CertificateBuilder().subject_name(name("certmgr fakeca listener"))
            .issuer_name(name("certmgr fakeca listener")).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(t)
            .not_valid_after(t + datetime.timedelta(days=3650))
            .add_extension(x509.SubjectAlternativeName([
                x509.DNSName("localhost"),
                x509.IPAddress(__import__("ipaddress").ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cpath = os.path.join(directory, "tls.pem")
    kpath = os.path.join(directory, "tls-key.pem")
    write_atomic(kpath, key.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    write_atomic(cpath, pem(cert))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cpath, kpath)
    return ctx


# ---------------------------------------------------------------- JOSE
def jwk_public_key(jwk):
    kty = jwk.get("kty")
    if kty == "EC":
        curves = {"P-256": ec.SECP256R1(), "P-384": ec.SECP384R1(), "P-521": ec.SECP521R1()}
        curve = curves[jwk["crv"]]
        return ec.EllipticCurvePublicNumbers(int.from_bytes(b64u_dec(jwk["x"]), "big"),
                                             int.from_bytes(b64u_dec(jwk["y"]), "big"),
                                             curve).public_key()
    if kty == "RSA":
        return rsa.RSAPublicNumbers(int.from_bytes(b64u_dec(jwk["e"]), "big"),
                                    int.from_bytes(b64u_dec(jwk["n"]), "big")).public_key()
    raise ValueError("unsupported kty %r" % kty)


def jwk_thumbprint(jwk):
    """RFC 7638."""
    members = ("crv", "kty", "x", "y") if jwk.get("kty") == "EC" else ("e", "kty", "n")
    canon = json.dumps({k: jwk[k] for k in members}, separators=(",", ":"), sort_keys=True)
    return b64u(hashlib.sha256(canon.encode()).digest())


def verify_jws(alg, key, signing_input, sig):
    if alg in ("ES256", "ES384", "ES512"):
        half = len(sig) // 2
        der = asym_utils.encode_dss_signature(int.from_bytes(sig[:half], "big"),
                                              int.from_bytes(sig[half:], "big"))
        h = {"ES256": hashes.SHA256(), "ES384": hashes.SHA384(), "ES512": hashes.SHA512()}[alg]
        key.verify(der, signing_input, ec.ECDSA(h))
    elif alg == "RS256":
        key.verify(sig, signing_input, padding.PKCS1v15(), hashes.SHA256())
    else:
        raise ValueError("unsupported alg %r" % alg)


class AcmeError(Exception):
    def __init__(self, status, kind, detail):
        super().__init__(detail)
        self.status, self.kind, self.detail = status, kind, detail


# ---------------------------------------------------------------- answers
class Answer:
    def __init__(self, status=200, doc=None, body=b"", ctype=None):
        self.status = status
        self.reason = None
        self.doc = doc            # a JSON document, serialized at the end
        self.body = body          # bytes, or a dict body spec (streamed)
        self.headers = []         # [(name, bytes)]
        if ctype:
            self.set("Content-Type", ctype)
        elif doc is not None:
            self.set("Content-Type", "application/json")

    def set(self, hname, value):
        self.headers = [(n, v) for n, v in self.headers if n.lower() != hname.lower()]
        if value is not None:
            self.headers.append((hname, value if isinstance(value, bytes) else str(value).encode()))

    def get(self, hname):
        for n, v in self.headers:
            if n.lower() == hname.lower():
                return v
        return None


def problem(status, kind, detail):
    return Answer(status, {"type": "urn:ietf:params:acme:error:" + kind, "detail": detail,
                           "status": status}, ctype="application/problem+json")


# ---------------------------------------------------------------- the CA state
class State:
    def __init__(self, args, ca):
        self.args = args
        self.ca = ca
        self.lock = threading.Lock()
        self.log_lock = threading.Lock()
        self.log = open(args.log, "ab", buffering=0)
        self.base = ""
        self.evil = ""
        self.nonces = {}
        self.accounts = {}  # id -> {"jwk", "contact", "thumb"}
        self.by_thumb = {}
        self.orders = {}
        self.authzs = {}
        self.challs = {}
        self.certs = {}
        self.generation = 0
        self.scenario = {}
        self.counts = {}
        self.seq = 0
        self.bomb_cache = {}

    # -- scenario
    def load(self, scenario):
        mapping = {"base": self.base, "evil": self.evil, "acme_port": str(self.acme_port),
                   "evil_port": str(self.evil_port)}
        scenario = substitute(scenario, mapping)
        with self.lock:
            self.generation += 1
            self.scenario = scenario
            self.counts = {}
            return self.generation

    def rule_for(self, endpoint, call):
        for i, rule in enumerate(self.scenario.get("rules", [])):
            ep = rule.get("endpoint", "*")
            if ep not in ("*", endpoint) and not (isinstance(ep, list) and endpoint in ep):
                continue
            calls = rule.get("calls", "all")
            if calls == "all":
                return i, rule
            if isinstance(calls, list) and call in calls:
                return i, rule
            if isinstance(calls, dict) and calls.get("from", 1) <= call <= calls.get("to", 1 << 62):
                return i, rule
        return None, None

    def st(self, key, default=None):
        return self.scenario.get("state", {}).get(key, default)

    def write_log(self, entry):
        line = json.dumps(entry, ensure_ascii=True, default=str).encode() + b"\n"
        with self.log_lock:
            self.log.write(line)

    def save_accounts(self):
        write_atomic(os.path.join(self.args.dir, "accounts.json"), json.dumps(self.accounts))

    def load_accounts(self):
        try:
            with open(os.path.join(self.args.dir, "accounts.json"), "rb") as f:
                self.accounts = json.load(f)
        except (OSError, ValueError):
            return
        self.by_thumb = {a["thumb"]: aid for aid, a in self.accounts.items()}
        self.seq = len(self.accounts) + 1000

    def new_nonce(self):
        n = b64u(secrets.token_bytes(16))
        self.nonces[n] = True
        if len(self.nonces) > 50000:
            for k in list(self.nonces)[:10000]:
                del self.nonces[k]
        return n

    def new_id(self):
        self.seq += 1
        return "%d%s" % (self.seq, secrets.token_hex(4))

    # -- documents
    def order_doc(self, o):
        d = {"status": o["status"], "expires": o["expires"],
             "identifiers": [{"type": "dns", "value": n} for n in o["names"]],
             "authorizations": [self.base + "/authz/" + a for a in o["authzs"]],
             "finalize": self.base + "/finalize/" + o["id"]}
        if o.get("cert"):
            d["certificate"] = self.base + "/cert/" + o["cert"]
        if o.get("error"):
            d["error"] = o["error"]
        return d

    def authz_doc(self, a):
        challs = []
        for cid in a["challs"]:
            c = self.challs[cid]
            cd = {"type": c["type"], "url": self.base + "/chall/" + cid, "token": c["token"],
                  "status": c["status"]}
            if c.get("validated"):
                cd["validated"] = c["validated"]
            if c.get("error"):
                cd["error"] = c["error"]
            challs.append(cd)
        return {"identifier": {"type": "dns", "value": a["name"]}, "status": a["status"],
                "expires": a["expires"], "challenges": challs}

    def chall_doc(self, c):
        d = {"type": c["type"], "url": self.base + "/chall/" + c["id"], "token": c["token"],
             "status": c["status"]}
        if c.get("error"):
            d["error"] = c["error"]
        return d

    # -- JWS
    def check_jws(self, body, url, endpoint, info):
        try:
            jws = json.loads(body)
            protected_b64 = jws["protected"]
            payload_b64 = jws["payload"]
            sig = b64u_dec(jws["signature"])
            protected = json.loads(b64u_dec(protected_b64))
            payload = b64u_dec(payload_b64)
        except Exception as e:  # noqa: BLE001 - anything malformed is the same answer
            raise AcmeError(400, "malformed", "not a JWS: %s" % e)
        info.update({"alg": protected.get("alg"), "url": protected.get("url"),
                     "kid": protected.get("kid"), "has_jwk": "jwk" in protected,
                     "payload": payload[:300].decode("utf-8", "replace")})
        nonce = protected.get("nonce")
        if not isinstance(nonce, str) or self.nonces.pop(nonce, None) is None:
            info["nonce_ok"] = False
            raise AcmeError(400, "badNonce", "unknown or used nonce")
        info["nonce_ok"] = True
        if protected.get("url") != url:
            raise AcmeError(400, "unauthorized",
                            "JWS url %r is not %r" % (protected.get("url"), url))
        if "jwk" in protected and "kid" in protected:
            raise AcmeError(400, "malformed", "both jwk and kid")
        account = None
        if "jwk" in protected:
            if endpoint not in ("newAccount", "revokeCert", "keyChange"):
                raise AcmeError(400, "malformed", "jwk where a kid is required")
            jwk = protected["jwk"]
        else:
            kid = protected.get("kid", "")
            aid = kid[len(self.base + "/acct/"):] if kid.startswith(self.base + "/acct/") else None
            account = self.accounts.get(aid)
            if account is None:
                raise AcmeError(400, "accountDoesNotExist", "unknown kid %r" % kid)
            jwk = account["jwk"]
        try:
            verify_jws(protected.get("alg"), jwk_public_key(jwk),
                       (protected_b64 + "." + payload_b64).encode(), sig)
        except Exception as e:  # noqa: BLE001
            info["sig_ok"] = False
            raise AcmeError(400, "malformed", "bad JWS signature: %s" % e)
        info["sig_ok"] = True
        return protected, payload, jwk, account

    # -- handlers (under self.lock)
    def handle(self, method, endpoint, ident, path, body, info):
        if endpoint == "directory":
            if method not in ("GET", "HEAD"):
                return problem(405, "malformed", "GET the directory")
            return Answer(200, {"newNonce": self.base + "/nonce",
                                "newAccount": self.base + "/acct-new",
                                "newOrder": self.base + "/order-new",
                                "revokeCert": self.base + "/revoke",
                                "keyChange": self.base + "/key-change",
                                "meta": {"termsOfService": "data:text/plain,fake%20terms"}})
        if endpoint == "newNonce":
            a = Answer(200 if method == "HEAD" else 204)
            a.set("Cache-Control", "no-store")
            return a
        if endpoint in ("unknown", "evil"):
            return problem(404, "malformed", "no such resource")
        if method != "POST":
            return problem(405, "malformed", "POST only")
        url = self.base + path
        protected, payload, jwk, account = self.check_jws(body, url, endpoint, info)
        req = json.loads(payload) if payload else {}
        if not isinstance(req, dict):
            raise AcmeError(400, "malformed", "payload is not an object")
        if endpoint == "newAccount":
            thumb = jwk_thumbprint(jwk)
            aid = self.by_thumb.get(thumb)
            if aid is None:
                if req.get("onlyReturnExisting"):
                    return problem(400, "accountDoesNotExist", "no account for this key")
                if req.get("termsOfServiceAgreed") is not True:
                    return problem(403, "userActionRequired", "agree to the terms")
                aid = self.new_id()
                self.accounts[aid] = {"jwk": jwk, "contact": req.get("contact", []), "thumb": thumb}
                self.by_thumb[thumb] = aid
                self.save_accounts()
                status = 201
            else:
                status = 200
            acct = self.accounts[aid]
            a = Answer(status, {"status": "valid", "contact": acct["contact"],
                                "orders": self.base + "/acct/" + aid + "/orders"})
            a.set("Location", self.base + "/acct/" + aid)
            return a
        if endpoint == "account":
            if account is None or self.base + "/acct/" + ident != protected.get("kid"):
                return problem(403, "unauthorized", "not your account")
            if req and "contact" in req:
                account["contact"] = req["contact"]
                self.save_accounts()
            return Answer(200, {"status": "valid", "contact": account["contact"],
                                "orders": self.base + "/acct/" + ident + "/orders"})
        if endpoint == "keyChange":
            return Answer(200, {"status": "valid"})
        if endpoint == "revokeCert":
            return Answer(200, body=b"")
        if endpoint == "newOrder":
            names = [i.get("value") for i in req.get("identifiers", [])]
            if not names or not all(isinstance(n, str) and n for n in names):
                return problem(400, "malformed", "no identifiers")
            oid = self.new_id()
            exp = rfc3339(now_utc() + datetime.timedelta(days=7))
            order = {"id": oid, "names": names, "status": "pending", "expires": exp, "authzs": [],
                     "account": protected.get("kid"), "thumb": jwk_thumbprint(jwk)}
            for n in names:
                aid = self.new_id()
                token = self.st("token")
                if token is None:
                    token = b64u(secrets.token_bytes(192))[:int(self.st("token_len", 43))]
                challs = []
                for ctype in ("http-01", "dns-01", "tls-alpn-01"):
                    cid = self.new_id()
                    self.challs[cid] = {"id": cid, "type": ctype, "token": token,
                                        "status": "pending", "authz": aid}
                    challs.append(cid)
                self.authzs[aid] = {"id": aid, "name": n, "status": "pending", "expires": exp,
                                    "challs": challs, "order": oid}
                order["authzs"].append(aid)
            self.orders[oid] = order
            return self.order_answer(201, order)
        # the endpoints of one object: an unknown id is a 404
        table = {"order": self.orders, "authz": self.authzs, "challenge": self.challs,
                 "finalize": self.orders, "certificate": self.certs}.get(endpoint)
        if table is not None and ident not in table:
            return problem(404, "malformed", "no such " + endpoint)
        if endpoint == "order":
            o = self.orders[ident]
            return Answer(200, self.order_doc(o))
        if endpoint == "authz":
            a = self.authzs[ident]
            return Answer(200, self.authz_doc(a))
        if endpoint == "challenge":
            c = self.challs[ident]
            if payload:
                if req != {}:
                    return problem(400, "malformed", "a challenge answer must be {}")
                if c["status"] == "pending":
                    self.validate(c, account)
            return Answer(200, self.chall_doc(c))
        if endpoint == "finalize":
            o = self.orders[ident]
            if o["status"] != "ready":
                return problem(403, "orderNotReady", "order is %s" % o["status"])
            try:
                csr = x509.load_der_x509_csr(b64u_dec(req.get("csr", "")))
                if not csr.is_signature_valid:
                    return problem(400, "badCSR", "bad CSR signature")
                sans = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName)
                csr_names = sorted(sans.value.get_values_for_type(x509.DNSName))
            except Exception as e:  # noqa: BLE001
                return problem(400, "badCSR", "cannot read the CSR: %s" % e)
            if csr_names != sorted(o["names"]):
                return problem(400, "badCSR", "CSR names %s are not the order's" % csr_names)
            o["csr_key"] = csr.public_key()
            leaf = self.ca.issue(csr.public_key(), o["names"], self.st("issuer", "ec"))
            cid = self.new_id()
            self.certs[cid] = {"leaf": leaf, "order": ident, "names": o["names"],
                               "key": csr.public_key()}
            o["cert"] = cid
            o["status"] = "valid"
            return self.order_answer(200, o)
        if endpoint == "certificate":
            c = self.certs[ident]
            return self.chain_answer(c)
        return problem(404, "malformed", "no such resource")

    def order_answer(self, status, order):
        a = Answer(status, self.order_doc(order))
        a.set("Location", self.base + "/order/" + order["id"])
        return a

    def validate(self, c, account):
        order = self.orders[self.authzs[c["authz"]]["order"]]
        expected = c["token"] + "." + order["thumb"]
        how = self.st("validate")
        ok, why = False, ""
        if how == "always":
            ok, why = True, "validate=always"
        elif how == "never":
            why = "validate=never"
        elif c["type"] != "http-01":
            why = "only http-01 is validated"
        elif not re.fullmatch(r"[A-Za-z0-9_-]{1,255}", c["token"]):
            why = "token not safe to look up"
        else:
            try:
                with open(os.path.join(self.args.challenge_dir, c["token"]), "rb") as f:
                    got = f.read(4096)
                ok = got.strip() == expected.encode()
                why = "" if ok else "wrong content %r" % got[:100]
            except OSError as e:
                why = "cannot read: %s" % e
        self.write_log({"t": time.time(), "gen": self.generation, "event": "validate",
                        "token": c["token"], "ok": ok, "why": why})
        authz = self.authzs[c["authz"]]
        now = rfc3339(now_utc())
        if ok:
            c["status"] = "valid"
            c["validated"] = now
            authz["status"] = "valid"
        else:
            c["status"] = "invalid"
            c["error"] = {"type": "urn:ietf:params:acme:error:incorrectResponse", "detail": why,
                          "status": 403}
            authz["status"] = "invalid"
        if all(self.authzs[a]["status"] == "valid" for a in order["authzs"]):
            order["status"] = "ready"
        elif any(self.authzs[a]["status"] == "invalid" for a in order["authzs"]):
            order["status"] = "invalid"
            order["error"] = {"type": "urn:ietf:params:acme:error:unauthorized",
                              "detail": "an authorization failed", "status": 403}

    def chain_answer(self, c):
        mode = self.st("chain", "normal")
        issuer = self.st("issuer", "ec")
        leaf, inter = c["leaf"], self.ca.inters[issuer]
        lp, ip = pem(leaf), pem(inter)
        a = Answer(200, ctype="application/pem-certificate-chain")
        names = c["names"]
        if mode == "normal":
            a.body = lp + ip
        elif mode == "wrong_key":
            a.body = pem(self.ca.issue(new_ec().public_key(), names, issuer)) + ip
        elif mode == "wrong_names":
            a.body = pem(self.ca.issue(c["key"], ["evil.test"], issuer)) + ip
        elif mode == "extra_name":
            a.body = pem(self.ca.issue(c["key"], names + ["evil.test"], issuer)) + ip
        elif mode == "missing_name":
            a.body = pem(self.ca.issue(c["key"], names[:1], issuer)) + ip
        elif mode in ("private_key_block", "private_key_first", "rsa_private_key_block"):
            k = new_ec()
            if mode == "rsa_private_key_block":
                kb = rsa.generate_private_key(65537, 1024).private_bytes(
                    serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                    serialization.NoEncryption())
                a.body = lp + kb + ip
            else:
                kb = k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption())
                a.body = kb + lp + ip if mode == "private_key_first" else lp + ip + kb
        elif mode == "other_block":
            a.body = lp + ip + pem_block(b"X509 CRL", b"\x30\x03\x02\x01\x00")
        elif mode == "blocks_100000":
            a.body = {"stream_blocks": (lp, ip, 100000)}
        elif mode == "blocks_fit":
            n = (1000000 - len(lp)) // len(ip)
            a.body = lp + ip * n
        elif mode == "no_leaf":
            a.body = ip
        elif mode == "no_leaf_root":
            a.body = ip + pem(self.ca.root)
        elif mode == "leaf_only":
            a.body = lp
        elif mode == "truncated":
            a.body = lp + ip[:len(ip) // 2]
        elif mode == "bad_base64":
            lines = ip.split(b"\n")
            lines[3] = b"!!!!not*base64~~~" + lines[3][17:]
            a.body = lp + b"\n".join(lines)
        elif mode == "not_issued":
            fk, fc = self.ca.foreign()
            a.body = lp + pem(fc)
        elif mode == "reversed":
            a.body = ip + lp
        elif mode in ("der_huge_length", "der_deep", "der_indefinite"):
            a.body = self.ca.bomb(mode) + ip
        elif mode == "der_inter_bomb":
            a.body = lp + self.ca.bomb("der_deep")
        elif mode == "empty":
            a.body = b""
        elif mode == "der_body":
            a.body = leaf.public_bytes(serialization.Encoding.DER)
            a.set("Content-Type", "application/pkix-cert")
        elif mode == "nul_inside":
            a.body = lp[:100] + b"\x00" + lp[100:] + ip
        else:
            a.body = lp + ip
        return a

    def gzip_bomb(self, n):
        """gzip of n zero bytes: one member of 1 MiB of zeros repeated (RFC 1952 allows several
        members; decoders concatenate them), so even 1 GiB takes no time to make."""
        if n not in self.bomb_cache:
            step = 1 << 20
            comp = zlib.compressobj(9, zlib.DEFLATED, 31)
            member = comp.compress(b"\x00" * step) + comp.flush()
            comp = zlib.compressobj(9, zlib.DEFLATED, 31)
            tail = comp.compress(b"\x00" * (n % step)) + comp.flush() if n % step else b""
            self.bomb_cache[n] = member * (n // step) + tail
        return self.bomb_cache[n]


# ---------------------------------------------------------------- HTTP
def classify(path):
    p = path.split("?", 1)[0]
    if p == "/dir" or p.startswith("/dir/"):
        return "directory", ""
    fixed = {"/nonce": "newNonce", "/acct-new": "newAccount", "/order-new": "newOrder",
             "/revoke": "revokeCert", "/key-change": "keyChange"}
    if p in fixed:
        return fixed[p], ""
    for prefix, ep in (("/acct/", "account"), ("/order/", "order"), ("/authz/", "authz"),
                       ("/chall/", "challenge"), ("/finalize/", "finalize"),
                       ("/cert/", "certificate")):
        if p.startswith(prefix):
            return ep, p[len(prefix):]
    return "unknown", ""


class Stop(Exception):
    pass


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 30
    server_version = "fakeca"
    sys_version = ""
    evil = False

    def log_message(self, *args):  # noqa: D401 - silence the default stderr log
        pass

    def setup(self):
        super().setup()
        if isinstance(self.connection, ssl.SSLSocket):
            self.connection.settimeout(10)
            try:
                self.connection.do_handshake()
            except (OSError, ssl.SSLError):
                self.close_connection = True
                raise
            self.connection.settimeout(self.timeout)

    def handle_one_request(self):
        try:
            super().handle_one_request()
        except (OSError, ssl.SSLError, Stop):
            self.close_connection = True

    def do_GET(self):
        self.dispatch("GET")

    def do_HEAD(self):
        self.dispatch("HEAD")

    def do_POST(self):
        self.dispatch("POST")

    def do_PUT(self):
        self.dispatch("PUT")

    def dispatch(self, method):
        st = self.server.state
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(min(length, 1 << 20)) if length > 0 else b""
        endpoint, ident = ("evil", "") if self.evil else classify(self.path)
        info = {}
        with st.lock:
            st.counts[endpoint] = call = st.counts.get(endpoint, 0) + 1
            gen = st.generation
            ri, rule = (None, None) if self.evil else st.rule_for(endpoint, call)
            try:
                if self.evil:
                    ans = Answer(200, body=b"evil\n", ctype="text/plain")
                elif rule and rule.get("skip"):
                    ans = Answer(int(rule.get("status", 503)))
                else:
                    ans = st.handle(method, endpoint, ident, self.path, body, info)
            except AcmeError as e:
                ans = problem(e.status, e.kind, e.detail)
            except Exception as e:  # noqa: BLE001 - a bug here must not kill the thread silently
                ans = problem(500, "serverInternal", "fakeca: %r" % e)
            if rule:
                ans = self.apply_rule(st, rule, ans)
            if not self.evil and ans.get("Replay-Nonce") is None and not (
                    rule and "Replay-Nonce" in {k for k in (rule.get("headers") or {})}):
                ans.set("Replay-Nonce", st.new_nonce())
            if not self.evil:
                if not (rule and "Link" in (rule.get("headers") or {})):
                    ans.headers.append(("Link", ('<%s/dir>;rel="index"' % st.base).encode()))
        entry = {"t": time.time(), "gen": gen, "method": method, "path": self.path[:300],
                 "endpoint": endpoint, "call": call, "status": ans.status, "rule": ri,
                 "jws": info or None, "ua": self.headers.get("User-Agent", "")[:60],
                 "accept_encoding": self.headers.get("Accept-Encoding")}
        st.write_log(entry)
        self.send(st, rule or {}, ans, gen, method)

    def apply_rule(self, st, rule, ans):
        if "if_status" in rule and (not isinstance(ans.doc, dict)
                                    or ans.doc.get("status") != rule["if_status"]):
            return ans
        if rule.get("badnonce"):
            ans = problem(400, "badNonce", "fakeca: scenario says badNonce")
        if ans.doc is not None:
            for path, v in (rule.get("json_set") or {}).items():
                if isinstance(v, dict) and "$copies" in v:
                    node = ans.doc
                    for key in v["$copies"].split("/"):
                        node = node[int(key)] if isinstance(node, list) else node[key]
                    v = [node] * int(v.get("n", 1))
                if path == "":
                    ans.doc = json_value(v)
                else:
                    pointer_set(ans.doc, path, json_value(v))
            for path in rule.get("json_del") or []:
                pointer_set(ans.doc, path, None, delete=True)
        if "status" in rule:
            ans.status = int(rule["status"])
        if "reason" in rule:
            ans.reason = rule["reason"]
        if "redirect" in rule:
            r = rule["redirect"]
            ans.status = int(r.get("status", 302))
            ans.set("Location", value_bytes(r["location"]))
        if "content_type" in rule:
            ans.set("Content-Type", value_bytes(rule["content_type"]))
        for hname, v in (rule.get("headers") or {}).items():
            ans.set(hname, None if v is None else value_bytes(v))
        for hname, v in rule.get("add_headers") or []:
            ans.headers.append((hname, value_bytes(v)))
        if "body" in rule:
            b = rule["body"]
            ans.doc = None
            if isinstance(b, dict) and "gzip_bomb" in b:
                ans.body = st.gzip_bomb(int(b["gzip_bomb"]))
                ans.set("Content-Encoding", "gzip")
            elif isinstance(b, dict) and "deep_json" in b:
                n = int(b["deep_json"])
                ans.body = b"[" * n + b"]" * n
            elif isinstance(b, dict) and "deep_object" in b:
                n = int(b["deep_object"])
                ans.body = b'{"a":' * n + b"1" + b"}" * n
            elif isinstance(b, dict) and ("size" in b or "endless" in b):
                ans.body = b
            else:
                ans.body = value_bytes(b)
        if ans.doc is not None and (rule.get("body_replace")):
            ans.body = serialize(ans.doc)
            ans.doc = None
        if rule.get("body_replace"):
            data = ans.body if isinstance(ans.body, bytes) else b""
            for old, new in rule["body_replace"]:
                data = data.replace(value_bytes(old), value_bytes(new))
            ans.body = data
        return ans

    # -- sending
    def alive(self, st, gen, started):
        return st.generation == gen and time.time() - started < MAX_LOOP_SECONDS

    def pause(self, st, gen, seconds):
        end = time.time() + seconds
        started = time.time()
        while time.time() < end:
            if not self.alive(st, gen, started):
                raise Stop()
            time.sleep(min(0.1, max(0.0, end - time.time())))

    def send(self, st, rule, ans, gen, method):
        if ans.doc is not None:
            ans.body = serialize(ans.doc)
        if rule.get("delay"):
            self.pause(st, gen, float(rule["delay"]))
        if rule.get("close"):
            self.hard_close()
            raise Stop()
        body = ans.body
        stream = None
        length = None
        chunked = False
        if isinstance(body, dict) and "size" in body:
            fill = value_bytes(body.get("fill", "A")) or b"A"
            length = int(body["size"])
            stream = self.fill_stream(fill, length)
        elif isinstance(body, dict) and "endless" in body:
            fill = value_bytes(body.get("endless")) or b"A"
            chunked = True
            stream = self.endless_stream(st, gen, fill)
        elif isinstance(body, dict) and "stream_blocks" in body:
            lp, ip, n = body["stream_blocks"]
            length = len(lp) + len(ip) * n
            stream = self.blocks_stream(lp, ip, n)
        else:
            length = len(body)
        reason = ans.reason if ans.reason is not None else self.responses.get(ans.status, ("",))[0]
        head = [b"HTTP/1.1 %d %s\r\n" % (ans.status, reason.encode("latin-1", "replace"))]
        head.append(b"Server: fakeca\r\n")
        head.append(b"Date: " + self.date_time_string().encode() + b"\r\n")
        for hname, v in ans.headers:
            head.append(hname.encode() + b": " + v + b"\r\n")
        if chunked:
            head.append(b"Transfer-Encoding: chunked\r\n")
        elif not any(h.lower() == "content-length" for h, _ in ans.headers):
            head.append(b"Content-Length: %d\r\n" % length)
        if rule.get("silence") or rule.get("cut") or rule.get("drip"):
            head.append(b"Connection: close\r\n")
            self.close_connection = True
        head.append(b"\r\n")
        head = b"".join(head)
        if method == "HEAD":
            stream = None
            body = b""
        if stream is None:
            payload = head + (body if isinstance(body, bytes) and method != "HEAD" else b"")
            if rule.get("cut") is not None:
                self.wfile.write(payload[:int(rule["cut"])])
                self.hard_close()
                raise Stop()
            drip = rule.get("drip")
            if drip:
                step = int(drip.get("bytes", 1))
                interval = float(drip.get("interval", 1.0))
                started = time.time()
                if drip.get("headers"):
                    data = payload
                else:
                    self.wfile.write(head)
                    data = payload[len(head):]
                for i in range(0, len(data), step):
                    if not self.alive(st, gen, started):
                        raise Stop()
                    self.wfile.write(data[i:i + step])
                    self.pause(st, gen, interval)
                return
            if rule.get("silence"):
                self.wfile.write(head)
                self.pause(st, gen, float(rule["silence"]))
                self.hard_close()
                raise Stop()
            self.wfile.write(payload)
            return
        self.wfile.write(head)
        if rule.get("silence"):
            self.pause(st, gen, float(rule["silence"]))
            self.hard_close()
            raise Stop()
        started = time.time()
        for chunk in stream:
            if not self.alive(st, gen, started):
                raise Stop()
            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk)

    def hard_close(self):
        try:
            self.wfile.flush()
        except OSError:
            pass
        try:
            raw = self.connection
            if isinstance(raw, ssl.SSLSocket):
                raw = raw  # no TLS close_notify: just drop the TCP connection
            raw.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.close_connection = True

    @staticmethod
    def fill_stream(fill, length):
        chunk = (fill * (65536 // len(fill) + 1))[:65536]
        left = length
        while left > 0:
            n = min(left, len(chunk))
            yield chunk[:n]
            left -= n

    @staticmethod
    def endless_stream(st, gen, fill):
        chunk = (fill * (16384 // len(fill) + 1))[:16384]
        while True:
            yield chunk

    @staticmethod
    def blocks_stream(lp, ip, n):
        yield lp
        group = ip * 64
        left = n
        while left > 0:
            k = min(left, 64)
            yield group if k == 64 else ip * k
            left -= k


class EvilHandler(Handler):
    evil = True


class TLSServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, addr, handler, ctx, state):
        self.ctx = ctx
        self.state = state
        super().__init__(addr, handler)

    def get_request(self):
        sock, addr = self.socket.accept()
        return self.ctx.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), addr

    def handle_error(self, request, client_address):
        pass


class MgmtHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, obj):
        data = json.dumps(obj).encode() + b"\n"
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        st = self.server.state
        if self.path == "/health":
            self.reply(200, {"ok": True, "gen": st.generation})
        elif self.path == "/counts":
            with st.lock:
                self.reply(200, {"gen": st.generation, "counts": dict(st.counts)})
        else:
            self.reply(404, {"error": "no such path"})

    def do_POST(self):
        st = self.server.state
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if self.path == "/scenario":
            try:
                scenario = json.loads(body or b"{}")
                if not isinstance(scenario, dict):
                    raise ValueError("not an object")
                check_scenario(scenario)
            except ValueError as e:
                self.reply(400, {"error": str(e)})
                return
            self.reply(200, {"gen": st.load(scenario)})
        elif self.path == "/reset":
            self.reply(200, {"gen": st.load({})})
        else:
            self.reply(404, {"error": "no such path"})


class MgmtServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr, handler, state):
        self.state = state
        super().__init__(addr, handler)


def check_scenario(s):
    for r in s.get("rules", []):
        if not isinstance(r, dict):
            raise ValueError("a rule is not an object")
        ep = r.get("endpoint", "*")
        for e in ep if isinstance(ep, list) else [ep]:
            if e != "*" and e not in ENDPOINTS:
                raise ValueError("unknown endpoint %r" % e)
    mode = s.get("state", {}).get("chain", "normal")
    if mode not in CHAIN_MODES:
        raise ValueError("unknown chain mode %r" % mode)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dir", required=True)
    ap.add_argument("--challenge-dir", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--mgmt-port", type=int, default=0)
    ap.add_argument("--evil-port", type=int, default=0)
    ap.add_argument("--scenario")
    ap.add_argument("--log")
    args = ap.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    args.log = args.log or os.path.join(args.dir, "requests.jsonl")
    ctx = listener_tls(args.dir)
    ca = TestCA(args.dir)
    state = State(args, ca)
    state.load_accounts()
    acme = TLSServer(("127.0.0.1", args.port), Handler, ctx, state)
    evil = TLSServer(("127.0.0.1", args.evil_port), EvilHandler, ctx, state)
    mgmt = MgmtServer(("127.0.0.1", args.mgmt_port), MgmtHandler, state)
    state.acme_port = acme.server_address[1]
    state.evil_port = evil.server_address[1]
    state.base = "https://127.0.0.1:%d" % state.acme_port
    state.evil = "https://127.0.0.1:%d" % state.evil_port
    if args.scenario:
        with open(args.scenario, "rb") as f:
            scenario = json.load(f)
        check_scenario(scenario)
        state.load(scenario)
    for srv in (acme, evil, mgmt):
        threading.Thread(target=srv.serve_forever, daemon=True).start()
    write_atomic(os.path.join(args.dir, "ports.json"),
                 json.dumps({"acme": state.acme_port, "mgmt": mgmt.server_address[1],
                             "evil": state.evil_port}) + "\n")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    import signal

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    main()
