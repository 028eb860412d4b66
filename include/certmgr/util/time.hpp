// certmgr/util/time.hpp: the time formats certmgr writes and reads.
#pragma once

#include <chrono>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>

namespace certmgr::util {

using Clock = std::chrono::system_clock;

/// Local wall-clock time as "YYYY_MM_DD_HHMMSS" (archive directory names).
[[nodiscard]] std::string stamp(Clock::time_point t);
/// UTC as "YYYY-MM-DD HH:MM:SS" (the cert.pem header).
[[nodiscard]] std::string utc_text(Clock::time_point t);
/// UTC as ISO 8601 "YYYY-MM-DDTHH:MM:SSZ".
[[nodiscard]] std::string iso8601(Clock::time_point t);
/// Local time as ISO 8601 with offset, to the millisecond ("2026-11-25T18:07:32.123+01:00"),
/// for log file lines.
[[nodiscard]] std::string local_iso8601(Clock::time_point t);
/// `t` (seconds since the epoch, as timegm() gives) as a Clock::time_point, clamped to
/// [1900-01-01, 2262-01-01]. Clock counts nanoseconds in 64 bits and overflows after 2262-04-11,
/// yet certificates may say 99991231235959Z ("no expiration", RFC 5280 §4.1.2.5) and servers
/// may send any date: Clock::from_time_t() of those is undefined behaviour.
[[nodiscard]] Clock::time_point from_time_t_clamped(std::time_t t) noexcept;
/// RFC 3339 / ISO 8601 timestamp as ACME sends it ("2026-11-25T18:07:32Z", fractional seconds
/// and numeric offsets accepted); nullopt when it does not parse.
[[nodiscard]] std::optional<Clock::time_point> parse_rfc3339(std::string_view text);
/// RFC 7231 IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT"); nullopt otherwise.
[[nodiscard]] std::optional<Clock::time_point> parse_http_date(std::string_view text);

} // namespace certmgr::util
