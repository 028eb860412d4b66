// src/cli/lock.hpp: the run lock (behaviour §10.5): an exclusive flock on lock_file, held until
// the process exits. The file is never deleted (deleting a flock'ed file races with waiters).
#pragma once

#include <certmgr/util/fs.hpp>

#include <chrono>
#include <filesystem>

namespace certmgr::cli {

enum class LockWait { no, yes };

/// -w waits at most this long for another run to finish: twice a day is the schedule, so a
/// run still waiting after six hours is better reported than queued.
inline constexpr std::chrono::hours k_max_lock_wait{6};

/// Takes the lock. Throws util::Error of kind ErrorKind::lock when busy (after waiting up to
/// k_max_lock_wait with LockWait::yes), of kind general when the file cannot be opened.
[[nodiscard]] util::Fd take_lock(const std::filesystem::path& path, LockWait wait);

} // namespace certmgr::cli
