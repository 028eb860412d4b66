#include <certmgr/util/error.hpp>
#include <certmgr/util/fs.hpp>
#include <certmgr/util/passphrase.hpp>
#include <certmgr/util/stop.hpp>

#include <fmt/format.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <string.h>
#include <string_view>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <termios.h>
#include <unistd.h>

extern char** environ; // <unistd.h> declares it only for _GNU_SOURCE

namespace certmgr::util {
namespace {

namespace fs = std::filesystem;

constexpr const char* k_environment_variable = "CERTMGR_PASSPHRASE";
constexpr const char* k_tty = "/dev/tty";

/// Longest line read as a passphrase. A longer one is an error rather than silently cut, which
/// would turn a right passphrase into a wrong one without saying why.
constexpr std::size_t k_max_line_bytes = k_max_passphrase_bytes;

/// Where a passphrase line is read: a fixed array (never reallocated, so no copy is left behind
/// in freed memory), zeroed when destroyed.
class LineBuffer {
public:
  LineBuffer() = default;
  LineBuffer(const LineBuffer&) = delete;
  LineBuffer& operator=(const LineBuffer&) = delete;
  ~LineBuffer() { explicit_bzero(m_bytes.data(), m_bytes.size()); }

  /// Reads from `fd` until the first "\n" or end of file and returns the first line without
  /// its "\n" or "\r\n". `where` names the source in errors, `what` is the failure text.
  std::string_view read_line(int fd, const fs::path& where, std::string_view what) {
    std::size_t size = 0;
    for (;;) {
      const std::string_view read_so_far(m_bytes.data(), size);
      const std::size_t newline = read_so_far.find('\n');
      if (newline != std::string_view::npos || size == m_bytes.size()) {
        std::string_view line = read_so_far.substr(0, newline);
        if (newline != std::string_view::npos && line.ends_with('\r')) line.remove_suffix(1);
        if (line.size() > k_max_line_bytes) throw_too_long(where);
        return line;
      }
      const ssize_t got = ::read(fd, m_bytes.data() + size, m_bytes.size() - size);
      const int error = errno;
      if (got < 0 && error == EINTR) {
        // Ctrl-C at the prompt: give up (the caller restores the echo) instead of waiting.
        if (stop_requested()) throw Error({.file = where.string()}, "interrupted");
        continue;
      }
      if (got < 0)
        throw Error({.file = where.string()}, fmt::format("{}: {}", what, strerror(error)));
      if (got == 0) {
        if (read_so_far.size() > k_max_line_bytes) throw_too_long(where);
        return read_so_far;
      }
      size += static_cast<std::size_t>(got);
    }
  }

private:
  [[noreturn]] static void throw_too_long(const fs::path& where) {
    throw Error({.file = where.string()},
                fmt::format("the passphrase is longer than {} bytes", k_max_line_bytes));
  }

  std::array<char, k_max_line_bytes + 2> m_bytes{}; // room for the longest line and its "\r\n"
};

[[noreturn]] void throw_tty_error(std::string_view what, int error = errno) {
  throw Error({.file = k_tty}, fmt::format("{}: {}", what, strerror(error)));
}

std::optional<Secret> from_pass_file(const fs::path& path) {
  // No O_NONBLOCK and no regular-file check: `--pass-file <(pass show x)` or /dev/stdin, pipes
  // that the user controls, are as good a source as a file.
  const Fd fd(::open(path.c_str(), O_RDONLY | O_NOCTTY | O_CLOEXEC));
  const int error = errno;
  if (!fd.valid())
    throw Error({.file = path.string()}, fmt::format("cannot read pass file: {}", strerror(error)));
  LineBuffer buffer;
  const std::string_view line = buffer.read_line(fd.get(), path, "cannot read pass file");
  if (line.empty()) throw Error({.file = path.string()}, "the pass file is empty");
  return Secret(line);
}

std::optional<Secret> from_environment() {
  const char* value = std::getenv(k_environment_variable);
  if (value == nullptr || *value == '\0') return std::nullopt;
  return Secret(std::string_view(value));
}

bool write_all(int fd, std::string_view text) {
  while (!text.empty()) {
    const ssize_t written = ::write(fd, text.data(), text.size());
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) return false;
    text.remove_prefix(static_cast<std::size_t>(written));
  }
  return true;
}

/// Echo off on a terminal for the lifetime of this object; the settings are restored and the
/// newline the user typed (which was not echoed) is written when it ends, also by an exception.
class HiddenInput {
public:
  explicit HiddenInput(int fd) : m_fd(fd) {
    if (::tcgetattr(fd, &m_saved) != 0) throw_tty_error("cannot read the terminal settings");
    termios hidden = m_saved;
    hidden.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    // TCSAFLUSH, as getpass(3) does: what was typed before the prompt is not the passphrase.
    if (::tcsetattr(fd, TCSAFLUSH, &hidden) != 0) throw_tty_error("cannot turn off echo");
  }
  HiddenInput(const HiddenInput&) = delete;
  HiddenInput& operator=(const HiddenInput&) = delete;
  ~HiddenInput() {
    (void)::tcsetattr(m_fd, TCSAFLUSH, &m_saved);
    (void)write_all(m_fd, "\n");
  }

private:
  int m_fd;
  termios m_saved{};
};

std::optional<Secret> from_terminal() {
  // Without a terminal on stdin the run is unattended (cron, a systemd timer): asking would hang
  // it, or read a passphrase from wherever /dev/tty happens to lead.
  if (::isatty(STDIN_FILENO) == 0) return std::nullopt;
  const Fd tty(::open(k_tty, O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!tty.valid()) return std::nullopt;
  LineBuffer buffer;
  std::string_view line;
  {
    // Echo goes off before the prompt shows, so that nothing typed at once is echoed.
    const HiddenInput hidden(tty.get());
    if (!write_all(tty.get(), "certmgr: passphrase: ")) throw_tty_error("cannot write the prompt");
    line = buffer.read_line(tty.get(), k_tty, "cannot read the passphrase");
  }
  if (line.empty()) return std::nullopt;
  return Secret(line);
}

} // namespace

std::optional<Secret> runtime_passphrase(const std::optional<fs::path>& pass_file) {
  if (pass_file) return from_pass_file(*pass_file);
  if (auto secret = from_environment()) return secret;
  return from_terminal();
}

void forget_passphrase_environment() {
  // /proc/<pid>/environ shows the environment block the process was started with, which
  // unsetenv(3) only unlinks: the bytes must be overwritten where they are. Every entry, since
  // execve(2) allows the same name twice.
  const std::string_view name(k_environment_variable);
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    const std::string_view text(*entry);
    if (text.size() > name.size() && text.starts_with(name) && text[name.size()] == '=')
      explicit_bzero(*entry + name.size() + 1, text.size() - name.size() - 1);
  }
  ::unsetenv(k_environment_variable);
}

void protect_secrets_in_memory() {
  // Non-dumpable: /proc/<pid>/mem, environ and ptrace are closed to every other process without
  // CAP_SYS_PTRACE, even of the same uid, and the kernel writes no core file.
  if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
    throw Error(fmt::format("cannot make the process non-dumpable: {}", strerror(errno)));
  // The limit as well: a change of uid or gid (setuid(2) and friends) sets the dumpable flag
  // back to fs.suid_dumpable, the limit stays.
  const rlimit no_core{.rlim_cur = 0, .rlim_max = 0};
  if (::setrlimit(RLIMIT_CORE, &no_core) != 0)
    throw Error(fmt::format("cannot set the core file size limit to 0: {}", strerror(errno)));
}

} // namespace certmgr::util
