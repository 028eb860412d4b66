#include <certmgr/util/error.hpp>
#include <certmgr/util/fs.hpp>

#include <fmt/format.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fcntl.h>
#include <random>
#include <string>
#include <sys/stat.h>
#include <system_error>
#include <unistd.h>

namespace certmgr::util {
namespace {

namespace fs = std::filesystem;

/// Bytes asked of read(2) at a time: large enough for any certificate file in one call.
constexpr std::size_t k_read_chunk_bytes = 64u << 10;

/// `error` defaults to errno at the call; callers pass existing path objects and literals so
/// nothing between the failing call and here can clobber errno.

/// The ids to pass to fchown(2): -1 for "leave as is" when unset or equal to the process's own
/// (behaviour §3.3: no chown when nothing would change, so an unprivileged run still works).
struct ChownIds {
  uid_t uid{static_cast<uid_t>(-1)};
  gid_t gid{static_cast<gid_t>(-1)};
  [[nodiscard]] bool needed() const noexcept {
    return uid != static_cast<uid_t>(-1) || gid != static_cast<gid_t>(-1);
  }
};

ChownIds chown_ids(const Owner& owner) noexcept {
  ChownIds ids;
  if (owner.uid && *owner.uid != ::geteuid()) ids.uid = *owner.uid;
  if (owner.gid && *owner.gid != ::getegid()) ids.gid = *owner.gid;
  return ids;
}

void give_owner(const Fd& fd, const fs::path& path, const Owner& owner) {
  const ChownIds ids = chown_ids(owner);
  if (ids.needed() && ::fchown(fd.get(), ids.uid, ids.gid) != 0) throw_errno(path, "cannot chown");
}

/// close(2) can report a failed delayed write (NFS, quotas): the file is not good then.
void close_checked(Fd fd, const fs::path& path) {
  if (::close(fd.release()) != 0) throw_errno(path, "cannot close");
}

fs::path parent_of(const fs::path& path) {
  fs::path parent = path.parent_path();
  return parent.empty() ? fs::path(".") : parent;
}

/// `.<basename>.tmp-<16 hex digits>`: hidden, in the target's directory (so rename(2) stays on
/// one filesystem), with 64 random bits so O_EXCL never meets a leftover of a killed run.
fs::path temporary_name(const fs::path& path) {
  std::random_device random;
  const std::uint64_t bits = (std::uint64_t{random()} << 32) ^ random();
  return parent_of(path) / fmt::format(".{}.tmp-{:016x}", path.filename().string(), bits);
}

std::string read_all(const Fd& fd, const fs::path& path, std::size_t max_bytes) {
  std::string content;
  char chunk[k_read_chunk_bytes];
  for (;;) {
    const ssize_t got = ::read(fd.get(), chunk, sizeof chunk);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) throw_errno(path, "cannot read");
    if (got == 0) return content;
    // The size was checked by fstat, but the file may grow while we read it.
    if (content.size() + static_cast<std::size_t>(got) > max_bytes)
      throw Error({.file = path.string()}, fmt::format("larger than {} bytes", max_bytes));
    content.append(chunk, static_cast<std::size_t>(got));
  }
}

/// mkdir of one component. Created with 0700 and only then chown'ed and chmod'ed, so it is never
/// wider than `mode` for anyone (the umask may only narrow mkdir's mode, chmod makes it exact).
void make_dir(const fs::path& dir, mode_t mode, const Owner& owner) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return;
  if (::mkdir(dir.c_str(), 0700) != 0) {
    const int error = errno;
    if (error != EEXIST) throw_errno(dir, "cannot create directory", error);
    // Another thread may have created it since the stat: that is fine, a file is not.
    if (::stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return;
    throw Error({.file = dir.string()}, "exists and is not a directory");
  }
  const Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.valid()) throw_errno(dir, "cannot open directory");
  give_owner(fd, dir, owner);
  if (::fchmod(fd.get(), mode) != 0) throw_errno(dir, "cannot chmod");
  // The new entry is durable only once its parent directory is.
  fsync_dir(parent_of(dir));
}

