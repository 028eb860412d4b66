#include "detail.hpp"
#include <certmgr/crypto.hpp>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/objects.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <string>
#include <vector>

namespace certmgr::crypto {
namespace {

struct CurveAlias {
  std::string_view canonical;
  std::string_view openssl; // OpenSSL's short name (the one its encoders and decoders report)
  std::string_view nist;
};

constexpr std::array k_curves{
    CurveAlias{"secp256r1", "prime256v1", "P-256"},
    CurveAlias{"secp384r1", "secp384r1", "P-384"},
    CurveAlias{"secp521r1", "secp521r1", "P-521"},
};

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  return std::ranges::equal(a, b, [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) ==
           std::tolower(static_cast<unsigned char>(y));
  });
}

const CurveAlias* find_alias(std::string_view name) {
  for (const auto& alias : k_curves)
    if (name == alias.canonical || name == alias.openssl || equals_ignoring_case(name, alias.nist))
      return &alias;
  return nullptr;
}

// Short names such as "brainpoolP256r1" count only when they name one of OpenSSL's built-in
// curves, not any other object ("sha256" has a short name too).
bool is_builtin_curve(std::string_view name) {
  const int nid = OBJ_sn2nid(std::string(name).c_str());
  if (nid == NID_undef) return false;
  std::vector<EC_builtin_curve> curves(EC_get_builtin_curves(nullptr, 0));
  EC_get_builtin_curves(curves.data(), curves.size());
  return std::ranges::any_of(curves, [nid](const EC_builtin_curve& c) { return c.nid == nid; });
}

} // namespace

std::string canonical_curve(std::string_view name) {
  const CurveAlias* alias = find_alias(name);
  return alias != nullptr ? std::string(alias->canonical) : std::string();
}

bool is_known_curve(std::string_view name) {
  return find_alias(name) != nullptr || is_builtin_curve(name);
}

namespace detail {

std::string openssl_curve_name(std::string_view name) {
  if (const CurveAlias* alias = find_alias(name)) return std::string(alias->openssl);
  return is_builtin_curve(name) ? std::string(name) : std::string();
}

std::string curve_of(const EVP_PKEY* pkey) {
  std::array<char, 80> buffer{};
  std::size_t size = 0;
  if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, buffer.data(), buffer.size(),
                                     &size) != 1) {
    ERR_clear_error(); // explicit (unnamed) curve parameters: reported as "" to the caller
    return {};
  }
  const std::string name(buffer.data(), size);
  const std::string canonical = canonical_curve(name);
  return canonical.empty() ? name : canonical;
}

} // namespace detail
} // namespace certmgr::crypto
