// actions::check (behaviour §3.6): puts modes, owners and links of the tree back as update leaves
// them, without the network. Unlike the Python tool it also repairs directories [B26] and chowns
// them to the certificate owner [B25].
#include "links.hpp"
#include <certmgr/actions.hpp>
#include <certmgr/log.hpp>
#include <certmgr/store.hpp>

#include <string_view>

namespace certmgr::actions {
namespace {

/// Logs one report (repairs as notices, failures as errors, each after `prefix`); returns the
/// number of failures.
int log_report(const store::RepairReport& report, std::string_view prefix) {
  for (const auto& line : report.repaired) log::notice("{}{}", prefix, line);
  for (const auto& line : report.failed) log::error("{}{}", prefix, line);
  return static_cast<int>(report.failed.size());
}

bool check_one(const store::Paths& paths, const config::Certificate& cert) noexcept {
  try {
    const util::Owner owner{.uid = cert.file_uid, .gid = cert.file_gid};
    const store::RepairReport report = store::repair_modes(paths, cert.name, owner);
    if (!report.found) log::debug("[{}] not issued yet, nothing to check", cert.name);
    return log_report(report, "[" + cert.name + "] ") == 0;
  } catch (const std::exception& e) {
    log::error("[{}] {}", cert.name, e.what());
  }
  return false;
}

/// Behaviour §3.4: links of every certificate, whatever the selection, as update keeps them.
int check_links(const config::Config& config, const store::Paths& paths) noexcept {
  try {
    const auto [wanted, names] = wanted_links(config);
    int failed = 0;
    for (const auto& line : store::sync_links(paths, wanted, names)) {
      if (is_link_conflict(line)) {
        log::error("{}: {}", paths.data_dir.string(), line); // a human must move it away
        ++failed;
      } else {
        log::notice("{}", line);
      }
    }
    return failed;
  } catch (const std::exception& e) {
    log::error("{}", e.what());
  }
  return 1;
}

int check_account(const store::Paths& paths) noexcept {
  try {
    return log_report(store::repair_account(paths), "");
  } catch (const std::exception& e) {
    log::error("{}", e.what());
  }
  return 1;
}

} // namespace

int check(const config::Config& config, const std::vector<std::string>& names) {
  const Selection selection = select(config, names);
  const store::Paths paths{.data_dir = config.settings.data_dir};
  int failed = selection.unknown;
  for (const config::Certificate* cert : selection.certificates)
    if (!check_one(paths, *cert)) ++failed;
  failed += check_links(config, paths);
  failed += check_account(paths);
  return failed > 0 ? 1 : 0;
}

} // namespace certmgr::actions
