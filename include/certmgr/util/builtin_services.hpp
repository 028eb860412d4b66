// certmgr/util/builtin_services.hpp: the services certmgr knows without configuration
// (behaviour §2.5). One table for config, which merges the `services` section over it, and
// services, which reloads them; kept in util because neither may include the other.
#pragma once

#include <map>
#include <optional>
#include <string>

namespace certmgr::util {

/// Service name → shell command (run through /bin/sh -c), sorted by name; nullopt = known but
/// without a command. Thread-safe (immutable).
[[nodiscard]] const std::map<std::string, std::optional<std::string>>& builtin_services();

} // namespace certmgr::util
