#include "keys.hpp"

#include <certmgr/util/error.hpp>

#include <fmt/format.h>

namespace certmgr::actions {

std::optional<util::Secret> wanted_passphrase(const config::Passphrase& setting,
                                              const Secrets& secrets,
                                              std::string_view setting_name) {
  switch (setting.kind) {
  case config::Passphrase::Kind::none:
    return std::nullopt;
  case config::Passphrase::Kind::literal:
    return setting.literal;
  case config::Passphrase::Kind::runtime:
    break;
  }
  if (!secrets.runtime)
    throw util::Error(fmt::format("{} is true but no passphrase was given (--pass-file, "
                                  "CERTMGR_PASSPHRASE or a terminal)",
                                  setting_name));
  return secrets.runtime;
}

ReadKey read_key(std::string_view pem, const std::string& source,
                 const std::optional<util::Secret>& wanted, const Secrets& secrets) {
  if (!crypto::is_encrypted_pem(pem))
    return {crypto::Key::from_pem(pem, source, nullptr), wanted.has_value()};
  if (wanted) {
    try {
      return {crypto::Key::from_pem(pem, source, &*wanted), false};
    } catch (const util::Error&) {
      if (!secrets.runtime || *secrets.runtime == *wanted)
        throw util::Error({.file = source},
                          "wrong passphrase: the configured passphrase does not decrypt the key "
                          "(to change a passphrase, give the old one with --pass-file or "
                          "CERTMGR_PASSPHRASE for one run)");
    }
  }
  if (!secrets.runtime) {
    // Encrypted, and the setting now says clear: only the old passphrase can open it.
    throw util::Error(
        {.file = source},
        "the key is encrypted but no passphrase is configured for it (give the old passphrase "
        "with --pass-file or CERTMGR_PASSPHRASE for one run to store it in clear)");
  }
  try {
    return {crypto::Key::from_pem(pem, source, &*secrets.runtime), true};
  } catch (const util::Error&) {
    throw util::Error({.file = source},
                      wanted
                          ? "wrong passphrase: neither the configured nor the run-time "
                            "passphrase decrypts the key"
                          : "wrong passphrase: the run-time passphrase does not decrypt the key");
  }
}

util::Secret write_key(const crypto::Key& key, const std::optional<util::Secret>& wanted) {
  return wanted ? key.to_pem(*wanted) : key.to_pem();
}

} // namespace certmgr::actions
