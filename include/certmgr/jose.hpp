// certmgr/jose.hpp: the only user of the ACME account key. Builds JWKs (RFC 7517), their
// RFC 7638 thumbprints and flattened JWS objects (RFC 7515) for ACME (RFC 8555 §6.2). The key
// never leaves this object except through crypto's PEM serialisation for the account file.
#pragma once

#include <certmgr/crypto.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace certmgr::jose {

class Signer {
public:
  /// RSA (≥ 2048 bits) → RS256; EC P-256 → ES256, P-384 → ES384, P-521 → ES512. Other keys
  /// throw util::Error.
  explicit Signer(crypto::Key key);

  /// "RS256", "ES256", ...
  [[nodiscard]] const std::string& alg() const noexcept { return m_alg; }
  /// The public JWK as canonical JSON (RFC 7638 §3: required members only, sorted, no spaces).
  [[nodiscard]] const std::string& jwk() const noexcept { return m_jwk; }
  /// base64url(SHA-256(jwk())): the account part of an http-01 key authorization.
  [[nodiscard]] std::string thumbprint() const;
  /// Flattened JSON JWS over `payload` ("" for POST-as-GET) with protected header
  /// {alg, nonce, url, kid} when `kid` is set, else {alg, jwk, nonce, url}; an empty `nonce`
  /// is left out (the inner JWS of a key change, RFC 8555 §7.3.5).
  [[nodiscard]] std::string sign(std::string_view url, std::string_view nonce,
                                 const std::optional<std::string>& kid,
                                 std::string_view payload) const;
  /// The key, for writing the account file.
  [[nodiscard]] const crypto::Key& key() const noexcept { return m_key; }

private:
  [[nodiscard]] std::string raw_signature(std::string_view signing_input) const;
  crypto::Key m_key;
  std::string m_alg;
  std::string m_jwk;
  int m_ec_coordinate_bytes{0}; ///< 0 for RSA
};

/// A JSON string literal (quotes included) with RFC 8259 escaping.
[[nodiscard]] std::string json_string(std::string_view text);

} // namespace certmgr::jose
