// tests/fuzz/config_fuzz.cpp: the config loader on arbitrary text: config::parse(text, file), all
// of config::load() but its capped file read (which allocates and zeroes a 1 MiB buffer per call:
// about 40 execs/s under ASan instead of thousands). `file` names certmgr.json in a temp
// directory, so relative paths anchor there.
// Oracles: parse() returns or throws util::Error of kind config (exit 2, behaviour §2) with a
// one-line message that never quotes a configured passphrase; a loaded Config keeps the
// promises of config.hpp (names lower-case and usable as one path component under data_dir,
// absolute paths, key types, hook templates checked at load).
#include "fuzz_common.hpp"
#include <certmgr/config.hpp>
#include <certmgr/util/error.hpp>
#include <certmgr/util/hook_fields.hpp>
#include <certmgr/util/template.hpp>

#include <rapidjson/document.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <unistd.h>

namespace {
using certmgr::fuzz::require;

struct ConfigFile {
  std::filesystem::path dir;
  std::filesystem::path file;
  ConfigFile() {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern =
        std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/certmgr-fuzz-config.XXXXXX";
    require(::mkdtemp(pattern.data()) != nullptr, "cannot make a temp directory", pattern);
    dir = pattern;
    file = dir / "certmgr.json";
  }
  ~ConfigFile() {
    std::error_code error;
    std::filesystem::remove_all(dir, error);
  }
  ConfigFile(const ConfigFile&) = delete;
  ConfigFile& operator=(const ConfigFile&) = delete;
};

ConfigFile& config_file() {
  static ConfigFile instance; // one directory per process, removed at exit
  return instance;
}

/// String values of every "passphrase"/"key_passphrase" member anywhere in the document.
void collect_passphrases(const rapidjson::Value& value, std::vector<std::string>& out) {
  if (value.IsArray()) {
    for (const auto& item : value.GetArray()) collect_passphrases(item, out);
  } else if (value.IsObject()) {
    for (const auto& member : value.GetObject()) {
      const std::string_view key(member.name.GetString(), member.name.GetStringLength());
      if ((key == "passphrase" || key == "key_passphrase") && member.value.IsString())
        out.emplace_back(member.value.GetString(), member.value.GetStringLength());
      collect_passphrases(member.value, out);
    }
  }
}

std::size_t count_occurrences(std::string_view text, std::string_view needle) {
  std::size_t count = 0;
  for (auto at = text.find(needle); at != std::string_view::npos; at = text.find(needle, at + 1))
    ++count;
  return count;
}

/// Passphrases whose text occurs exactly once in the input (and has a letter or digit).
std::vector<std::string> unique_passphrases(std::string_view text) {
  std::vector<std::string> found;
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseIterativeFlag | rapidjson::kParseStopWhenDoneFlag>(text.data(),
                                                                                text.size());
  if (doc.HasParseError()) return found;
  collect_passphrases(doc, found);
  std::erase_if(found, [&](const std::string& p) {
    return p.size() < 8 || count_occurrences(text, p) != 1 || std::ranges::none_of(p, [](char c) {
             return std::isalnum(static_cast<unsigned char>(c));
           });
  });
  return found;
}

/// `text` with letters and digits rotated (a→b, z→a, 9→0): the same kind of string, another value.
std::string rotated(std::string text) {
  for (char& c : text) {
    if (c >= 'a' && c <= 'z')
      c = c == 'z' ? 'a' : static_cast<char>(c + 1);
    else if (c >= 'A' && c <= 'Z')
      c = c == 'Z' ? 'A' : static_cast<char>(c + 1);
    else if (c >= '0' && c <= '9')
      c = c == '9' ? '0' : static_cast<char>(c + 1);
  }
  return text;
}

std::string error_of(std::string_view text) {
  try {
    (void)certmgr::config::parse(text, config_file().file);
  } catch (const certmgr::util::Error& e) {
    return e.what();
  }
  return {};
}

/// A passphrase is quoted when the message contains it and, with the passphrase changed in the
/// input to a text found nowhere else (input or message), contains the changed one instead:
/// fixed text of a message (the file name, a word of the error, a key that holds the same
/// letters) that happens to equal the passphrase is not a leak.
void require_passphrases_unquoted(std::string_view text, std::string_view message) {
  const std::string file = config_file().file.string();
  for (const std::string& passphrase : unique_passphrases(text)) {
    if (message.find(passphrase) == std::string_view::npos) continue;
    if (file.find(passphrase) != std::string::npos) continue;
    std::string other = rotated(passphrase);
    for (int i = 0; i < 9 && (text.find(other) != std::string_view::npos ||
                              message.find(other) != std::string_view::npos);
         ++i)
      other = rotated(other);
    if (text.find(other) != std::string_view::npos || message.find(other) != std::string_view::npos)
      continue;
    std::string changed(text);
    changed.replace(changed.find(passphrase), passphrase.size(), other);
    require(error_of(changed).find(other) == std::string::npos,
            "a config error quotes the passphrase", message);
  }
}

bool is_lower(std::string_view text) {
  return std::ranges::none_of(text, [](char c) { return c >= 'A' && c <= 'Z'; });
}

/// `name` is one path component: <data_dir>/<name> stays directly under data_dir.
void require_path_component(const std::filesystem::path& data_dir, const std::string& name) {
  require(!name.empty() && name != "." && name != ".." &&
              name.find_first_of(std::string_view("/\0", 2)) == std::string::npos,
          "a certificate or link name is not one path component", name);
  // "x" stands for a harmless name: data_dir may end in "/" or hold "." components
  require((data_dir / name).lexically_normal().parent_path() ==
              (data_dir / "x").lexically_normal().parent_path(),
          "a derived path leaves data_dir", name);
}

void check_config(const certmgr::config::Config& loaded) {
  namespace config = certmgr::config;
  const config::Settings& settings = loaded.settings;
  require(settings.data_dir.is_absolute(), "data_dir is not absolute", settings.data_dir.string());
  require(!settings.log_file || settings.log_file->is_absolute(), "log_file is not absolute");
  require(!settings.lock_file || settings.lock_file->is_absolute(), "lock_file is not absolute");
  require(!settings.ca_bundle || settings.ca_bundle->is_absolute(), "ca_bundle is not absolute");
  require(!loaded.certificates.empty(), "a loaded config has no certificate");
  for (const config::Certificate& cert : loaded.certificates) {
    require(is_lower(cert.name), "certificate name not lower-case", cert.name);
    require_path_component(settings.data_dir, cert.name);
    require(!cert.alt_names.empty() && cert.alt_names.front() == cert.name,
            "alt_names does not start with the name", cert.name);
    require(std::set<std::string>(cert.alt_names.begin(), cert.alt_names.end()).size() ==
                cert.alt_names.size(),
            "alt_names has duplicates", cert.name);
    for (const std::string& alt : cert.alt_names) require(is_lower(alt), "alt name upper", alt);
    for (const std::string& link : cert.link_names) {
      require(link != cert.name, "a link name is the certificate's own name", link);
      require_path_component(settings.data_dir, link);
    }
    require(!cert.key_types.empty(), "no key type", cert.name);
    require(std::set(cert.key_types.begin(), cert.key_types.end()).size() == cert.key_types.size(),
            "duplicate key types", cert.name);
    require(cert.key_passphrase.kind != config::Passphrase::Kind::literal ||
                !cert.key_passphrase.literal.empty(),
            "empty literal passphrase");
    for (const std::string& service : cert.services)
      require(loaded.services.contains(service), "certificate names an unknown service", service);
  }
  const auto& fields = certmgr::util::hook_fields();
  for (const auto& [hook, commands] : loaded.hooks) {
    const auto known = fields.find(hook);
    require(known != fields.end(), "unknown hook name loaded", hook);
    for (const config::HookCommand& command : commands) {
      require(!command.args.empty(), "hook command without args", hook);
      require(command.timeout.count() >= 1 && command.timeout.count() <= 86400,
              "hook timeout outside 1..86400", hook);
      require(!command.cwd || command.cwd->is_absolute(), "hook cwd not absolute", hook);
      std::vector<const std::string*> templates;
      for (const std::string& arg : command.args) templates.push_back(&arg);
      if (command.input) templates.push_back(&*command.input);
      for (const std::string* text : templates) {
        const certmgr::util::TemplateCheck check = certmgr::util::check_template(*text);
        require(check.error.empty(), "a loaded hook template is malformed", *text);
        for (const std::string& field : check.fields)
          require(std::ranges::find(known->second, field) != known->second.end(),
                  "a loaded hook template uses a field its hook lacks", field);
      }
    }
  }
  for (const auto& [name, shards] : loaded.ct_logs)
    for (const config::CtLogShard& shard : shards)
      require(shard.log_id.size() == 32, "CT log id not 32 bytes", name);
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = certmgr::fuzz::as_text(data, size);
  try {
    check_config(certmgr::config::parse(text, config_file().file));
  } catch (const certmgr::util::Error& e) {
    const std::string_view message = e.what();
    require(e.kind() == certmgr::util::ErrorKind::config, "config error of another kind", message);
    certmgr::fuzz::require_one_line(message);
    require_passphrases_unquoted(text, message);
  }
  return 0;
}
