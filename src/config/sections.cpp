// config/sections.cpp: the `account` and `settings` sections (behaviour §2.3, §2.4), and the
// global auth that settings, `http_challenges` and the README aliases build together (§2.9).

#include "config/detail.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <unistd.h>

namespace certmgr::config::detail {
namespace {

struct LevelName {
  std::string_view name;
  LogLevel level;
};

// B1: "info" (the Python default) is an alias of verbose.
constexpr LevelName k_log_levels[] = {
    {"quiet", LogLevel::quiet},  {"normal", LogLevel::normal}, {"verbose", LogLevel::verbose},
    {"info", LogLevel::verbose}, {"debug", LogLevel::debug},
};

constexpr Range k_renewal_days{0, 3650};
/// <= 0 turns archiving off (§2.4); a century bounds the date arithmetic of pruning.
constexpr Range k_archive_days{-36500, 36500};
constexpr Range k_cert_poll_seconds{1, 86400};
constexpr Range k_http_timeout_seconds{1, 3600};
/// A cron run should not sleep longer than a day before starting.
constexpr Range k_run_delay_seconds{0, 86400};

} // namespace

bool is_control_or_space(char c) {
  const auto byte = static_cast<unsigned char>(c);
  return byte <= 0x20 || byte == 0x7f;
}

namespace {

bool is_email(std::string_view text) {
  const std::size_t at = text.find('@');
  if (at == 0 || at == std::string_view::npos || at + 1 == text.size()) return false;
  return text.find('@', at + 1) == std::string_view::npos &&
         std::ranges::none_of(text, is_control_or_space);
}

void read_email(const Node& node, Account& account) {
  account.email = read_optional_string(node);
  if (account.email && !is_email(*account.email)) {
    node.fail(fmt::format("invalid email address {} (expected exactly one \"@\" between a local "
                          "part and a domain, no spaces)",
                          quote(*account.email)));
  }
}

constexpr Key<Account> k_account_keys[] = {
    {"email", read_email},
    {"passphrase", [](const Node& n, Account& a) { a.passphrase = read_passphrase(n); }},
};

bool is_directory_url(std::string_view url) {
  if (std::ranges::any_of(url, is_control_or_space)) return false;
  if (url.starts_with("https://")) return url_host(url.substr(8)).has_value();
  if (!url.starts_with("http://")) return false;
  // Plain http only for a test CA on this machine: nothing crosses a network unprotected.
  const std::optional<std::string_view> host = url_host(url.substr(7));
  return host == "localhost" || host == "127.0.0.1" || host == "[::1]";
}

std::string read_directory_url(const Node& node) {
  std::string url = read_string(node);
  if (!is_directory_url(url)) {
    node.fail(fmt::format("invalid ACME directory URL {} (expected https://..., or http://... "
                          "on localhost, 127.0.0.1 or [::1])",
                          quote(url)));
  }
  return url;
}

std::optional<std::filesystem::path> read_ca_bundle(const Node& node) {
  std::optional<std::filesystem::path> path = read_optional_path(node);
  if (!path) return std::nullopt;
  std::error_code error;
  if (::access(path->c_str(), R_OK) != 0) {
    node.fail(
        fmt::format("cannot read CA bundle {}: {}", quote(path->string()), std::strerror(errno)));
  }
  if (!std::filesystem::is_regular_file(*path, error)) {
    node.fail(fmt::format("CA bundle {} is not a regular file", quote(path->string())));
  }
  return path;
}

LogLevel read_log_level(const Node& node) {
  if (node.json().IsNull()) return LogLevel::quiet; // §2.4: null is quiet
  const std::string name = read_string(node);
  for (const LevelName& level : k_log_levels) {
    if (level.name == name) return level.level;
  }
  node.fail(fmt::format("unknown log level {} (expected quiet, normal, verbose, info or debug)",
                        quote(name)));
}

/// settings as read; the delays and the global http keys are checked once all are known.
struct SettingsDraft {
  Settings settings{};
  Layer layer{};
  std::optional<Node> min_run_delay{};
  std::optional<Node> max_run_delay{};
  std::optional<Node> http_challenge_dir{};
  std::optional<Node> authorization_delay{};
  std::optional<Node> max_authorization_attempts{};
  std::optional<Node> max_ocsp_verify_attempts{};
  std::optional<Node> ocsp_verify_retry_delay{};
};

// clang-format off
constexpr Key<SettingsDraft> k_settings_keys[] = {
  {"data_dir", [](const Node& n, SettingsDraft& d) { d.settings.data_dir = read_path(n); }},
  {"log_file", [](const Node& n, SettingsDraft& d) {
     d.settings.log_file = read_optional_path(n); }},
  {"log_level", [](const Node& n, SettingsDraft& d) { d.settings.log_level = read_log_level(n); }},
  {"color_output", [](const Node& n, SettingsDraft& d) { d.settings.color_output = read_bool(n); }},
  {"lock_file", [](const Node& n, SettingsDraft& d) {
     d.settings.lock_file = read_optional_path(n); }},
  {"acme_directory_url", [](const Node& n, SettingsDraft& d) {
     d.settings.acme_directory_url = read_directory_url(n); }},
  {"ca_bundle", [](const Node& n, SettingsDraft& d) { d.settings.ca_bundle = read_ca_bundle(n); }},
  {"renewal_days", [](const Node& n, SettingsDraft& d) {
     d.settings.renewal_days = read_int(n, k_renewal_days); }},
  {"archive_days", [](const Node& n, SettingsDraft& d) {
     d.settings.archive_days = read_int(n, k_archive_days); }},
  {"cert_poll_time", [](const Node& n, SettingsDraft& d) {
     d.settings.cert_poll_time = read_seconds(n, k_cert_poll_seconds); }},
  {"http_timeout", [](const Node& n, SettingsDraft& d) {
     d.settings.http_timeout = read_seconds(n, k_http_timeout_seconds); }},
  {"min_run_delay", [](const Node& n, SettingsDraft& d) {
     d.settings.min_run_delay = read_seconds(n, k_run_delay_seconds);
     d.min_run_delay = n; }},
  {"max_run_delay", [](const Node& n, SettingsDraft& d) {
     d.settings.max_run_delay = read_seconds(n, k_run_delay_seconds);
     d.max_run_delay = n; }},
  // B8/B9: README keys, mapped onto the global http auth by global_auth().
  {"http_challenge_dir", [](const Node& n, SettingsDraft& d) { d.http_challenge_dir = n; }},
  {"authorization_delay", [](const Node& n, SettingsDraft& d) { d.authorization_delay = n; }},
  {"max_authorization_attempts", [](const Node& n, SettingsDraft& d) {
     d.max_authorization_attempts = n; }},
  // B9: README spellings of verify.ocsp_max_attempts and verify.ocsp_retry_delay.
  {"max_ocsp_verify_attempts", [](const Node& n, SettingsDraft& d) {
     d.max_ocsp_verify_attempts = n; }},
  {"ocsp_verify_retry_delay", [](const Node& n, SettingsDraft& d) {
     d.ocsp_verify_retry_delay = n; }},
};
// clang-format on

/// B18: equal bounds are a fixed delay; only min > max is wrong.
void check_run_delays(const SettingsDraft& draft) {
  const Settings& settings = draft.settings;
  if (settings.min_run_delay <= settings.max_run_delay) return;
  const Node& at = draft.min_run_delay ? *draft.min_run_delay : *draft.max_run_delay;
  at.fail(fmt::format("min_run_delay {} is greater than max_run_delay {}",
                      settings.min_run_delay.count(), settings.max_run_delay.count()));
}

/// settings.auth with the README keys and `http_challenges` merged in (behaviour §2.10 end):
/// any of them without settings.auth makes the global auth http.
AuthSpec global_auth(const SettingsDraft& draft, const Node* http_challenges) {
  std::vector<const Node*> given;
  for (const auto* node :
       {&draft.http_challenge_dir, &draft.authorization_delay, &draft.max_authorization_attempts}) {
    if (*node) given.push_back(&**node);
  }
  if (http_challenges != nullptr) given.push_back(http_challenges);
  AuthSpec auth = draft.layer.auth.value_or(AuthSpec{});
  if (given.empty()) return auth;
  if (!draft.layer.auth) auth.type = Auth::Type::http;
  if (auth.type != Auth::Type::http) {
    given.front()->fail(given.front()->key() + " needs an http auth, but settings.auth is not of "
                                               "type \"http\"");
  }
  if (const auto& node = draft.http_challenge_dir) {
    agree(auth.default_template, read_template(*node), *node, "settings.auth.challenge_dir");
  }
  if (const auto& node = draft.authorization_delay) {
    agree(auth.delay, read_seconds(*node, k_auth_delay_seconds), *node, "settings.auth.delay");
  }
  if (const auto& node = draft.max_authorization_attempts) {
    agree(auth.retry, read_int(*node, k_auth_retry), *node, "settings.auth.retry");
  }
  if (http_challenges != nullptr) {
    read_per_domain_dirs(*http_challenges, auth, "settings.auth.challenge_dir");
  }
  return auth;
}

} // namespace

Account read_account(const Node& node) {
  Account account;
  read_members<Account>(node, k_account_keys, account);
  return account;
}

Settings read_settings(const Node* settings, const Node* http_challenges, Inherited& inherited) {
  SettingsDraft draft;
  if (settings != nullptr) {
    read_members<SettingsDraft>(*settings, k_settings_keys, draft, [&draft](const Node& member) {
      return read_layer_key(member, draft.layer);
    });
  }
  check_run_delays(draft);
  inherited.auth = global_auth(draft, http_challenges);
  if (draft.max_ocsp_verify_attempts && !draft.max_ocsp_verify_attempts->json().IsNull())
    inherited.verify_defaults.ocsp_max_attempts =
        read_int(*draft.max_ocsp_verify_attempts, k_verify_ocsp_attempts);
  if (draft.ocsp_verify_retry_delay && !draft.ocsp_verify_retry_delay->json().IsNull())
    inherited.verify_defaults.ocsp_retry_delay =
        read_seconds(*draft.ocsp_verify_retry_delay, k_verify_ocsp_retry_seconds);
  inherited.layer = std::move(draft.layer);
  draft.settings.auth = finish_auth(inherited.auth);
  return draft.settings;
}

/// The host of the authority after "scheme://" (with brackets for IPv6); nullopt when the
/// authority holds credentials or a bad port.
std::optional<std::string_view> url_host(std::string_view rest) {
  const std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  if (authority.find('@') != std::string_view::npos) return std::nullopt;
  const std::size_t bracket = authority.starts_with('[') ? authority.find(']') : 0;
  if (bracket == std::string_view::npos) return std::nullopt;
  const std::size_t colon = authority.find(':', bracket);
  const std::string_view host = authority.substr(0, colon);
  if (host.empty()) return std::nullopt;
  if (colon == std::string_view::npos) return host;
  const std::string_view port = authority.substr(colon + 1);
  const bool digits = std::ranges::all_of(port, [](char c) { return c >= '0' && c <= '9'; });
  if (port.empty() || port.size() > 5 || !digits) return std::nullopt;
  return host;
}

} // namespace certmgr::config::detail
