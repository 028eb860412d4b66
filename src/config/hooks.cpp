// config/hooks.cpp: the `hooks` and `services` sections (behaviour §2.5, §2.6, §7.2) and a
// certificate's `services`. Everything a hook will need is checked here, at load: names, word
// splitting and every template's fields, so nothing is discovered (and skipped) at run time
// [B51], and a service name that does not exist is an error now, not a crash later [B12].

#include "config/detail.hpp"
#include <certmgr/util/builtin_services.hpp>
#include <certmgr/util/hook_fields.hpp>
#include <certmgr/util/template.hpp>

#include <fmt/format.h>

#include <algorithm>

namespace certmgr::config::detail {
namespace {

/// A hook may take a while (reloading a cluster), but a cron run must end within a day.
constexpr Range k_hook_timeout_seconds{1, 86400};

std::string join(const std::vector<std::string>& words) {
  std::string line;
  for (const std::string& word : words) line += (line.empty() ? "" : ", ") + word;
  return line;
}

/// A hook command being read; `hook` and `fields` say what its templates may use.
struct HookDraft {
  std::string_view hook{};
  const std::vector<std::string>* fields{};
  HookCommand command{};
  bool has_args{false};
};

/// Fails at `node` unless `text` is a well-formed template using only the hook's fields.
void check_template(const Node& node, const std::string& text, const HookDraft& draft) {
  const util::TemplateCheck check = util::check_template(text);
  if (!check.error.empty())
    node.fail(fmt::format("invalid template {}: {}", quote(text), check.error));
  for (const std::string& field : check.fields) {
    if (std::ranges::find(*draft.fields, field) == draft.fields->end()) {
      node.fail(fmt::format("unknown field \"{{{}}}\" for hook {} in {} (expected {})", field,
                            draft.hook, quote(text), join(*draft.fields)));
    }
  }
}

void read_args(const Node& node, HookDraft& draft) {
  // §7.2: a string here would be one program name with spaces in it; refused, not guessed.
  if (!node.json().IsArray() || node.json().Empty()) node.fail_type("a non-empty array of strings");
  for (const Node& element : node.elements()) {
    std::string arg = read_string(element);
    check_template(element, arg, draft);
    draft.command.args.push_back(std::move(arg));
  }
  draft.has_args = true;
}

void read_input(const Node& node, HookDraft& draft) {
  std::string input = read_string(node);
  check_template(node, input, draft);
  draft.command.input = std::move(input);
}

// clang-format off
constexpr Key<HookDraft> k_hook_keys[] = {
  {"args", read_args},
  {"cwd", [](const Node& n, HookDraft& d) { d.command.cwd = read_path(n); }},
  {"input", read_input},
  {"timeout", [](const Node& n, HookDraft& d) {
     d.command.timeout = read_seconds(n, k_hook_timeout_seconds); }},
};
// clang-format on

HookCommand read_command_object(const Node& node, HookDraft draft) {
  read_members<HookDraft>(node, k_hook_keys, draft);
  if (!draft.has_args) node.fail("missing \"args\" (the command as an array of strings)");
  return std::move(draft.command);
}

/// B52: split once, here, like a shell would but without expanding anything.
HookCommand read_command_string(const Node& node, HookDraft draft) {
  const std::string text = read_string(node);
  std::optional<std::vector<std::string>> words = util::split_words(text);
  if (!words) node.fail("unterminated quote or trailing backslash in " + quote(text));
  if (words->empty()) node.fail("empty hook command " + quote(text));
  for (const std::string& word : *words) check_template(node, word, draft);
  draft.command.args = std::move(*words);
  return std::move(draft.command);
}

HookCommand read_command(const Node& node, const HookDraft& draft) {
  if (node.json().IsString()) return read_command_string(node, draft);
  if (node.json().IsObject()) return read_command_object(node, draft);
  node.fail_type("a command string or an object with \"args\"");
}

std::vector<HookCommand> read_hook(const Node& node, const HookDraft& draft) {
  if (node.json().IsNull()) return {};
  if (!node.json().IsArray()) {
    if (!node.json().IsString() && !node.json().IsObject()) {
      node.fail_type("null, a command string, an object with \"args\", or an array of them");
    }
    return {read_command(node, draft)};
  }
  std::vector<HookCommand> commands;
  for (const Node& element : node.elements()) commands.push_back(read_command(element, draft));
  return commands;
}

std::vector<std::string> hook_names() {
  std::vector<std::string> names;
  for (const auto& [name, fields] : util::hook_fields()) names.push_back(name);
  return names;
}

bool is_service_name(std::string_view name) {
  return !name.empty() && std::ranges::none_of(name, [](char c) {
    return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
  });
}

} // namespace

HookTable read_hooks(const Node& node) {
  HookTable hooks;
  if (node.json().IsNull()) return hooks;
  for (const Node& member : node.members()) {
    const auto known = util::hook_fields().find(member.key());
    if (known == util::hook_fields().end()) {
      member.fail(
          fmt::format("unknown hook {} (expected {})", quote(member.key()), join(hook_names())));
    }
    std::vector<HookCommand> commands =
        read_hook(member, {.hook = known->first, .fields = &known->second});
    if (!commands.empty()) hooks.emplace(member.key(), std::move(commands));
  }
  return hooks;
}

ServiceTable read_services(const Node* node) {
  ServiceTable services = util::builtin_services();
  if (node == nullptr) return services;
  for (const Node& member : node->members()) {
    if (!is_service_name(member.key())) member.fail("invalid service name " + quote(member.key()));
    services[member.key()] = read_optional_string(member);
  }
  return services;
}

std::vector<std::string> read_certificate_services(const Node& node, const ServiceTable& table) {
  std::vector<std::string> names;
  if (node.json().IsNull()) return names;
  for (const Node& entry : read_string_list(node, "a service name or an array of them")) {
    std::string name = read_string(entry);
    if (!table.contains(name)) {
      entry.fail(fmt::format("unknown service {} (neither built in nor in the services section)",
                             quote(name)));
    }
    if (std::ranges::find(names, name) != names.end())
      entry.fail("duplicate service " + quote(name));
    names.push_back(std::move(name));
  }
  return names;
}

} // namespace certmgr::config::detail
