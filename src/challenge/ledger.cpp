// src/challenge/ledger.cpp: the record of challenge directories in use, and the sweep of files
// a killed run left in them (see challenge.hpp).
#include <certmgr/challenge.hpp>
#include <certmgr/log.hpp>
#include <certmgr/util/base64url.hpp>
#include <certmgr/util/error.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <map>
#include <set>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace certmgr::challenge {
namespace {
namespace fs = std::filesystem;

/// Base64url of a SHA-256 (RFC 7638 thumbprint).
constexpr std::size_t k_thumbprint_chars = 43;
/// A ledger lists a few directories; anything bigger is not ours to parse.
constexpr off_t k_max_ledger_bytes = 1 << 20;
constexpr mode_t k_ledger_mode = 0600;

[[noreturn]] void throw_errno(const fs::path& path, std::string_view what) {
  throw util::Error({.file = path.string()}, fmt::format("{}: {}", what, std::strerror(errno)));
}

bool read_exactly(int fd, std::string& out, std::size_t size) {
  out.assign(size + 1, '\0'); // one more: a longer file is not a key authorization
  std::size_t got = 0;
  while (got < out.size()) {
    const ssize_t n = ::read(fd, out.data() + got, out.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  out.resize(got);
  return got == size;
}

/// Whether `name` in `dir_fd` is a regular file holding "<name>.<one of thumbprints>", or a
/// beginning of it: a run killed between the file's creation and its last byte left that. The
/// token is the CA's random name for one authorization of one account, so no other client
/// writes a file of that name.
bool is_ours(int dir_fd, const std::string& name, const std::set<std::string>& thumbprints) {
  if (!util::is_acme_token(name)) return false;
  const util::Fd fd(
      ::openat(dir_fd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  struct stat st {};
  if (!fd.valid() || ::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) return false;
  const std::size_t size = static_cast<std::size_t>(st.st_size);
  const std::size_t full = name.size() + 1 + k_thumbprint_chars;
  if (size > full) return false;
  std::string content;
  if (!read_exactly(fd.get(), content, size)) return false;
  return std::ranges::any_of(thumbprints, [&](const std::string& thumbprint) {
    return fmt::format("{}.{}", name, thumbprint).starts_with(content);
  });
}

/// Removes the files of `thumbprints` from `dir`; warns about what it cannot do.
std::size_t sweep(const fs::path& dir, const std::set<std::string>& thumbprints) {
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dir_fd < 0) {
    if (errno != ENOENT)
      log::warning("{}: cannot open the challenge directory: {}", dir.string(),
                   std::strerror(errno));
    return 0;
  }
  DIR* listing = ::fdopendir(dir_fd); // owns dir_fd from here
  if (listing == nullptr) {
    log::warning("{}: cannot list the challenge directory: {}", dir.string(), std::strerror(errno));
    ::close(dir_fd);
    return 0;
  }
  std::vector<std::string> ours;
  while (const dirent* entry = ::readdir(listing)) {
    const std::string name(entry->d_name);
    if (is_ours(dir_fd, name, thumbprints)) ours.push_back(name);
  }
  std::size_t removed = 0;
  for (const std::string& name : ours) {
    if (::unlinkat(dir_fd, name.c_str(), 0) == 0) {
      ++removed;
    } else if (errno != ENOENT) {
      log::warning("{}: cannot remove the challenge file: {}", (dir / name).string(),
                   std::strerror(errno));
    }
  }
  ::closedir(listing);
  return removed;
}

/// Complete lines "<thumbprint> <absolute dir>" of a ledger, by directory; a torn last line
/// (the run was killed while appending it, before any file went there) and malformed ones are
/// skipped.
std::map<fs::path, std::set<std::string>> parse(std::string_view text) {
  std::map<fs::path, std::set<std::string>> dirs;
  for (std::size_t end = text.find('\n'); end != std::string_view::npos; end = text.find('\n')) {
    const std::string_view line = text.substr(0, end);
    text.remove_prefix(end + 1);
    const std::size_t space = line.find(' ');
    if (space != k_thumbprint_chars) continue;
    const std::string_view thumbprint = line.substr(0, space);
    const fs::path dir(line.substr(space + 1));
    if (!util::is_base64url(thumbprint) || !dir.is_absolute()) continue;
    dirs[dir].emplace(thumbprint);
  }
  return dirs;
}

bool same_file(int fd, const fs::path& path) {
  struct stat open_st {};
  struct stat path_st {};
  return ::fstat(fd, &open_st) == 0 && ::lstat(path.c_str(), &path_st) == 0 &&
         open_st.st_dev == path_st.st_dev && open_st.st_ino == path_st.st_ino;
}

} // namespace

Ledger::~Ledger() {
  if (!m_fd.valid()) return;
  // Another live run holding it still needs it; the last one out deletes it.
  if (::flock(m_fd.get(), LOCK_EX | LOCK_NB) != 0) return;
  if (same_file(m_fd.get(), m_path) && ::unlink(m_path.c_str()) != 0 && errno != ENOENT)
    log::warning("{}: cannot remove: {}", m_path.string(), std::strerror(errno));
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
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) throw_errno(m_path, "cannot stat");
    if (!S_ISREG(st.st_mode) || st.st_size > k_max_ledger_bytes)
      throw util::Error({.file = m_path.string()}, "not a challenge ledger (left as it is)");
    std::string text;
    (void)read_exactly(fd.get(), text, static_cast<std::size_t>(st.st_size));
    std::size_t removed = 0;
    for (const auto& [dir, thumbprints] : parse(text)) removed += sweep(dir, thumbprints);
    if (removed > 0)
      log::notice("removed {} challenge file{} left by an interrupted run", removed,
                  removed == 1 ? "" : "s");
    if (same_file(fd.get(), m_path) && ::unlink(m_path.c_str()) != 0 && errno != ENOENT)
      throw_errno(m_path, "cannot remove");
    return removed;
  } catch (const std::exception& e) {
    log::warning("{}", e.what());
  }
  return 0;
}

void Ledger::note(const fs::path& dir, std::string_view thumbprint) {
  const std::string where = fs::absolute(dir).lexically_normal().string();
  if (where.find('\n') != std::string::npos)
    throw util::Error({.file = where}, "a challenge directory name must not hold a newline");
  const std::string line = fmt::format("{} {}\n", thumbprint, where);
  if (std::ranges::find(m_lines, line) != m_lines.end()) return;
  bool created = false;
  // A recover() of another run may unlink the file between our open and flock: open again.
  while (!m_fd.valid() || !same_file(m_fd.get(), m_path)) {
    m_fd = util::Fd(::open(m_path.c_str(), O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC));
    if (!m_fd.valid() && errno == ENOENT) {
      m_fd = util::Fd(::open(m_path.c_str(),
                             O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                             k_ledger_mode));
      created = m_fd.valid();
      if (!m_fd.valid() && errno == EEXIST) continue;
    }
    if (!m_fd.valid()) throw_errno(m_path, "cannot open");
    while (::flock(m_fd.get(), LOCK_SH) != 0)
      if (errno != EINTR) throw_errno(m_path, "cannot lock");
  }
  std::string_view rest(line);
  while (!rest.empty()) {
    const ssize_t n = ::write(m_fd.get(), rest.data(), rest.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw_errno(m_path, "cannot write");
    rest.remove_prefix(static_cast<std::size_t>(n));
  }
  // As durable as the challenge file that follows: a power cut must not hide it either.
  if (::fdatasync(m_fd.get()) != 0) throw_errno(m_path, "cannot sync");
  if (created) util::fsync_dir(m_path.parent_path());
  m_lines.push_back(line);
}

} // namespace certmgr::challenge
