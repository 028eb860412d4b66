#include <certmgr/util/time.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <ctime>

namespace certmgr::util {
namespace {
std::tm local_tm(Clock::time_point t) {
  const std::time_t s = Clock::to_time_t(t);
  std::tm tm{};
  localtime_r(&s, &tm);
  return tm;
}

std::tm utc_tm(Clock::time_point t) {
  const std::time_t s = Clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&s, &tm);
  return tm;
}

std::string format_tm(const std::tm& tm, const char* format) {
  std::array<char, 64> buf{};
  const std::size_t n = std::strftime(buf.data(), buf.size(), format, &tm);
  return {buf.data(), n};
}
} // namespace

std::string stamp(Clock::time_point t) { return format_tm(local_tm(t), "%Y_%m_%d_%H%M%S"); }

std::string utc_text(Clock::time_point t) { return format_tm(utc_tm(t), "%Y-%m-%d %H:%M:%S"); }

std::string iso8601(Clock::time_point t) { return format_tm(utc_tm(t), "%Y-%m-%dT%H:%M:%SZ"); }

std::string local_iso8601(Clock::time_point t) {
  const std::tm tm = local_tm(t);
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count() % 1000;
  const std::string zone = format_tm(tm, "%z"); // +0100 → +01:00 (ISO 8601 extended)
  const std::string_view z(zone);
  return fmt::format("{}.{:03}{}:{}", format_tm(tm, "%Y-%m-%dT%H:%M:%S"), ms, z.substr(0, 3),
                     z.substr(std::min<std::size_t>(3, z.size())));
}

Clock::time_point from_time_t_clamped(std::time_t t) noexcept {
  constexpr std::time_t k_earliest = -2208988800; // 1900-01-01T00:00:00Z
  constexpr std::time_t k_latest = 9214646400;    // 2262-01-01T00:00:00Z
  return Clock::from_time_t(std::clamp(t, k_earliest, k_latest));
}

std::optional<Clock::time_point> parse_rfc3339(std::string_view text) {
  std::tm tm{};
  const std::string s(text.substr(0, 64));
  const char* rest = strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (rest == nullptr) return std::nullopt;
  if (*rest == '.') {
    ++rest;
    while (*rest >= '0' && *rest <= '9') ++rest;
  }
  long offset = 0;
  if (*rest == 'Z' || *rest == 'z') {
    ++rest;
  } else if (*rest == '+' || *rest == '-') {
    int hours = 0, minutes = 0, used = 0;
    if (std::sscanf(rest + 1, "%2d:%2d%n", &hours, &minutes, &used) != 2 || used != 5)
      return std::nullopt;
    offset = (hours * 3600L + minutes * 60L) * (*rest == '-' ? -1 : 1);
    rest += 6;
  } else {
    return std::nullopt;
  }
  if (*rest != '\0') return std::nullopt;
  return from_time_t_clamped(timegm(&tm) - offset);
}

std::optional<Clock::time_point> parse_http_date(std::string_view text) {
  std::tm tm{};
  const std::string s(text.substr(0, 64));
  const char* rest = strptime(s.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (rest == nullptr || *rest != '\0') return std::nullopt;
  return from_time_t_clamped(timegm(&tm));
}

} // namespace certmgr::util
