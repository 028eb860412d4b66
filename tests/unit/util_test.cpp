#include <certmgr/acme.hpp>
#include <certmgr/util/base64url.hpp>
#include <certmgr/util/time.hpp>

#include <doctest/doctest.h>

#include <vector>

using namespace certmgr;
using namespace std::chrono_literals;

TEST_SUITE_BEGIN("util::base64url");

TEST_CASE("base64url encodes the RFC 4648 test vectors without padding") {
  CHECK(util::base64url_encode("") == "");
  CHECK(util::base64url_encode("f") == "Zg");
  CHECK(util::base64url_encode("fo") == "Zm8");
  CHECK(util::base64url_encode("foo") == "Zm9v");
  CHECK(util::base64url_encode("foob") == "Zm9vYg");
  CHECK(util::base64url_encode("fooba") == "Zm9vYmE");
  CHECK(util::base64url_encode("foobar") == "Zm9vYmFy");
  CHECK(util::base64url_encode("\xfb\xff") == "-_8");
}

TEST_CASE("base64url decoding inverts encoding and rejects other alphabets") {
  for (const std::string s : {"", "a", "ab", "abc", "\x00\xff\xfe", "hello world"})
    CHECK(util::base64url_decode(util::base64url_encode(s)) == s);
  CHECK_FALSE(util::base64url_decode("Zg==").has_value());
  CHECK_FALSE(util::base64url_decode("a+b/").has_value());
  CHECK_FALSE(util::base64url_decode("Z").has_value());
}

TEST_CASE("ACME tokens are 22 to 255 base64url characters") {
  CHECK(util::is_acme_token(std::string(43, 'a')));
  CHECK(util::is_acme_token("abcdefghijklmnopqrstu_-"));
  CHECK_FALSE(util::is_acme_token(std::string(21, 'a')));
  CHECK_FALSE(util::is_acme_token(std::string(256, 'a')));
  for (const std::string& bad : std::vector<std::string>{
           "../../etc/passwd_aaaaaaaaaa", "/absolute_path_aaaaaaaaaaaa",
           "aaaaaaaaaaaaaaaaaaaaaa=", "aaaaaaaaaaa aaaaaaaaaaaa", "aaaaaaaaaaa$(touch x)aaaaaa",
           std::string("aaaaaaaaaaaa\0bbbbbbbbbbb", 25),
           "aaaaaaaaaaaa\xc3\xa9"
           "bbbbbbbbbbbb",
           "%2e%2e%2faaaaaaaaaaaaaaaaaaa"})
    CHECK_FALSE(util::is_acme_token(bad));
}

TEST_SUITE_END();

TEST_SUITE_BEGIN("util::time");

TEST_CASE("RFC 3339 timestamps parse with fractions and offsets") {
  const auto base = util::parse_rfc3339("2026-11-25T18:07:32Z");
  REQUIRE(base.has_value());
  CHECK(util::iso8601(*base) == "2026-11-25T18:07:32Z");
  CHECK(util::parse_rfc3339("2026-11-25T18:07:32.123456Z") == base);
  CHECK(util::parse_rfc3339("2026-11-25T19:07:32+01:00") == base);
  CHECK_FALSE(util::parse_rfc3339("2026-11-25 18:07:32").has_value());
  CHECK_FALSE(util::parse_rfc3339("yesterday").has_value());
}

TEST_CASE("times beyond what the clock holds are clamped, not overflowed (found by fuzzing)") {
  // system_clock counts nanoseconds in 64 bits: it ends in 2262. Servers and certificates may
  // say 9999 (RFC 5280 §4.1.2.5 "no expiration") or year 1.
  const auto far = util::parse_rfc3339("9999-12-31T23:59:59Z");
  REQUIRE(far.has_value());
  CHECK(util::iso8601(*far) == "2262-01-01T00:00:00Z");
  const auto early = util::parse_http_date("Mon, 01 Jan 0001 00:00:00 GMT");
  if (early) CHECK(util::iso8601(*early) == "1900-01-01T00:00:00Z");
  CHECK(util::from_time_t_clamped(0) == util::Clock::from_time_t(0));
}

TEST_CASE("the certificate header time is UTC to the second") {
  const auto t = util::parse_rfc3339("2031-01-02T03:04:05Z");
  REQUIRE(t.has_value());
  CHECK(util::utc_text(*t) == "2031-01-02 03:04:05");
}

TEST_SUITE_END();

TEST_SUITE_BEGIN("acme::parse_retry_after");

TEST_CASE("Retry-After is clamped to between one second and one day") {
  const auto now = util::Clock::from_time_t(1'800'000'000);
  CHECK(acme::parse_retry_after("120", now) == 120s);
  CHECK(acme::parse_retry_after("0", now) == 1s);
  CHECK(acme::parse_retry_after("-5", now) == 1s);
  CHECK(acme::parse_retry_after("1000000000000", now) == std::chrono::seconds(24h));
  CHECK(acme::parse_retry_after("99999999999999999999999", now) == std::chrono::seconds(24h));
  CHECK(acme::parse_retry_after("", now) == std::nullopt);
  CHECK(acme::parse_retry_after("soon", now) == std::nullopt);
  CHECK(acme::parse_retry_after("1.5", now) == std::nullopt);
}

TEST_CASE("Retry-After as an HTTP date counts from now and a past date means one second") {
  const auto now = util::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT");
  REQUIRE(now.has_value());
  CHECK(acme::parse_retry_after("Sun, 06 Nov 1994 08:51:37 GMT", *now) == 120s);
  CHECK(acme::parse_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", *now) == 1s);
  CHECK(acme::parse_retry_after("Sun, 06 Nov 2094 08:00:00 GMT", *now) ==
        std::chrono::seconds(24h));
}

TEST_SUITE_END();
