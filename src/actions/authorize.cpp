// src/actions/authorize.cpp: `certmgr auth` and `auth --csr` (behaviour §6.7): the master of a
// master/follower pair proves control of the names; followers then issue with
// `update --no-auth` on the same account.
#include "account.hpp"
#include "events.hpp"
#include "issue.hpp"
#include <certmgr/actions.hpp>
#include <certmgr/crypto.hpp>
#include <certmgr/log.hpp>
#include <certmgr/util/stop.hpp>

#include <fmt/format.h>

namespace certmgr::actions {
namespace {

/// One certificate's names authorized; false (and one error line) on failure.
bool authorize_one(Account& account, const hooks::Spec& hooks, challenge::Ledger& ledger,
                   const config::Certificate& cert) noexcept {
  try {
    const auto names =
        authorize_only(account, {.certificate = &cert, .hooks = &hooks, .ledger = &ledger});
    if (names.empty()) {
      log::debug("[{}] every name is authorized already", cert.name);
    } else {
      log::notice("[{}] authorized {}", cert.name, fmt::join(names, ", "));
    }
    return true;
  } catch (const std::exception& e) {
    log::error("[{}] {}", cert.name, e.what());
  }
  return false;
}

int interrupted() {
  log::error("certmgr: interrupted by signal {}", util::stop_signal());
  return 1;
}

} // namespace

int auth(const config::Config& config, const std::vector<std::string>& names,
         const Secrets& secrets) {
  const Selection selection = select(config, names);
  challenge::Ledger ledger(ledger_path(config));
  (void)ledger.recover();
  Account account(config, secrets);
  const hooks::Spec hooks = hook_spec(config);
  int failed = selection.unknown;
  for (const config::Certificate* cert : selection.certificates) {
    if (util::stop_requested()) return interrupted();
    if (!authorize_one(account, hooks, ledger, *cert)) ++failed;
  }
  if (util::stop_requested()) return interrupted();
  return failed > 0 ? 1 : 0;
}

int auth_csr(const config::Config& config, std::string_view csr_pem, const Secrets& secrets) {
  config::Certificate csr{.name = "CSR", .auth = config.settings.auth};
  try {
    csr.alt_names = crypto::csr_names(csr_pem, "standard input");
  } catch (const std::exception& e) {
    log::error("[CSR] {}", e.what());
    return 1;
  }
  challenge::Ledger ledger(ledger_path(config));
  (void)ledger.recover();
  Account account(config, secrets);
  const bool ok = authorize_one(account, hook_spec(config), ledger, csr);
  if (util::stop_requested()) return interrupted();
  return ok ? 0 : 1;
}

} // namespace certmgr::actions
