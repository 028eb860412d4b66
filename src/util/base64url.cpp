#include <certmgr/util/base64url.hpp>

#include <algorithm>
#include <array>
#include <cstdint>

namespace certmgr::util {
namespace {
constexpr std::string_view k_alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

constexpr int value_of(char c) noexcept {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}
} // namespace

std::string base64url_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::uint32_t acc = 0;
  int bits = 0;
  for (const char c : bytes) {
    acc = (acc << 8) | static_cast<unsigned char>(c);
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += k_alphabet[(acc >> bits) & 0x3f];
    }
  }
  if (bits > 0) out += k_alphabet[(acc << (6 - bits)) & 0x3f];
  return out;
}

bool is_base64url(std::string_view text) noexcept {
  return !text.empty() && std::ranges::all_of(text, [](char c) { return value_of(c) >= 0; });
}

bool is_acme_token(std::string_view token) noexcept {
  return token.size() >= 22 && token.size() <= 255 && is_base64url(token);
}

std::optional<std::string> base64url_decode(std::string_view text) {
  // A length of 1 modulo 4 cannot come from any byte string.
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (const char c : text) {
    const int v = value_of(c);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  std::string url(text);
  const std::size_t pad = url.find('=');
  if (pad != std::string::npos) {
    // at most two '=', only at the end, and only where the length needs them
    if (url.size() % 4 != 0 || url.size() - pad > 2 ||
        url.find_first_not_of('=', pad) != std::string::npos)
      return std::nullopt;
    url.erase(pad);
  }
  for (char& c : url) {
    if (c == '-' || c == '_') return std::nullopt;
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  return base64url_decode(url);
}

} // namespace certmgr::util
