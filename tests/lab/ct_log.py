#!/usr/bin/env python3
"""tests/lab/ct_log.py: a tiny RFC 6962 log for the tests: POST <prefix>/ct/v1/add-chain only.

  ct_log.py --port PORT [--prefix /prefix...] --key-out KEY.b64 --id-out ID.b64
            [--mode ok|bad-signature|garbage|wrong-id|http500|future] [--requests FILE]
            [--port-file FILE]

Listens on 127.0.0.1:PORT (0: any free port, written to --port-file). Generates its own EC P-256
key at start and writes, once listening, the base64 DER SubjectPublicKeyInfo to --key-out and
the base64 log id (SHA-256 of that DER) to --id-out (each written to a temporary name and renamed,
so a reader that sees the file sees all of it; --id-out is written last: wait for it).

An add-chain answer is a real v1 SCT over the RFC 6962 §3.2 x509_entry of the first certificate
of the chain, signed with ECDSA/SHA-256. Only the exact paths <prefix>/ct/v1/add-chain answer
(--prefix may be repeated, e.g. for shards; a doubled slash is 404). Fault modes:
  bad-signature  a well-formed signature over other data
  garbage        HTTP 200 with a body that is not JSON
  wrong-id       the SCT names another log id
  http500        HTTP 500
  future         the timestamp is one hour ahead
Every request appends one line "<method> <path> <number of certificates> <status>" to --requests.
"""
import argparse
import base64
import hashlib
import json
import os
import struct
import sys
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

MODES = ("ok", "bad-signature", "garbage", "wrong-id", "http500", "future")
MAX_BODY = 1024 * 1024


def write_atomic(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def signed_data(timestamp, leaf_der, extensions=b""):
    """RFC 6962 §3.2 digitally-signed struct of a v1 SCT for an x509_entry."""
    return (struct.pack(">BBQH", 0, 0, timestamp, 0) + len(leaf_der).to_bytes(3, "big") + leaf_der
            + struct.pack(">H", len(extensions)) + extensions)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--prefix", action="append", default=[])
    ap.add_argument("--key-out", required=True)
    ap.add_argument("--id-out", required=True)
    ap.add_argument("--mode", choices=MODES, default="ok")
    ap.add_argument("--requests")
    ap.add_argument("--port-file")
    args = ap.parse_args()

    key = ec.generate_private_key(ec.SECP256R1())
    spki = key.public_key().public_bytes(serialization.Encoding.DER,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)
    log_id = hashlib.sha256(spki).digest()
    paths_ok = {p.rstrip("/") + "/ct/v1/add-chain" for p in (args.prefix or [""])}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, fmt, *a):  # quiet: the requests file is the record
            pass

        def record(self, count, status):
            if args.requests:
                with open(args.requests, "a") as f:
                    f.write(f"{self.command} {self.path} {count} {status}\n")

        def answer(self, status, body, count=0, ctype="application/json"):
            data = body.encode() if isinstance(body, str) else body
            self.record(count, status)  # before answering: the client may look at once
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            self.answer(404, '{"error": "not found"}')

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            if length <= 0 or length > MAX_BODY:
                return self.answer(400, '{"error": "bad length"}')
            body = self.rfile.read(length)
            if self.path not in paths_ok:
                return self.answer(404, '{"error": "not found"}')
            try:
                chain = [base64.b64decode(c, validate=True) for c in json.loads(body)["chain"]]
                x509.load_der_x509_certificate(chain[0])
                for c in chain[1:]:
                    x509.load_der_x509_certificate(c)
            except Exception as e:  # noqa: BLE001 - any bad input is a 400
                return self.answer(400, json.dumps({"error": f"bad chain: {e}"}))
            if args.mode == "http500":
                return self.answer(500, "internal error", len(chain), "text/plain")
            if args.mode == "garbage":
                return self.answer(200, "<html>this is not JSON", len(chain), "text/html")
            timestamp = int(time.time() * 1000)
            if args.mode == "future":
                timestamp += 3600 * 1000
            data = signed_data(timestamp, chain[0])
            if args.mode == "bad-signature":
                data = data[:-3] + b"\x01" + data[-2:]  # claims one byte of extensions too many
            sig = key.sign(data, ec.ECDSA(hashes.SHA256()))
            digitally_signed = bytes([4, 3]) + struct.pack(">H", len(sig)) + sig
            sct_id = hashlib.sha256(b"another log").digest() if args.mode == "wrong-id" else log_id
            self.answer(200, json.dumps({
                "sct_version": 0,
                "id": base64.b64encode(sct_id).decode(),
                "timestamp": timestamp,
                "extensions": "",
                "signature": base64.b64encode(digitally_signed).decode(),
            }), len(chain))

    server = HTTPServer(("127.0.0.1", args.port), Handler)
    if args.port_file:
        write_atomic(args.port_file, f"{server.server_address[1]}\n")
    write_atomic(args.key_out, base64.b64encode(spki).decode() + "\n")
    write_atomic(args.id_out, base64.b64encode(log_id).decode() + "\n")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
