// certmgr/util/text.hpp: locale-free ASCII text helpers (DNS names and header names are ASCII;
// std::tolower depends on the locale).
#pragma once

#include <algorithm>
#include <string>

namespace certmgr::util {

/// `text` with A-Z mapped to a-z; every other byte unchanged.
[[nodiscard]] inline std::string ascii_lower(std::string text) {
  std::ranges::transform(text, text.begin(), [](char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
  });
  return text;
}

} // namespace certmgr::util
