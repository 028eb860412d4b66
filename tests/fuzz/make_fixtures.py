#!/usr/bin/env python3
"""tests/fuzz/make_fixtures.py: (re)makes the fuzz fixtures and the binary seeds that must match
them. Python standard library + python3-cryptography only.

    python3 tests/fuzz/make_fixtures.py

Writes tests/fuzz/fixtures/ (issuer.pem, leaf.pem, ct_log_key.der, now.txt: public test
material only) and the generated seeds in tests/fuzz/corpus/{pem_chain,ocsp,sct}/. Every private
key lives only in this process, except the throwaway keys written as pem_chain seeds for the key
parser (made here, used for nothing else). Run it again only together with committing its whole
output: the OCSP and SCT seeds are signed for exactly these fixtures.
"""
import base64
import datetime
import json
import os
import struct
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "fixtures")
CORPUS = os.path.join(HERE, "corpus")

NOW = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def p256():
    return ec.generate_private_key(ec.SECP256R1())


def cert(subject, key, issuer_name, issuer_key, extensions, not_after=None, serial=None):
    builder = (x509.CertificateBuilder().subject_name(name(subject)).issuer_name(issuer_name)
               .public_key(key.public_key())
               .serial_number(serial or x509.random_serial_number())
               .not_valid_before(NOW - datetime.timedelta(days=1))
               .not_valid_after(not_after or NOW + datetime.timedelta(days=3650)))
    for ext, critical in extensions:
        builder = builder.add_extension(ext, critical=critical)
    return builder.sign(issuer_key, hashes.SHA256())


def ca_extensions(key, issuer_key):
    return [(x509.BasicConstraints(ca=True, path_length=None), True),
            (x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                           data_encipherment=False, key_agreement=False, key_cert_sign=True,
                           crl_sign=True, encipher_only=False, decipher_only=False), True),
            (x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False),
            (x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), False)]


def pem(c):
    return c.public_bytes(serialization.Encoding.PEM).decode()


def der_length(n):
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def sct_bytes(log_key, log_id, leaf_der, timestamp_ms, extensions=b""):
    """RFC 6962 §3.2 v1 SCT over an x509_entry, TLS-encoded."""
    signed = (struct.pack(">BBQH", 0, 0, timestamp_ms, 0) + len(leaf_der).to_bytes(3, "big")
              + leaf_der + struct.pack(">H", len(extensions)) + extensions)
    sig = log_key.sign(signed, ec.ECDSA(hashes.SHA256()))
    digitally_signed = bytes([4, 3]) + struct.pack(">H", len(sig)) + sig
    serialized = (bytes([0]) + log_id + struct.pack(">Q", timestamp_ms)
                  + struct.pack(">H", len(extensions)) + extensions + digitally_signed)
    return serialized, digitally_signed


