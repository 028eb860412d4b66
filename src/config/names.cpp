// config/names.cpp: DNS names, curve names, challenge directory templates, users and groups.
// Certificate and alt names become directory and symlink names in the data tree, so they are
// allowlisted here, where they enter.

#include "config/detail.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <grp.h>
#include <limits>
#include <pwd.h>

namespace certmgr::config::detail {
namespace {

/// RFC 1035 §2.3.4: a name of at most 253 characters (255 octets on the wire), labels of 63.
constexpr std::size_t k_max_name_bytes = 253;
constexpr std::size_t k_max_label_bytes = 63;
/// getpwnam_r/getgrnam_r buffers grow on ERANGE up to this size (huge groups list members).
constexpr std::size_t k_max_lookup_buffer_bytes = 1U << 20;

struct CurveName {
  std::string_view name;
  std::string_view canonical;
};

/// OpenSSL, RFC 4492 and NIST spellings of the three curves [B14].
constexpr CurveName k_curves[] = {
    {"secp256r1", "secp256r1"}, {"prime256v1", "secp256r1"}, {"P-256", "secp256r1"},
    {"secp384r1", "secp384r1"}, {"P-384", "secp384r1"},      {"secp521r1", "secp521r1"},
    {"P-521", "secp521r1"},
};

bool is_label(std::string_view label) {
  if (label.empty() || label.size() > k_max_label_bytes) return false;
  if (label.front() == '-' || label.back() == '-') return false;
  return std::ranges::all_of(
      label, [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'; });
}

bool is_space(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

/// A decimal user or group id; nullopt when `text` is not all digits.
std::optional<std::uint64_t> parse_id(std::string_view text) {
  if (text.empty() || !std::ranges::all_of(text, [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  std::uint64_t id = std::numeric_limits<std::uint64_t>::max();
  std::from_chars(text.data(), text.data() + text.size(), id);
  return id;
}

/// A user or group id by name (or number): Lookup is getpwnam_r or getgrnam_r.
template <class Entry, auto Lookup, class Id>
std::optional<Id> read_id(const Node& node, std::string_view what, Id Entry::*field) {
  const std::optional<std::string> name = read_optional_string(node);
  if (!name) return std::nullopt;
  if (const std::optional<std::uint64_t> id = parse_id(*name)) {
    // (Id)-1 means "unchanged" to chown(2): not a usable id.
    if (*id >= std::numeric_limits<Id>::max())
      node.fail(fmt::format("{} id {} is out of range", what, *name));
    return static_cast<Id>(*id);
  }
  std::vector<char> buffer(1024);
  for (;;) {
    Entry entry{};
    Entry* result = nullptr;
    const int rc = Lookup(name->c_str(), &entry, buffer.data(), buffer.size(), &result);
    if (rc == ERANGE && buffer.size() < k_max_lookup_buffer_bytes) {
      buffer.resize(buffer.size() * 2);
      continue;
    }
    if (rc != 0)
      node.fail(fmt::format("cannot look up {} {}: {}", what, quote(*name), std::strerror(rc)));
    if (result == nullptr) node.fail(fmt::format("unknown {} {}", what, quote(*name)));
    return entry.*field;
  }
}

} // namespace

std::string normalize_name(std::string_view name) {
  while (!name.empty() && is_space(name.front())) name.remove_prefix(1);
  while (!name.empty() && is_space(name.back())) name.remove_suffix(1);
  std::string lower(name);
  for (char& c : lower) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return lower;
}

bool is_dns_name(std::string_view name) {
  if (name.empty() || name.size() > k_max_name_bytes) return false;
  if (name.starts_with("*.")) name.remove_prefix(2);
  for (;;) {
    const std::size_t dot = name.find('.');
    if (!is_label(name.substr(0, dot))) return false;
    if (dot == std::string_view::npos) return true;
    name.remove_prefix(dot + 1);
  }
}

std::string checked_dns_name(const Node& node, std::string_view raw, std::string_view what) {
  std::string name = normalize_name(raw);
  if (!is_dns_name(name)) {
    node.fail(fmt::format("invalid {} {} (expected a DNS name such as \"www.example.org\")", what,
                          quote(raw)));
  }
  return name;
}

std::string read_curve(const Node& node) {
  const std::optional<std::string> name = read_optional_string(node);
  if (!name) return {};
  for (const CurveName& curve : k_curves) {
    if (curve.name == *name) return std::string(curve.canonical);
  }
  node.fail(fmt::format("unsupported curve {} (expected secp256r1, secp384r1 or secp521r1)",
                        quote(*name)));
}

std::optional<std::string> expand_template(std::string_view text, std::string_view fqdn) {
  constexpr std::string_view k_placeholder = "{fqdn}";
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const std::string_view rest = text.substr(i);
    if (rest.starts_with("{{") || rest.starts_with("}}")) {
      out += text[i++];
    } else if (rest.starts_with(k_placeholder)) {
      out += fqdn;
      i += k_placeholder.size() - 1;
    } else if (text[i] == '{' || text[i] == '}') {
      return std::nullopt;
    } else {
      out += text[i];
    }
  }
  return out;
}

std::string read_template(const Node& node) {
  std::string text = read_string(node);
  // B16: Python's str.format crashed at use on any other placeholder; refuse it at load.
  if (!expand_template(text, "")) {
    node.fail(fmt::format("invalid template {} (only {{fqdn}}, {{{{ and }}}} may use braces)",
                          quote(text)));
  }
  return text;
}

std::optional<uid_t> read_user(const Node& node) {
  return read_id<passwd, getpwnam_r>(node, "user", &passwd::pw_uid);
}

std::optional<gid_t> read_group(const Node& node) {
  return read_id<group, getgrnam_r>(node, "group", &group::gr_gid);
}

} // namespace certmgr::config::detail
