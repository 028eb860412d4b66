// config/json.cpp: strict JSON parsing, JSON pointers, and the quoting of values in messages.

#include "config/detail.hpp"
#include <certmgr/util/error.hpp>

#include <fmt/format.h>
#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cstddef>
#include <limits>
#include <unordered_set>

namespace certmgr::config::detail {
namespace {

/// Long values are cut in messages: the line must stay readable.
constexpr std::size_t k_max_quoted_bytes = 96;
constexpr std::size_t k_no_parent = std::numeric_limits<std::size_t>::max();

/// Appends `text` with control characters (C0, DEL and UTF-8 encoded C1) as \u00XX, so that a
/// message stays one line and cannot drive the terminal; characters in `special` get a
/// backslash.
void append_escaped(std::string& out, std::string_view text, std::string_view special) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    const auto next = i + 1 < text.size() ? static_cast<unsigned char>(text[i + 1]) : 0U;
    if (byte < 0x20 || byte == 0x7f) {
      out += fmt::format("\\u{:04x}", byte);
    } else if (byte == 0xc2 && next >= 0x80 && next <= 0x9f) {
      out += fmt::format("\\u{:04x}", next);
      ++i;
    } else {
      if (special.find(text[i]) != std::string_view::npos) out += '\\';
      out += text[i];
    }
  }
}

/// RFC 6901 §3: "~" and "/" inside a reference token are written "~0" and "~1".
std::string pointer_token(std::string_view key) {
  std::string token;
  for (const char c : key) {
    if (c == '~')
      token += "~0";
    else if (c == '/')
      token += "~1";
    else
      token += c;
  }
  std::string out;
  append_escaped(out, token, "");
  return out;
}

std::string_view string_of(const rapidjson::Value& json) {
  return {json.GetString(), json.GetStringLength()};
}

bool is_container(const rapidjson::Value& json) { return json.IsObject() || json.IsArray(); }

[[noreturn]] void throw_syntax_error(const Source& source, std::string_view text,
                                     std::size_t offset, rapidjson::ParseErrorCode code) {
  const std::string_view before = text.substr(0, std::min(offset, text.size()));
  const std::size_t line =
      1 + static_cast<std::size_t>(std::count(before.begin(), before.end(), '\n'));
  const std::size_t line_start = before.rfind('\n');
  const std::size_t column = offset - (line_start == std::string_view::npos ? 0 : line_start + 1);
  throw util::Error(
      {.file = source.file},
      fmt::format("line {} column {}: {}", line, column + 1, rapidjson::GetParseError_En(code)),
      util::ErrorKind::config);
}

/// RapidJSON keeps duplicate keys silently, and readers would see only one of them. Walks the
/// containers breadth-first with an explicit list (no recursion: nesting depth is unbounded);
/// each entry knows its parent, so a pointer is built only for the error.
void reject_duplicate_keys(const Source& source, const rapidjson::Value& root) {
  struct Container {
    const rapidjson::Value* json;
    std::size_t parent;
    std::string token;
  };
  std::vector<Container> todo{{&root, k_no_parent, {}}};
  const auto pointer_of = [&todo](std::size_t index) {
    std::string pointer;
    for (; todo[index].parent != k_no_parent; index = todo[index].parent) {
      pointer.insert(0, "/" + pointer_token(todo[index].token));
    }
    return pointer;
  };
  for (std::size_t i = 0; i < todo.size(); ++i) {
    const rapidjson::Value& json = *todo[i].json;
    if (json.IsArray()) {
      for (rapidjson::SizeType n = 0; n < json.Size(); ++n) {
        if (is_container(json[n])) todo.push_back({&json[n], i, std::to_string(n)});
      }
      continue;
    }
    if (!json.IsObject()) continue;
    std::unordered_set<std::string_view> seen;
    for (auto member = json.MemberBegin(); member != json.MemberEnd(); ++member) {
      const std::string_view key = string_of(member->name);
      if (!seen.insert(key).second) {
        throw util::config_error(source.file, pointer_of(i) + "/" + pointer_token(key),
                                 "duplicate key " + quote(key));
      }
      if (is_container(member->value)) todo.push_back({&member->value, i, std::string(key)});
    }
  }
}

} // namespace

Node::Node(const Source& source, const rapidjson::Value& json, std::string pointer, std::string key)
    : m_source(&source), m_json(&json), m_pointer(std::move(pointer)), m_key(std::move(key)) {}

std::vector<Node> Node::members() const {
  if (!m_json->IsObject()) fail_type("an object");
  std::vector<Node> members;
  members.reserve(m_json->MemberCount());
  for (auto member = m_json->MemberBegin(); member != m_json->MemberEnd(); ++member) {
    std::string key(string_of(member->name));
    members.emplace_back(*m_source, member->value, m_pointer + "/" + pointer_token(key),
                         std::move(key));
  }
  return members;
}

std::vector<Node> Node::elements() const {
  if (!m_json->IsArray()) fail_type("an array");
  std::vector<Node> elements;
  elements.reserve(m_json->Size());
  for (rapidjson::SizeType i = 0; i < m_json->Size(); ++i) {
    std::string index = std::to_string(i);
    elements.emplace_back(*m_source, (*m_json)[i], m_pointer + "/" + index, index);
  }
  return elements;
}

void Node::fail(std::string_view message) const {
  throw util::config_error(m_source->file, m_pointer, std::string(message));
}

void Node::fail_type(std::string_view expected) const {
  fail(fmt::format("expected {}, got {}", expected, describe(*m_json)));
}

rapidjson::Document parse_document(const Source& source, std::string_view text) {
  // Iterative: deep nesting cannot exhaust the stack. Validated: quoted values stay UTF-8.
  constexpr unsigned k_flags =
      rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag;
  rapidjson::Document document;
  document.Parse<k_flags>(text.empty() ? "" : text.data(), text.size());
  if (document.HasParseError()) {
    throw_syntax_error(source, text, document.GetErrorOffset(), document.GetParseError());
  }
  reject_duplicate_keys(source, document);
  return document;
}

std::string quote(std::string_view text) {
  std::size_t length = std::min(text.size(), k_max_quoted_bytes);
  // Never cut inside a UTF-8 sequence: back off over continuation bytes.
  while (length < text.size() && length > 0 &&
         (static_cast<unsigned char>(text[length]) & 0xc0) == 0x80) {
    --length;
  }
  std::string out = "\"";
  append_escaped(out, text.substr(0, length), "\"\\");
  out += '"';
  if (length < text.size()) out += "...";
  return out;
}

std::string describe(const rapidjson::Value& value) {
  if (value.IsString()) return quote(string_of(value));
  if (value.IsObject()) return "an object";
  if (value.IsArray()) return "an array";
  // A scalar: RapidJSON's writer prints numbers as JSON does (3.0 stays 3.0); no recursion.
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  value.Accept(writer);
  return {buffer.GetString(), buffer.GetSize()};
}

} // namespace certmgr::config::detail
