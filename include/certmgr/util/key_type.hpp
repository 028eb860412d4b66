// certmgr/util/key_type.hpp: the two key types certmgr maintains side by side. Shared by config,
// crypto and store, which must not depend on each other.
#pragma once

#include <optional>
#include <string_view>

namespace certmgr::util {

enum class KeyType { rsa, ecdsa };

/// "rsa" or "ecdsa": the directory name in the tree and the config spelling.
[[nodiscard]] constexpr std::string_view key_type_name(KeyType type) noexcept {
  return type == KeyType::rsa ? "rsa" : "ecdsa";
}

/// Inverse of key_type_name; nullopt for anything else (case-sensitive).
[[nodiscard]] constexpr std::optional<KeyType> parse_key_type(std::string_view name) noexcept {
  if (name == "rsa") return KeyType::rsa;
  if (name == "ecdsa") return KeyType::ecdsa;
  return std::nullopt;
}

} // namespace certmgr::util
