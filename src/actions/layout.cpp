#include "layout.hpp"

#include <certmgr/util/time.hpp>

#include <fmt/format.h>

namespace certmgr::actions::layout {
namespace {
std::string in_dir(util::KeyType kt, std::string_view file) {
  return fmt::format("{}/{}", util::key_type_name(kt), file);
}

/// The label line of a certificate as it may appear in a PEM file: the name comes from the CA,
/// so anything but printable ASCII (a newline could smuggle in a PEM block) becomes '?'.
std::string safe_label(const crypto::Certificate& cert) {
  std::string label = cert.label();
  for (char& c : label)
    if (c < 0x20 || c > 0x7e) c = '?';
  return label;
}

std::string labelled(const crypto::Certificate& cert) {
  return fmt::format("{}\n{}", safe_label(cert), cert.pem());
}
} // namespace

std::string cert_path(util::KeyType kt) { return in_dir(kt, "cert.pem"); }
std::string chain_path(util::KeyType kt) { return in_dir(kt, "chain.pem"); }
std::string cert_root_path(util::KeyType kt) { return in_dir(kt, "cert+root.pem"); }
std::string key_path(util::KeyType kt) { return in_dir(kt, "keys/key.pem"); }
std::string key_cert_path(util::KeyType kt) { return in_dir(kt, "keys/key+cert.pem"); }
std::string ocsp_path(util::KeyType kt) { return in_dir(kt, "ocsp.der"); }
std::string legacy_ocsp_path(util::KeyType kt) { return in_dir(kt, "oscp.der"); }
std::string sct_dir(util::KeyType kt) { return in_dir(kt, "scts"); }
std::string sct_path(util::KeyType kt, const std::string& log) {
  return in_dir(kt, "scts/" + log + ".sct");
}

std::string certificate_file(const crypto::Certificate& leaf,
                             const std::vector<crypto::Certificate>& chain,
                             const crypto::Certificate* root, const ParamsText& params) {
  std::string out = fmt::format("{} issued at {} UTC\n{}", safe_label(leaf),
                                util::utc_text(leaf.not_before()), leaf.pem());
  for (const auto& cert : chain) out += "\n" + labelled(cert);
  if (root != nullptr) out += "\n" + labelled(*root);
  if (!params.dh.empty()) out += "\n" + params.dh;
  if (!params.ec.empty()) out += "\n" + params.ec;
  return out;
}

std::string chain_file(const std::vector<crypto::Certificate>& chain) {
  std::string out;
  for (const auto& cert : chain) {
    if (!out.empty()) out += "\n";
    out += labelled(cert);
  }
  return out;
}

std::string params_file(const ParamsText& params) {
  if (params.dh.empty()) return params.ec;
  if (params.ec.empty()) return params.dh;
  return params.dh + "\n" + params.ec;
}

} // namespace certmgr::actions::layout
