// certmgr/crypto.hpp: everything certmgr does with OpenSSL 3: private keys, certificates, CSRs,
// DH/EC parameters, hashes. The only module (with jose) that sees private key bytes: keys leave
// it only as util::Secret PEM. Never logs. Every function throws util::Error on failure, with a
// message that names what was being parsed (the `source` argument) but never secret material.
#pragma once

#include <certmgr/util/handle.hpp>
#include <certmgr/util/key_type.hpp>
#include <certmgr/util/passphrase.hpp>
#include <certmgr/util/secret.hpp>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace certmgr::crypto {

using util::KeyType;
using PkeyPtr = std::unique_ptr<EVP_PKEY, util::FreeWith<EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, util::FreeWith<X509_free>>;

/// Parameters of a key. For RSA `rsa_bits` counts, for ECDSA `curve` (canonical name).
struct KeySpec {
  KeyType type{KeyType::ecdsa};
  int rsa_bits{4096};
  std::string curve{"secp384r1"};
  [[nodiscard]] bool operator==(const KeySpec&) const = default;
};

/// Canonical curve name ("secp256r1", "secp384r1", "secp521r1") for any accepted spelling:
/// those three, "prime256v1", "P-256", "P-384", "P-521" (case-insensitive for the P- forms).
/// Empty string when the name is not one of them.
[[nodiscard]] std::string canonical_curve(std::string_view name);

/// Longest passphrase of an encrypted key: OpenSSL's PEM readers hand the passphrase callback
/// a buffer of PEM_BUFSIZE bytes, so a longer one could encrypt a key that nothing decrypts.
inline constexpr std::size_t k_max_passphrase_bytes = util::k_max_passphrase_bytes;

/// True when `pem` holds an "ENCRYPTED PRIVATE KEY" block or a traditional PEM block whose
/// headers say "Proc-Type: 4,ENCRYPTED". Looks only at the markers and headers.
[[nodiscard]] bool is_encrypted_pem(std::string_view pem);

/// A private key (RSA or EC). Move-only.
class Key {
public:
  /// Fresh key: RSA with exponent 65537 and spec.rsa_bits bits, or EC on spec.curve.
  [[nodiscard]] static Key generate(const KeySpec& spec);
  /// Parses an unencrypted PEM private key (PKCS#8 "PRIVATE KEY", or traditional
  /// "RSA PRIVATE KEY"/"EC PRIVATE KEY"). `source` names the file for error messages.
  /// The same as from_pem(pem, source, nullptr).
  [[nodiscard]] static Key from_pem(std::string_view pem, std::string_view source);
  /// Also reads encrypted keys ("ENCRYPTED PRIVATE KEY", or traditional PEM with
  /// "Proc-Type: 4,ENCRYPTED") with `passphrase` (at most k_max_passphrase_bytes). Never prompts.
  /// An encrypted key with a null `passphrase`, or one it does not decrypt, is an error.
  [[nodiscard]] static Key from_pem(std::string_view pem, std::string_view source,
                                    const util::Secret* passphrase);

  /// PKCS#8 PEM ("-----BEGIN PRIVATE KEY-----"), ending in "\n".
  [[nodiscard]] util::Secret to_pem() const;
  /// Encrypted PKCS#8 PEM ("-----BEGIN ENCRYPTED PRIVATE KEY-----"), ending in "\n": PBES2 with
  /// AES-256-CBC and scrypt (N=16384, r=8, p=1), random salt and IV. `passphrase` must not be
  /// empty nor longer than k_max_passphrase_bytes.
  [[nodiscard]] util::Secret to_pem(const util::Secret& passphrase) const;
  /// Type and size/curve of this key (curve canonical).
  [[nodiscard]] KeySpec spec() const;
  /// DER SubjectPublicKeyInfo of the public half.
  [[nodiscard]] std::string public_der() const;
  [[nodiscard]] EVP_PKEY* get() const noexcept { return m_key.get(); }

  explicit Key(PkeyPtr key) : m_key(std::move(key)) {}

private:
  PkeyPtr m_key;
};

/// A parsed X.509 certificate. Copyable (reference counted).
class Certificate {
public:
  /// Exactly one DER certificate; trailing bytes are an error.
  [[nodiscard]] static Certificate from_der(std::string_view der, std::string_view source);

