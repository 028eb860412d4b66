// certmgr/cli.hpp: the command line (behaviour §1): CLI11 definitions, logging set-up, config
// loading, random wait, the run lock, and the mapping of every failure to an exit status.
// The only place besides the per-certificate loop that catches exceptions.
#pragma once

namespace certmgr::cli {

/// Exit statuses of architecture.md.
inline constexpr int k_exit_ok = 0;
inline constexpr int k_exit_failed = 1;
inline constexpr int k_exit_usage = 2;
inline constexpr int k_exit_locked = 3;

/// Runs certmgr with `argv`; returns the exit status. Never throws.
[[nodiscard]] int run(int argc, char** argv) noexcept;

} // namespace certmgr::cli
