#include "lock.hpp"

#include <certmgr/log.hpp>
#include <certmgr/util/error.hpp>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <random>
#include <sys/file.h>
#include <thread>

namespace certmgr::cli {
namespace {
/// Between two tries with -w: random, so that many waiting runs do not retry in step.
constexpr int k_min_retry_s = 5;
constexpr int k_max_retry_s = 29;
} // namespace

util::Fd take_lock(const std::filesystem::path& path, LockWait wait) {
  util::make_dirs(path.parent_path(), 0755);
  util::Fd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644));
  if (!fd.valid())
    throw util::Error({.file = path.string()},
                      fmt::format("cannot open the lock file: {}", std::strerror(errno)));
  const auto deadline = std::chrono::steady_clock::now() + k_max_lock_wait;
  std::mt19937 random(std::random_device{}());
  std::uniform_int_distribution<int> pause(k_min_retry_s, k_max_retry_s);
  while (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EINTR) continue;
    if (errno != EWOULDBLOCK)
      throw util::Error({.file = path.string()},
                        fmt::format("cannot lock: {}", std::strerror(errno)));
    if (wait == LockWait::no || std::chrono::steady_clock::now() > deadline)
      throw util::Error({.file = path.string()}, "another certmgr run holds the lock",
                        util::ErrorKind::lock);
    const std::chrono::seconds delay(pause(random));
    log::debug("lock {} busy, trying again in {} s", path.string(), delay.count());
    std::this_thread::sleep_for(delay);
  }
  return fd;
}

} // namespace certmgr::cli
