#include "backoff.hpp"

#include <certmgr/log.hpp>
#include <certmgr/util/error.hpp>
#include <certmgr/util/fs.hpp>

#include <fmt/format.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <unistd.h>

namespace certmgr::actions {
namespace {
namespace fs = std::filesystem;

constexpr std::size_t k_max_state_bytes = 16 * 1024;
constexpr std::size_t k_max_reason_bytes = 500;
constexpr mode_t k_state_file_mode = 0644;

fs::path state_dir(const store::Paths& paths) { return paths.data_dir / ".backoff"; }
fs::path state_path(const store::Paths& paths, const std::string& name) {
  return state_dir(paths) / (name + ".json");
}

std::optional<util::Clock::time_point> time_member(const rapidjson::Value& doc, const char* key) {
  const auto m = doc.FindMember(key);
  if (m == doc.MemberEnd() || !m->value.IsString()) return std::nullopt;
  return util::parse_rfc3339(m->value.GetString());
}

std::string to_json(const Backoff& b) {
  rapidjson::StringBuffer out;
  rapidjson::Writer<rapidjson::StringBuffer> w(out);
  w.StartObject();
  w.Key("failures");
  w.Int(b.failures);
  w.Key("last_failure");
  w.String(util::iso8601(b.last));
  w.Key("not_before");
  w.String(util::iso8601(b.until));
  w.Key("reason");
  w.String(b.reason);
  w.Key("names");
  w.String(b.names);
  w.EndObject();
  return std::string(out.GetString(), out.GetSize()) + "\n";
}
} // namespace

util::Clock::time_point backoff_until(int failures, util::Clock::time_point last) {
  return failures < 2 ? last : last + k_backoff_delay;
}

std::optional<Backoff> read_backoff(const store::Paths& paths, const std::string& name) {
  const fs::path path = state_path(paths, name);
  try {
    const auto text = util::read_file(path, k_max_state_bytes);
    if (!text) return std::nullopt;
    rapidjson::Document doc;
    doc.Parse(text->data(), text->size());
    const bool object = !doc.HasParseError() && doc.IsObject();
    std::optional<int> failures;
    if (object)
      if (const auto m = doc.FindMember("failures"); m != doc.MemberEnd() && m->value.IsInt())
        failures = m->value.GetInt();
    const auto last = object ? time_member(doc, "last_failure") : std::nullopt;
    const auto until = object ? time_member(doc, "not_before") : std::nullopt;
    if (!failures || *failures < 1 || !last || !until) {
      log::warning("{}: not a back-off state file; ignored", path.string());
      return std::nullopt;
    }
    Backoff b{.failures = *failures, .last = *last, .until = *until};
    if (const auto r = doc.FindMember("reason"); r != doc.MemberEnd() && r->value.IsString())
      b.reason = log::printable(r->value.GetString(), k_max_reason_bytes);
    if (const auto n = doc.FindMember("names"); n != doc.MemberEnd() && n->value.IsString())
      b.names = n->value.GetString();
    return b;
  } catch (const std::exception& e) {
    log::warning("{}", e.what());
    return std::nullopt;
  }
}

Backoff record_failure(const store::Paths& paths, const std::string& name, const std::string& names,
                       util::Clock::time_point now, const std::string& reason,
                       std::optional<util::Clock::time_point> ca_not_before) {
  auto previous = read_backoff(paths, name);
  if (previous && previous->names != names) previous.reset(); // another order: starts over
  Backoff b{.failures = previous ? std::min(previous->failures, 1000) + 1 : 1,
            .last = now,
            .reason = log::printable(reason, k_max_reason_bytes),
            .names = names};
  b.until = backoff_until(b.failures, now);
  if (ca_not_before) b.until = std::max(b.until, *ca_not_before);
  try {
    util::make_dirs(state_dir(paths), store::k_public_dir_mode);
    util::write_file_atomic(state_path(paths, name), to_json(b), k_state_file_mode);
  } catch (const std::exception& e) {
    log::warning("[{}] cannot record the failure for back-off: {}", name, e.what());
  }
  return b;
}

void clear_backoff(const store::Paths& paths, const std::string& name) {
  const fs::path path = state_path(paths, name);
  if (::unlink(path.c_str()) == 0) {
    util::fsync_dir(state_dir(paths));
  } else if (errno != ENOENT) {
    log::warning("{}: cannot remove the back-off state: {}", path.string(), std::strerror(errno));
  }
}

std::vector<std::string> backoff_names(const store::Paths& paths) {
  std::vector<std::string> names;
  std::error_code error;
  for (fs::directory_iterator it(state_dir(paths), error), end; !error && it != end;
       it.increment(error)) {
    const std::string file = it->path().filename().string();
    if (file.size() > 5 && file.ends_with(".json") && !file.starts_with('.'))
      names.push_back(file.substr(0, file.size() - 5));
  }
  if (error && error != std::errc::no_such_file_or_directory)
    throw util::Error({.file = state_dir(paths).string()},
                      "cannot list directory: " + error.message());
  std::sort(names.begin(), names.end());
  return names;
}

} // namespace certmgr::actions
