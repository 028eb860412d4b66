// certmgr/log.hpp: the single logging path. Console: DEBUG/INFO/PROGRESS/NOTICE to stdout,
// WARNING/ERROR to stderr, colour only when asked and on a TTY; log file: every record at or
// above its own threshold with a timestamp and level [B56]. Whole lines, thread-safe. Server
// text must pass through printable() before it is logged. Secrets are never passed here
// (util::Secret has no formatter).
#pragma once

#include <fmt/format.h>

#include <filesystem>
#include <string>
#include <string_view>
#include <utility>

namespace certmgr::log {

enum class Level {
  debug = 10,    ///< details: files written, polls, skipped items
  info = 20,     ///< step headers, renewal reasons
  progress = 25, ///< actions taken: keys generated, authorizations, commits
  notice = 27,   ///< the one summary line per changed certificate: shown by default
  warning = 30,  ///< recoverable problems
  error = 40,    ///< a certificate failed
};

struct ConsoleOptions {
  Level threshold{Level::notice};
  bool color{false}; ///< ANSI colours (caller decides: TTY, --no-color, color_output)
};

/// Sets console threshold and colour. Not thread-safe against concurrent writes: call at start.
void set_console(const ConsoleOptions& options);
/// Opens (append, creating 0640 and its parent directory 0750 if missing) the log file and
/// writes records at or above `threshold` to it from now on. Throws util::Error naming the file.
void open_file(const std::filesystem::path& path, Level threshold);
/// True when a record of `level` would go anywhere (avoid formatting costly debug text).
[[nodiscard]] bool enabled(Level level) noexcept;
/// Writes one record (one line; embedded newlines are escaped by printable() at the caller).
void write(Level level, std::string_view message);

/// Server or file text made safe for one log line: control bytes and non-UTF-8 as \xNN,
/// truncated to `max_bytes` with "...".
[[nodiscard]] std::string printable(std::string_view text, std::size_t max_bytes = 400);

template <class... Args> void debug(fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(Level::debug)) write(Level::debug, fmt::format(f, std::forward<Args>(args)...));
}
template <class... Args> void info(fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(Level::info)) write(Level::info, fmt::format(f, std::forward<Args>(args)...));
}
template <class... Args> void progress(fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(Level::progress)) write(Level::progress, fmt::format(f, std::forward<Args>(args)...));
}
template <class... Args> void notice(fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(Level::notice)) write(Level::notice, fmt::format(f, std::forward<Args>(args)...));
}
template <class... Args> void warning(fmt::format_string<Args...> f, Args&&... args) {
  write(Level::warning, fmt::format(f, std::forward<Args>(args)...));
}
template <class... Args> void error(fmt::format_string<Args...> f, Args&&... args) {
  write(Level::error, fmt::format(f, std::forward<Args>(args)...));
}

} // namespace certmgr::log
