// config/values.cpp: one reader per JSON value type. Types are strict [B10]: "30" is not an
// integer and 1 is not a boolean; nothing is converted or replaced by a guess.

#include "config/detail.hpp"
#include <certmgr/util/passphrase.hpp>

#include <fmt/format.h>

namespace certmgr::config::detail {
namespace {

std::string expected_range(Range range) {
  return range.zero ? fmt::format("0 or {}..{}", range.min, range.max)
                    : fmt::format("{}..{}", range.min, range.max);
}

bool in_range(const rapidjson::Value& json, Range range) {
  if (!json.IsInt64()) return false; // an integer beyond int64: out of every range
  const std::int64_t value = json.GetInt64();
  return (range.zero && value == 0) || (value >= range.min && value <= range.max);
}

} // namespace

bool read_bool(const Node& node) {
  if (!node.json().IsBool()) node.fail_type("true or false");
  return node.json().GetBool();
}

int read_int(const Node& node, Range range) {
  const rapidjson::Value& json = node.json();
  // A fraction (3.5, and 30.0 too) is a double to RapidJSON: refused like a string.
  if (!json.IsInt64() && !json.IsUint64()) node.fail_type("an integer");
  if (!in_range(json, range)) {
    node.fail(
        fmt::format("{} is out of range (expected {})", describe(json), expected_range(range)));
  }
  // Every Range of the module lies within int.
  return static_cast<int>(json.GetInt64());
}

int read_size(const Node& node, Range range) {
  if (node.json().IsNull()) return 0;
  return read_int(node, range);
}

std::chrono::seconds read_seconds(const Node& node, Range range) {
  return std::chrono::seconds{read_int(node, range)};
}

std::string read_string(const Node& node) {
  if (!node.json().IsString()) node.fail_type("a string");
  std::string text(node.json().GetString(), node.json().GetStringLength());
  // A NUL would silently cut a path or name handed to the C library.
  if (text.find('\0') != std::string::npos) node.fail(quote(text) + " contains a NUL character");
  return text;
}

std::string read_nonempty_string(const Node& node) {
  std::string text = read_string(node);
  if (text.empty()) node.fail_type("a non-empty string");
  return text;
}

std::optional<std::string> read_optional_string(const Node& node) {
  if (node.json().IsNull()) return std::nullopt;
  if (!node.json().IsString()) node.fail_type("a string or null");
  std::string text = read_string(node);
  if (text.empty()) return std::nullopt;
  return text;
}

std::filesystem::path read_path(const Node& node) {
  return node.source().dir / read_nonempty_string(node);
}

std::optional<std::filesystem::path> read_optional_path(const Node& node) {
  const std::optional<std::string> text = read_optional_string(node);
  if (!text) return std::nullopt;
  return node.source().dir / *text;
}

std::vector<Node> read_string_list(const Node& node, std::string_view expected) {
  if (node.json().IsString()) return {node};
  if (!node.json().IsArray()) node.fail_type(expected);
  std::vector<Node> elements = node.elements();
  for (const Node& element : elements) {
    if (!element.json().IsString()) element.fail_type("a string");
  }
  return elements;
}

void require_off(const Node& node, Off off) {
  const rapidjson::Value& json = node.json();
  const bool is_off = json.IsNull() || (off == Off::null_or_false && json.IsFalse()) ||
                      (off == Off::empty_array && json.IsArray() && json.Empty()) ||
                      (off == Off::empty_object && json.IsObject() && json.ObjectEmpty());
  if (!is_off) node.fail(node.key() + " is not supported by this version of certmgr");
}

} // namespace certmgr::config::detail

namespace certmgr::config::detail {

Passphrase read_passphrase(const Node& node) {
  const rapidjson::Value& json = node.json();
  if (json.IsNull() || json.IsFalse()) return {};
  if (json.IsTrue()) return {.kind = Passphrase::Kind::runtime};
  // A wrong value is described by its type only: it may be a secret.
  if (!json.IsString()) node.fail("expected a string, true, false or null");
  if (json.GetStringLength() == 0)
    node.fail("an empty passphrase (use false or null for keys in clear)");
  if (json.GetStringLength() > util::k_max_passphrase_bytes)
    node.fail(fmt::format("the passphrase is longer than {} bytes", util::k_max_passphrase_bytes));
  return {.kind = Passphrase::Kind::literal,
          .literal = util::Secret(std::string_view(json.GetString(), json.GetStringLength()))};
}

} // namespace certmgr::config::detail
