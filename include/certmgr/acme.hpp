// certmgr/acme.hpp: ACME v2 (RFC 8555) protocol: directory, nonces with badNonce retry,
// account, orders, authorizations, challenges, finalize and certificate download. Every value
// taken from the server is validated before use: URLs must be https on the directory's host,
// JSON is type-checked, bodies are capped. Problem documents become util::Error lines that
// quote the CA's type and detail through log::printable(). Does not touch files.
#pragma once

#include <certmgr/http.hpp>
#include <certmgr/jose.hpp>
#include <certmgr/util/error.hpp>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace certmgr::acme {

/// RFC 8555 §6.5: a CA that keeps answering badNonce gets this many fresh tries per request
/// (Pebble's chaos setting rejects half of all nonces: 2^-30 odds of giving up wrongly).
inline constexpr int k_max_bad_nonce_retries = 30;
/// Longest URL accepted from a server.
inline constexpr std::size_t k_max_url_bytes = 2048;
/// RFC 8555 §6.6/§7.4 Retry-After bounds: zero, the past or garbage must not make us spin, more
/// than a day is nothing a cron run waits for.
inline constexpr std::chrono::seconds k_min_retry_after{1};
inline constexpr std::chrono::seconds k_max_retry_after = std::chrono::hours{24};
/// A 429 or 503 whose Retry-After is at most this long is waited for within the run, at most
/// k_max_inline_waits times per request and k_max_inline_wait_total per client; anything
/// longer fails the request and the certificate backs off until then (persisted).
inline constexpr std::chrono::seconds k_max_inline_wait{20};
inline constexpr int k_max_inline_waits = 3;
inline constexpr std::chrono::seconds k_max_inline_wait_total{60};

/// Parses a Retry-After value (delta seconds or HTTP-date) relative to `now`, clamped to
/// [k_min_retry_after, k_max_retry_after]; nullopt when absent or unparseable.
[[nodiscard]] std::optional<std::chrono::seconds>
parse_retry_after(std::string_view value, std::chrono::system_clock::time_point now);

/// The CA refused a request with a problem document (RFC 8555 §6.7). what() is the user line;
/// type() the problem type without "urn:ietf:params:acme:error:" ("alreadyRevoked"), "" when the
/// answer held no problem document.
class Problem : public util::Error {
public:
  Problem(const std::string& url, const std::string& message, std::string type, long status,
          std::optional<std::chrono::system_clock::time_point> not_before = std::nullopt)
      : util::Error({.url = url}, message), m_type(std::move(type)), m_status(status),
        m_not_before(not_before) {}
  [[nodiscard]] const std::string& type() const noexcept { return m_type; }
  [[nodiscard]] long status() const noexcept { return m_status; }
  /// Set when the CA asked (Retry-After on a 429 or 503) not to be asked again before then.
  [[nodiscard]] const std::optional<std::chrono::system_clock::time_point>&
  not_before() const noexcept {
    return m_not_before;
  }

private:
  std::string m_type;
  long m_status;
  std::optional<std::chrono::system_clock::time_point> m_not_before;
};

/// RFC 5280 §5.3.1 CRLReason codes a subscriber may ask for (8 removeFromCRL is not one).
enum class RevocationReason {
  unspecified = 0,
  key_compromise = 1,
  ca_compromise = 2,
  affiliation_changed = 3,
  superseded = 4,
  cessation_of_operation = 5,
  certificate_hold = 6,
  privilege_withdrawn = 9,
  aa_compromise = 10,
};
/// The RFC 5280 ASN.1 names ("keyCompromise", ...), in code order.
struct ReasonName {
  std::string_view name;
  RevocationReason reason;
};
[[nodiscard]] const std::vector<ReasonName>& revocation_reasons();
[[nodiscard]] std::string_view reason_name(RevocationReason reason);

struct Directory {
  std::string url{};
  std::string new_nonce{};
  std::string new_account{};
  std::string new_order{};
  std::string revoke_cert{};
  std::string key_change{};
  std::string terms_of_service{}; ///< "" when the CA has none
};

struct Challenge {
  std::string type{};
  std::string url{};
  std::string token{}; ///< checked with util::is_acme_token() for http-01
  std::string status{};
};

struct Authorization {
  std::string url{};
  std::string identifier{}; ///< the dns name, lower-cased; "*." + name for a wildcard
  std::string status{};     ///< pending, valid, invalid, deactivated, expired, revoked
  std::string expires{};
  std::vector<Challenge> challenges{};
  std::string error{}; ///< problem text of a failed challenge, for messages
};

struct Order {
  std::string url{};
  std::string status{}; ///< pending, ready, processing, valid, invalid
  std::vector<std::string> authorizations{};
  std::string finalize{};
  std::string certificate{};
  std::string error{}; ///< problem text when invalid
  std::optional<std::chrono::seconds> retry_after{};
};

