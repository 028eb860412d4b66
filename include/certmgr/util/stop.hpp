// certmgr/util/stop.hpp: a run asked to stop by SIGTERM, SIGINT or SIGHUP (systemd stop, a
// timeout, Ctrl-C) unwinds normally instead of dying on the spot, so challenge files are
// removed, hook process groups are killed and no transaction is cut short (a commit in progress
// completes; nothing new starts). Waits check stop_requested() and end with throw_if_stopped().
#pragma once

#include <chrono>

namespace certmgr::util {

/// Installs the handlers (they only record the signal). Call once at start.
void install_stop_handlers();
/// The signal that asked us to stop, or 0.
[[nodiscard]] int stop_signal() noexcept;
[[nodiscard]] inline bool stop_requested() noexcept { return stop_signal() != 0; }
/// Throws util::Error "interrupted by SIGTERM" when a stop was requested.
void throw_if_stopped();
/// Sleeps for `duration`, waking early and throwing when a stop is requested.
void sleep_unless_stopped(std::chrono::milliseconds duration);

} // namespace certmgr::util
