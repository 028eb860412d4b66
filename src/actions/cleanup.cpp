// actions::cleanup (behaviour §4.3): prunes old archives. Unlike the Python tool, archives of
// certificates no longer configured are pruned too when no names are given (they would
// otherwise be kept for ever), and account archives live in archives/account [B24].
#include "backoff.hpp"
#include <certmgr/actions.hpp>
#include <certmgr/log.hpp>
#include <certmgr/store.hpp>
#include <certmgr/util/time.hpp>

#include <set>

namespace certmgr::actions {
namespace {

std::set<std::string> configured_names(const config::Config& config) {
  std::set<std::string> configured;
  for (const auto& cert : config.certificates) configured.insert(cert.name);
  return configured;
}

struct Pruning {
  store::Paths paths{};
  std::chrono::system_clock::time_point cutoff{};
  DryRun dry_run{DryRun::no};
};

bool prune_one(const Pruning& pruning, const std::string& name) noexcept {
  try {
    const store::Prune mode =
        pruning.dry_run == DryRun::yes ? store::Prune::list_only : store::Prune::remove;
    const char* verb = pruning.dry_run == DryRun::yes ? "would remove" : "removed";
    for (const auto& stamp : store::prune_archives(pruning.paths, name, pruning.cutoff, mode))
      log::notice("[{}] {} archive {}", name, verb, stamp);
    return true;
  } catch (const std::exception& e) {
    log::error("[{}] {}", name, e.what());
  }
  return false;
}

/// Directories under archives/ of no configured certificate: certificates removed from the
/// configuration, and account. Returns the number of failures.
int prune_unconfigured(const config::Config& config, const Pruning& pruning) noexcept {
  try {
    const std::set<std::string> configured = configured_names(config);
    int failed = 0;
    for (const auto& name : store::archived_names(pruning.paths))
      if (!configured.contains(name) && !prune_one(pruning, name)) ++failed;
    return failed;
  } catch (const std::exception& e) {
    log::error("{}", e.what());
  }
  return 1;
}

/// Back-off state (.backoff/<name>.json) of certificates no longer configured.
int drop_unconfigured_backoff(const config::Config& config, const Pruning& pruning) noexcept {
  try {
    const std::set<std::string> configured = configured_names(config);
    for (const auto& name : backoff_names(pruning.paths)) {
      if (configured.contains(name)) continue;
      if (pruning.dry_run == DryRun::yes) {
        log::notice("[{}] would remove back-off state", name);
      } else {
        clear_backoff(pruning.paths, name);
        log::notice("[{}] removed back-off state", name);
      }
    }
    return 0;
  } catch (const std::exception& e) {
    log::error("{}", e.what());
  }
  return 1;
}

} // namespace

int cleanup(const config::Config& config, const CleanupOptions& options) {
  const Selection selection = select(config, options.names);
  int failed = selection.unknown;
  const int days = options.days.value_or(config.settings.archive_days);
  const auto cutoff = store::archive_cutoff(util::Clock::now(), days);
  if (options.names.empty())
    failed += drop_unconfigured_backoff(
        config, {.paths = {.data_dir = config.settings.data_dir}, .dry_run = options.dry_run});
  if (!cutoff) {
    log::debug("archive days {} <= 0: no archive is pruned", days);
    return failed > 0 ? 1 : 0;
  }
  const Pruning pruning{.paths = {.data_dir = config.settings.data_dir},
                        .cutoff = *cutoff,
                        .dry_run = options.dry_run};
  for (const config::Certificate* cert : selection.certificates)
    if (!prune_one(pruning, cert->name)) ++failed;
  if (options.names.empty()) failed += prune_unconfigured(config, pruning);
  return failed > 0 ? 1 : 0;
}

} // namespace certmgr::actions
