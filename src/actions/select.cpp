#include <certmgr/actions.hpp>
#include <certmgr/log.hpp>
#include <certmgr/util/text.hpp>

#include <algorithm>

namespace certmgr::actions {
namespace {
/// Behaviour §1.4: exact certificate name first, else the one certificate with that alt name.
const config::Certificate* resolve(const config::Config& config, const std::string& name) {
  for (const auto& cert : config.certificates)
    if (cert.name == name) return &cert;
  const config::Certificate* found = nullptr;
  for (const auto& cert : config.certificates) {
    if (std::ranges::find(cert.alt_names, name) == cert.alt_names.end()) continue;
    if (found != nullptr) {
      log::error("[{}] ambiguous: an alt name of both {} and {}", name, found->name, cert.name);
      return nullptr;
    }
    found = &cert;
  }
  if (found == nullptr) log::error("[{}] not in the configuration", log::printable(name));
  return found;
}
} // namespace

Selection select(const config::Config& config, const std::vector<std::string>& names) {
  Selection selection;
  if (names.empty()) {
    for (const auto& cert : config.certificates) selection.certificates.push_back(&cert);
    return selection;
  }
  for (const auto& raw : names) {
    const config::Certificate* cert = resolve(config, util::ascii_lower(raw));
    if (cert == nullptr) {
      ++selection.unknown;
    } else if (std::ranges::find(selection.certificates, cert) != selection.certificates.end()) {
      log::info("[{}] selected more than once", cert->name);
    } else {
      selection.certificates.push_back(cert);
    }
  }
  return selection;
}

} // namespace certmgr::actions
