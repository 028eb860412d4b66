#include <certmgr/http.hpp>
#include <certmgr/log.hpp>
#include <certmgr/util/error.hpp>
#include <certmgr/util/stop.hpp>
#include <certmgr/util/text.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <utility>

namespace certmgr::http {
namespace {
/// Headers are small in every protocol we speak; more is a hostile or broken server.
constexpr std::size_t k_max_header_bytes = 64 * 1024;
/// A server that sends less than this many bytes per k_low_speed_time is treated as stalled.
constexpr long k_low_speed_bytes = 1;
constexpr long k_low_speed_time_s = 30;

struct Sink {
  Response* response{nullptr};
  std::size_t max_body_bytes{0};
  std::size_t header_bytes{0};
  bool too_large{false};
  bool headers_too_large{false};
};

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto* sink = static_cast<Sink*>(user);
  const std::size_t n = size * count;
  if (sink->response->body.size() + n > sink->max_body_bytes) {
    sink->too_large = true;
    return 0; // makes curl abort with CURLE_WRITE_ERROR
  }
  sink->response->body.append(data, n);
  return n;
}

std::string trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

/// A stop request (SIGTERM) aborts a transfer at once instead of after its timeout.
int on_progress(void*, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return util::stop_requested() ? 1 : 0;
}

/// Runs `f` when the scope ends, on an exception too.
template <class F> class AtExit {
public:
  explicit AtExit(F f) : m_f(std::move(f)) {}
  AtExit(const AtExit&) = delete;
  AtExit& operator=(const AtExit&) = delete;
  ~AtExit() { m_f(); }

private:
  F m_f;
};

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
  auto* sink = static_cast<Sink*>(user);
  const std::size_t n = size * count;
  sink->header_bytes += n;
  if (sink->header_bytes > k_max_header_bytes) {
    sink->headers_too_large = true;
    return 0;
  }
  const std::string_view line(data, n);
  // A new status line (after 1xx) starts a new header set.
  if (line.starts_with("HTTP/")) sink->response->headers.clear();
  const auto colon = line.find(':');
  if (colon == std::string_view::npos) return n;
  sink->response->headers.emplace(util::ascii_lower(std::string(line.substr(0, colon))),
                                  trim(line.substr(colon + 1)));
  return n;
}
} // namespace

std::string Response::header(std::string_view name) const {
  const auto it = headers.find(std::string(name));
  return it == headers.end() ? std::string() : it->second;
}

void global_init() { curl_global_init(CURL_GLOBAL_DEFAULT); }

Client::Client(Options options) : m_options(std::move(options)), m_curl(curl_easy_init()) {
  if (!m_curl) throw util::Error("cannot initialise libcurl");
}

Response Client::get(const std::string& url, std::size_t max_body_bytes) {
  curl_easy_setopt(m_curl.get(), CURLOPT_HTTPGET, 1L);
  return perform(url, max_body_bytes);
}

Response Client::head(const std::string& url) {
  curl_easy_setopt(m_curl.get(), CURLOPT_NOBODY, 1L);
  // The handle serves the next request also when this one throws.
  const AtExit reset{[this] { curl_easy_setopt(m_curl.get(), CURLOPT_NOBODY, 0L); }};
  return perform(url, 0);
}

Response Client::post(const std::string& url, std::string_view body, std::string_view content_type,
                      std::size_t max_body_bytes) {
  CURL* c = m_curl.get();
  curl_easy_setopt(c, CURLOPT_POST, 1L);
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  curl_easy_setopt(c, CURLOPT_COPYPOSTFIELDS, std::string(body).c_str());
  const std::string type = fmt::format("Content-Type: {}", content_type);
  curl_slist* list = curl_slist_append(nullptr, type.c_str());
  const std::unique_ptr<curl_slist, util::FreeWith<curl_slist_free_all>> headers(list);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  // After `headers`, so it runs first: the handle forgets the list before the list is freed,
  // also when perform() throws (size cap, timeout, cut connection); the next request on this
  // handle would read the freed list otherwise.
  const AtExit forget{[c] { curl_easy_setopt(c, CURLOPT_HTTPHEADER, nullptr); }};
  return perform(url, max_body_bytes);
}

Response Client::perform(const std::string& url, std::size_t max_body_bytes) {
  CURL* c = m_curl.get();
  Response response;
  Sink sink{.response = &response, .max_body_bytes = max_body_bytes};
  // libcurl's own text says more ("Failed to connect to ... after 3 ms: Connection refused")
  // than curl_easy_strerror, which only names the code.
  std::array<char, CURL_ERROR_SIZE> detail{};
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, detail.data());
  const AtExit forget{[c] { curl_easy_setopt(c, CURLOPT_ERRORBUFFER, nullptr); }};
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR,
                   m_options.plain_http == PlainHttp::allow ? "http,https" : "https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, static_cast<long>(m_options.connect_timeout.count()));
  curl_easy_setopt(c, CURLOPT_TIMEOUT, static_cast<long>(m_options.request_timeout.count()));
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, k_low_speed_bytes);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, k_low_speed_time_s);
  curl_easy_setopt(c, CURLOPT_USERAGENT, m_options.user_agent.c_str());
  if (m_options.ca_bundle) curl_easy_setopt(c, CURLOPT_CAINFO, m_options.ca_bundle->c_str());
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &sink);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  const CURLcode rc = curl_easy_perform(c);
  curl_easy_setopt(c, CURLOPT_POST, 0L);
  if (sink.headers_too_large)
    throw util::Error({.url = url},
                      fmt::format("response headers larger than {} bytes", k_max_header_bytes));
  if (sink.too_large)
    throw util::Error({.url = url}, fmt::format("response larger than {} bytes", max_body_bytes));
  util::throw_if_stopped();
  if (rc == CURLE_OUT_OF_MEMORY && detail[0] == '\0')
    // What libcurl 7.88 returns, without a word, for one header line over its 100 KB limit.
    throw util::Error({.url = url}, "a response header line longer than libcurl accepts (or out "
                                    "of memory)");
  if (rc != CURLE_OK)
    throw util::Error({.url = url}, detail[0] != '\0' ? log::printable(detail.data(), 200)
                                                      : std::string(curl_easy_strerror(rc)));
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &response.status);
  return response;
}

} // namespace certmgr::http
