// certmgr/util/base64url.hpp: RFC 4648 §5 base64url without padding (JOSE, ACME tokens) and
// standard base64 (PEM bodies).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace certmgr::util {

/// base64url of `bytes`, no '=' padding (RFC 7515 §2).
[[nodiscard]] std::string base64url_encode(std::string_view bytes);
/// Inverse of base64url_encode; nullopt for any character outside [A-Za-z0-9_-], padding, or an
/// impossible length.
[[nodiscard]] std::optional<std::string> base64url_decode(std::string_view text);
/// Standard base64 (RFC 4648 §4, '+' '/' and '=' padding, as CT log keys and IDs are written);
/// nullopt for anything else.
[[nodiscard]] std::optional<std::string> base64_decode(std::string_view text);
/// True when `text` is non-empty and consists only of [A-Za-z0-9_-] (ASCII, locale-free).
[[nodiscard]] bool is_base64url(std::string_view text) noexcept;
/// RFC 8555 §8.3: an ACME challenge token is base64url of at least 128 bits (22 characters); we
/// accept at most 255 characters, since it becomes a file name.
[[nodiscard]] bool is_acme_token(std::string_view token) noexcept;

} // namespace certmgr::util
