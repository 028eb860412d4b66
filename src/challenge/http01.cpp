#include <certmgr/challenge.hpp>
#include <certmgr/log.hpp>
#include <certmgr/util/base64url.hpp>
#include <certmgr/util/error.hpp>
#include <certmgr/util/fs.hpp>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace certmgr::challenge {
namespace {
constexpr mode_t k_challenge_dir_mode = 0755;
constexpr mode_t k_challenge_file_mode = 0644; // the web server must read it
} // namespace

Published::Published(std::filesystem::path dir, util::Fd dir_fd, std::string token)
    : m_dir(std::move(dir)), m_dir_fd(std::move(dir_fd)), m_token(std::move(token)) {}

Published::Published(Published&& other) noexcept
    : m_dir(std::move(other.m_dir)), m_dir_fd(std::move(other.m_dir_fd)),
      m_token(std::move(other.m_token)), m_active(std::exchange(other.m_active, false)) {}

Published::~Published() { remove(); }

void Published::remove() noexcept {
  if (!m_active) return;
  m_active = false;
  if (::unlinkat(m_dir_fd.get(), m_token.c_str(), 0) != 0 && errno != ENOENT)
    log::warning("{}: cannot remove the challenge file: {}", path().string(), std::strerror(errno));
}

Published publish(const std::filesystem::path& dir, std::string_view token,
                  std::string_view key_authorization) {
  // Checked again here, where the path is built (style.md §6), whatever the caller did.
  if (!util::is_acme_token(token))
    throw util::Error(
        fmt::format("the CA sent an invalid challenge token \"{}\"", log::printable(token, 80)));
  util::make_dirs(dir, k_challenge_dir_mode);
  // The last component must be a real directory: a symlink planted there by whoever owns the
  // web root must not make root create files elsewhere.
  util::Fd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!dir_fd.valid())
    throw util::Error({.file = dir.string()},
                      fmt::format("cannot open the challenge directory: {}", std::strerror(errno)));
  const std::string name(token);
  const std::filesystem::path path = dir / name;
  const util::Fd fd(::openat(dir_fd.get(), name.c_str(),
                             O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                             k_challenge_file_mode));
  if (!fd.valid())
    throw util::Error({.file = path.string()},
                      fmt::format("cannot create the challenge file: {}", std::strerror(errno)));
  Published published(dir, std::move(dir_fd), name); // removed on every exit from here on
  if (::fchmod(fd.get(), k_challenge_file_mode) != 0)
    throw util::Error({.file = path.string()},
                      fmt::format("cannot set the challenge file mode: {}", std::strerror(errno)));
  util::write_all(fd, path, key_authorization);
  return published;
}

} // namespace certmgr::challenge
