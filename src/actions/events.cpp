#include "events.hpp"

#include "layout.hpp"
#include <certmgr/jose.hpp>

#include <fmt/format.h>

#include <algorithm>

namespace certmgr::actions {
namespace {
/// A file of a key type directory and the hook (with its Doc spelling of `file`) it fires.
struct FileHook {
  std::string relative;
  std::string hook;
  std::string file_field;
};

std::vector<FileHook> key_type_hooks(util::KeyType kt) {
  return {{layout::cert_path(kt), "certificate_installed", "certificate_file"},
          {layout::cert_root_path(kt), "full_certificate_installed", "full_certificate_file"},
          {layout::key_cert_path(kt), "full_key_installed", "full_key_file"},
          {layout::chain_path(kt), "chain_installed", "chain_file"},
          {layout::key_path(kt), "private_key_installed", "private_key_file"},
          {layout::ocsp_path(kt), "ocsp_installed", "ocsp_file"}};
}

bool was_written(const std::vector<std::string>& changed, const std::filesystem::path& base,
                 const std::string& relative) {
  std::error_code ec;
  return std::ranges::find(changed, relative) != changed.end() &&
         std::filesystem::is_regular_file(base / relative, ec);
}

hooks::Event key_type_event(const std::filesystem::path& base, const config::Certificate& cert,
                            util::KeyType kt, const FileHook& h) {
  const std::string kt_name(util::key_type_name(kt));
  const std::string file = (base / h.relative).string();
  return {.hook = h.hook,
          .prefix = fmt::format("[{}] ", cert.name),
          .fields = {{"certificate_name", cert.name},
                     {"key_name", cert.name},
                     {"key_type", kt_name},
                     {"file", file},
                     {h.file_field, file}},
          .environment = {"CERTMGR_NAME=" + cert.name, "CERTMGR_KEY_TYPE=" + kt_name,
                          "CERTMGR_CERT=" + (base / layout::cert_path(kt)).string(),
                          "CERTMGR_KEY=" + (base / layout::key_path(kt)).string(),
                          "CERTMGR_CHAIN=" + (base / layout::chain_path(kt)).string()}};
}
} // namespace

hooks::Spec hook_spec(const config::Config& config) {
  hooks::Spec spec;
  for (const auto& [name, commands] : config.hooks) {
    auto& out = spec[name];
    for (const auto& c : commands)
      out.push_back({.args = c.args, .cwd = c.cwd, .input = c.input, .timeout = c.timeout});
  }
  return spec;
}

std::vector<hooks::Event> file_events(const std::filesystem::path& data_dir,
                                      const config::Certificate& cert,
                                      const std::vector<std::string>& changed) {
  const std::filesystem::path base = data_dir / cert.name;
  std::vector<hooks::Event> events;
  if (was_written(changed, base, layout::k_params)) {
    const std::string file = (base / layout::k_params).string();
    events.push_back({.hook = "params_installed",
                      .prefix = fmt::format("[{}] ", cert.name),
                      .fields = {{"certificate_name", cert.name},
                                 {"key_name", cert.name},
                                 {"file", file},
                                 {"params_file", file}},
                      .environment = {"CERTMGR_NAME=" + cert.name}});
  }
  for (const util::KeyType kt : cert.key_types) {
    for (const FileHook& h : key_type_hooks(kt))
      if (was_written(changed, base, h.relative))
        events.push_back(key_type_event(base, cert, kt, h));
    for (const std::string& log : cert.ct_submit_logs) {
      const FileHook h{layout::sct_path(kt, log), "sct_installed", "sct_file"};
      if (!was_written(changed, base, h.relative)) continue;
      hooks::Event event = key_type_event(base, cert, kt, h);
      event.fields.emplace("ct_log_name", log);
      events.push_back(std::move(event));
    }
  }
  return events;
}

hooks::Event rollback_event(const config::Certificate& cert) {
  return {.hook = "rollback",
          .prefix = fmt::format("[{}] ", cert.name),
          .fields = {{"certificate_name", cert.name}, {"key_name", cert.name}},
          .environment = {"CERTMGR_NAME=" + cert.name}};
}

hooks::Event challenge_event(const std::string& hook, const std::string& prefix,
                             const std::string& domain, const std::filesystem::path& file) {
  return {
      .hook = hook,
      .prefix = prefix,
      .fields = {{"domain", domain}, {"file", file.string()}, {"challenge_file", file.string()}},
      .environment = {}};
}

hooks::Event updated_event(std::vector<std::string> names) {
  std::ranges::sort(names);
  std::string list;
  for (const auto& n : names)
    list += fmt::format("{}{}", list.empty() ? "" : ", ", jose::json_string(n));
  return {.hook = "certificates_updated",
          .prefix = "",
          .fields = {{"certificates", "[" + list + "]"}},
          .environment = {}};
}

std::vector<std::pair<std::string, std::optional<std::string>>>
services_to_reload(const config::Config& config, const std::vector<std::string>& changed_names) {
  std::vector<std::pair<std::string, std::optional<std::string>>> out;
  for (const auto& cert : config.certificates) {
    if (std::ranges::find(changed_names, cert.name) == changed_names.end()) continue;
    for (const auto& service : cert.services) {
      if (std::ranges::find(out, service, &decltype(out)::value_type::first) != out.end()) continue;
      const auto it = config.services.find(service);
      out.emplace_back(service, it == config.services.end() ? std::nullopt : it->second);
    }
  }
  return out;
}

} // namespace certmgr::actions
