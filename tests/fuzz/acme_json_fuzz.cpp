// tests/fuzz/acme_json_fuzz.cpp: certmgr's real ACME client (acme::Client, src/acme/*.cpp)
// against a scripted server whose answers are the fuzz input, plus the Retry-After parser and
// the http-01 token check (challenge::publish).
//
// Input: the first line names the operation; the rest is the server's answers to the POSTs in
// order (the directory GET too for "directory"), separated by a line "%%". An answer that starts
// with "HTTP <status>" has header lines up to an empty line, then the body; any other answer is
// a body served with the operation's usual status, JSON content type, a fresh Replay-Nonce and a
// Location. Operations: directory account find_account update_account order get_order authz
// finalize download revoke key_change poll_authz poll_order; "retry-after" and "token" take the
// rest of the input as the header value or token.
//
// Oracles: only util::Error (acme::Problem) escapes, as one line; every request goes to the
// directory's origin (https, ca.test, 443, by libcurl's own URL parser) with a JWS whose
// protected "url" is the request URL and whose nonce is one the server issued and not used yet;
// the waits made for a 429/503 Retry-After (recorded by fake_stop.cpp, not slept) each lie in
// [k_min_retry_after, k_max_inline_wait] and add up to at most k_max_inline_wait_total;
// Retry-After results lie in [k_min_retry_after, k_max_retry_after] and agree with an
// independent parse for delta-seconds and IMF-fixdate; a token is published iff it matches
// ^[A-Za-z0-9_-]{22,255}$, as a file directly in the challenge directory, removed afterwards.
#include "acme/json.hpp"
#include "fake_http.hpp"
#include "fake_stop.hpp"
#include "fuzz_common.hpp"
#include <certmgr/acme.hpp>
#include <certmgr/challenge.hpp>
#include <certmgr/crypto.hpp>
#include <certmgr/jose.hpp>
#include <certmgr/util/base64url.hpp>
#include <certmgr/util/error.hpp>

#include <curl/curl.h>
#include <rapidjson/document.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <unistd.h>

