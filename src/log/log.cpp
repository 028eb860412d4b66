#include <certmgr/log.hpp>
#include <certmgr/util/error.hpp>
#include <certmgr/util/fs.hpp>
#include <certmgr/util/time.hpp>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <mutex>
#include <unistd.h>

namespace certmgr::log {
namespace {
struct State {
  std::mutex mutex;
  ConsoleOptions console{};
  util::Fd file{};
  Level file_threshold{Level::error};
};

State& state() {
  static State s;
  return s;
}

std::string_view level_name(Level level) {
  switch (level) {
  case Level::debug:
    return "DEBUG";
  case Level::info:
    return "INFO";
  case Level::progress:
    return "PROGRESS";
  case Level::notice:
    return "NOTICE";
  case Level::warning:
    return "WARNING";
  case Level::error:
    return "ERROR";
  }
  return "?";
}

// Colours of behaviour §10.4.
std::string_view colour_of(Level level) {
  if (level >= Level::error) return "\033[1;31m";
  if (level >= Level::warning) return "\033[1;33m";
  if (level == Level::debug) return "\033[0;37m";
  if (level == Level::notice) return "";
  return "\033[0;90m";
}

// One write(2) per line so concurrent writers (and a log being rotated) never interleave.
void write_all(int fd, std::string_view line) {
  while (!line.empty()) {
    const ssize_t n = ::write(fd, line.data(), line.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return; // a log that cannot be written must not stop certificate work
    line.remove_prefix(static_cast<std::size_t>(n));
  }
}

void write_console(const State& s, Level level, std::string_view message) {
  const int fd = level >= Level::warning ? STDERR_FILENO : STDOUT_FILENO;
  const std::string_view colour = s.console.color ? colour_of(level) : "";
  std::string line;
  if (!colour.empty()) {
    line = fmt::format("{}{}\033[0m\n", colour, message);
  } else {
    line = fmt::format("{}\n", message);
  }
  write_all(fd, line);
}
} // namespace

void set_console(const ConsoleOptions& options) {
  const std::scoped_lock lock(state().mutex);
  state().console = options;
}

void open_file(const std::filesystem::path& path, Level threshold) {
  util::make_dirs(path.parent_path(), 0750);
  util::Fd fd(::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640));
  if (!fd.valid())
    throw util::Error({.file = path.string()},
                      fmt::format("cannot open log file: {}", std::strerror(errno)));
  const std::scoped_lock lock(state().mutex);
  state().file = std::move(fd);
  state().file_threshold = threshold;
}

bool enabled(Level level) noexcept {
  const State& s = state();
  return level >= s.console.threshold || (s.file.valid() && level >= s.file_threshold);
}

void write(Level level, std::string_view message) {
  State& s = state();
  const std::scoped_lock lock(s.mutex);
  if (level >= s.console.threshold) write_console(s, level, message);
  if (s.file.valid() && level >= s.file_threshold) {
    write_all(s.file.get(), fmt::format("{} {} {}\n", util::local_iso8601(util::Clock::now()),
                                        level_name(level), message));
  }
}

std::string printable(std::string_view text, std::size_t max_bytes) {
  std::string out;
  for (const char c : text) {
    if (out.size() >= max_bytes) {
      out += "...";
      break;
    }
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f || u >= 0x80) {
      out += fmt::format("\\x{:02x}", u);
    } else {
      out += c;
    }
  }
  return out;
}

} // namespace certmgr::log
