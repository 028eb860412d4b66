// certmgr/http.hpp: HTTP(S) requests through libcurl. One Client per thread (keep-alive). Every
// request has connect and total timeouts, a body size cap, no redirects, and only the schemes the
// caller allows. Never interprets bodies.
#pragma once

#include <certmgr/util/handle.hpp>

#include <curl/curl.h>

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace certmgr::http {

using CurlPtr = std::unique_ptr<CURL, util::FreeWith<curl_easy_cleanup>>;

/// Plain http:// is refused unless allowed (only loopback test CAs and OCSP use it).
enum class PlainHttp { refuse, allow };

struct Options {
  std::optional<std::filesystem::path> ca_bundle{}; ///< trust this PEM file instead of the system
  std::chrono::seconds connect_timeout{15};
  std::chrono::seconds request_timeout{60};
  std::string user_agent{"certmgr"};
  PlainHttp plain_http{PlainHttp::refuse};
};

struct Response {
  long status{0};
  std::multimap<std::string, std::string> headers{}; ///< names lower-cased, values trimmed
  std::string body{};
  /// First value of header `name` (lower-case), or "".
  [[nodiscard]] std::string header(std::string_view name) const;
};

/// Largest body kept for JSON and OCSP answers (style.md §6).
inline constexpr std::size_t k_max_json_bytes = 64 * 1024;
/// Largest certificate chain.
inline constexpr std::size_t k_max_chain_bytes = 1024 * 1024;

class Client {
public:
  explicit Client(Options options);
  /// Throws util::Error naming the URL on transport failure, timeout, a body over
  /// `max_body_bytes` or more than 64 KiB of headers. Any HTTP status is returned, not thrown.
  Response get(const std::string& url, std::size_t max_body_bytes);
  Response head(const std::string& url);
  Response post(const std::string& url, std::string_view body, std::string_view content_type,
                std::size_t max_body_bytes);

private:
  Response perform(const std::string& url, std::size_t max_body_bytes);
  Options m_options;
  CurlPtr m_curl;
};

/// Call once at program start, before threads (curl_global_init).
void global_init();

} // namespace certmgr::http
