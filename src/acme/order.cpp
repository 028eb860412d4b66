#include "json.hpp"
#include <certmgr/acme.hpp>
#include <certmgr/log.hpp>
#include <certmgr/util/base64url.hpp>
#include <certmgr/util/error.hpp>
#include <certmgr/util/stop.hpp>
#include <certmgr/util/text.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <thread>

namespace certmgr::acme {
namespace {
std::string problem_member(const rapidjson::Value& object) {
  const auto it = object.FindMember("error");
  return it == object.MemberEnd() ? std::string() : detail::problem_text(it->value);
}

Order parse_order(const std::string& body, const std::string& url) {
  const auto doc = detail::parse_object(body, url);
  Order order{.url = url};
  order.status = detail::required_string(doc, "status", url);
  order.authorizations = detail::string_array(doc, "authorizations", url);
  order.finalize = detail::required_string(doc, "finalize", url);
  order.certificate = detail::optional_string(doc, "certificate", url).value_or("");
  order.error = problem_member(doc);
  return order;
}

std::vector<Challenge> parse_challenges(const rapidjson::Value& doc, const std::string& url) {
  std::vector<Challenge> out;
  const auto it = doc.FindMember("challenges");
  if (it == doc.MemberEnd() || !it->value.IsArray())
    throw util::Error({.url = url}, "the authorization has no challenge list");
  for (const auto& item : it->value.GetArray()) {
    if (!item.IsObject()) throw util::Error({.url = url}, "a challenge is not a JSON object");
    out.push_back({.type = detail::required_string(item, "type", url),
                   .url = detail::required_string(item, "url", url),
                   .token = detail::optional_string(item, "token", url).value_or(""),
                   .status = detail::required_string(item, "status", url)});
  }
  return out;
}

std::string challenge_error(const rapidjson::Value& doc) {
  const auto it = doc.FindMember("challenges");
  if (it == doc.MemberEnd() || !it->value.IsArray()) return "";
  for (const auto& item : it->value.GetArray()) {
    if (!item.IsObject()) continue;
    if (std::string text = problem_member(item); !text.empty()) return text;
  }
  return "";
}

/// Sleeps before the next poll: the CA's Retry-After when it sent one, else `delay`; throws
/// when that would pass the deadline.
void wait_before_poll(std::chrono::milliseconds delay, std::optional<std::chrono::seconds> asked,
                      std::chrono::steady_clock::time_point deadline, const std::string& url) {
  const std::chrono::milliseconds wait = asked ? std::chrono::milliseconds(*asked) : delay;
  if (std::chrono::steady_clock::now() + wait > deadline)
    throw util::Error({.url = url},
                      fmt::format("still not done after the polling deadline "
                                  "(next poll asked in {} s)",
                                  std::chrono::ceil<std::chrono::seconds>(wait).count()));
  util::sleep_unless_stopped(wait);
}

template <class Get, class Done>
auto poll(Client& client, const std::string& url, const PollLimits& limits, Get get, Done done) {
  const auto deadline = std::chrono::steady_clock::now() + limits.deadline;
  std::chrono::milliseconds delay = limits.first_delay;
  std::string last_status;
  int polls_in_status = 0;
  for (;;) {
    auto value = get(client, url);
    if (done(value)) return value;
    // style.md §9: a status change is progress, so it resets the attempt count.
    polls_in_status = value.status == last_status ? polls_in_status + 1 : 1;
    last_status = value.status;
    if (polls_in_status >= limits.max_polls)
      throw util::Error({.url = url},
                        fmt::format("still {} after {} polls", value.status, polls_in_status));
    wait_before_poll(delay, client.last_retry_after(), deadline, url);
    delay = std::min<std::chrono::milliseconds>(delay * 2, limits.max_delay);
  }
}
} // namespace

Order Client::new_order(const std::vector<std::string>& names) {
  const std::string& url = directory().new_order;
  std::string payload = "{\"identifiers\":[";
  for (std::size_t i = 0; i < names.size(); ++i)
    payload +=
        fmt::format(R"({}{{"type":"dns","value":{}}})", i ? "," : "", jose::json_string(names[i]));
  payload += "]}";
  const http::Response r = post(url, payload, http::k_max_json_bytes);
  const std::string location = r.header("location");
  if (location.empty()) throw util::Error({.url = url}, "the CA sent no order URL");
  Order order = parse_order(r.body, checked_url(location));
  // One authorization per identifier (RFC 8555 §7.1.3): a longer list would make this run
  // fetch (and answer) without bound.
  const std::set<std::string> distinct(order.authorizations.begin(), order.authorizations.end());
  if (order.authorizations.size() > names.size() || distinct.size() < order.authorizations.size())
    throw util::Error({.url = order.url},
                      fmt::format("the CA lists {} authorizations ({} distinct) for {} "
                                  "identifier{}",
                                  order.authorizations.size(), distinct.size(), names.size(),
                                  names.size() == 1 ? "" : "s"));
  for (const auto& a : order.authorizations) check_url(a);
  check_url(order.finalize);
  return order;
}

Order Client::get_order(const std::string& url) {
  const http::Response r = post(checked_url(url), "", http::k_max_json_bytes);
  Order order = parse_order(r.body, url);
  order.retry_after = m_last_retry_after;
  check_url(order.finalize);
  if (!order.certificate.empty()) check_url(order.certificate);
  return order;
}

Authorization Client::get_authorization(const std::string& url) {
  const http::Response r = post(checked_url(url), "", http::k_max_json_bytes);
  const auto doc = detail::parse_object(r.body, url);
  Authorization authz{.url = url};
  authz.status = detail::required_string(doc, "status", url);
  authz.expires = detail::optional_string(doc, "expires", url).value_or("");
  const auto id = doc.FindMember("identifier");
  if (id == doc.MemberEnd() || !id->value.IsObject())
    throw util::Error({.url = url}, "the authorization has no identifier");
  authz.identifier = util::ascii_lower(detail::required_string(id->value, "value", url));
  // RFC 8555 §7.1.4: a wildcard's authorization names the base domain, with "wildcard": true.
  if (const auto wildcard = doc.FindMember("wildcard");
      wildcard != doc.MemberEnd() && wildcard->value.IsBool() && wildcard->value.GetBool())
    authz.identifier = "*." + authz.identifier;
  authz.challenges = parse_challenges(doc, url);
  for (const auto& c : authz.challenges) check_url(c.url);
  authz.error = challenge_error(doc);
  return authz;
}

void Client::answer(const Challenge& challenge) {
  post(checked_url(challenge.url), "{}", http::k_max_json_bytes);
}

Order Client::finalize(const Order& order, std::string_view csr_der) {
  const std::string payload = fmt::format(R"({{"csr":"{}"}})", util::base64url_encode(csr_der));
  const http::Response r = post(checked_url(order.finalize), payload, http::k_max_json_bytes);
  Order updated = parse_order(r.body, order.url);
  updated.retry_after = m_last_retry_after;
  if (!updated.certificate.empty()) check_url(updated.certificate);
  return updated;
}

std::string Client::download_certificate(const std::string& url) {
  return post(checked_url(url), "", http::k_max_chain_bytes).body;
}

Authorization poll_authorization(Client& client, const std::string& url, const PollLimits& limits) {
  return poll(
      client, url, limits, [](Client& c, const std::string& u) { return c.get_authorization(u); },
      [](const Authorization& a) { return a.status != "pending"; });
}

Order poll_order(Client& client, const std::string& url, const PollLimits& limits) {
  return poll(
      client, url, limits, [](Client& c, const std::string& u) { return c.get_order(u); },
      [](const Order& o) { return o.status != "pending" && o.status != "processing"; });
}

} // namespace certmgr::acme
