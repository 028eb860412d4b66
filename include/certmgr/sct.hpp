// certmgr/sct.hpp: Certificate Transparency (RFC 6962) for certificates already issued: submits
// a leaf and its chain to a log (add-chain), checks the Signed Certificate Timestamp it answers
// with, and reads the SCTs a CA embedded. Parsing and serializing go through OpenSSL's CT API
// (o2i_SCT / i2o_SCT, the SCT_LIST extension); the signature is checked here over the RFC 6962
// §3.2 x509_entry signed data, since OpenSSL offers no way to check an SCT against one log key
// without a log list file. Never logs secrets (there are none here); server text only through
// log::printable().
#pragma once

#include <certmgr/crypto.hpp>
#include <certmgr/http.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace certmgr::sct {

/// One CT log (one shard of a configured log).
struct Log {
  std::string name{};           ///< config name, also the file name <name>.sct
  std::string url{};            ///< base URL; add-chain is <url>/ct/v1/add-chain, one slash [B32]
  std::string log_id{};         ///< 32 raw bytes (SHA-256 of the key's DER SPKI)
  std::string public_key_der{}; ///< DER SubjectPublicKeyInfo (EC P-256 or RSA)
};

/// The fields of a v1 SignedCertificateTimestamp (RFC 6962 §3.2).
struct Timestamp {
  std::string log_id{};       ///< 32 raw bytes
  std::uint64_t timestamp{0}; ///< milliseconds since the epoch
  std::string extensions{};   ///< CtExtensions bytes (without their length), at most 65535
  std::string signature{};    ///< TLS DigitallySigned: hash alg, sig alg, 2-byte length, bytes
  [[nodiscard]] bool operator==(const Timestamp&) const = default;
};

/// Clock skew allowed for an SCT timestamp in the future.
inline constexpr std::chrono::minutes k_max_future{5};
/// Largest add-chain answer.
inline constexpr std::size_t k_max_answer_bytes = 64 * 1024;

/// RFC 6962 §3.2 TLS encoding of `sct` (version 0). Throws util::Error when a field does not fit
/// (log id not 32 bytes, extensions over 65535 bytes, a signature that is not one well-formed
/// DigitallySigned with SHA-256 and ECDSA or RSA).
[[nodiscard]] std::string serialize(const Timestamp& sct);
/// Inverse of serialize: nullopt unless `serialized` is exactly one v1 SCT (no trailing bytes).
[[nodiscard]] std::optional<Timestamp> parse(std::string_view serialized);

/// True when `public_key_der` is exactly one DER SubjectPublicKeyInfo of an EC P-256 key or an
/// RSA key of at least 2048 bits (the keys RFC 6962 §2.1.4 allows logs), for config checks.
[[nodiscard]] bool is_log_key(std::string_view public_key_der);

/// RFC 6962 §4.1 add-chain of leaf + chain (JSON {"chain": [base64 DER...]}; 10 s connect, 30 s
/// total, body cap 64 KiB; https, or http only for loopback hosts), then validates the answer:
/// JSON with sct_version 0, id (base64, must equal log.log_id), timestamp (not more than 5 min in
/// the future), extensions (base64), signature (base64 TLS DigitallySigned) verifying with the
/// log's key over the RFC 6962 §3.2 x509_entry signed data of `leaf`. Returns the serialized SCT
/// (RFC 6962 §3.2 TLS encoding: version, log id, timestamp, extensions, signature).
/// Throws util::Error "<add-chain URL>: <why>" (a bad log entry: "<url>: <why>" with log.url).
[[nodiscard]] std::string submit(const http::Options& base_options, const Log& log,
                                 const crypto::Certificate& leaf,
                                 const std::vector<crypto::Certificate>& chain);

/// True when `serialized` is an SCT of `log` (its id equals log.log_id and the SHA-256 of the
/// key), not more than 5 min in the future of `now`, whose signature verifies over leaf's
/// x509_entry. Never throws for bad input (false).
[[nodiscard]] bool
verify(std::string_view serialized, const Log& log, const crypto::Certificate& leaf,
       std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

/// Log IDs (32 raw bytes each) of the v1 SCTs embedded in the leaf (precert SCT list extension,
/// RFC 6962 §3.3), in list order; none when the extension is absent or does not parse.
[[nodiscard]] std::vector<std::string> embedded_log_ids(const crypto::Certificate& leaf);

/// log_id of a DER SPKI (SHA-256 of the bytes), for config checks.
[[nodiscard]] std::string log_id_of(std::string_view public_key_der);

} // namespace certmgr::sct
