// hooks/run.cpp: behaviour §7.3, §7.4. Expansion happens per argv word after splitting (the
// words were split at load), so a field such as a file name with spaces, quotes, ";" or
// "$(...)" stays one literal argument; no shell ever sees it [B52].

#include <certmgr/hooks.hpp>
#include <certmgr/log.hpp>
#include <certmgr/util/hook_fields.hpp>
#include <certmgr/util/subprocess.hpp>
#include <certmgr/util/template.hpp>

#include <fmt/format.h>

namespace certmgr::hooks {
namespace {

/// Field names are [a-z_][a-z0-9_]* (checked at load), so upper-casing is plain ASCII.
std::string variable_name(const std::string& field) {
  std::string name = "CERTMGR_";
  for (const char c : field) name += (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
  return name;
}

std::vector<std::string> environment_of(const Event& event) {
  std::vector<std::string> environment = util::base_environment();
  environment.push_back("CERTMGR_EVENT=" + event.hook);
  for (const auto& [field, value] : event.fields) {
    environment.push_back(variable_name(field) + "=" + value);
  }
  environment.insert(environment.end(), event.environment.begin(), event.environment.end());
  return environment;
}

/// Why the templates of `command` cannot be filled from `event` (a malformed template, or a
/// field the caller did not give), or "". Checked first so that expansion cannot throw.
std::string expansion_problem(const Command& command, const Event& event) {
  std::vector<const std::string*> templates;
  for (const std::string& arg : command.args) templates.push_back(&arg);
  if (command.input) templates.push_back(&*command.input);
  for (const std::string* text : templates) {
    const util::TemplateCheck check = util::check_template(*text);
    if (!check.error.empty()) return "malformed template: " + check.error;
    for (const std::string& field : check.fields) {
      if (!event.fields.contains(field)) return fmt::format("unknown field \"{{{}}}\"", field);
    }
  }
  return {};
}

/// The command with its templates filled in; expansion_problem() must be "".
util::SpawnOptions expand_command(const Command& command, const Event& event) {
  util::SpawnOptions options{
      .cwd = command.cwd, .environment = environment_of(event), .timeout = command.timeout};
  for (const std::string& arg : command.args)
    options.argv.push_back(util::expand(arg, event.fields));
  if (command.input) options.input = util::expand(*command.input, event.fields);
  return options;
}

std::string printable_argv(const std::vector<std::string>& argv) {
  std::string line;
  for (const std::string& arg : argv) {
    if (!line.empty()) line += ' ';
    line += log::printable(arg);
  }
  return line;
}

Outcome warn(const Event& event, std::string_view reason) {
  log::warning("{}hook {} failed: {}", event.prefix, event.hook, reason);
  return Outcome::failed;
}

Outcome run_one(const Command& command, const Event& event) {
  if (const std::string problem = expansion_problem(command, event); !problem.empty()) {
    return warn(event, log::printable(problem));
  }
  const util::SpawnOptions options = expand_command(command, event);
  log::progress("{}calling hook {}: {}", event.prefix, event.hook, printable_argv(options.argv));
  const util::SpawnResult result = util::spawn(options);
  const std::vector<std::string_view> lines = util::output_lines(result.output);
  for (const std::string_view line : lines)
    log::info("{}  > {}", event.prefix, log::printable(line));
  const std::string reason = util::failure_reason(result, options);
  if (reason.empty()) return Outcome::ok;
  if (lines.empty()) return warn(event, log::printable(reason));
  return warn(event, log::printable(fmt::format("{}: {}", reason, lines.front())));
}

} // namespace

Outcome run(const Spec& spec, const Event& event) {
  const auto commands = spec.find(event.hook);
  if (commands == spec.end()) return Outcome::ok;
  Outcome outcome = Outcome::ok;
  for (const Command& command : commands->second) {
    if (run_one(command, event) == Outcome::failed) outcome = Outcome::failed;
  }
  return outcome;
}

const std::map<std::string, std::vector<std::string>>& known_hooks() { return util::hook_fields(); }

} // namespace certmgr::hooks
