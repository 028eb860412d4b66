// src/actions/backoff.hpp: per-certificate failure back-off, persisted across runs so that a
// certificate that keeps failing does not make a new order on every cron run (issue 7, RFC 8555
// §6.6 Retry-After). State: <data_dir>/.backoff/<name>.json, written atomically, 0644, removed
// when the certificate issues again.
#pragma once

#include <certmgr/store.hpp>
#include <certmgr/util/time.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace certmgr::actions {

struct Backoff {
  int failures{0};                 ///< consecutive failed issuance attempts
  util::Clock::time_point last{};  ///< when the last one failed
  util::Clock::time_point until{}; ///< no new order before this
  std::string reason{};            ///< the last failure's line (printable)
  std::string names{}; ///< the names ordered ("a.test www.a.test"): other names start over
};

/// After two or more consecutive failures the next order waits this long (a CA's Retry-After can
/// make it later). The first failure does not delay the next run: one bad run is often a blip.
inline constexpr std::chrono::hours k_backoff_delay{24};

/// The schedule: `last` after one failure, `last` + k_backoff_delay after two or more.
[[nodiscard]] util::Clock::time_point backoff_until(int failures, util::Clock::time_point last);

/// The state of certificate `name`; nullopt when there is none. An unreadable or malformed file
/// is reported as a warning and treated as absent (the next failure rewrites it).
[[nodiscard]] std::optional<Backoff> read_backoff(const store::Paths& paths,
                                                  const std::string& name);
/// Records one more failure at `now` (with the CA's not-before, if it sent one). Returns the
/// new state. Errors writing the file are warnings: the failure itself is what gets reported.
Backoff record_failure(const store::Paths& paths, const std::string& name, const std::string& names,
                       util::Clock::time_point now, const std::string& reason,
                       std::optional<util::Clock::time_point> ca_not_before);
/// Removes the state of `name` (success). Missing state is not an error.
void clear_backoff(const store::Paths& paths, const std::string& name);
/// Certificate names with a state file (for `cleanup`), sorted.
[[nodiscard]] std::vector<std::string> backoff_names(const store::Paths& paths);

} // namespace certmgr::actions
