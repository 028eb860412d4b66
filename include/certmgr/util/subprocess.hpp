// certmgr/util/subprocess.hpp: runs one external program (a hook, a service reload) to its end.
// Owns the child from spawn to reap: it runs in its own process group with a complete,
// caller-given environment and a deadline; on expiry the whole group is killed. No shell is
// involved unless argv names one. Never leaves a child, a zombie or a descriptor behind.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace certmgr::util {

/// A command that runs longer is killed: cron runs must end.
inline constexpr std::chrono::milliseconds k_default_spawn_timeout = std::chrono::minutes{5};
/// Output kept per child; the rest is read and dropped, so a chatty child never blocks.
inline constexpr std::size_t k_max_output_bytes = 64 * 1024;
/// Appended to output cut at k_max_output_bytes.
inline constexpr std::string_view k_truncated_marker = "[... truncated]";

struct SpawnOptions {
  std::vector<std::string> argv{};            ///< non-empty; argv[0] is looked up in PATH
  std::optional<std::filesystem::path> cwd{}; ///< working directory; nullopt = ours
  std::optional<std::string> input{};         ///< written to stdin, then closed; nullopt =
                                              ///< stdin is /dev/null
  std::vector<std::string> environment{};     ///< the complete environment, "NAME=value"
  std::chrono::milliseconds timeout{k_default_spawn_timeout}; ///< from spawn to kill
};

struct SpawnResult {
  enum class Status { exited, signalled, timed_out, spawn_failed };
  Status status{Status::spawn_failed};
  int code{0};          ///< exit status (exited) or signal number (signalled)
  std::string output{}; ///< stdout and stderr merged, at most k_max_output_bytes + marker
  std::string error{};  ///< spawn_failed only: why (strerror text, naming the program or cwd)
};

/// Starts `options.argv` (execvp lookup, using our PATH) in a new process group with stdout and
/// stderr on one pipe, feeds `input`, collects output until the child exits, and reaps it. At
/// the deadline the group gets SIGTERM, then SIGKILL 2 s later. A NUL byte in argv or the
/// environment, a missing cwd, or a failed exec is spawn_failed. Output read after the child
/// exited is waited for at most 1 s (a background grandchild may hold the pipe). Never throws
/// for a failing child (std::bad_alloc aside); safe in a multi-threaded process (posix_spawn).
[[nodiscard]] SpawnResult spawn(const SpawnOptions& options);

/// The environment every hook and service starts from, taken from ours: PATH (or a safe
/// default when unset), and HOME, LANG, LC_ALL, TZ when set. Nothing else, so secrets in our
/// environment do not leak to children.
[[nodiscard]] std::vector<std::string> base_environment();

/// Why `result` of spawn(`options`) is a failure, one line without the output: "exit status 3",
/// "killed by signal 9 (SIGKILL)", "killed after 5 s", "cannot run \"x\": <error>"; "" for
/// exit status 0. The program name is quoted as given: log it through log::printable().
[[nodiscard]] std::string failure_reason(const SpawnResult& result, const SpawnOptions& options);

/// The lines of `output`: split at '\n', a trailing "\r" dropped, empty lines left out.
[[nodiscard]] std::vector<std::string_view> output_lines(std::string_view output);

} // namespace certmgr::util
