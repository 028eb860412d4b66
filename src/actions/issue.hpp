// src/actions/issue.hpp: one issuance (behaviour §5.3, §6.2–§6.5): fresh key, CSR, order,
// http-01 authorizations, finalize, download, and a check of what the CA returned before anyone
// stores it.
#pragma once

#include "account.hpp"
#include <certmgr/challenge.hpp>
#include <certmgr/config.hpp>
#include <certmgr/crypto.hpp>
#include <certmgr/hooks.hpp>
#include <certmgr/util/error.hpp>

#include <chrono>
#include <vector>

namespace certmgr::actions {

struct Issued {
  crypto::Key key;
  crypto::Certificate leaf;
  std::vector<crypto::Certificate> chain; ///< intermediates, leaf's issuer first
  bool must_staple_dropped{false};
};

struct IssueRequest {
  const config::Certificate* certificate{nullptr};
  crypto::KeySpec key{};
  std::chrono::seconds cert_poll_time{30};
  const hooks::Spec* hooks{nullptr}; ///< for set_http_challenge / clear_http_challenge
  /// Records each challenge file before it is created (required).
  challenge::Ledger* ledger{nullptr};
  /// `update --no-auth` (a follower): a pending authorization fails the request before any
  /// challenge file is written.
  bool no_auth{false};
};

/// `update --no-auth` met an authorization that is still pending: not a failure of the CA or of
/// this host, so it does not count towards the certificate's back-off.
class NoAuthPending : public util::Error {
public:
  using util::Error::Error;
};

/// <data_dir>/.challenges: the challenge ledger of runs on this data directory.
[[nodiscard]] inline std::filesystem::path ledger_path(const config::Config& config) {
  return config.settings.data_dir / ".challenges";
}

/// Throws util::Error with a message for the "[name] " line of the certificate.
[[nodiscard]] Issued issue(Account& account, const IssueRequest& request);

/// `certmgr auth` (behaviour §6.7): an order for the certificate's names with every pending
/// authorization proven over http-01; never finalized. Returns the names newly authorized
/// (empty when all were valid already). Throws util::Error.
std::vector<std::string> authorize_only(Account& account, const IssueRequest& request);

/// Checks a chain from the CA against the request: at least leaf + one intermediate, the leaf
/// holds `key`'s public key and exactly `names`, each certificate is issued by the next.
/// Throws util::Error naming `source`.
void check_chain(const std::vector<crypto::Certificate>& chain, const crypto::Key& key,
                 const std::vector<std::string>& names, const std::string& source);

} // namespace certmgr::actions
