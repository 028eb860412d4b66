// src/actions/layout.hpp: the byte layout of the files of the tree (behaviour §3.2) and the
// relative paths they live at.
#pragma once

#include <certmgr/crypto.hpp>

#include <optional>
#include <string>
#include <vector>

namespace certmgr::actions::layout {

inline const std::string k_params = "params.pem";
inline const std::string k_state = ".state.json";
[[nodiscard]] std::string cert_path(util::KeyType kt);      ///< "<kt>/cert.pem"
[[nodiscard]] std::string chain_path(util::KeyType kt);     ///< "<kt>/chain.pem"
[[nodiscard]] std::string cert_root_path(util::KeyType kt); ///< "<kt>/cert+root.pem"
[[nodiscard]] std::string key_path(util::KeyType kt);       ///< "<kt>/keys/key.pem"
[[nodiscard]] std::string key_cert_path(util::KeyType kt);  ///< "<kt>/keys/key+cert.pem"
[[nodiscard]] std::string ocsp_path(util::KeyType kt);      ///< "<kt>/ocsp.der"
/// "<kt>/oscp.der": the misspelt file of the Python tool [B20], removed when found.
[[nodiscard]] std::string legacy_ocsp_path(util::KeyType kt);
[[nodiscard]] std::string sct_dir(util::KeyType kt);                          ///< "<kt>/scts"
[[nodiscard]] std::string sct_path(util::KeyType kt, const std::string& log); ///< ".../<log>.sct"

/// DH and EC parameter PEM blocks; either may be "".
struct ParamsText {
  std::string dh{};
  std::string ec{};
};

/// cert.pem: "<CN> issued at <notBefore UTC> UTC\n", leaf PEM, then for each intermediate
/// "\n" + label + "\n" + PEM, then (with `root`) "\n" + root label + root PEM, then "\n" + DH,
/// "\n" + EC. Without root this is cert.pem, with root cert+root.pem.
[[nodiscard]] std::string certificate_file(const crypto::Certificate& leaf,
                                           const std::vector<crypto::Certificate>& chain,
                                           const crypto::Certificate* root,
                                           const ParamsText& params);
/// chain.pem: label + PEM per intermediate, separated by "\n".
[[nodiscard]] std::string chain_file(const std::vector<crypto::Certificate>& chain);
/// params.pem: DH PEM + "\n" + EC PEM, or the one that is present, or "".
[[nodiscard]] std::string params_file(const ParamsText& params);

} // namespace certmgr::actions::layout
