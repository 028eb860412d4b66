// src/crypto/detail.hpp: helpers shared by the crypto sources (not part of the public API):
// OpenSSL error reporting, memory BIOs, DER encoding and a small PEM block splitter.
#pragma once

#include <certmgr/crypto.hpp>
#include <certmgr/util/handle.hpp>

#include <openssl/bio.h>
#include <openssl/crypto.h>

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace certmgr::crypto::detail {

using BioPtr = std::unique_ptr<BIO, util::FreeWith<BIO_free_all>>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, util::FreeWith<EVP_PKEY_CTX_free>>;

/// OPENSSL_free as a function, for util::FreeWith (OPENSSL_free is a macro).
inline void openssl_free(void* p) noexcept { OPENSSL_free(p); }

using OpensslString = std::unique_ptr<char, util::FreeWith<openssl_free>>;

/// Reason string of the oldest error on OpenSSL's error queue ("" when empty); clears the queue.
[[nodiscard]] std::string take_openssl_reason();

/// Throws util::Error "<source>: <message>[: <OpenSSL reason>]" and clears the error queue.
/// An empty `source` gives a message without location.
[[noreturn]] void fail(std::string_view source, const std::string& message);

/// Read-only memory BIO over `data` (which must outlive the BIO).
[[nodiscard]] BioPtr read_bio(std::string_view data, std::string_view source);
/// Empty writable memory BIO; `secure` uses the secure heap (buffers cleansed when freed).
[[nodiscard]] BioPtr write_bio(bool secure = false);
/// Everything written to a memory BIO so far.
[[nodiscard]] std::string_view bio_contents(BIO* bio);

/// DER bytes from an i2d-style callable `encode(unsigned char** out) -> int`.
template <class Encode> [[nodiscard]] std::string encode_der(Encode encode, std::string_view what) {
  const int size = encode(nullptr);
  if (size <= 0) fail("", "cannot encode " + std::string(what));
  std::string der(static_cast<std::size_t>(size), '\0');
  auto* out = reinterpret_cast<unsigned char*>(der.data());
  if (encode(&out) != size) fail("", "cannot encode " + std::string(what));
  return der;
}

/// One "-----BEGIN <label>-----" ... "-----END <label>-----" block found in a text.
struct PemBlock {
  std::size_t begin{0};     ///< offset of the BEGIN marker
  std::size_t end{0};       ///< offset just past the END marker (text size when unterminated)
  std::string_view label{}; ///< "CERTIFICATE", "DH PARAMETERS", ...
  std::string_view body{};  ///< the text between the two marker lines
  bool terminated{false};   ///< false when no matching END marker follows
};

/// The first block whose BEGIN marker starts at or after `from`, or nullopt.
[[nodiscard]] std::optional<PemBlock> next_pem_block(std::string_view text, std::size_t from);

/// The block's text from BEGIN to END marker, followed by "\n".
[[nodiscard]] std::string block_text(std::string_view text, const PemBlock& block);

/// Strict base64 decoding of a PEM body (line breaks allowed, no headers); nullopt when invalid.
[[nodiscard]] std::optional<std::string> decode_base64(std::string_view body);

/// OpenSSL's name for a curve accepted by is_known_curve ("secp256r1" → "prime256v1"), or "".
[[nodiscard]] std::string openssl_curve_name(std::string_view name);

/// Canonical (or else OpenSSL short) curve name of an EC key or EC parameters; "" when unnamed.
[[nodiscard]] std::string curve_of(const EVP_PKEY* pkey);

} // namespace certmgr::crypto::detail
