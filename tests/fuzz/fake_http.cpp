// tests/fuzz/fake_http.cpp: http::Client without libcurl for the fuzz build (see fake_http.hpp).
// Keeps the real client's contract where the callers depend on it: a body over the cap is an
// error, HEAD has no body, header names are lower-case and values trimmed.
#include "fake_http.hpp"

#include <certmgr/util/error.hpp>
#include <certmgr/util/text.hpp>

#include <fmt/format.h>

#include <cctype>
#include <utility>

namespace certmgr::fuzz {
namespace {
Handler& handler() {
  static Handler instance;
  return instance;
}

std::string trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

http::Response answer(Request request) {
  if (!handler()) throw util::Error({.url = request.url}, "fuzz: no HTTP handler installed");
  const std::size_t max_body = request.max_body_bytes;
  const std::string url = request.url;
  const bool head = request.method == "HEAD";
  http::Response response = handler()(request);
  if (head) response.body.clear(); // CURLOPT_NOBODY
  if (response.body.size() > max_body)
    throw util::Error({.url = url}, fmt::format("response larger than {} bytes", max_body));
  return response;
}
} // namespace

void set_http_handler(Handler h) { handler() = std::move(h); }

void add_header_line(http::Response& response, std::string_view line) {
  const auto colon = line.find(':');
  if (colon == std::string_view::npos) return;
  response.headers.emplace(util::ascii_lower(std::string(line.substr(0, colon))),
                           trim(line.substr(colon + 1)));
}

} // namespace certmgr::fuzz

namespace certmgr::http {

std::string Response::header(std::string_view name) const {
  const auto it = headers.find(std::string(name));
  return it == headers.end() ? std::string() : it->second;
}

void global_init() {}

Client::Client(Options options) : m_options(std::move(options)) {}

Response Client::get(const std::string& url, std::size_t max_body_bytes) {
  return fuzz::answer({.method = "GET", .url = url, .max_body_bytes = max_body_bytes});
}

Response Client::head(const std::string& url) {
  return fuzz::answer({.method = "HEAD", .url = url, .max_body_bytes = 0});
}

Response Client::post(const std::string& url, std::string_view body, std::string_view content_type,
                      std::size_t max_body_bytes) {
  return fuzz::answer({.method = "POST",
                       .url = url,
                       .body = std::string(body),
                       .content_type = std::string(content_type),
                       .max_body_bytes = max_body_bytes});
}

} // namespace certmgr::http
