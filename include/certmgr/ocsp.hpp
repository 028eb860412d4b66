// certmgr/ocsp.hpp: OCSP (RFC 6960) for stapling files: the responder URLs of a certificate, a
// strict check of a DER OCSPResponse against the leaf and its issuer, fetching one over HTTP, and
// when a stored response is due for replacement. Uses OpenSSL's OCSP API for every ASN.1 detail.
// Never logs; every failure is a util::Error naming where the response came from.
#pragma once

#include <certmgr/crypto.hpp>
#include <certmgr/http.hpp>

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace certmgr::ocsp {

/// Tolerance for the clocks of responder and host when checking thisUpdate and nextUpdate.
inline constexpr std::chrono::minutes k_clock_skew{5};
/// Longest responder URL taken from a certificate.
inline constexpr std::size_t k_max_url_bytes = 2048;

/// http(s) OCSP URLs of the leaf's AIA extension, in certificate order (other schemes dropped,
/// at most 2048 bytes each).
[[nodiscard]] std::vector<std::string> aia_urls(const crypto::Certificate& leaf);

enum class Status { good, revoked, unknown };

struct Response {
  std::string der{};
  Status status{Status::unknown};
  std::chrono::system_clock::time_point this_update{};
  std::optional<std::chrono::system_clock::time_point> next_update{};
  std::string revocation_reason{}; ///< RFC 5280 reason name when revoked and given, else ""
};

/// "good", "revoked" or "unknown".
[[nodiscard]] std::string_view status_name(Status status);

/// Strict RFC 6960 check of a DER OCSPResponse for `leaf` issued by `issuer`: responseStatus
/// successful; a BasicOCSPResponse whose signature verifies with the issuer's key, or with a
/// responder certificate included in the response that is signed by `issuer` and has the
/// id-kp-OCSPSigning EKU; a SingleResponse whose CertID matches leaf+issuer (SHA-1 or SHA-256
/// CertID); thisUpdate <= now + skew; nextUpdate (when present) >= now - skew. Anything else throws
/// util::Error "<source>: <why>" (one line). revoked/unknown are returned, not thrown.
[[nodiscard]] Response check(std::string_view der, const crypto::Certificate& leaf,
                             const crypto::Certificate& issuer,
                             std::chrono::system_clock::time_point now, std::string_view source);

/// Asks each URL in order: RFC 6960 request with a SHA-1 CertID and no nonce, HTTP POST with
/// Content-Type application/ocsp-request (body cap http::k_max_json_bytes, connect timeout 10 s,
/// total 30 s, plain http allowed since responses are signed; the other fields of base_options
/// are kept), returns the first response that passes check(). Throws util::Error when none passes,
/// listing each URL's failure ("<url>: HTTP 500; <url2>: signature does not verify") on one line.
[[nodiscard]] Response fetch(const http::Options& base_options,
                             const std::vector<std::string>& urls, const crypto::Certificate& leaf,
                             const crypto::Certificate& issuer,
                             std::chrono::system_clock::time_point now);

/// A stored good response should be replaced once half of [thisUpdate, nextUpdate] has passed
/// (no nextUpdate: 12 hours after thisUpdate). A stored response that is not good is always due.
[[nodiscard]] bool refresh_due(const Response& stored, std::chrono::system_clock::time_point now);

} // namespace certmgr::ocsp
