// src/actions/revoke.cpp: `certmgr revoke` (behaviour §6.6; [B48]: names are required, [B49]:
// a failed revocation is an error and params.pem stays). The revoked key type's files leave the
// live tree through one transaction (archived), so the next `update` issues with new keys.
#include "account.hpp"
#include "keys.hpp"
#include "layout.hpp"
#include <certmgr/actions.hpp>
#include <certmgr/crypto.hpp>
#include <certmgr/jose.hpp>
#include <certmgr/log.hpp>
#include <certmgr/store.hpp>
#include <certmgr/util/error.hpp>
#include <certmgr/util/stop.hpp>
#include <certmgr/util/time.hpp>

#include <fmt/format.h>

namespace certmgr::actions {
namespace {
using util::KeyType;

struct Revoker {
  const config::Config& config;
  const RevokeOptions& options;
  const Secrets& secrets;
  store::Paths paths;
  Account account;
};

/// RFC 8555 §7.6: for keyCompromise the request is signed with the certificate's own key,
/// which proves the compromise and works without the account.
acme::Client::Revoked revoke_with_key(const Revoker& r, const config::Certificate& cert, KeyType kt,
                                      const crypto::Certificate& leaf) {
  const std::string relative = layout::key_path(kt);
  const std::string source = (r.paths.data_dir / cert.name / relative).string();
  const auto pem = store::read(r.paths, cert.name, relative);
  if (!pem) throw util::Error({.file = source}, "missing: the key is needed for keyCompromise");
  const auto passphrase = wanted_passphrase(cert.key_passphrase, r.secrets, "key_passphrase");
  crypto::Key key = read_key(*pem, source, passphrase, r.secrets).key;
  if (key.public_der() != leaf.public_der())
    throw util::Error({.file = source}, "is not the key of the certificate");
  const jose::Signer signer(std::move(key));
  acme::Client client(http_options(r.config), r.config.settings.acme_directory_url, signer);
  return client.revoke(leaf.der(), r.options.reason);
}

/// Revokes the installed certificate of `kt`; true when it is revoked now (or was already).
bool revoke_key_type(Revoker& r, const config::Certificate& cert, KeyType kt) {
  const std::string relative = layout::cert_path(kt);
  const auto text = store::read(r.paths, cert.name, relative);
  const auto certs =
      text ? crypto::scan_certificates(*text, (r.paths.data_dir / cert.name / relative).string())
           : std::vector<crypto::Certificate>{};
  const std::string_view kt_name = util::key_type_name(kt);
  if (certs.empty()) {
    log::notice("[{}] {}: no certificate to revoke", cert.name, kt_name);
    return false;
  }
  const crypto::Certificate& leaf = certs.front();
  const std::string_view reason = acme::reason_name(r.options.reason);
  if (r.options.dry_run == DryRun::yes) {
    log::notice("[{}] {}: would revoke certificate {} ({})", cert.name, kt_name, leaf.serial_hex(),
                reason);
    return false;
  }
  const auto result = r.options.reason == acme::RevocationReason::key_compromise
                          ? revoke_with_key(r, cert, kt, leaf)
                          : r.account.client().revoke(leaf.der(), r.options.reason);
  if (result == acme::Client::Revoked::now) {
    log::notice("[{}] {}: certificate {} revoked ({})", cert.name, kt_name, leaf.serial_hex(),
                reason);
  } else {
    log::notice("[{}] {}: certificate {} was already revoked", cert.name, kt_name,
                leaf.serial_hex());
  }
  return true;
}

/// Returns the number of failures.
int revoke_one(Revoker& r, const config::Certificate& cert) {
  const bool archive = r.config.settings.archive_days > 0;
  for (const auto& line : store::recover(r.paths, cert.name, util::Clock::now(), archive))
    log::info("[{}] {}", cert.name, line);
  std::vector<KeyType> revoked;
  std::string failures;
  for (const KeyType kt : cert.key_types) {
    if (util::stop_requested()) break;
    try {
      if (revoke_key_type(r, cert, kt)) revoked.push_back(kt);
    } catch (const std::exception& e) {
      failures +=
          fmt::format("{}{}: {}", failures.empty() ? "" : "; ", util::key_type_name(kt), e.what());
    }
  }
  if (!revoked.empty()) {
    store::Transaction tx(r.paths, cert.name, {.uid = cert.file_uid, .gid = cert.file_gid});
    for (const KeyType kt : revoked) tx.remove(std::string(util::key_type_name(kt)));
    const auto changed = tx.commit(util::Clock::now(), archive);
    log::info("[{}] {}: {}", cert.name, archive ? "archived and removed" : "removed",
              fmt::join(changed, ", "));
  }
  if (failures.empty()) return 0;
  log::error("[{}] {}", cert.name, failures);
  return 1;
}

} // namespace

int revoke(const config::Config& config, const RevokeOptions& options, const Secrets& secrets) {
  const Selection selection = select(config, options.names);
  Revoker r{.config = config,
            .options = options,
            .secrets = secrets,
            .paths = {.data_dir = config.settings.data_dir},
            .account = Account(config, secrets)};
  int failed = selection.unknown;
  for (const config::Certificate* cert : selection.certificates) {
    if (util::stop_requested()) break;
    try {
      failed += revoke_one(r, *cert);
    } catch (const std::exception& e) {
      log::error("[{}] {}", cert->name, e.what());
      ++failed;
    }
  }
  if (util::stop_requested()) {
    log::error("certmgr: interrupted by signal {}", util::stop_signal());
    return 1;
  }
  return failed > 0 ? 1 : 0;
}

} // namespace certmgr::actions
