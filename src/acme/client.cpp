#include "json.hpp"
#include <certmgr/acme.hpp>
#include <certmgr/log.hpp>
#include <certmgr/util/base64url.hpp>
#include <certmgr/util/error.hpp>
#include <certmgr/util/stop.hpp>
#include <certmgr/util/time.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

namespace certmgr::acme {
namespace {
using CurlUrlPtr = std::unique_ptr<CURLU, util::FreeWith<curl_url_cleanup>>;

/// RFC 8555 §6.5: nonces are base64url; anything longer than this is not a nonce.
constexpr std::size_t k_max_nonce_bytes = 256;

std::string url_part(CURLU* url, CURLUPart part) {
  char* value = nullptr;
  if (curl_url_get(url, part, &value, part == CURLUPART_PORT ? CURLU_DEFAULT_PORT : 0) != CURLUE_OK)
    return "";
  std::string out(value);
  curl_free(value);
  return out;
}

/// scheme://host:port of `url`, lower-cased by libcurl; "" when it does not parse.
std::string origin_of(const std::string& url) {
  const CurlUrlPtr parsed(curl_url());
  if (!parsed || curl_url_set(parsed.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) return "";
  return fmt::format("{}://{}:{}", url_part(parsed.get(), CURLUPART_SCHEME),
                     url_part(parsed.get(), CURLUPART_HOST),
                     url_part(parsed.get(), CURLUPART_PORT));
}

} // namespace

std::optional<std::chrono::seconds> parse_retry_after(std::string_view value,
                                                      std::chrono::system_clock::time_point now) {
  if (value.empty()) return std::nullopt;
  std::chrono::seconds asked{};
  long long seconds = 0;
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
  if (ec == std::errc() && end == value.data() + value.size()) {
    asked = std::chrono::seconds(std::clamp<long long>(seconds, 0, 10LL * 365 * 86400));
  } else if (ec == std::errc::result_out_of_range) {
    asked = k_max_retry_after;
  } else if (const auto when = util::parse_http_date(value)) {
    asked = std::chrono::duration_cast<std::chrono::seconds>(*when - now);
  } else {
    return std::nullopt;
  }
  return std::clamp(asked, k_min_retry_after, k_max_retry_after);
}

Client::Client(http::Options http_options, std::string directory_url, const jose::Signer& signer)
    : m_http(std::move(http_options)), m_directory_url(std::move(directory_url)), m_signer(signer),
      m_origin(origin_of(m_directory_url)) {
  if (m_origin.empty())
    throw util::Error({.url = m_directory_url}, "not a valid ACME directory URL");
}

void Client::check_url(const std::string& url) const {
  // A CA that points us at another host or scheme is hostile or broken (style.md §6).
  if (url.size() > k_max_url_bytes || origin_of(url) != m_origin)
    throw util::Error({.url = m_directory_url}, fmt::format("the CA sent a URL outside {}: \"{}\"",
                                                            m_origin, log::printable(url, 200)));
}

std::string Client::checked_url(const std::string& url) const {
  check_url(url);
  return url;
}

void Client::check_not_before(const std::string& url) const {
  if (m_not_before && util::Clock::now() < *m_not_before)
    throw Problem(url,
                  fmt::format("not contacting the CA before {} UTC, as it asked (Retry-After)",
                              util::utc_text(*m_not_before)),
                  "", 0, m_not_before);
}

http::Response Client::exchange(const std::string& url,
                                const std::function<http::Response()>& send) {
  check_not_before(url);
  for (int waits = 0;; ++waits) {
    ++m_sent;
    http::Response r = send();
    ++m_requests;
    m_last_retry_after = parse_retry_after(r.header("retry-after"), util::Clock::now());
    if ((r.status != 429 && r.status != 503) || !m_last_retry_after) return r;
    const std::chrono::seconds wait = *m_last_retry_after;
    if (wait <= k_max_inline_wait && waits < k_max_inline_waits &&
        m_waited + wait <= k_max_inline_wait_total) {
      log::info("{}: HTTP {}; retrying in {} s as the CA asked (Retry-After)", url, r.status,
                wait.count());
      m_waited += wait;
      util::sleep_unless_stopped(wait);
      util::throw_if_stopped();
      continue;
    }
    m_not_before = util::Clock::now() + wait;
    return r;
  }
}

Problem Client::refusal(const std::string& url, const http::Response& r, const std::string& message,
                        std::string type) const {
  const bool asked_to_wait = (r.status == 429 || r.status == 503) && m_last_retry_after &&
                             m_not_before && util::Clock::now() < *m_not_before;
  std::string text = message;
  if (asked_to_wait)
    text += fmt::format("; the CA asks to retry after {} UTC", util::utc_text(*m_not_before));
  return Problem(url, text, std::move(type), r.status, asked_to_wait ? m_not_before : std::nullopt);
}

const Directory& Client::directory() {
  if (m_directory) return *m_directory;
  const http::Response r = exchange(
      m_directory_url, [&] { return m_http.get(m_directory_url, http::k_max_json_bytes); });
  if (r.status != 200)
    throw refusal(m_directory_url, r,
                  fmt::format("cannot read the ACME directory: HTTP {}", r.status));
  const auto doc = detail::parse_object(r.body, m_directory_url);
  Directory d{.url = m_directory_url};
  d.new_nonce = checked_url(detail::required_string(doc, "newNonce", m_directory_url));
  d.new_account = checked_url(detail::required_string(doc, "newAccount", m_directory_url));
  d.new_order = checked_url(detail::required_string(doc, "newOrder", m_directory_url));
  d.revoke_cert = detail::optional_string(doc, "revokeCert", m_directory_url).value_or("");
  d.key_change = detail::optional_string(doc, "keyChange", m_directory_url).value_or("");
  if (const auto meta = doc.FindMember("meta"); meta != doc.MemberEnd() && meta->value.IsObject())
    d.terms_of_service =
        detail::optional_string(meta->value, "termsOfService", m_directory_url).value_or("");
  m_directory = std::move(d);
  return *m_directory;
}

void Client::remember_nonce(const http::Response& response) {
  const std::string nonce = response.header("replay-nonce");
  if (!nonce.empty() && nonce.size() <= k_max_nonce_bytes && util::is_base64url(nonce))
    m_nonce = nonce;
}

std::string Client::take_nonce() {
  if (m_nonce.empty()) {
    const std::string& url = directory().new_nonce;
    const http::Response r = exchange(url, [&] {
      http::Response answer = m_http.head(url);
      remember_nonce(answer);
      return answer;
    });
    if (m_nonce.empty())
      throw refusal(url, r, fmt::format("no valid Replay-Nonce (HTTP {})", r.status));
  }
  return std::exchange(m_nonce, std::string());
}

http::Response Client::post(const std::string& url, std::string_view payload,
                            std::size_t max_body) {
  for (int attempt = 0;; ++attempt) {
    http::Response r = exchange(url, [&] {
      const std::string body = m_signer.sign(url, take_nonce(), m_kid, payload);
      http::Response answer = m_http.post(url, body, "application/jose+json", max_body);
      remember_nonce(answer);
      return answer;
    });
    if (r.status < 400) return r;
    std::string problem;
    std::string type;
    if (r.header("content-type").starts_with("application/problem+json")) {
      rapidjson::Document doc;
      doc.Parse<rapidjson::kParseIterativeFlag>(r.body.data(), r.body.size());
      // A problem document is an object (RFC 7807 §3); FindMember on anything else is
      // undefined behaviour in RapidJSON (an assert, or a wild read with NDEBUG).
      if (!doc.HasParseError() && doc.IsObject()) {
        problem = detail::problem_text(doc);
        type = detail::optional_string(doc, "type", url).value_or("");
      }
    }
    // RFC 8555 §6.5: the badNonce answer carries the next nonce; retry with it at once.
    if (type == "urn:ietf:params:acme:error:badNonce" && attempt < k_max_bad_nonce_retries)
      continue;
    if (problem.empty()) problem = fmt::format("HTTP {}", r.status);
    constexpr std::string_view k_prefix = "urn:ietf:params:acme:error:";
    throw refusal(url, r, fmt::format("the CA refused the request: {}", problem),
                  type.starts_with(k_prefix) ? type.substr(k_prefix.size()) : std::string());
  }
}

std::string Client::register_account(const std::optional<std::string>& email) {
  std::string payload = R"({"termsOfServiceAgreed":true)";
  if (email) payload += fmt::format(R"(,"contact":[{}])", jose::json_string("mailto:" + *email));
  payload += "}";
  const std::string& url = directory().new_account;
  m_kid.reset(); // newAccount is signed with the JWK (RFC 8555 §6.2)
  const http::Response r = post(url, payload, http::k_max_json_bytes);
  const std::string location = r.header("location");
  if (location.empty()) throw util::Error({.url = url}, "the CA sent no account URL");
  m_kid = checked_url(location);
  detail::parse_object(r.body, url); // must be a JSON object even though we keep it as text
  return r.body;
}

void Client::set_account_url(std::string url) {
  check_url(url);
  m_kid = std::move(url);
}

std::optional<std::string> Client::find_account() {
  const std::string& url = directory().new_account;
  m_kid.reset();
  try {
    const http::Response r = post(url, R"({"onlyReturnExisting":true})", http::k_max_json_bytes);
    const std::string location = r.header("location");
    if (location.empty()) throw util::Error({.url = url}, "the CA sent no account URL");
    m_kid = checked_url(location);
    return m_kid;
  } catch (const Problem& e) {
    if (e.type() == "accountDoesNotExist") return std::nullopt;
    throw;
  }
}

namespace {
std::string contact_payload(const std::optional<std::string>& email) {
  return email ? fmt::format(R"({{"contact":[{}]}})", jose::json_string("mailto:" + *email))
               : std::string(R"({"contact":[]})");
}
} // namespace

std::string Client::update_account(const std::optional<std::string>& email) {
  if (!m_kid) throw util::Error({.url = m_directory_url}, "no account to update");
  const http::Response r = post(*m_kid, contact_payload(email), http::k_max_json_bytes);
  detail::parse_object(r.body, *m_kid);
  return r.body;
}

void Client::change_key(const jose::Signer& new_key) {
  const std::string& url = directory().key_change;
  if (url.empty()) throw util::Error({.url = m_directory_url}, "the CA offers no key change");
  if (!m_kid) throw util::Error({.url = m_directory_url}, "no account to change the key of");
  const std::string inner = new_key.sign(
      checked_url(url), "", std::nullopt,
      fmt::format(R"({{"account":{},"oldKey":{}}})", jose::json_string(*m_kid), m_signer.jwk()));
  const http::Response r = post(url, inner, http::k_max_json_bytes);
  if (r.status != 200)
    throw util::Error({.url = url}, fmt::format("unexpected HTTP {} to the key change", r.status));
}

Client::Revoked Client::revoke(std::string_view certificate_der, RevocationReason reason) {
  const std::string& url = directory().revoke_cert;
  if (url.empty()) throw util::Error({.url = m_directory_url}, "the CA offers no revocation");
  const std::string payload =
      fmt::format(R"({{"certificate":"{}","reason":{}}})", util::base64url_encode(certificate_der),
                  static_cast<int>(reason));
  http::Response r;
  try {
    r = post(checked_url(url), payload, http::k_max_json_bytes);
  } catch (const Problem& e) {
    if (e.type() == "alreadyRevoked") return Revoked::already;
    throw;
  }
  if (r.status != 200)
    throw util::Error({.url = url}, fmt::format("unexpected HTTP {} to the revocation", r.status));
  return Revoked::now;
}

const std::vector<ReasonName>& revocation_reasons() {
  static const std::vector<ReasonName> reasons{
      {"unspecified", RevocationReason::unspecified},
      {"keyCompromise", RevocationReason::key_compromise},
      {"cACompromise", RevocationReason::ca_compromise},
      {"affiliationChanged", RevocationReason::affiliation_changed},
      {"superseded", RevocationReason::superseded},
      {"cessationOfOperation", RevocationReason::cessation_of_operation},
      {"certificateHold", RevocationReason::certificate_hold},
      {"privilegeWithdrawn", RevocationReason::privilege_withdrawn},
      {"aACompromise", RevocationReason::aa_compromise},
  };
  return reasons;
}

std::string_view reason_name(RevocationReason reason) {
  for (const auto& r : revocation_reasons())
    if (r.reason == reason) return r.name;
  return "unspecified";
}

} // namespace certmgr::acme
