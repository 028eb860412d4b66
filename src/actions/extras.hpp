// src/actions/extras.hpp: the OCSP and SCT steps of `update` for one key type (behaviour §5.5,
// §5.6 with [B20] [B31]-[B38] fixed, webpki-2026.md §1, §6): what ocsp.der and scts/*.sct of
// the key type should hold after this run. Nothing here writes files; update stages the result.
#pragma once

#include <certmgr/config.hpp>
#include <certmgr/crypto.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace certmgr::actions {

/// One key type's certificate as it will be installed.
struct ExtrasInput {
  const config::Config& config;
  const config::Certificate& cert;
  util::KeyType kt{};
  const crypto::Certificate& leaf;
  const std::vector<crypto::Certificate>& chain; ///< intermediates, issuer first
  std::optional<crypto::Certificate> root{};     ///< root_cert.<kt>.pem, when present
  /// Stored file of this key type by relative path; nothing when the certificate is new.
  std::function<std::optional<std::string>(const std::string& relative)> stored{};
  std::vector<std::string> stored_sct_logs{}; ///< logs with a file in <kt>/scts/
  std::chrono::system_clock::time_point now{};
  bool force{false}; ///< --force: refetch, resubmit
};

struct Extras {
  std::optional<std::string> ocsp{};         ///< the ocsp.der to install; nullopt = none (removed)
  bool revoked{false};                       ///< the responder says the certificate is revoked
  std::map<std::string, std::string> scts{}; ///< log → SCT to install; logs not here: removed
};

/// OCSP: the responder of the leaf's AIA (else ocsp_responder_urls); none → no file, silently.
/// A stored response that still checks and is not half-way through its validity is kept; else
/// a fresh verified one. A failed fetch keeps a stored response that is still valid for this
/// certificate (warning), else none. "revoked" is an error line and sets Extras::revoked.
void ocsp_step(const ExtrasInput& in, Extras& out);

/// SCTs: for each log of ct_submit_logs, the shard whose window holds the leaf's notAfter; a
/// stored SCT that verifies is kept, else the chain is submitted. A log the leaf embeds an SCT
/// of is skipped (debug) unless forced. Failures are warnings; nothing here fails a certificate.
void sct_step(const ExtrasInput& in, Extras& out);

} // namespace certmgr::actions
