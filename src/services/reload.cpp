// services/reload.cpp: behaviour §5.8 step 2, with the fixes of B12 (names were checked at
// load) and B60 (the caller's order, which is the configuration order of first reference).

#include <certmgr/log.hpp>
#include <certmgr/services.hpp>
#include <certmgr/util/builtin_services.hpp>
#include <certmgr/util/subprocess.hpp>

#include <fmt/format.h>

#include <set>

namespace certmgr::services {
namespace {

enum class Reloaded { yes, no };

Reloaded reload_one(const std::string& name, const std::string& command,
                    std::chrono::seconds timeout) {
  // §7.5: service commands are shell command lines by design (pipes, ||, env assignments).
  const util::SpawnOptions options{.argv = {"/bin/sh", "-c", command},
                                   .environment = util::base_environment(),
                                   .timeout = timeout};
  const util::SpawnResult result = util::spawn(options);
  const std::vector<std::string_view> lines = util::output_lines(result.output);
  const std::string reason = util::failure_reason(result, options);
  for (const std::string_view line : lines)
    log::info("service {}:  > {}", log::printable(name), log::printable(line));
  if (reason.empty()) {
    log::progress("reloaded {}", log::printable(name));
    return Reloaded::yes;
  }
  const std::string detail = lines.empty() ? reason : fmt::format("{}: {}", reason, lines.front());
  log::warning("service {}: reload failed: {}", log::printable(name), log::printable(detail));
  return Reloaded::no;
}

} // namespace

const Table& builtin() { return util::builtin_services(); }

int reload(const std::vector<std::pair<std::string, std::optional<std::string>>>& services,
           std::chrono::seconds timeout) {
  std::set<std::string> done;
  int failures = 0;
  for (const auto& [name, command] : services) {
    if (!done.insert(name).second) continue;
    if (!command) {
      log::warning("service {} has no command", log::printable(name));
      ++failures;
    } else if (reload_one(name, *command, timeout) == Reloaded::no) {
      ++failures;
    }
  }
  return failures;
}

} // namespace certmgr::services
