// src/actions/account.hpp: the ACME account of a run, opened lazily (behaviour §6.1, [B42]):
// nothing touches account/ or the network until the first certificate needs an order.
#pragma once

#include <certmgr/acme.hpp>
#include <certmgr/config.hpp>
#include <certmgr/jose.hpp>

#include <memory>
#include <optional>

namespace certmgr::actions {

class Account {
public:
  explicit Account(const config::Config& config) : m_config(config) {}
  /// The protocol client, logged in: loads or creates account/client.key (EC P-256, 0600),
  /// reuses account/registration.json when it belongs to the configured directory, else
  /// registers (agreeing to the terms of service, logged at info). Throws util::Error.
  acme::Client& client();
  /// The signer (for key authorizations). Only valid after client().
  const jose::Signer& signer() const { return *m_signer; }

private:
  void open();
  const config::Config& m_config;
  std::unique_ptr<jose::Signer> m_signer;
  std::unique_ptr<acme::Client> m_client;
};

/// http::Options for connections of this configuration (CA bundle, user agent, plain http only
/// for a loopback directory).
[[nodiscard]] http::Options http_options(const config::Config& config);

} // namespace certmgr::actions
