// src/actions/links.hpp: which alt-name links the configuration wants (behaviour §3.4), shared by
// the actions that keep them (update, check). Private to actions and its unit tests.
#pragma once

#include <certmgr/config.hpp>

#include <map>
#include <set>
#include <string>
#include <string_view>

namespace certmgr::actions {

struct WantedLinks {
  std::map<std::string, std::string> wanted{}; ///< alt name → certificate name
  std::set<std::string> names{};               ///< every configured certificate name
};

/// The links for store::sync_links: link_names → name of every configured certificate whose
/// <data_dir>/<name> exists (a certificate never issued gets no links to nothing), and the names
/// of all configured certificates. Reads only the file system's directory entries.
[[nodiscard]] WantedLinks wanted_links(const config::Config& config);

/// True for a store::sync_links line that reports a link it refused to make (a conflict),
/// false for one that reports a change.
[[nodiscard]] bool is_link_conflict(std::string_view line);

} // namespace certmgr::actions