/// The protocol client of one ACME account. Not thread-safe: one per worker.
class Client {
public:
  Client(http::Options http_options, std::string directory_url, const jose::Signer& signer);

  /// GET the directory (once). Throws util::Error naming the URL.
  const Directory& directory();
  /// newAccount with termsOfServiceAgreed (RFC 8555 §7.3): creates the account or finds the
  /// existing one for this key. Returns the account object (JSON text) and sets the kid.
  std::string register_account(const std::optional<std::string>& email);
  /// Uses an account URL already known (from registration.json).
  void set_account_url(std::string url);
  /// newAccount with onlyReturnExisting (RFC 8555 §7.3.1): the account URL of this key (also
  /// set as kid), or nullopt when the CA knows no account for it.
  std::optional<std::string> find_account();
  /// Sets the account's contact to mailto:<email>, or none (RFC 8555 §7.3.2). Returns the
  /// account object (JSON text).
  std::string update_account(const std::optional<std::string>& email);
  /// Account key rollover (RFC 8555 §7.3.5) to `new_key`. After success (HTTP 200) the CA
  /// accepts only `new_key` for this account; this client must not be used any more. Any other
  /// answer throws: a Problem for a refusal, util::Error when the outcome is unknown.
  void change_key(const jose::Signer& new_key);
  enum class Revoked { now, already };
  /// revokeCert (RFC 8555 §7.6) of the DER certificate, signed with the account (kid) when one
  /// is set, else with this client's key as JWK (the certificate's own key).
  Revoked revoke(std::string_view certificate_der, RevocationReason reason);
  [[nodiscard]] const std::optional<std::string>& account_url() const noexcept { return m_kid; }

  Order new_order(const std::vector<std::string>& names);
  Order get_order(const std::string& url);
  Authorization get_authorization(const std::string& url);
  /// Tells the CA the challenge is ready (POST "{}").
  void answer(const Challenge& challenge);
  /// POST {"csr": ...} to the order's finalize URL; returns the updated order.
  Order finalize(const Order& order, std::string_view csr_der);
  /// POST-as-GET of the certificate URL: the PEM chain text (≤ 1 MiB).
  std::string download_certificate(const std::string& url);
  /// Retry-After of the last response, if any.
  [[nodiscard]] std::optional<std::chrono::seconds> last_retry_after() const noexcept {
    return m_last_retry_after;
  }
  /// Number of requests answered (for -d statistics and tests).
  [[nodiscard]] int requests() const noexcept { return m_requests; }
  /// Number of requests started, answered or not (a CA that times out was still asked).
  [[nodiscard]] int sent() const noexcept { return m_sent; }

private:
  /// Sends one request through `send` (which counts as one request each call), honouring
  /// RFC 8555 §6.6 Retry-After on 429 and 503: short waits are slept here (bounded per request
  /// and per client); a longer one makes this client refuse further requests until then.
  http::Response exchange(const std::string& url, const std::function<http::Response()>& send);
  /// Throws a Problem without contacting the CA while an earlier Retry-After is running.
  void check_not_before(const std::string& url) const;
  /// A Problem for the refused response `r` (status ≥ 400 or unexpected) with `message`.
  [[nodiscard]] Problem refusal(const std::string& url, const http::Response& r,
                                const std::string& message, std::string type = {}) const;
  http::Response post(const std::string& url, std::string_view payload, std::size_t max_body);
  std::string take_nonce();
  void remember_nonce(const http::Response& response);
  void check_url(const std::string& url) const;
  [[nodiscard]] std::string checked_url(const std::string& url) const;

  http::Client m_http;
  std::string m_directory_url;
  const jose::Signer& m_signer;
  std::optional<Directory> m_directory{};
  std::optional<std::string> m_kid{};
  std::string m_nonce{};
  std::optional<std::chrono::seconds> m_last_retry_after{};
  std::optional<std::chrono::system_clock::time_point> m_not_before{};
  std::chrono::seconds m_waited{0}; ///< Retry-After time slept by this client so far
  std::string m_origin{};           ///< scheme://host:port of the directory
  int m_requests{0};
  int m_sent{0};
};

} // namespace certmgr::acme

namespace certmgr::acme {

/// Bounds of one polling loop (RFC 8555 §7.5.1): sleeps start at `first_delay` and double up to
/// `max_delay` unless the CA's Retry-After says otherwise; at most `max_polls` requests and never
/// past `deadline`.
struct PollLimits {
  std::chrono::milliseconds first_delay{200};
  std::chrono::seconds max_delay{10};
  int max_polls{30};
  std::chrono::seconds deadline{300};
};

/// Polls the authorization until it is no longer pending. Throws util::Error when a bound is hit.
Authorization poll_authorization(Client& client, const std::string& url, const PollLimits& limits);
/// Polls the order while it is pending or processing. Throws util::Error when a bound is hit.
Order poll_order(Client& client, const std::string& url, const PollLimits& limits);

} // namespace certmgr::acme
