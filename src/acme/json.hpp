// src/acme/json.hpp: type-checked reading of ACME JSON (private to acme). RapidJSON asserts on
// a wrong Get*(), so every access checks the type first; parsing is iterative so deep nesting
// cannot exhaust the stack.
#pragma once

#include <rapidjson/document.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace certmgr::acme::detail {

/// Parses `body` as a JSON object; throws util::Error naming `url` otherwise.
rapidjson::Document parse_object(std::string_view body, const std::string& url);
/// The string member `name`, or nullopt when absent; throws when present with another type.
std::optional<std::string> optional_string(const rapidjson::Value& object, const char* name,
                                           const std::string& url);
/// The string member `name`; throws when absent or not a string.
std::string required_string(const rapidjson::Value& object, const char* name,
                            const std::string& url);
/// The array of strings `name` (absent → empty); throws on other types.
std::vector<std::string> string_array(const rapidjson::Value& object, const char* name,
                                      const std::string& url);
/// "<type>: <detail>" of a problem document (RFC 7807), printable, or "" when `value` is not one.
std::string problem_text(const rapidjson::Value& value);

} // namespace certmgr::acme::detail
