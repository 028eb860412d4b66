// config/auth.cpp: auth definitions (behaviour §2.10), their inheritance, and the lookup of a
// challenge directory.

#include "config/detail.hpp"

#include <fmt/format.h>

namespace certmgr::config {
namespace detail {
namespace {

Auth::Type read_type(const Node& node) {
  const std::string type = read_string(node);
  if (type == "http") return Auth::Type::http;
  if (type == "noop") return Auth::Type::noop;
  if (type == "dns" || type == "hook") {
    node.fail(fmt::format("auth type {} is not supported by this version of certmgr", quote(type)));
  }
  node.fail(fmt::format("unknown auth type {} (expected \"http\" or \"noop\")", quote(type)));
}

/// One {fqdn: directory} entry; the directory is used verbatim, never expanded (§2.10).
void read_domain_dir(const Node& member, AuthSpec& auth, std::string_view other) {
  std::string fqdn = checked_dns_name(member, member.key(), "domain");
  std::optional<std::string> dir;
  if (const auto found = auth.per_domain.find(fqdn); found != auth.per_domain.end()) {
    dir = found->second;
  }
  agree(dir, read_nonempty_string(member), member, other);
  auth.per_domain[std::move(fqdn)] = std::move(*dir);
}

/// A string is the default template; an object maps domains to directories, plus "default".
void read_challenge_dir(const Node& node, AuthSpec& auth) {
  if (node.json().IsString()) {
    auth.default_template = read_template(node);
    return;
  }
  if (!node.json().IsObject()) node.fail_type("a string or an object");
  for (const Node& member : node.members()) {
    if (member.key() == "default") {
      auth.default_template = read_template(member);
    } else {
      read_domain_dir(member, auth, "an earlier entry");
    }
  }
}

// "type" is read before the table, since it decides which table applies.
constexpr Key<AuthSpec> k_noop_keys[] = {
    {"type", [](const Node&, AuthSpec&) {}},
};

constexpr Key<AuthSpec> k_http_keys[] = {
    {"type", [](const Node&, AuthSpec&) {}},
    {"challenge_dir", read_challenge_dir},
    {"delay", [](const Node& n, AuthSpec& a) { a.delay = read_seconds(n, k_auth_delay_seconds); }},
    {"retry", [](const Node& n, AuthSpec& a) { a.retry = read_int(n, k_auth_retry); }},
};

} // namespace

AuthSpec read_auth(const Node& node) {
  const rapidjson::Value& json = node.json();
  if (json.IsNull()) return {};
  if (!json.IsObject()) node.fail_type("an object or null");
  if (json.ObjectEmpty()) return {};
  std::optional<Auth::Type> type;
  for (const Node& member : node.members()) {
    if (member.key() == "type") type = read_type(member);
  }
  if (!type) node.fail("missing auth type (expected \"type\": \"http\" or \"noop\")");
  AuthSpec auth{.type = *type};
  using Keys = std::span<const Key<AuthSpec>>;
  read_members(node, *type == Auth::Type::http ? Keys(k_http_keys) : Keys(k_noop_keys), auth);
  return auth;
}

void read_per_domain_dirs(const Node& node, AuthSpec& auth, std::string_view other) {
  for (const Node& member : node.members()) read_domain_dir(member, auth, other);
}

AuthSpec merge_auth(const AuthSpec& global, const AuthSpec& own) {
  if (global.type != Auth::Type::http || own.type != Auth::Type::http) return own;
  AuthSpec merged = global;
  for (const auto& [fqdn, dir] : own.per_domain) merged.per_domain[fqdn] = dir;
  // B46: a certificate without a default of its own keeps the inherited one.
  if (own.default_template) merged.default_template = own.default_template;
  if (own.delay) merged.delay = own.delay;
  if (own.retry) merged.retry = own.retry;
  return merged;
}

Auth finish_auth(const AuthSpec& spec) {
  Auth auth{.type = spec.type};
  if (spec.type != Auth::Type::http) return auth;
  auth.http.per_domain = spec.per_domain;
  auth.http.default_template = spec.default_template.value_or("");
  auth.http.delay = spec.delay.value_or(auth.http.delay);
  auth.http.retry = spec.retry.value_or(auth.http.retry);
  return auth;
}

} // namespace detail

std::optional<std::filesystem::path> challenge_dir(const HttpAuth& auth, std::string_view fqdn) {
  if (const auto found = auth.per_domain.find(std::string(fqdn)); found != auth.per_domain.end()) {
    return std::filesystem::path(found->second);
  }
  if (auth.default_template.empty()) return std::nullopt;
  // load() refused templates with other braces; one built by hand that has them yields no
  // directory rather than a guessed one.
  std::optional<std::string> dir = detail::expand_template(auth.default_template, fqdn);
  if (!dir) return std::nullopt;
  return std::filesystem::path(std::move(*dir));
}

} // namespace certmgr::config
