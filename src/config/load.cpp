// config/load.cpp: finding the file (behaviour §2.1), reading it, and the top-level sections.

#include "config/detail.hpp"
#include <certmgr/util/error.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

namespace certmgr::config {
namespace {

using detail::Key;
using detail::Node;
using detail::Off;

/// A configuration is a few KiB; anything near this is not one.
constexpr std::size_t k_max_config_bytes = 1U << 20;

struct Sections {
  std::optional<Node> account{};
  std::optional<Node> settings{};
  std::optional<Node> certificates{};
  std::optional<Node> http_challenges{};
  std::optional<Node> hooks{};
  std::optional<Node> services{};
  std::optional<Node> ct_logs{};
};

// clang-format off
constexpr Key<Sections> k_sections[] = {
  {"account", [](const Node& n, Sections& s) { s.account = n; }},
  {"settings", [](const Node& n, Sections& s) { s.settings = n; }},
  {"certificates", [](const Node& n, Sections& s) { s.certificates = n; }},
  // B8: the README's {fqdn: directory} map.
  {"http_challenges", [](const Node& n, Sections& s) { s.http_challenges = n; }},
  {"hooks", [](const Node& n, Sections& s) { s.hooks = n; }},
  {"services", [](const Node& n, Sections& s) { s.services = n; }},
  {"ct_logs", [](const Node& n, Sections& s) { s.ct_logs = n; }},
};
// clang-format on

[[noreturn]] void fail_file(const std::string& file, const std::string& message) {
  throw util::Error({.file = file}, message, util::ErrorKind::config);
}

/// An absent section may also be written as null.
const Node* present(const std::optional<Node>& section) {
  return section && !section->json().IsNull() ? &*section : nullptr;
}

Config read_sections(const Node& root) {
  if (!root.json().IsObject()) root.fail_type("an object at the top level");
  Sections sections;
  detail::read_members<Sections>(root, k_sections, sections, [](const Node& member) -> bool {
    member.fail("unknown section " + detail::quote(member.key()));
  });
  Config config;
  if (const Node* account = present(sections.account)) {
    config.account = detail::read_account(*account);
  }
  detail::Inherited inherited;
  if (const Node* logs = present(sections.ct_logs)) inherited.ct_logs = detail::read_ct_logs(*logs);
  config.ct_logs = inherited.ct_logs;
  config.settings = detail::read_settings(present(sections.settings),
                                          present(sections.http_challenges), inherited);
  if (const Node* hooks = present(sections.hooks)) config.hooks = detail::read_hooks(*hooks);
  // Before the certificates, which may only name services of the merged table [B12].
  inherited.services = detail::read_services(present(sections.services));
  config.services = inherited.services;
  if (!sections.certificates) root.fail("missing section \"certificates\"");
  config.certificates = detail::read_certificates(*sections.certificates, inherited);
  return config;
}

std::filesystem::path absolute_or_same(const std::filesystem::path& path) {
  std::error_code error;
  std::filesystem::path absolute = std::filesystem::absolute(path, error);
  return error ? path : absolute;
}

/// <cfgdir>: the directory of the symlink-resolved file (§2.1).
std::filesystem::path config_dir(const std::filesystem::path& file) {
  const std::filesystem::path absolute = absolute_or_same(file);
  std::error_code error;
  const std::filesystem::path resolved = std::filesystem::weakly_canonical(absolute, error);
  return (error ? absolute : resolved).parent_path();
}

bool is_regular(const std::filesystem::path& path) {
  std::error_code error;
  return std::filesystem::is_regular_file(path, error);
}

std::string read_text(const std::filesystem::path& file) {
  // Checked before opening: opening a FIFO would block.
  if (!is_regular(file)) fail_file(file.string(), "cannot read config file: not a regular file");
  std::ifstream in(file, std::ios::binary);
  if (!in)
    fail_file(file.string(), fmt::format("cannot read config file: {}", std::strerror(errno)));
  std::string text(k_max_config_bytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad()) fail_file(file.string(), "cannot read config file: read error");
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > k_max_config_bytes) {
    fail_file(file.string(),
              fmt::format("config file is larger than {} bytes", k_max_config_bytes));
  }
  return text;
}

} // namespace

std::filesystem::path locate(const std::string& value) {
  const std::filesystem::path given(value);
  if (given.is_absolute()) {
    if (is_regular(given)) return given;
    fail_file(value, "config file not found");
  }
  std::vector<std::filesystem::path> dirs{".", "/etc/certmgr"};
  std::error_code error;
  // /proc/self/exe already names the executable with every symlink resolved.
  const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", error);
  if (!error) dirs.push_back(exe.parent_path());
  for (const std::filesystem::path& dir : dirs) {
    const std::filesystem::path candidate = dir / given;
    if (is_regular(candidate)) return absolute_or_same(candidate);
  }
  const std::string exe_dir = error ? "<exe dir>" : exe.parent_path().string();
  fail_file(value,
            fmt::format("config file not found (looked in ./, /etc/certmgr/, {}/)", exe_dir));
}

bool needs_runtime_passphrase(const Config& config,
                              const std::vector<const Certificate*>& certificates) {
  constexpr auto runtime = Passphrase::Kind::runtime;
  if (config.account.passphrase.kind == runtime) return true;
  if (certificates.empty())
    return std::ranges::any_of(
        config.certificates, [](const Certificate& c) { return c.key_passphrase.kind == runtime; });
  return std::ranges::any_of(
      certificates, [](const Certificate* c) { return c->key_passphrase.kind == runtime; });
}

Config load(const std::filesystem::path& path) {
  const std::filesystem::path file = absolute_or_same(path);
  return parse(read_text(file), file);
}

Config parse(std::string_view text, const std::filesystem::path& file) {
  const detail::Source source{.file = file.string(), .dir = config_dir(file)};
  const rapidjson::Document document = detail::parse_document(source, text);
  Config config = read_sections(Node(source, document));
  config.file = absolute_or_same(file);
  config.dir = source.dir;
  return config;
}

} // namespace certmgr::config
