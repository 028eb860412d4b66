// src/ocsp/detail.hpp: helpers shared by the ocsp sources (not part of the public API).
#pragma once

#include <certmgr/ocsp.hpp>
#include <certmgr/util/handle.hpp>
#include <certmgr/util/text.hpp>

#include <openssl/ocsp.h>
#include <openssl/x509.h>

#include <memory>
#include <string>
#include <string_view>

namespace certmgr::ocsp::detail {

inline void free_cert_stack(STACK_OF(X509) * stack) noexcept { sk_X509_pop_free(stack, X509_free); }

using CertIdPtr = std::unique_ptr<OCSP_CERTID, util::FreeWith<OCSP_CERTID_free>>;

/// `text` cut to `max` bytes with every byte outside printable ASCII replaced by '?', for
/// messages that quote data from the network.
[[nodiscard]] inline std::string printable(std::string_view text, std::size_t max) {
  std::string out(text.substr(0, max));
  for (char& c : out)
    if (c < 0x20 || c > 0x7e) c = '?';
  if (text.size() > max) out += "...";
  return out;
}

/// True for "http://..." or "https://..." (scheme case-insensitive) of at most k_max_url_bytes
/// bytes, all printable ASCII without spaces, with something after the scheme.
[[nodiscard]] inline bool is_http_url(std::string_view url) {
  if (url.size() > k_max_url_bytes) return false;
  for (const char c : url)
    if (c <= 0x20 || c > 0x7e) return false;
  const std::string lower = util::ascii_lower(std::string(url.substr(0, 8)));
  const std::size_t scheme = lower.starts_with("https://")  ? 8
                             : lower.starts_with("http://") ? 7
                                                            : 0;
  return scheme != 0 && url.size() > scheme;
}

} // namespace certmgr::ocsp::detail
