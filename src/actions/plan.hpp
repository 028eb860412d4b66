// src/actions/plan.hpp: the renewal decision (behaviour §5.2, with the lifetime rule of
// webpki-2026.md §2) as a pure function of what is installed, what is configured and the time.
// Private to actions and its unit tests.
#pragma once

#include <certmgr/crypto.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace certmgr::actions {

/// What is installed for one key type of one certificate.
struct KeyState {
  std::optional<crypto::Certificate> leaf{};
  std::optional<crypto::KeySpec> key_spec{}; ///< nullopt when keys/key.pem is absent
  std::string key_public_der{};
  /// Must-staple was requested at the last issuance but the CA left it out (Pebble; CAs without
  /// OCSP): a missing extension is then no reason to re-issue (webpki-2026.md §1).
  bool must_staple_dropped{false};
};

/// What the configuration asks for.
struct Wanted {
  crypto::KeySpec key{};
  std::string name{};
  std::vector<std::string> names{}; ///< alt names, lower-case
  bool must_staple{false};
  int renewal_days{30};
};

struct Decision {
  bool issue{false};
  std::string reason{}; ///< why a new certificate is needed, or why not ("valid until ...")
};

/// Re-issue when keys or certificate are missing, the key parameters, subject, names, key match
/// or must-staple differ, or the certificate is in its renewal window: less than 1/3 of its
/// lifetime left (1/2 for lifetimes under 10 days), or less than `renewal_days` left with
/// renewal_days capped at half the lifetime, so a fresh short-lived certificate is never due.
[[nodiscard]] Decision decide(const KeyState& installed, const Wanted& wanted,
                              std::chrono::system_clock::time_point now);

/// The point from which a certificate valid from `not_before` to `not_after` is due.
[[nodiscard]] std::chrono::system_clock::time_point
renewal_time(std::chrono::system_clock::time_point not_before,
             std::chrono::system_clock::time_point not_after, int renewal_days);

} // namespace certmgr::actions
