// config/features.cpp: the keys of the OCSP, SCT and verify steps (behaviour §2.7, §2.11, with
// [B11], [B15], [B31], [B33], [B36] fixed): OCSP responder URLs, the ct_logs section and the
// certificates' ct_submit_logs, verify targets.

#include "config/detail.hpp"
#include <certmgr/util/base64url.hpp>
#include <certmgr/util/time.hpp>

#include <fmt/format.h>

#include <algorithm>

namespace certmgr::config::detail {
namespace {

constexpr std::size_t k_max_url_bytes = 2048;
constexpr std::size_t k_log_id_bytes = 32;
constexpr Range k_port{1, 65535};
constexpr std::string_view k_starttls[] = {"smtp", "imap", "pop3", "ftp", "xmpp", "sieve"};

std::string read_url(const Node& node) {
  const std::string url = read_string(node);
  const bool https = url.starts_with("https://");
  const bool ok = (https || url.starts_with("http://")) && url.size() <= k_max_url_bytes &&
                  std::ranges::none_of(url, is_control_or_space) &&
                  url_host(std::string_view(url).substr(https ? 8 : 7)).has_value();
  if (!ok)
    node.fail(fmt::format("invalid URL {} (expected http://... or https://...)", quote(url)));
  return url;
}

std::string read_base64(const Node& node, std::string_view what) {
  const std::string text = read_nonempty_string(node);
  auto bytes = util::base64_decode(text);
  if (!bytes || bytes->empty()) node.fail(fmt::format("{} {} is not base64", what, quote(text)));
  return *bytes;
}

util::Clock::time_point read_time(const Node& node) {
  const std::string text = read_string(node);
  const auto t = util::parse_rfc3339(text);
  if (!t)
    node.fail(fmt::format("invalid time {} (expected e.g. \"2026-01-01T00:00:00Z\")", quote(text)));
  return *t;
}

struct ShardDraft {
  std::optional<std::string> url{};
  std::optional<std::string> log_id{};
  std::optional<std::string> key{};
  std::optional<util::Clock::time_point> start{};
  std::optional<util::Clock::time_point> end{};
};

constexpr Key<ShardDraft> k_shard_keys[] = {
    {"url", [](const Node& n, ShardDraft& d) { d.url = read_url(n); }},
    {"log_id", [](const Node& n, ShardDraft& d) { d.log_id = read_base64(n, "log_id"); }},
    {"key", [](const Node& n, ShardDraft& d) { d.key = read_base64(n, "key"); }},
    {"start", [](const Node& n, ShardDraft& d) { d.start = read_time(n); }},
    {"end", [](const Node& n, ShardDraft& d) { d.end = read_time(n); }},
};

CtLogShard read_shard(const Node& node) {
  if (!node.json().IsObject()) node.fail_type("an object with url, log_id and key");
  ShardDraft d;
  read_members<ShardDraft>(node, k_shard_keys, d);
  // [B15]: the {url, id} shape of the old documentation is refused here, not at first use.
  for (const auto& [present, name] :
       {std::pair{d.url.has_value(), "url"}, std::pair{d.log_id.has_value(), "log_id"},
        std::pair{d.key.has_value(), "key"}})
    if (!present) node.fail(fmt::format("missing {} (a CT log needs url, log_id and key)", name));
  if (d.log_id->size() != k_log_id_bytes)
    node.fail(fmt::format("log_id is {} bytes, expected {}", d.log_id->size(), k_log_id_bytes));
  CtLogShard shard{.url = *d.url, .log_id = *d.log_id, .public_key_der = *d.key};
  // [B31]: each bound read from its own key; the defaults of the Python tool.
  shard.start = d.start.value_or(*util::parse_rfc3339("2000-01-01T00:00:00Z"));
  // 2999 as in the Python tool does not fit the clock (nanoseconds until 2262): 2200.
  shard.end = d.end.value_or(*util::parse_rfc3339("2200-01-01T00:00:00Z"));
  if (shard.end <= shard.start) node.fail("end is not after start");
  return shard;
}

bool host_matches(std::string_view host, std::string_view name) {
  if (host == name) return true;
  // one-label wildcard in either direction (§2.11): *.a.b ↔ x.a.b
  const auto wild = [](std::string_view w, std::string_view plain) {
    if (!w.starts_with("*.")) return false;
    const std::size_t dot = plain.find('.');
    return dot != std::string_view::npos && plain.substr(dot) == w.substr(1);
  };
  return wild(host, name) || wild(name, host);
}

VerifyTarget read_target(const Node& node, const Certificate& certificate, bool own, bool& keep) {
  keep = true;
  VerifyTarget target;
  if (node.json().IsInt()) {
    target.port = read_int(node, k_port);
    return target;
  }
  if (node.json().IsString()) {
    const std::string text = read_string(node);
    const bool digits = !text.empty() && text.size() <= 5 &&
                        std::ranges::all_of(text, [](char c) { return c >= '0' && c <= '9'; });
    if (!digits || std::stoi(text) < 1 || std::stoi(text) > 65535)
      node.fail(fmt::format("invalid port {} (expected 1..65535)", quote(text)));
    target.port = std::stoi(text);
    return target;
  }
  if (!node.json().IsObject()) node.fail_type("a port number or an object with \"port\"");
  bool has_port = false;
  for (const Node& member : node.members()) {
    const std::string& key = member.key();
    if (key == "port") {
      target.port = read_int(member, k_port);
      has_port = true;
    } else if (key == "hosts") {
      for (const Node& h : read_string_list(member, "a host name or a list of them")) {
        const std::string host = checked_dns_name(h, read_string(h), "host");
        const bool known = std::ranges::any_of(
            certificate.alt_names, [&](const std::string& n) { return host_matches(host, n); });
        if (!known && own)
          h.fail(fmt::format("host {} is not a name of certificate {}", quote(host),
                             quote(certificate.name)));
        if (known) target.hosts.push_back(host);
      }
      keep = !target.hosts.empty(); // an inherited target naming none of our hosts
    } else if (key == "starttls") {
      const std::string value = normalize_name(read_string(member));
      if (std::ranges::find(k_starttls, value) == std::end(k_starttls))
        member.fail(fmt::format("unsupported starttls {} (expected smtp, imap, pop3, ftp, xmpp "
                                "or sieve)",
                                quote(value)));
      target.starttls = value;
    } else if (key == "key_types") {
      for (const Node& k : read_string_list(member, "a key type or a list of them")) {
        const std::string name = read_string(k);
        const auto kt = util::parse_key_type(name);
        if (!kt)
          k.fail(fmt::format("unknown key type {} (expected \"rsa\" or \"ecdsa\")", quote(name)));
        if (std::ranges::find(target.key_types, *kt) == target.key_types.end())
          target.key_types.push_back(*kt);
      }
    } else {
      member.fail("unknown key " + quote(key));
    }
  }
  if (!has_port) node.fail("missing port");
  return target;
}

} // namespace

std::vector<std::string> read_url_list(const Node& node) {
  if (node.json().IsNull()) return {};
  std::vector<std::string> urls;
  for (const Node& element : read_string_list(node, "a URL or a list of URLs"))
    urls.push_back(read_url(element));
  return urls;
}

CtLogTable read_ct_logs(const Node& node) {
  CtLogTable table;
  for (const Node& log : node.members()) {
    std::vector<CtLogShard> shards;
    if (log.json().IsArray()) {
      for (const Node& shard : log.elements()) shards.push_back(read_shard(shard));
      if (shards.empty()) log.fail("no shards");
    } else {
      shards.push_back(read_shard(log));
    }
    const std::string& name = log.key();
    const bool plain = !name.empty() && name.size() <= 64 && std::ranges::all_of(name, [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
             c == '_' || c == '-' || c == '.';
    }) && !name.starts_with('.');
    // The name becomes the file name scts/<name>.sct.
    if (!plain)
      log.fail(fmt::format("invalid CT log name {} (letters, digits, '_', '-', '.')", quote(name)));
    table.emplace(name, std::move(shards));
  }
  return table;
}

std::vector<std::string> read_ct_submit_logs(const Node& node, const CtLogTable& logs) {
  if (node.json().IsNull()) return {};
  std::vector<std::string> names;
  for (const Node& element : read_string_list(node, "a CT log name or a list of them")) {
    const std::string name = read_string(element);
    if (!logs.contains(name))
      element.fail(fmt::format("unknown CT log {} (not in ct_logs)", quote(name)));
    if (std::ranges::find(names, name) == names.end()) names.push_back(name);
  }
  return names;
}

Verify read_verify(const Node& node, const Certificate& certificate, bool own,
                   const Verify& defaults) {
  Verify verify{.ocsp_max_attempts = defaults.ocsp_max_attempts,
                .ocsp_retry_delay = defaults.ocsp_retry_delay};
  if (node.json().IsNull()) return verify;
  const Node* targets = &node;
  std::optional<Node> list;
  if (node.json().IsObject()) {
    for (const Node& member : node.members()) {
      if (member.key() == "targets") {
        list = member;
      } else if (member.key() == "ocsp_max_attempts") {
        verify.ocsp_max_attempts = read_int(member, k_verify_ocsp_attempts);
      } else if (member.key() == "ocsp_retry_delay") {
        verify.ocsp_retry_delay = read_seconds(member, k_verify_ocsp_retry_seconds);
      } else {
        member.fail("unknown key " + quote(member.key()));
      }
    }
    if (!list) return verify;
    targets = &*list;
  }
  if (!targets->json().IsArray()) targets->fail_type("a list of verify targets");
  for (const Node& element : targets->elements()) {
    bool keep = true;
    VerifyTarget target = read_target(element, certificate, own, keep);
    if (keep) verify.targets.push_back(std::move(target));
  }
  return verify;
}

} // namespace certmgr::config::detail
