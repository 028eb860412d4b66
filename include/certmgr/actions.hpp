// certmgr/actions.hpp: the subcommands, as orchestration of the modules below. Each action
// catches the failure of one certificate, reports it as one line "[<name>] <cause>" and goes on
// with the others; the returned value is the exit status of architecture.md (0 ok, 1 some
// certificate failed).
#pragma once

#include <certmgr/config.hpp>

#include <string>
#include <vector>

namespace certmgr::actions {

/// Certificate selection of behaviour §1.4 ([B59]: arguments are lower-cased). Unknown or
/// ambiguous names are reported as errors and counted in `unknown`.
struct Selection {
  std::vector<const config::Certificate*> certificates{};
  int unknown{0};
};
[[nodiscard]] Selection select(const config::Config& config, const std::vector<std::string>& names);

enum class Force { no, yes };

struct UpdateOptions {
  std::vector<std::string> names{}; ///< empty = every certificate
  Force force{Force::no};
};

/// `certmgr update`: issues or renews what is due, writes each certificate's files in one
/// transaction, maintains alt-name links. Prints one summary line per changed certificate
/// (log::notice) and nothing when nothing is due; contacts the CA only when an order is needed.
[[nodiscard]] int update(const config::Config& config, const UpdateOptions& options);

} // namespace certmgr::actions
