// certmgr/services.hpp: reloads the services whose certificates changed (behaviour §2.5, §5.8,
// §7.5), once each per run, after all certificates. Service commands are shell command lines
// from the configuration, run through /bin/sh -c without any field substitution [B52]. A
// failing reload is logged and counted, never thrown.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace certmgr::services {

/// Longest run of one reload command (systemctl waits for the unit).
inline constexpr std::chrono::seconds k_default_timeout{300};

/// Service name → shell command; nullopt = a known service without a command.
using Table = std::map<std::string, std::optional<std::string>>;

/// The built-in table of §2.5 (apache → "systemctl reload apache2", …, znc).
[[nodiscard]] const Table& builtin();

/// Reloads each name once, in the given order [B60] (a name given again is skipped): its
/// command through /bin/sh -c with util::base_environment() only, killed after `timeout`.
/// Success → progress "reloaded <name>" (output at info); a failure → one warning "service
/// <name>: reload failed: <reason>: <first output line>"; a nullopt command → warning "service
/// <name> has no command", counted as a failure. Returns the number of failures.
[[nodiscard]] int
reload(const std::vector<std::pair<std::string, std::optional<std::string>>>& services,
       std::chrono::seconds timeout);

} // namespace certmgr::services
