// src/actions/keys.hpp: private key files under passphrases (behaviour §9 with [B44] fixed):
// which passphrase a setting means in this run, how a key file is read when the setting has
// changed since it was written, and how it is written.
#pragma once

#include <certmgr/actions.hpp>
#include <certmgr/config.hpp>
#include <certmgr/crypto.hpp>
#include <certmgr/util/secret.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace certmgr::actions {

/// The passphrase `setting` asks for: nullopt for keys in clear. Throws util::Error when the
/// setting is `true` and no run-time passphrase was given.
[[nodiscard]] std::optional<util::Secret> wanted_passphrase(const config::Passphrase& setting,
                                                            const Secrets& secrets,
                                                            std::string_view setting_name);

struct ReadKey {
  crypto::Key key;
  /// The file is not what `wanted` would write (clear vs encrypted, or another passphrase):
  /// rewrite it with write_key().
  bool rewrite{false};
};

/// Reads a key file's text. An encrypted key is decrypted with `wanted`, else with the run-time
/// passphrase (the old one, when the setting changed); a clear key is used as is. Throws
/// util::Error naming `source` when neither passphrase decrypts it.
[[nodiscard]] ReadKey read_key(std::string_view pem, const std::string& source,
                               const std::optional<util::Secret>& wanted, const Secrets& secrets);

/// The file text of `key`: encrypted PKCS#8 under `wanted`, else in clear.
[[nodiscard]] util::Secret write_key(const crypto::Key& key,
                                     const std::optional<util::Secret>& wanted);

} // namespace certmgr::actions
