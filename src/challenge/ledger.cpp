// src/challenge/ledger.cpp: the record of the challenge files a run publishes, and the removal
// of those a killed run left (see challenge.hpp).
#include <certmgr/challenge.hpp>
#include <certmgr/log.hpp>
#include <certmgr/util/base64url.hpp>
#include <certmgr/util/error.hpp>
#include <certmgr/util/stop.hpp>

#include <fmt/format.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace certmgr::challenge {
namespace {
namespace fs = std::filesystem;
using util::throw_errno;

/// Base64url of a SHA-256 (RFC 7638 thumbprint).
constexpr std::size_t k_thumbprint_chars = 43;
/// One line per challenge file of the runs since the last clean end: thousands at most.
constexpr off_t k_max_ledger_bytes = 16 << 20;
constexpr mode_t k_ledger_mode = 0600;
/// How long note() waits for a run that holds the ledger exclusively (sweeping it).
constexpr std::chrono::seconds k_max_lock_wait{60};
constexpr std::chrono::milliseconds k_lock_poll{100};

/// Up to `size` bytes from `offset`; fewer when the file is shorter.
std::string read_at(int fd, std::size_t size, off_t offset) {
  std::string out(size, '\0');
  std::size_t got = 0;
  while (got < size) {
    const ssize_t n = ::pread(fd, out.data() + got, size - got, offset + static_cast<off_t>(got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  out.resize(got);
  return out;
}

struct Entry {
  std::string thumbprint;
  std::string token;
  fs::path dir;
};

/// Complete lines "<thumbprint> <token> <absolute dir>"; a torn last line (the run was killed
/// while appending it, before its file was created) and malformed ones are skipped.
std::vector<Entry> parse(std::string_view text) {
  std::vector<Entry> entries;
  for (std::size_t end = text.find('\n'); end != std::string_view::npos; end = text.find('\n')) {
    std::string_view line = text.substr(0, end);
    text.remove_prefix(end + 1);
    if (line.size() <= k_thumbprint_chars || line[k_thumbprint_chars] != ' ') continue;
    const std::string_view thumbprint = line.substr(0, k_thumbprint_chars);
    line.remove_prefix(k_thumbprint_chars + 1);
    const std::size_t space = line.find(' ');
    if (space == std::string_view::npos) continue;
    const std::string_view token = line.substr(0, space);
    const fs::path dir(line.substr(space + 1));
    if (!util::is_base64url(thumbprint) || !util::is_acme_token(token) || !dir.is_absolute())
      continue;
    entries.push_back({std::string(thumbprint), std::string(token), dir});
  }
  return entries;
}

enum class Swept { removed, absent, failed };

/// Removes the challenge file of `entry` when it is a regular file holding
/// "<token>.<thumbprint>" or a beginning of it (a kill between its creation and its last byte
/// leaves that); anything else of that name is not ours and stays.
Swept sweep(const Entry& entry) {
  const util::Fd dir(::open(entry.dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!dir.valid() && errno == ENOENT) return Swept::absent;
  const fs::path path = entry.dir / entry.token;
  const auto failed = [&](std::string_view what) {
    log::warning("{}: cannot remove the challenge file of an interrupted run: {}: {}",
                 path.string(), what, std::strerror(errno));
    return Swept::failed;
  };
  if (!dir.valid()) return failed("cannot open its directory");
  const std::string want = fmt::format("{}.{}", entry.token, entry.thumbprint);
  struct stat before {};
  if (::fstatat(dir.get(), entry.token.c_str(), &before, AT_SYMLINK_NOFOLLOW) != 0)
    return errno == ENOENT ? Swept::absent : failed("cannot stat");
  // Only a regular file is opened (no FIFO or device, whatever the web root's owner put there).
  if (!S_ISREG(before.st_mode) || static_cast<std::size_t>(before.st_size) > want.size())
    return Swept::absent;
  const util::Fd fd(::openat(dir.get(), entry.token.c_str(),
                             O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  struct stat after {};
  if (!fd.valid() || ::fstat(fd.get(), &after) != 0)
    return errno == ENOENT ? Swept::absent : failed("cannot open");
  if (after.st_dev != before.st_dev || after.st_ino != before.st_ino) return Swept::absent;
  const std::string content = read_at(fd.get(), want.size() + 1, 0);
  if (!want.starts_with(content)) return Swept::absent;
  if (::unlinkat(dir.get(), entry.token.c_str(), 0) != 0)
    return errno == ENOENT ? Swept::absent : failed("cannot unlink");
  return Swept::removed;
}

bool same_file(int fd, const fs::path& path) {
  struct stat open_st {};
  struct stat path_st {};
  return ::fstat(fd, &open_st) == 0 && ::lstat(path.c_str(), &path_st) == 0 &&
         open_st.st_dev == path_st.st_dev && open_st.st_ino == path_st.st_ino;
}

/// With the ledger open on `fd` under an exclusive flock (no live run holds it): removes the
/// files of every line, then the ledger, which stays when a file could not be removed (the
/// next run tries again). Returns the number of files removed.
std::size_t settle(int fd, const fs::path& path) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw_errno(path, "cannot stat");
  if (!S_ISREG(st.st_mode) || st.st_size > k_max_ledger_bytes)
    throw util::Error({.file = path.string()}, "not a challenge ledger (left as it is)");
  std::size_t removed = 0;
  bool failed = false;
  for (const Entry& entry : parse(read_at(fd, static_cast<std::size_t>(st.st_size), 0))) {
    const Swept swept = sweep(entry);
    removed += swept == Swept::removed ? 1 : 0;
    failed = failed || swept == Swept::failed;
  }
  if (removed > 0)
    log::notice("removed {} challenge file{} left by an interrupted run", removed,
                removed == 1 ? "" : "s");
  if (!failed && same_file(fd, path) && ::unlink(path.c_str()) != 0 && errno != ENOENT)
    throw_errno(path, "cannot remove");
  return removed;
}

} // namespace

Ledger::~Ledger() {
  if (!m_fd.valid()) return;
  // Another live run holding it still needs it; the last one out settles it: its own lines
  // find their files gone, those of a run killed meanwhile are removed.
  if (::flock(m_fd.get(), LOCK_EX | LOCK_NB) != 0) return;
  try {
    (void)settle(m_fd.get(), m_path);
  } catch (const std::exception& e) {
    log::warning("{}", e.what());
  }
}

std::size_t Ledger::recover() noexcept {
  try {
    const util::Fd fd(::open(m_path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
    if (!fd.valid()) {
      if (errno == ENOENT) return 0;
      throw_errno(m_path, "cannot open");
    }
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
      if (errno != EWOULDBLOCK) throw_errno(m_path, "cannot lock");
      log::debug("{}: in use by another run", m_path.string());
      return 0;
    }
    return settle(fd.get(), m_path);
  } catch (const std::exception& e) {
    log::warning("{}", e.what());
  }
  return 0;
}

void Ledger::lock_shared() {
  const auto deadline = std::chrono::steady_clock::now() + k_max_lock_wait;
  while (::flock(m_fd.get(), LOCK_SH | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK && errno != EINTR) throw_errno(m_path, "cannot lock");
    if (std::chrono::steady_clock::now() > deadline)
      throw util::Error({.file = m_path.string()},
                        "another run has held the challenge ledger for over a minute");
    util::sleep_unless_stopped(k_lock_poll);
    util::throw_if_stopped();
  }
}

void Ledger::note(const fs::path& dir, std::string_view token, std::string_view thumbprint) {
  if (!util::is_acme_token(token))
    throw util::Error(
        fmt::format("the CA sent an invalid challenge token \"{}\"", log::printable(token, 80)));
  std::error_code error;
  const fs::path absolute = fs::absolute(dir, error);
  if (error) throw util::Error({.file = dir.string()}, "cannot resolve: " + error.message());
  const std::string where = absolute.lexically_normal().string();
  if (where.find('\n') != std::string::npos)
    throw util::Error({.file = where}, "a challenge directory name must not hold a newline");
  bool created = false;
  // A run settling the ledger may unlink it between our open and flock: open again.
  while (!m_fd.valid() || !same_file(m_fd.get(), m_path)) {
    m_fd = util::Fd(::open(m_path.c_str(), O_RDWR | O_APPEND | O_NOFOLLOW | O_CLOEXEC));
    if (!m_fd.valid() && errno == ENOENT) {
      m_fd = util::Fd(::open(m_path.c_str(),
                             O_RDWR | O_APPEND | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                             k_ledger_mode));
      created = m_fd.valid();
      if (!m_fd.valid() && errno == EEXIST) continue;
    }
    if (!m_fd.valid()) throw_errno(m_path, "cannot open");
    lock_shared();
  }
  std::string line = fmt::format("{} {} {}\n", thumbprint, token, where);
  // A line torn by a killed run (or a failed write) must not swallow this one.
  struct stat st {};
  if (::fstat(m_fd.get(), &st) != 0) throw_errno(m_path, "cannot stat");
  if (st.st_size > 0 && read_at(m_fd.get(), 1, st.st_size - 1) != "\n") line.insert(0, "\n");
  util::write_all(m_fd, m_path, line);
  // As durable as the challenge file that follows: a power cut must not hide it either.
  if (::fdatasync(m_fd.get()) != 0) throw_errno(m_path, "cannot sync");
  if (created) util::fsync_dir(m_path.parent_path());
}

} // namespace certmgr::challenge
