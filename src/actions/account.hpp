// src/actions/account.hpp: the ACME account of a run, opened lazily (behaviour §6.1, [B42]):
// nothing touches account/ or the network until the first certificate needs an order.
//
// Every ACME directory URL has its own account in <data_dir>/account/<label>/ (client.key and
// registration.json, both 0600), label = "<host>[_<port>]-<8 hex digits of SHA-256(URL)>":
// switching between staging and production, or to another CA, keeps the other accounts
// [B47]. Followers of a master share the account by copying account/.
#pragma once

#include "keys.hpp"
#include <certmgr/acme.hpp>
#include <certmgr/config.hpp>
#include <certmgr/jose.hpp>

#include <filesystem>
#include <memory>
#include <optional>

namespace certmgr::actions {

class Account {
public:
  Account(const config::Config& config, const Secrets& secrets)
      : m_config(config), m_secrets(secrets) {}
  /// The protocol client, logged in: loads or creates client.key (EC P-256, 0600, encrypted
  /// under account.passphrase), re-encodes it when the passphrase setting changed, reuses
  /// registration.json when it belongs to the configured directory, else registers (agreeing
  /// to the terms of service, logged at info); pushes a changed account.email to the CA.
  /// Throws util::Error.
  acme::Client& client();
  /// Requests sent to the CA by this account's client so far (0 before it was opened).
  [[nodiscard]] int requests_sent() const noexcept { return m_client ? m_client->sent() : 0; }
  /// The signer (for key authorizations). Only valid after client().
  const jose::Signer& signer() const { return *m_signer; }
  /// Account key rollover (RFC 8555 §7.3.5): a new EC P-256 key, written as client.key.next
  /// before the CA is asked, renamed over client.key after it agreed. A run killed in between
  /// is completed (or undone) by the next open().
  void rollover();
  /// <data_dir>/account/<label> of the configured directory.
  [[nodiscard]] std::filesystem::path directory() const;
  /// registration.json's account object "contact" (empty when none) and account URL.
  [[nodiscard]] std::string summary();

private:
  void open();
  void load_key(const std::filesystem::path& dir);
  /// Settles a client.key.next left by an interrupted rollover; returns the account URL.
  std::string finish_rollover(const std::filesystem::path& dir, const std::string& account_url);
  void sync_contact(const std::filesystem::path& dir, const std::string& body);
  const config::Config& m_config;
  const Secrets& m_secrets;
  std::optional<util::Secret> m_passphrase{};
  std::unique_ptr<jose::Signer> m_signer;
  std::unique_ptr<acme::Client> m_client;
  std::string m_body{}; ///< the account object as last stored
};

/// The account directory label of `directory_url` (see above).
[[nodiscard]] std::string account_label(const std::string& directory_url);

/// http::Options for connections of this configuration (CA bundle, user agent, plain http only
/// for a loopback directory).
[[nodiscard]] http::Options http_options(const config::Config& config);

} // namespace certmgr::actions
