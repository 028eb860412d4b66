// certmgr/util/hook_fields.hpp: the hook names certmgr fires and the template fields each one
// offers (behaviour §7.1, both spellings of B51). One table for config, which checks templates
// at load, and hooks, which fills them in; kept in util because neither may include the other.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace certmgr::util {

/// Hook name → its fields, sorted by name. Never a passphrase field [B51]. Thread-safe
/// (immutable).
[[nodiscard]] const std::map<std::string, std::vector<std::string>>& hook_fields();

} // namespace certmgr::util