namespace {
namespace acme = certmgr::acme;
namespace http = certmgr::http;
namespace util = certmgr::util;
using certmgr::fuzz::require;
using certmgr::fuzz::require_one_line;

const std::string k_directory_url = "https://ca.test/dir";
// Pebble 2.4's directory with its paths, on the fuzz origin.
const std::string k_directory =
    R"({"keyChange":"https://ca.test/rollover-account-key","meta":{"externalAccountRequired":)"
    R"(false,"termsOfService":"data:text/plain,Do%20what%20thou%20wilt"},"newAccount":)"
    R"("https://ca.test/sign-me-up","newNonce":"https://ca.test/nonce-plz","newOrder":)"
    R"("https://ca.test/order-plz","revokeCert":"https://ca.test/revoke-cert"})";
const std::string k_account_url = "https://ca.test/my-account/1";
const std::string k_order_url = "https://ca.test/my-order/1";
const std::string k_authz_url = "https://ca.test/authZ/1";
const std::string k_finalize_url = "https://ca.test/finalize-order/1";
const std::string k_cert_url = "https://ca.test/certZ/1";
// 2026-01-01T00:00:00Z: the fixed "now" of the Retry-After checks.
constexpr std::int64_t k_now_epoch = 1767225600;

struct Fixture {
  std::unique_ptr<certmgr::jose::Signer> signer;
  std::unique_ptr<certmgr::jose::Signer> new_signer;
  std::filesystem::path root;
  std::filesystem::path challenge_dir;
};

Fixture& fixture() {
  static Fixture* instance = [] {
    auto* f = new Fixture;
    const certmgr::crypto::KeySpec spec{.type = util::KeyType::ecdsa, .curve = "secp256r1"};
    f->signer = std::make_unique<certmgr::jose::Signer>(certmgr::crypto::Key::generate(spec));
    f->new_signer = std::make_unique<certmgr::jose::Signer>(certmgr::crypto::Key::generate(spec));
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern =
        std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/certmgr-fuzz-acme.XXXXXX";
    require(::mkdtemp(pattern.data()) != nullptr, "cannot make a temp directory", pattern);
    f->root = pattern;
    f->challenge_dir = f->root / "acme-challenge";
    std::atexit([] {
      std::error_code error;
      std::filesystem::remove_all(fixture().root, error);
    });
    return f;
  }();
  return *instance;
}

// ---- independent oracles -------------------------------------------------------------------

bool is_token(std::string_view token) {
  if (token.size() < 22 || token.size() > 255) return false;
  return std::ranges::all_of(token, [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
  });
}

/// libcurl's reading of `url` is where a request really goes: https://ca.test:443.
bool in_origin(const std::string& url) {
  std::unique_ptr<CURLU, decltype(&curl_url_cleanup)> parsed(curl_url(), curl_url_cleanup);
  if (!parsed || curl_url_set(parsed.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK)
    return false;
  const auto part = [&](CURLUPart which) {
    char* value = nullptr;
    if (curl_url_get(parsed.get(), which, &value,
                     which == CURLUPART_PORT ? CURLU_DEFAULT_PORT : 0) != CURLUE_OK)
      return std::string();
    std::string out(value);
    curl_free(value);
    return out;
  };
  return part(CURLUPART_SCHEME) == "https" && part(CURLUPART_HOST) == "ca.test" &&
         part(CURLUPART_PORT) == "443";
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

/// Strict RFC 7231 IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT") in epoch seconds.
std::optional<std::int64_t> strict_http_date(std::string_view s) {
  static constexpr std::string_view k_days[] = {"Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"};
  static constexpr std::string_view k_months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  if (s.size() != 29 || s.substr(3, 2) != ", " || s[7] != ' ' || s[11] != ' ' || s[16] != ' ' ||
      s[19] != ':' || s[22] != ':' || s.substr(25) != " GMT")
    return std::nullopt;
  const auto number = [&](std::size_t at, std::size_t n) -> std::optional<int> {
    int v = 0;
    for (std::size_t i = at; i < at + n; ++i) {
      if (s[i] < '0' || s[i] > '9') return std::nullopt;
      v = v * 10 + (s[i] - '0');
    }
    return v;
  };
  const auto month = std::ranges::find(k_months, s.substr(8, 3));
  const auto day = number(5, 2), year = number(12, 4), hour = number(17, 2), minute = number(20, 2),
             second = number(23, 2);
  if (month == std::end(k_months) || !day || !year || !hour || !minute || !second)
    return std::nullopt;
  const unsigned m = static_cast<unsigned>(month - std::begin(k_months)) + 1;
  static constexpr int k_month_days[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (*year % 4 == 0 && *year % 100 != 0) || *year % 400 == 0;
  if (*day < 1 || *day > k_month_days[m - 1] || (m == 2 && *day == 29 && !leap) || *hour > 23 ||
      *minute > 59 || *second > 60)
    return std::nullopt;
  const std::int64_t days = days_from_civil(*year, m, static_cast<unsigned>(*day));
  const std::int64_t weekday = ((days % 7) + 7) % 7; // 1970-01-01 was a Thursday
  if (k_days[weekday] != s.substr(0, 3)) return std::nullopt;
  return days * 86400 + *hour * 3600 + *minute * 60 + *second;
}

std::int64_t clamp_seconds(std::int64_t s) {
  return std::clamp<std::int64_t>(s, acme::k_min_retry_after.count(),
                                  acme::k_max_retry_after.count());
}

void check_retry_after_bounds(const std::optional<std::chrono::seconds>& value) {
  require(!value || (*value >= acme::k_min_retry_after && *value <= acme::k_max_retry_after),
          "Retry-After outside [k_min_retry_after, k_max_retry_after]");
}

/// The waits the client made in-line for 429/503 answers (recorded by fake_stop.cpp; polling
/// never waits here, its deadline being 0): each within [k_min_retry_after, k_max_inline_wait],
/// together at most k_max_inline_wait_total.
void check_waits() {
  std::chrono::milliseconds total{0};
  for (const std::chrono::milliseconds wait : certmgr::fuzz::sleeps()) {
    require(wait >= acme::k_min_retry_after && wait <= acme::k_max_inline_wait,
            "an in-line Retry-After wait outside [k_min_retry_after, k_max_inline_wait]");
    total += wait;
  }
  require(total <= acme::k_max_inline_wait_total, "in-line waits over k_max_inline_wait_total");
}

void fuzz_retry_after(std::string_view value) {
  const auto now = std::chrono::system_clock::time_point(std::chrono::seconds(k_now_epoch));
  const auto parsed = acme::parse_retry_after(value, now);
  check_retry_after_bounds(parsed);
  if (value.empty()) require(!parsed, "empty Retry-After accepted");
  if (!value.empty() && value.size() <= 18 &&
      std::ranges::all_of(value, [](char c) { return c >= '0' && c <= '9'; })) {
    std::int64_t seconds = 0;
    std::from_chars(value.data(), value.data() + value.size(), seconds);
    require(parsed && parsed->count() == clamp_seconds(seconds),
            "delta-seconds Retry-After misread", value);
  }
  if (const auto date = strict_http_date(value)) {
    require(parsed && parsed->count() == clamp_seconds(*date - k_now_epoch),
            "IMF-fixdate Retry-After misread", value);
  }
}

// ---- token check -------------------------------------------------------------------------------

bool directory_is_empty(const std::filesystem::path& dir) {
  std::error_code error;
  return !std::filesystem::exists(dir, error) || std::filesystem::is_empty(dir, error);
}

void fuzz_token(std::string_view token) {
  const bool valid = is_token(token);
  require(util::is_acme_token(token) == valid, "util::is_acme_token disagrees with the regex",
          token);
  const std::filesystem::path& dir = fixture().challenge_dir;
  const std::string key_authorization = std::string(token) + ".thumbprint";
  try {
    const certmgr::challenge::Published published =
        certmgr::challenge::publish(dir, token, key_authorization);
    require(valid, "challenge::publish accepted a token outside ^[A-Za-z0-9_-]{22,255}$", token);
    const std::filesystem::path file = dir / std::string(token);
    require(published.path() == file, "published file is not <dir>/<token>", token);
    std::ifstream in(file, std::ios::binary);
    const std::string content{std::istreambuf_iterator<char>(in), {}};
    require(content == key_authorization, "challenge file content differs", token);
  } catch (const util::Error& e) {
    require_one_line(e.what());
    require(!valid, "challenge::publish refused a valid token", e.what());
  }
  require(directory_is_empty(dir), "a challenge file was left behind", token);
}

// ---- the scripted server -------------------------------------------------------------------

struct Script {
  std::string op;
  std::vector<http::Response> answers;
  std::size_t next{0};
  int issued_nonces{0};
  std::map<std::string, int> unused_nonces; ///< nonce → times issued and not yet used
};

std::string fresh_nonce(Script& script) {
  // base64url like a real nonce; distinct within one input
  std::string nonce = "fuzzNonce" + std::to_string(script.issued_nonces++) + "_AAAAAAAAAA";
  return nonce;
}

/// Remembers the nonce of an answer the way the client reads it (the first Replay-Nonce).
void issue_nonce(Script& script, const http::Response& response) {
  const std::string nonce = response.header("replay-nonce");
  if (!nonce.empty()) ++script.unused_nonces[nonce];
}

long default_status(const std::string& op) { return op == "account" || op == "order" ? 201 : 200; }

http::Response parse_answer(std::string_view chunk, Script& script) {
  http::Response r;
  if (!chunk.starts_with("HTTP ")) {
    r.status = default_status(script.op);
    r.headers.emplace("content-type", "application/json");
    r.headers.emplace("replay-nonce", fresh_nonce(script));
    if (script.op == "account" || script.op == "find_account")
      r.headers.emplace("location", k_account_url);
    if (script.op == "order") r.headers.emplace("location", k_order_url);
    if (script.op == "download")
      r.headers.find("content-type")->second = "application/pem-certificate-chain";
    r.body = std::string(chunk);
    return r;
  }
  std::size_t end_of_head = chunk.find("\n\n");
  const std::string_view head = chunk.substr(0, end_of_head);
  r.body = end_of_head == std::string_view::npos ? "" : std::string(chunk.substr(end_of_head + 2));
  std::size_t pos = 0;
  bool first = true;
  while (pos <= head.size()) {
    std::size_t eol = head.find('\n', pos);
    if (eol == std::string_view::npos) eol = head.size();
    std::string_view line = head.substr(pos, eol - pos);
    if (line.ends_with('\r')) line.remove_suffix(1);
    if (first) {
      long status = 0;
      const std::string_view code = line.substr(5);
      const auto [ptr, ec] = std::from_chars(code.data(), code.data() + code.size(), status);
      r.status = ec == std::errc() && status >= 100 && status <= 999 ? status : 200;
      (void)ptr;
      first = false;
    } else if (line.find('\0') == std::string_view::npos) { // libcurl refuses NUL in headers
      certmgr::fuzz::add_header_line(r, line);
    }
    pos = eol + 1;
  }
  return r;
}

Script parse_script(std::string_view input) {
  Script script;
  const std::size_t eol = input.find('\n');
  script.op = std::string(input.substr(0, eol));
  std::string_view rest = eol == std::string_view::npos ? "" : input.substr(eol + 1);
  for (;;) {
    const std::size_t sep = rest.find("\n%%\n");
    script.answers.push_back(parse_answer(rest.substr(0, sep), script));
    if (sep == std::string_view::npos) break;
    rest.remove_prefix(sep + 4);
  }
  return script;
}

/// The JWS of a POST: protected "url" is the request URL, the nonce one the server issued.
void check_jws(const certmgr::fuzz::Request& request, Script& script) {
  require(request.content_type == "application/jose+json", "POST without JOSE content type");
  rapidjson::Document jws_doc;
  jws_doc.Parse(request.body.data(), request.body.size());
  require(!jws_doc.HasParseError() && jws_doc.IsObject(), "POST body is not a JSON object",
          request.body);
  const rapidjson::Value& jws = jws_doc;
  const auto member = jws.FindMember("protected");
  require(member != jws.MemberEnd() && member->value.IsString(), "JWS without protected header");
  const auto header_json = util::base64url_decode(
      std::string_view(member->value.GetString(), member->value.GetStringLength()));
  require(header_json.has_value(), "protected header is not base64url");
  rapidjson::Document header_doc;
  header_doc.Parse(header_json->data(), header_json->size());
  require(!header_doc.HasParseError() && header_doc.IsObject(), "protected header is not JSON",
          *header_json);
  const rapidjson::Value& header = header_doc;
  const auto url = header.FindMember("url");
  require(url != header.MemberEnd() && url->value.IsString() &&
              std::string_view(url->value.GetString(), url->value.GetStringLength()) == request.url,
          "protected url differs from the request URL", *header_json);
  const auto nonce = header.FindMember("nonce");
  require(nonce != header.MemberEnd() && nonce->value.IsString(), "JWS without nonce",
          *header_json);
  const std::string used(nonce->value.GetString(), nonce->value.GetStringLength());
  require(util::is_base64url(used) && used.size() <= 256, "nonce is not base64url", used);
  const auto it = script.unused_nonces.find(used);
  require(it != script.unused_nonces.end() && it->second > 0,
          "nonce not issued by the server, or used twice", used);
  --it->second;
}

http::Response serve(const certmgr::fuzz::Request& request, Script& script) {
  require(in_origin(request.url), "request outside the directory's origin", request.url);
  if (request.method == "GET" && request.url == k_directory_url && script.op != "directory")
    return {.status = 200, .headers = {{"content-type", "application/json"}}, .body = k_directory};
  if (request.method == "HEAD") {
    http::Response r{.status = 200, .headers = {{"replay-nonce", fresh_nonce(script)}}};
    issue_nonce(script, r);
    return r;
  }
  if (request.method == "POST") check_jws(request, script);
  if (script.next >= script.answers.size())
    throw util::Error({.url = request.url}, "fuzz: the script has no more answers");
  const http::Response& r = script.answers[script.next++];
  issue_nonce(script, r);
  return r;
}

void require_in_origin(const std::string& url, const char* what) {
  require(in_origin(url), what, url);
}

/// The URLs acme.hpp promises checked in an order: the certificate URL, and the finalize URL
/// except after finalize (which only the next request would use, through checked_url()).
void check_order(const acme::Order& order, bool finalize_checked = true) {
  if (finalize_checked) require_in_origin(order.finalize, "order finalize URL outside the origin");
  if (!order.certificate.empty())
    require_in_origin(order.certificate, "order certificate URL outside the origin");
  require_one_line(order.error);
}

void check_authorization(const acme::Authorization& authz) {
  require(std::ranges::none_of(authz.identifier, [](char c) { return c >= 'A' && c <= 'Z'; }),
          "identifier not lower-cased", authz.identifier);
  require_one_line(authz.error);
  for (const acme::Challenge& challenge : authz.challenges) {
    require_in_origin(challenge.url, "challenge URL outside the origin");
    if (!challenge.token.empty()) fuzz_token(challenge.token);
  }
}

void run_operation(acme::Client& client, const std::string& op) {
  const acme::PollLimits no_wait{.first_delay = std::chrono::milliseconds(1),
                                 .max_delay = std::chrono::seconds(1),
                                 .max_polls = 3,
                                 .deadline = std::chrono::seconds(0)};
  if (op == "directory") {
    const acme::Directory& d = client.directory();
    for (const std::string* url : {&d.new_nonce, &d.new_account, &d.new_order})
      require_in_origin(*url, "directory URL outside the origin");
  } else if (op == "account") {
    (void)client.register_account(std::string("hostmaster@example.org"));
    require(client.account_url().has_value(), "no account URL after registration");
    require_in_origin(*client.account_url(), "account URL outside the origin");
  } else if (op == "find_account") {
    if (const auto url = client.find_account()) require_in_origin(*url, "account URL outside");
  } else if (op == "update_account") {
    client.set_account_url(k_account_url);
    (void)client.update_account(std::nullopt);
  } else if (op == "order") {
    client.set_account_url(k_account_url);
    const acme::Order order = client.new_order({"example.org", "www.example.org"});
    check_order(order);
    for (const std::string& a : order.authorizations)
      require_in_origin(a, "authorization URL outside the origin");
  } else if (op == "get_order") {
    client.set_account_url(k_account_url);
    check_order(client.get_order(k_order_url));
  } else if (op == "authz") {
    client.set_account_url(k_account_url);
    check_authorization(client.get_authorization(k_authz_url));
  } else if (op == "finalize") {
    client.set_account_url(k_account_url);
    const acme::Order order{.url = k_order_url, .status = "ready", .finalize = k_finalize_url};
    check_order(client.finalize(order, "\x30\x03\x02\x01\x00"), false);
  } else if (op == "download") {
    client.set_account_url(k_account_url);
    const std::string chain = client.download_certificate(k_cert_url);
    require(chain.size() <= http::k_max_chain_bytes, "chain over the cap");
    try {
      (void)certmgr::crypto::parse_chain(chain, k_cert_url);
    } catch (const util::Error& e) {
      require_one_line(e.what());
    }
  } else if (op == "revoke") {
    client.set_account_url(k_account_url);
    (void)client.revoke("\x30\x03\x02\x01\x00", acme::RevocationReason::key_compromise);
  } else if (op == "key_change") {
    client.set_account_url(k_account_url);
    client.change_key(*fixture().new_signer);
  } else if (op == "poll_authz") {
    client.set_account_url(k_account_url);
    check_authorization(acme::poll_authorization(client, k_authz_url, no_wait));
  } else if (op == "poll_order") {
    client.set_account_url(k_account_url);
    check_order(acme::poll_order(client, k_order_url, no_wait));
  }
}

/// The detail helpers on the body of the first answer, as the parsers use them.
void fuzz_detail(const std::string& body) {
  try {
    const auto doc = acme::detail::parse_object(body, k_order_url);
    require_one_line(acme::detail::problem_text(doc));
    if (const auto e = doc.FindMember("error"); e != doc.MemberEnd())
      require_one_line(acme::detail::problem_text(e->value));
    (void)acme::detail::optional_string(doc, "status", k_order_url);
    (void)acme::detail::string_array(doc, "authorizations", k_order_url);
    (void)acme::detail::required_string(doc, "finalize", k_order_url);
  } catch (const util::Error& e) {
    require_one_line(e.what());
  }
}
} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  (void)fixture();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input = certmgr::fuzz::as_text(data, size);
  const std::size_t eol = input.find('\n');
  const std::string_view op = input.substr(0, eol);
  const std::string_view rest = eol == std::string_view::npos ? "" : input.substr(eol + 1);
  if (op == "retry-after") {
    fuzz_retry_after(rest);
    return 0;
  }
  if (op == "token") {
    fuzz_token(rest);
    return 0;
  }
  certmgr::fuzz::clear_sleeps();
  Script script = parse_script(input);
  fuzz_detail(script.answers.front().body);
  certmgr::fuzz::set_http_handler(
      [&script](const certmgr::fuzz::Request& request) { return serve(request, script); });
  acme::Client client(http::Options{}, k_directory_url, *fixture().signer);
  try {
    run_operation(client, script.op);
  } catch (const acme::Problem& e) {
    require_one_line(e.what());
    // status 0: the client refused to ask again before the time a CA's Retry-After named
    require(e.status() != 0 || e.not_before(), "a Problem without status nor not_before", e.what());
    if (e.not_before())
      require(*e.not_before() <= std::chrono::system_clock::now() + acme::k_max_retry_after,
              "not_before further than k_max_retry_after", e.what());
  } catch (const util::Error& e) {
    require_one_line(e.what());
  }
  check_retry_after_bounds(client.last_retry_after());
  check_waits();
  certmgr::fuzz::set_http_handler({});
  return 0;
}
