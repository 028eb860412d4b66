// store::recover: finishes or undoes what a killed commit left behind. The rule is the one of
// the commit itself: the generation <data_dir>/<name> points at is the truth; anything newer was
// never switched to and goes, anything older was superseded and is retired as commit would have.
#include "store/detail.hpp"
#include <certmgr/store.hpp>
#include <certmgr/util/error.hpp>
#include <certmgr/util/fs.hpp>

#include <fmt/format.h>

#include <filesystem>
#include <sys/stat.h>
#include <unistd.h>

namespace certmgr::store {
namespace {

namespace fs = std::filesystem;

class Recovery {
public:
  Recovery(const Paths& paths, const std::string& name, std::chrono::system_clock::time_point now,
           bool archive)
      : m_paths(paths), m_name(name), m_gens(detail::generations_dir(paths, name)), m_now(now),
        m_archive(archive) {}

  std::vector<std::string> run() {
    detail::check_name(m_name);
    remove_temporary_link();
    remove_partials();
    const detail::Generations found = detail::scan_generations(m_gens);
    const detail::Installed installed = relink_if_missing(found);
    retire_leftovers(found, installed);
    return std::move(m_lines);
  }

private:
  void remove_temporary_link() {
    const fs::path temporary = m_paths.data_dir / detail::temporary_link_name(m_name);
    if (::unlink(temporary.c_str()) != 0) {
      if (errno == ENOENT) return;
      detail::throw_errno(temporary, "cannot remove temporary link");
    }
    util::fsync_dir(m_paths.data_dir); // so a power loss cannot bring it back
    m_lines.push_back("removed temporary link " + temporary.filename().string());
  }

  void remove_partials() {
    const detail::Generations found = detail::scan_generations(m_gens);
    for (const std::string& entry : found.partial) {
      util::remove_tree(m_gens / entry);
      m_lines.push_back(
          fmt::format("removed half-built generation {}",
                      entry.substr(0, entry.size() - detail::k_partial_suffix.size())));
    }
    if (!found.partial.empty()) util::fsync_dir(m_gens);
  }

  /// A crash while adopting a legacy tree leaves <name> missing with the new generation
  /// complete; a hand-removed link or generation leaves it missing or dangling.
  detail::Installed relink_if_missing(const detail::Generations& found) {
    const detail::Installed installed = detail::find_installed(m_paths, m_name);
    const bool missing =
        installed.kind == detail::InstalledKind::none ||
        (installed.kind == detail::InstalledKind::generation && !exists(installed.dir));
    if (!missing || found.complete.empty()) return installed;
    const std::string target = detail::generation_target(m_name, found.complete.back());
    detail::switch_link(m_paths.data_dir, m_name, target);
    util::fsync_dir(m_paths.data_dir); // durable before anything older is retired against it
    m_lines.push_back(fmt::format("re-created link {} -> {}", m_name, target));
    return detail::find_installed(m_paths, m_name);
  }

  void retire_leftovers(const detail::Generations& found, const detail::Installed& installed) {
    const bool linked = installed.kind == detail::InstalledKind::generation;
    // A foreign link says nothing about our generations: leave them for a human.
    if (!linked && installed.kind != detail::InstalledKind::legacy) return;
    bool removed = false;
    for (const std::uint64_t number : found.complete) {
      if (linked && number == *installed.number) continue;
      const fs::path dir = m_gens / std::to_string(number);
      if (linked && number < *installed.number) {
        detail::retire_generation({.paths = m_paths,
                                   .name = m_name,
                                   .old_dir = dir,
                                   .current_dir = installed.dir,
                                   .now = m_now,
                                   .archive = m_archive});
        m_lines.push_back(
            fmt::format("{} superseded generation {}", m_archive ? "archived" : "deleted", number));
      } else {
        util::remove_tree(dir); // built, but the switch to it never happened
        removed = true;
        m_lines.push_back(fmt::format("removed generation {}, which was never installed", number));
      }
    }
    if (removed) util::fsync_dir(m_gens);
  }

  static bool exists(const fs::path& path) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0) return true;
    if (errno == ENOENT) return false;
    detail::throw_errno(path, "cannot stat");
  }

  const Paths& m_paths;
  const std::string& m_name;
  fs::path m_gens;
  std::chrono::system_clock::time_point m_now;
  bool m_archive;
  std::vector<std::string> m_lines;
};

} // namespace

std::vector<std::string> recover(const Paths& paths, const std::string& name,
                                 std::chrono::system_clock::time_point now, bool archive) {
  return Recovery(paths, name, now, archive).run();
}

} // namespace certmgr::store