def main():
    root_key, issuer_key, leaf_key, responder_key, log_key = (p256() for _ in range(5))
    root = cert("certmgr fuzz root", root_key, name("certmgr fuzz root"), root_key,
                ca_extensions(root_key, root_key))
    issuer = cert("certmgr fuzz intermediate", issuer_key, root.subject, root_key,
                  ca_extensions(issuer_key, root_key))

    log_spki = log_key.public_key().public_bytes(serialization.Encoding.DER,
                                                 serialization.PublicFormat.SubjectPublicKeyInfo)
    log_id = hashes.Hash(hashes.SHA256())
    log_id.update(log_spki)
    log_id = log_id.finalize()

    # An embedded SCT list (RFC 6962 §3.3) so that sct::embedded_log_ids has something to read;
    # its signature is over nothing in particular, which that function does not check.
    embedded, _ = sct_bytes(log_key, log_id, b"precert", int(NOW.timestamp() * 1000) - 5000)
    sct_list = struct.pack(">H", len(embedded) + 2) + struct.pack(">H", len(embedded)) + embedded
    sct_ext = x509.UnrecognizedExtension(x509.ObjectIdentifier("1.3.6.1.4.1.11129.2.4.2"),
                                         b"\x04" + der_length(len(sct_list)) + sct_list)
    leaf = cert("fuzz.example", leaf_key, issuer.subject, issuer_key, [
        (x509.SubjectAlternativeName([x509.DNSName("fuzz.example"),
                                      x509.DNSName("WWW.Fuzz.Example")]), False),
        (x509.BasicConstraints(ca=False, path_length=None), True),
        (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False),
        (x509.AuthorityInformationAccess([
            x509.AccessDescription(x509.oid.AuthorityInformationAccessOID.OCSP,
                                   x509.UniformResourceIdentifier("http://ocsp.fuzz.test/")),
            x509.AccessDescription(x509.oid.AuthorityInformationAccessOID.CA_ISSUERS,
                                   x509.UniformResourceIdentifier("http://ca.fuzz.test/i.der")),
        ]), False),
        (x509.TLSFeature([x509.TLSFeatureType.status_request]), False),
        (x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), False),
        (sct_ext, False),
    ], not_after=NOW + datetime.timedelta(days=90))
    responder = cert("certmgr fuzz ocsp responder", responder_key, issuer.subject, issuer_key, [
        (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.OCSP_SIGNING]), False),
        (x509.OCSPNoCheck(), False),
    ])
    # RFC 5280 §4.1.2.5: 99991231235959Z means "no well-defined expiration date".
    forever_key = p256()
    forever = cert("forever.fuzz.example", forever_key, issuer.subject, issuer_key, [
        (x509.SubjectAlternativeName([x509.DNSName("forever.fuzz.example")]), False),
    ], not_after=datetime.datetime(9999, 12, 31, 23, 59, 59, tzinfo=datetime.timezone.utc))

    write(os.path.join(FIXTURES, "issuer.pem"), pem(issuer))
    write(os.path.join(FIXTURES, "leaf.pem"), pem(leaf))
    write(os.path.join(FIXTURES, "ct_log_key.der"), log_spki)
    now = int(NOW.timestamp()) + 3600
    write(os.path.join(FIXTURES, "now.txt"), f"{now}\n")

    # ---- pem_chain: chains as a CA sends them, cert.pem as certmgr writes it, DER, keys, CSR
    d = os.path.join(CORPUS, "pem_chain")
    write(os.path.join(d, "chain.pem"), pem(leaf) + pem(issuer))
    write(os.path.join(d, "chain_with_root.pem"), pem(leaf) + "\n" + pem(issuer) + "\n" + pem(root))
    stamp = (NOW - datetime.timedelta(days=1)).strftime("%Y-%m-%d %H:%M:%S")
    write(os.path.join(d, "cert.pem"), f"fuzz.example issued at {stamp} UTC\n" + pem(leaf)
          + "\ncertmgr fuzz intermediate\n" + pem(issuer))
    write(os.path.join(d, "leaf.der"), leaf.public_bytes(serialization.Encoding.DER))
    write(os.path.join(d, "responder.der"), responder.public_bytes(serialization.Encoding.DER))
    write(os.path.join(d, "forever.pem"), pem(forever))
    # Throwaway keys for the key parser: made here, used for nothing else.
    throwaway_ec = p256()
    write(os.path.join(d, "key_pkcs8.pem"), throwaway_ec.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    write(os.path.join(d, "key_sec1.pem"), throwaway_ec.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption()))
    write(os.path.join(d, "key_rsa.pem"), rsa.generate_private_key(65537, 1024).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption()))
    write(os.path.join(d, "key_encrypted.pem"), throwaway_ec.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"fuzz passphrase")))
    csr = (x509.CertificateSigningRequestBuilder().subject_name(name("CSR.Fuzz.Example"))
           .add_extension(x509.SubjectAlternativeName([x509.DNSName("csr.fuzz.example"),
                                                       x509.DNSName("www.csr.fuzz.example")]),
                          critical=False)
           .sign(throwaway_ec, hashes.SHA256()))
    write(os.path.join(d, "request.csr"), csr.public_bytes(serialization.Encoding.PEM))

    # ---- ocsp: responses for leaf/issuer, valid at now.txt
    d = os.path.join(CORPUS, "ocsp")
    this_update = NOW - datetime.timedelta(minutes=1)
    next_update = NOW + datetime.timedelta(days=7)

    def response(status, algorithm=hashes.SHA1(), signer=(issuer, issuer_key), certs=None,
                 with_next=True, reason=None):
        builder = ocsp.OCSPResponseBuilder().add_response(
            cert=leaf, issuer=issuer, algorithm=algorithm, cert_status=status,
            this_update=this_update, next_update=next_update if with_next else None,
            revocation_time=NOW - datetime.timedelta(hours=1)
            if status == ocsp.OCSPCertStatus.REVOKED else None,
            revocation_reason=reason).responder_id(ocsp.OCSPResponderEncoding.HASH, signer[0])
        if certs:
            builder = builder.certificates(certs)
        return builder.sign(signer[1], hashes.SHA256()).public_bytes(serialization.Encoding.DER)

    write(os.path.join(d, "good.der"), response(ocsp.OCSPCertStatus.GOOD))
    write(os.path.join(d, "good_sha256_certid.der"),
          response(ocsp.OCSPCertStatus.GOOD, algorithm=hashes.SHA256()))
    write(os.path.join(d, "good_no_next_update.der"),
          response(ocsp.OCSPCertStatus.GOOD, with_next=False))
    write(os.path.join(d, "revoked.der"), response(ocsp.OCSPCertStatus.REVOKED,
                                                   reason=x509.ReasonFlags.key_compromise))
    write(os.path.join(d, "unknown.der"), response(ocsp.OCSPCertStatus.UNKNOWN))
    write(os.path.join(d, "delegated.der"), response(
        ocsp.OCSPCertStatus.GOOD, signer=(responder, responder_key), certs=[responder]))
    write(os.path.join(d, "unauthorized.der"), ocsp.OCSPResponseBuilder.build_unsuccessful(
        ocsp.OCSPResponseStatus.UNAUTHORIZED).public_bytes(serialization.Encoding.DER))

    # ---- sct: serialized SCTs of the fixture log for leaf, and add-chain answers
    d = os.path.join(CORPUS, "sct")
    leaf_der = leaf.public_bytes(serialization.Encoding.DER)
    ts = int(NOW.timestamp() * 1000) - 2000
    plain, plain_sig = sct_bytes(log_key, log_id, leaf_der, ts)
    with_ext, ext_sig = sct_bytes(log_key, log_id, leaf_der, ts, b"\x00\x01\x02")
    write(os.path.join(d, "sct.bin"), plain)
    write(os.path.join(d, "sct_extensions.bin"), with_ext)
    write(os.path.join(d, "add_chain.json"), json.dumps({
        "sct_version": 0, "id": base64.b64encode(log_id).decode(), "timestamp": ts,
        "extensions": "", "signature": base64.b64encode(plain_sig).decode()}))
    write(os.path.join(d, "add_chain_extensions.json"), json.dumps({
        "sct_version": 0, "id": base64.b64encode(log_id).decode(), "timestamp": ts,
        "extensions": base64.b64encode(b"\x00\x01\x02").decode(),
        "signature": base64.b64encode(ext_sig).decode()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
