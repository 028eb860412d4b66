// tests/fuzz/fake_http.hpp: the fuzz build's http::Client (fake_http.cpp replaces
// src/http/client.cpp): no network, every request goes to a handler the target installs, so a
// fuzz input becomes the server's answer to certmgr's real protocol code (acme, sct, ocsp).
#pragma once

#include <certmgr/http.hpp>

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace certmgr::fuzz {

struct Request {
  std::string method{}; ///< GET, HEAD or POST
  std::string url{};
  std::string body{};
  std::string content_type{};
  std::size_t max_body_bytes{0};
};

/// Answers one request; may throw util::Error to stand for a transport failure.
using Handler = std::function<http::Response(const Request&)>;

/// Installs the handler for the requests that follow (an empty one fails every request).
void set_http_handler(Handler handler);

/// Adds one raw header line to `response` as src/http/client.cpp's header callback does: the
/// name lower-cased, the value trimmed; a line without ':' is ignored.
void add_header_line(http::Response& response, std::string_view line);

} // namespace certmgr::fuzz
