// certmgr/hooks.hpp: runs the user's hook commands for an event (behaviour §7) and owns the
// list of hook names and their fields. A hook is never run through a shell: its words were
// split at load and each is expanded on its own, so no field value can add an argument, a
// redirection or a command [B52]. A failing hook is logged, never thrown [B53].
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace certmgr::hooks {

/// Longest run of one hook command unless configured otherwise.
inline constexpr std::chrono::seconds k_default_timeout{300};

/// One hook command; `args` and `input` are templates (util/template.hpp), already split.
struct Command {
  std::vector<std::string> args{};            ///< non-empty; args[0] is looked up in PATH
  std::optional<std::filesystem::path> cwd{}; ///< working directory; nullopt = certmgr's
  std::optional<std::string> input{};         ///< written to stdin; nullopt = /dev/null
  std::chrono::seconds timeout{k_default_timeout};
};

/// Hook name → its commands, in order.
using Spec = std::map<std::string, std::vector<Command>>;

/// Something that happened, for which spec[hook] runs.
struct Event {
  std::string hook{};                          ///< a name of known_hooks()
  std::string prefix{};                        ///< log prefix, e.g. "[example.com] "
  std::map<std::string, std::string> fields{}; ///< template fields; never secrets
  std::vector<std::string> environment{};      ///< extra "CERTMGR_X=value" entries
};

enum class Outcome { ok, failed };

/// Runs every command of spec[event.hook] in order (none → ok), each to its end or timeout.
/// argv and input are expanded with event.fields. Environment: util::base_environment(),
/// CERTMGR_EVENT=<hook>, CERTMGR_<FIELD>=<value> for every field, then event.environment;
/// nothing else of ours. Logs progress "calling hook", the output at info, and for a failure
/// (exit status, signal, timeout, spawn failure, unknown field) one warning
/// "<prefix>hook <hook> failed: <reason>"; the next command still runs. Returns failed when
/// any command failed. Never throws for a failing hook (std::bad_alloc aside).
[[nodiscard]] Outcome run(const Spec& spec, const Event& event);

/// Hook name → the fields it offers (util::hook_fields(): both spellings of B51).
[[nodiscard]] const std::map<std::string, std::vector<std::string>>& known_hooks();

} // namespace certmgr::hooks
