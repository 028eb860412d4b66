// src/actions/verify_run.hpp: verification of one certificate, shared by `certmgr verify` and
// `update --verify`.
#pragma once

#include <certmgr/config.hpp>

namespace certmgr::actions {

/// Checks every verify target of `cert` for each installed key type; each mismatch is one
/// log::error line. Returns the number of endpoints (address × key type) that mismatch.
[[nodiscard]] int verify_certificate(const config::Config& config, const config::Certificate& cert);

} // namespace certmgr::actions