/// create_file(), with errors naming `reported`: the user knows the file, not our temporary.
void create_reporting(const fs::path& path, const fs::path& reported, std::string_view content,
                      mode_t mode, const Owner& owner) {
  // O_EXCL|O_NOFOLLOW: never write through a planted symlink or into someone else's file; 0600 so
  // nobody can open it before fchmod gives the final mode (behaviour §3.3, style §7).
  Fd fd(::open(path.c_str(), O_CREAT | O_EXCL | O_NOFOLLOW | O_WRONLY | O_CLOEXEC, 0600));
  if (!fd.valid()) throw_errno(reported, "cannot create");
  try {
    give_owner(fd, reported, owner);
    if (::fchmod(fd.get(), mode) != 0) throw_errno(reported, "cannot chmod");
    write_all(fd, reported, content);
    // The content must be on disk before any rename or link makes the file live.
    if (::fsync(fd.get()) != 0) throw_errno(reported, "cannot fsync");
    close_checked(std::move(fd), reported);
  } catch (...) {
    ::unlink(path.c_str());
    throw;
  }
}

} // namespace

Fd& Fd::operator=(Fd&& other) noexcept {
  if (this != &other) {
    if (valid()) ::close(m_fd);
    m_fd = other.release();
  }
  return *this;
}

Fd::~Fd() {
  // Errors of close(2) matter only for written files, which close_checked() handles.
  if (valid()) ::close(m_fd);
}

void create_file(const fs::path& path, std::string_view content, mode_t mode, const Owner& owner) {
  create_reporting(path, path, content, mode, owner);
}

void write_file_atomic(const fs::path& path, std::string_view content, mode_t mode,
                       const Owner& owner) {
  const fs::path temporary = temporary_name(path);
  create_reporting(temporary, path, content, mode, owner);
  if (::rename(temporary.c_str(), path.c_str()) != 0) {
    const int error = errno;
    ::unlink(temporary.c_str());
    throw_errno(path, "cannot rename the new file into place", error);
  }
  // rename(2) is atomic but not durable until the directory is synced.
  fsync_dir(parent_of(path));
}

void write_file_atomic(const fs::path& path, const Secret& content, mode_t mode,
                       const Owner& owner) {
  write_file_atomic(path, content.reveal(), mode, owner);
}

void throw_errno(const fs::path& path, std::string_view what, int error) {
  throw Error({.file = path.string()}, fmt::format("{}: {}", what, std::strerror(error)));
}

void write_all(const Fd& fd, const fs::path& path, std::string_view content) {
  while (!content.empty()) {
    const ssize_t written = ::write(fd.get(), content.data(), content.size());
    if (written < 0 && errno == EINTR) continue;
    if (written < 0) throw_errno(path, "cannot write");
    content.remove_prefix(static_cast<std::size_t>(written));
  }
}

std::optional<std::string> read_file(const fs::path& path, std::size_t max_bytes) {
  // O_NONBLOCK: opening a FIFO planted at `path` must not hang the run; it is refused below.
  const Fd fd(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  if (!fd.valid() && errno == ENOENT) return std::nullopt;
  if (!fd.valid()) throw_errno(path, "cannot open");
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) throw_errno(path, "cannot stat");
  if (!S_ISREG(st.st_mode)) throw Error({.file = path.string()}, "not a regular file");
  if (static_cast<std::uintmax_t>(st.st_size) > max_bytes)
    throw Error({.file = path.string()}, fmt::format("larger than {} bytes", max_bytes));
  return read_all(fd, path, max_bytes);
}

void fsync_dir(const fs::path& dir) {
  const Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) throw_errno(dir, "cannot open directory");
  if (::fsync(fd.get()) != 0) throw_errno(dir, "cannot fsync directory");
}

void make_dirs(const fs::path& dir, mode_t mode, const Owner& owner) {
  fs::path prefix;
  for (const fs::path& component : dir) {
    if (component.empty()) continue; // the trailing "" of "a/b/"
    prefix /= component;
    make_dir(prefix, mode, owner);
  }
}

void remove_tree(const fs::path& path) {
  std::error_code error;
  // remove_all removes a symlink itself and never descends through one.
  fs::remove_all(path, error);
  if (error) throw Error({.file = path.string()}, "cannot remove: " + error.message());
}

} // namespace certmgr::util
