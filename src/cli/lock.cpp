#include "lock.hpp"

#include <certmgr/log.hpp>
#include <certmgr/util/error.hpp>
#include <certmgr/util/stop.hpp>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/file.h>
#include <thread>

namespace certmgr::cli {
namespace {
/// Between two tries with -w: a flock on a local file costs nothing, so poll often and start as
/// soon as the other run ends.
constexpr std::chrono::seconds k_lock_poll{1};
} // namespace

util::Fd take_lock(const std::filesystem::path& path, LockWait wait) {
  util::make_dirs(path.parent_path(), 0755);
  util::Fd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644));
  if (!fd.valid())
    throw util::Error({.file = path.string()},
                      fmt::format("cannot open the lock file: {}", std::strerror(errno)));
  const auto deadline = std::chrono::steady_clock::now() + k_max_lock_wait;
  while (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EINTR) continue; // a stop request is seen by the sleep below
    if (errno != EWOULDBLOCK)
      throw util::Error({.file = path.string()},
                        fmt::format("cannot lock: {}", std::strerror(errno)));
    if (wait == LockWait::no || std::chrono::steady_clock::now() > deadline)
      throw util::Error({.file = path.string()}, "another certmgr run holds the lock",
                        util::ErrorKind::lock);
    log::debug("lock {} busy, waiting", path.string());
    util::sleep_unless_stopped(k_lock_poll);
  }
  return fd;
}

} // namespace certmgr::cli