  [[nodiscard]] std::string der() const;
  /// "-----BEGIN CERTIFICATE-----" ... "-----END CERTIFICATE-----\n", 64-column base64.
  [[nodiscard]] std::string pem() const;
  /// Subject commonName, or "" when there is none.
  [[nodiscard]] std::string subject_cn() const;
  /// For labels in files: subject CN, else the first SAN dNSName, else the one-line subject.
  [[nodiscard]] std::string label() const;
  /// Issuer commonName, or "".
  [[nodiscard]] std::string issuer_cn() const;
  /// subjectAltName dNSName entries, lower-cased, in certificate order.
  [[nodiscard]] std::vector<std::string> dns_names() const;
  [[nodiscard]] std::chrono::system_clock::time_point not_before() const;
  [[nodiscard]] std::chrono::system_clock::time_point not_after() const;
  /// DER SubjectPublicKeyInfo (compare with Key::public_der()).
  [[nodiscard]] std::string public_der() const;
  /// True when the TLS feature extension (RFC 7633) lists status_request (5).
  [[nodiscard]] bool must_staple() const;
  /// Serial number as upper-case hex without separators.
  [[nodiscard]] std::string serial_hex() const;
  /// True when `issuer`'s subject matches our issuer and its key verifies our signature.
  [[nodiscard]] bool issued_by(const Certificate& issuer) const;
  [[nodiscard]] X509* get() const noexcept { return m_cert.get(); }

  explicit Certificate(X509Ptr cert) : m_cert(std::move(cert)) {}
  Certificate(const Certificate& other);
  Certificate& operator=(const Certificate& other);
  Certificate(Certificate&&) noexcept = default;
  Certificate& operator=(Certificate&&) noexcept = default;

private:
  X509Ptr m_cert;
};

/// Strict parse of a PEM certificate chain as an ACME server sends it (RFC 8555 §9.1): only
/// CERTIFICATE blocks, optionally separated by whitespace; any other block type, any other
/// non-whitespace text, a block that does not decode, or more than `max_certificates` blocks is
/// an error. An empty input is an error.
[[nodiscard]] std::vector<Certificate> parse_chain(std::string_view pem, std::string_view source,
                                                   std::size_t max_certificates = 10);

/// Tolerant scan of a file certmgr wrote (cert.pem with header and label lines): every
/// CERTIFICATE block in order; other text and other block types are skipped. A CERTIFICATE block
/// that does not decode is an error.
[[nodiscard]] std::vector<Certificate> scan_certificates(std::string_view text,
                                                         std::string_view source);

/// DER PKCS#10 CSR signed with SHA-256 by `key`: subject CN = names[0] when it is at most 64
/// bytes (else an empty subject), a non-critical subjectAltName with every name as dNSName,
/// and, when `must_staple`, a non-critical TLS feature extension [status_request].
[[nodiscard]] std::string make_csr(const Key& key, const std::vector<std::string>& names,
                                   bool must_staple);

/// The names of a PEM PKCS#10 request (`auth --csr`): subject commonNames, then
/// subjectAltName dNSNames, lower-cased, without duplicates. The request's signature must
/// verify; a non-DNS name, no name at all or a broken request is an error naming `source`.
[[nodiscard]] std::vector<std::string> csr_names(std::string_view pem, std::string_view source);

/// DH parameters as a "-----BEGIN DH PARAMETERS-----" PEM block (as `openssl dhparam` prints).
/// `fast` and bits in {2048, 3072, 4096, 6144, 8192}: the RFC 7919 ffdhe group of that size
/// (instant). Otherwise freshly generated safe-prime parameters of `bits` bits (slow).
[[nodiscard]] std::string dh_params(int bits, bool fast);
/// EC parameters as a "-----BEGIN EC PARAMETERS-----" PEM block holding only the named-curve
/// OID (as `openssl ecparam -name <curve>` prints). `curve` is any name canonical_curve accepts
/// or another OpenSSL curve short name; unknown → error.
[[nodiscard]] std::string ec_params(std::string_view curve);
/// True when OpenSSL knows `name` as an EC curve (any spelling accepted by canonical_curve or
/// an OpenSSL short name such as "brainpoolP256r1").
[[nodiscard]] bool is_known_curve(std::string_view name);

/// What a params text (params.pem, or the tail of cert.pem) holds. Blocks that fail to parse or
/// to check count as absent.
struct Params {
  std::string dh_pem{};   ///< the DH PARAMETERS block, or ""
  int dh_bits{0};         ///< its prime size, 0 when absent
  std::string ec_pem{};   ///< the EC PARAMETERS block, or ""
  std::string ec_curve{}; ///< its curve, canonical where canonical_curve knows it, else OpenSSL's
                          ///< short name
};
[[nodiscard]] Params scan_params(std::string_view text);

/// SHA-256 of `bytes` (32 raw bytes).
[[nodiscard]] std::string sha256(std::string_view bytes);

} // namespace certmgr::crypto
