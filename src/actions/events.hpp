// src/actions/events.hpp: the hook events of an update (behaviour §5.7, §5.8, §6.3, §7.1) and
// the service reload list; built from what a commit changed, always with the stable paths
// <data_dir>/<name>/<kt>/..., never with generation paths.
#pragma once

#include <certmgr/config.hpp>
#include <certmgr/hooks.hpp>

#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace certmgr::actions {

/// The configuration's hooks as the hooks module takes them.
[[nodiscard]] hooks::Spec hook_spec(const config::Config& config);
/// The `rollback` hook of a certificate that `update --verify` found not served after it changed.
[[nodiscard]] hooks::Event rollback_event(const config::Certificate& cert);

/// One event per file written by a commit (`changed` as Transaction::commit returned it; removed
/// files fire nothing), in the order params, then per key type cert.pem, cert+root.pem,
/// key+cert.pem, chain.pem, key.pem.
[[nodiscard]] std::vector<hooks::Event> file_events(const std::filesystem::path& data_dir,
                                                    const config::Certificate& cert,
                                                    const std::vector<std::string>& changed);

/// set_http_challenge / clear_http_challenge for one challenge file.
[[nodiscard]] hooks::Event challenge_event(const std::string& hook, const std::string& prefix,
                                           const std::string& domain,
                                           const std::filesystem::path& file);

/// certificates_updated with {certificates} = JSON array of the sorted names.
[[nodiscard]] hooks::Event updated_event(std::vector<std::string> names);

/// Services of the changed certificates, each once, in configuration order of first
/// reference [B60], with their commands.
[[nodiscard]] std::vector<std::pair<std::string, std::optional<std::string>>>
services_to_reload(const config::Config& config, const std::vector<std::string>& changed_names);

} // namespace certmgr::actions
