// certmgr/util/fs.hpp: file helpers with the durability and safety rules of certmgr: files get
// their final mode before their first byte, nothing follows a symlink where one is not expected,
// and every atomic replacement is fsync'ed (file, then rename, then directory).
#pragma once

#include <certmgr/util/secret.hpp>

#include <cerrno>
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>

namespace certmgr::util {

/// An owned file descriptor, closed when destroyed. Move-only.
class Fd {
public:
  Fd() = default;
  explicit Fd(int fd) noexcept : m_fd(fd) {}
  Fd(Fd&& other) noexcept : m_fd(other.release()) {}
  Fd& operator=(Fd&& other) noexcept;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd();
  [[nodiscard]] int get() const noexcept { return m_fd; }
  [[nodiscard]] bool valid() const noexcept { return m_fd >= 0; }
  int release() noexcept {
    const int fd = m_fd;
    m_fd = -1;
    return fd;
  }

private:
  int m_fd{-1};
};

/// Owner to give a file; nullopt members leave that id as the process's.
struct Owner {
  std::optional<uid_t> uid{};
  std::optional<gid_t> gid{};
};

/// Throws util::Error "<path>: <what>: <strerror(error)>". `error` defaults to errno at the call.
[[noreturn]] void throw_errno(const std::filesystem::path& path, std::string_view what,
                              int error = errno);

/// Writes all of `content` to `fd` (restarting after EINTR and short writes). Throws util::Error
/// naming `path`.
void write_all(const Fd& fd, const std::filesystem::path& path, std::string_view content);

/// Replaces `path` atomically with `content`: a temporary file in the same directory created
/// O_EXCL|O_NOFOLLOW with mode 0600, then fchown (when `owner` differs from the process), fchmod
/// to `mode`, all before the first byte; write, fsync, rename over `path`, fsync the directory.
/// The parent directory must exist. Throws util::Error naming `path`.
void write_file_atomic(const std::filesystem::path& path, std::string_view content, mode_t mode,
                       const Owner& owner = {});

/// Creates `path`, which must not exist, holding `content`: O_CREAT|O_EXCL|O_NOFOLLOW with mode
/// 0600, then fchown (when `owner` differs from the process), fchmod to `mode`, all before the
/// first byte; write and fsync. The caller fsyncs the directory (after a rename, or once for many
/// files). On failure the file is unlinked. Throws util::Error naming `path`.
void create_file(const std::filesystem::path& path, std::string_view content, mode_t mode,
                 const Owner& owner = {});

/// The same for secret content (a key file).
void write_file_atomic(const std::filesystem::path& path, const Secret& content, mode_t mode,
                       const Owner& owner = {});

/// Whole content of a regular file, or nullopt when it does not exist. A file larger than
/// `max_bytes`, a non-regular file, or a read error throws util::Error naming `path`.
[[nodiscard]] std::optional<std::string> read_file(const std::filesystem::path& path,
                                                   std::size_t max_bytes = 16u << 20);

/// fsync of a directory (after a rename, create or unlink in it). Throws util::Error.
void fsync_dir(const std::filesystem::path& dir);

/// mkdir -p: every missing directory is created with exactly `mode` (chmod after mkdir, so the
/// umask does not matter) and chown'ed to `owner` where set; the parent of each created directory
/// is fsync'ed. Existing directories are left as they are. Throws util::Error naming the path.
void make_dirs(const std::filesystem::path& dir, mode_t mode, const Owner& owner = {});

/// rm -rf that never follows symlinks; a missing path is fine. Throws util::Error on failure.
void remove_tree(const std::filesystem::path& path);

} // namespace certmgr::util
