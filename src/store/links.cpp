// store::sync_links: <data_dir>/<alt> -> <name> links. Unlike the Python tool [B28], a real file
// or directory is never deleted to make room for a link, and only links that point at one of our
// certificates are ever replaced or removed.
#include "store/detail.hpp"
#include <certmgr/store.hpp>
#include <certmgr/util/error.hpp>
#include <certmgr/util/fs.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <sys/stat.h>
#include <system_error>
#include <unistd.h>

namespace certmgr::store {
namespace {

namespace fs = std::filesystem;

struct LinkSync {
  const Paths& paths;
  const std::set<std::string>& certificate_names;
  std::vector<std::string> lines{};
  bool changed{false};
};

std::string read_link(const fs::path& path) {
  std::error_code error;
  std::string target = fs::read_symlink(path, error).string();
  if (error) throw util::Error({.file = path.string()}, "cannot read link: " + error.message());
  return target;
}

/// What is at <data_dir>/<alt> now, when it is not what `alt` -> `name` wants; "" when a link
/// may be put there.
std::string conflict(const LinkSync& sync, const std::string& alt, const std::string& name,
                     const struct stat& st) {
  const std::string refused = fmt::format(", not replaced by a link to {}", name);
  if (sync.certificate_names.contains(alt)) return alt + " is a certificate name" + refused;
  if (S_ISDIR(st.st_mode)) return alt + " is a directory" + refused;
  if (!S_ISLNK(st.st_mode)) return alt + " is a file" + refused;
  const std::string target = read_link(sync.paths.data_dir / alt);
  // Only a link to one of our certificates is ours to repoint; anything else was made by
  // someone else (an admin's "www.x -> x-manual") and is reported, not touched.
  if (!sync.certificate_names.contains(target))
    return fmt::format("{} is a link to \"{}\"{}", alt, target, refused);
  return "";
}

void sync_one(LinkSync& sync, const std::string& alt, const std::string& name) {
  detail::check_name(alt);
  detail::check_name(name);
  const fs::path path = sync.paths.data_dir / alt;
  struct stat st {};
  const bool present = ::lstat(path.c_str(), &st) == 0;
  if (!present && errno != ENOENT) detail::throw_errno(path, "cannot stat");
  if (!present && sync.certificate_names.contains(alt)) {
    // Not issued yet, but its own link will go here: do not take the place.
    sync.lines.push_back(fmt::format("{} is a certificate name, not linked to {}", alt, name));
    return;
  }
  std::string previous;
  if (present) {
    if (std::string refused = conflict(sync, alt, name, st); !refused.empty()) {
      sync.lines.push_back(std::move(refused));
      return;
    }
    previous = read_link(path);
    if (previous == name) return;
  }
  detail::switch_link(sync.paths.data_dir, alt, name);
  sync.changed = true;
  sync.lines.push_back(
      present ? fmt::format("replaced link {} -> {} by {} -> {}", alt, previous, alt, name)
              : fmt::format("created link {} -> {}", alt, name));
}

/// Links in data_dir pointing at one of our certificates under a name nobody wants any more.
std::vector<std::string> stale_links(const LinkSync& sync,
                                     const std::map<std::string, std::string>& wanted) {
  std::vector<std::string> stale;
  std::error_code error;
  for (fs::directory_iterator it(sync.paths.data_dir, error), end; !error && it != end;
       it.increment(error)) {
    const std::string entry = it->path().filename().string();
    if (entry.starts_with('.') || sync.certificate_names.contains(entry) || wanted.contains(entry))
      continue;
    std::error_code ignored; // vanished meanwhile: nothing to remove
    if (it->is_symlink(ignored) && sync.certificate_names.contains(read_link(it->path())))
      stale.push_back(entry);
  }
  if (error && error != std::errc::no_such_file_or_directory)
    throw util::Error({.file = sync.paths.data_dir.string()},
                      "cannot list directory: " + error.message());
  std::sort(stale.begin(), stale.end());
  return stale;
}

void remove_stale(LinkSync& sync, const std::map<std::string, std::string>& wanted) {
  for (const std::string& entry : stale_links(sync, wanted)) {
    const fs::path path = sync.paths.data_dir / entry;
    const std::string target = read_link(path);
    if (::unlink(path.c_str()) != 0) detail::throw_errno(path, "cannot remove stale link");
    sync.changed = true;
    sync.lines.push_back(fmt::format("removed stale link {} -> {}", entry, target));
  }
}

} // namespace

std::vector<std::string> sync_links(const Paths& paths,
                                    const std::map<std::string, std::string>& wanted,
                                    const std::set<std::string>& certificate_names) {
  LinkSync sync{.paths = paths, .certificate_names = certificate_names};
  for (const auto& [alt, name] : wanted) sync_one(sync, alt, name);
  remove_stale(sync, wanted);
  // Links are made with rename(2) and removed with unlink(2): durable once data_dir is synced.
  if (sync.changed) util::fsync_dir(paths.data_dir);
  return std::move(sync.lines);
}

} // namespace certmgr::store
