// store::Transaction: stage in memory, then build a complete new generation beside the installed
// one and switch <data_dir>/<name> to it with one rename(2) (architecture.md, "The transaction";
// fixes [B23]). A crash at any instant leaves the old or the new generation installed, never a
// mix; recover() removes what a crash left half-done.
#include "store/detail.hpp"
#include <certmgr/log.hpp>
#include <certmgr/store.hpp>
#include <certmgr/util/error.hpp>
#include <certmgr/util/fs.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <fcntl.h>
#include <string.h>
#include <string_view>
#include <sys/stat.h>
#include <system_error>
#include <unistd.h>
#include <utility>

namespace certmgr::store {
namespace {

namespace fs = std::filesystem;

/// A staged entry with its bytes borrowed from the Transaction.
struct StagedView {
  std::string_view bytes{};
  mode_t mode{0};
  bool removed{false};
  uid_t uid{0}; ///< the owner the file must have (file_user, else the process's)
  gid_t gid{0};
};
using Views = std::map<std::string, StagedView>;

struct BytesOf {
  std::string_view operator()(const std::string& text) const noexcept { return text; }
  // store writes key files, so it is the one module besides crypto and jose that opens a Secret:
  // the bytes go only into create_file() and the comparison with the installed file.
  std::string_view operator()(const util::Secret& secret) const noexcept { return secret.reveal(); }
};

/// A template so that it can read Transaction's private Staged type without naming it.
template <class StagedMap> Views view_of(const StagedMap& staged, const util::Owner& owner) {
  Views views;
  const uid_t uid = owner.uid.value_or(::geteuid());
  const gid_t gid = owner.gid.value_or(::getegid());
  for (const auto& [relative, entry] : staged)
    views.emplace(relative, StagedView{std::visit(BytesOf{}, entry.content), entry.mode,
                                       entry.removed, uid, gid});
  return views;
}

/// write() of a file where another staged write needs a directory (or the reverse) could never
/// be built; refuse it when it is staged rather than half-way through commit().
template <class StagedMap>
void check_write(const std::string& relative, mode_t mode, const StagedMap& staged) {
  detail::check_relative(relative);
  if ((mode & ~mode_t{07777}) != 0)
    throw util::Error(fmt::format("{}: mode {:o} is not a permission mode", relative, mode));
  for (std::size_t slash = relative.find('/'); slash != std::string::npos;
       slash = relative.find('/', slash + 1)) {
    const auto it = staged.find(relative.substr(0, slash));
    if (it != staged.end() && !it->second.removed)
      throw util::Error(fmt::format("{}: {} is staged as a file", relative, it->first));
  }
  const std::string below = relative + "/";
  for (auto it = staged.lower_bound(below); it != staged.end() && it->first.starts_with(below);
       ++it)
    if (!it->second.removed)
      throw util::Error(fmt::format("{}: {} is staged below it", relative, it->first));
}

struct Plan {
  std::vector<std::string> carried{}; ///< hard-linked from the installed generation, sorted
  std::vector<std::string> written{}; ///< created from the staged bytes
  std::set<std::string> dirs{};       ///< directories of the new generation, parents first
  std::set<std::string> changed{};    ///< what commit() reports
};

bool staged_above(const std::string& relative, const Views& views) {
  for (std::size_t slash = relative.find('/'); slash != std::string::npos;
       slash = relative.find('/', slash + 1))
    if (views.contains(relative.substr(0, slash))) return true;
  return false;
}

bool written_below(const std::string& relative, const Views& views) {
  const std::string below = relative + "/";
  for (auto it = views.lower_bound(below); it != views.end() && it->first.starts_with(below); ++it)
    if (!it->second.removed) return true;
  return false;
}

/// Equal bytes and mode: rewriting would only churn inodes, archives and service reloads [B27].
bool same_file(const fs::path& path, const detail::Entry& entry, const StagedView& view) {
  // A changed file_user/file_group is a change too: the file is written again with the owner.
  if (!S_ISREG(entry.mode) || (entry.mode & 07777) != view.mode || entry.uid != view.uid ||
      entry.gid != view.gid || static_cast<std::size_t>(entry.size) != view.bytes.size())
    return false;
  std::optional<std::string> bytes = util::read_file(path, view.bytes.size());
  const bool same = bytes && *bytes == view.bytes;
  if (bytes) ::explicit_bzero(bytes->data(), bytes->size()); // it may be a key
  return same;
}

bool keeps(const fs::path& old_dir, const std::string& relative, const detail::Entry& entry,
           const Views& views) {
  if (const auto it = views.find(relative); it != views.end())
    return !it->second.removed && same_file(old_dir / relative, entry, it->second);
  // Below a removed directory, or where a written file needs a directory: gone either way.
  return !staged_above(relative, views) && !written_below(relative, views);
}

void add_parents(std::set<std::string>& dirs, const std::string& relative) {
  for (std::size_t slash = relative.find('/'); slash != std::string::npos;
       slash = relative.find('/', slash + 1))
    dirs.insert(relative.substr(0, slash));
}

std::set<std::string> directories_of(const Plan& plan, const std::set<std::string>& old_dirs,
                                     const Views& views) {
  std::set<std::string> dirs;
  for (const std::string& relative : plan.carried) add_parents(dirs, relative);
  for (const std::string& relative : plan.written) add_parents(dirs, relative);
  // Empty directories of the installed generation stay unless removed or replaced by a file.
  for (const std::string& dir : old_dirs) {
    if (views.contains(dir) || staged_above(dir, views)) continue;
    dirs.insert(dir);
    add_parents(dirs, dir);
  }
  return dirs;
}

Plan make_plan(const fs::path& old_dir, const detail::Listing& old, const Views& views) {
  Plan plan;
  for (const auto& [relative, entry] : old.files) {
    if (keeps(old_dir, relative, entry, views))
      plan.carried.push_back(relative);
    else
      plan.changed.insert(relative);
  }
  for (const auto& [relative, view] : views) {
    if (view.removed || std::binary_search(plan.carried.begin(), plan.carried.end(), relative))
      continue;
    plan.written.push_back(relative);
    plan.changed.insert(relative);
  }
  plan.dirs = directories_of(plan, old.dirs, views);
  return plan;
}

/// A link elsewhere than a generation is replaced only when it is one of our alt-name links
/// (a bare name): anything else was put there by someone else and is not ours to drop.
void refuse_foreign(const Paths& paths, const std::string& name, const detail::Installed& old) {
  if (old.kind != detail::InstalledKind::foreign || old.target.find('/') == std::string::npos)
    return;
  throw util::Error({.file = (paths.data_dir / name).string()},
                    fmt::format("a link to \"{}\", not to a generation; not replaced", old.target));
}

struct Numbers {
  std::uint64_t fresh{0};   ///< the generation being built
  std::uint64_t adopted{0}; ///< given to a legacy directory, below `fresh`
};

Numbers choose_numbers(const fs::path& gens, const detail::Installed& installed) {
  const detail::Generations found = detail::scan_generations(gens);
  const bool legacy = installed.kind == detail::InstalledKind::legacy;
  // Numbers only grow, past half-built ones and past a link to a vanished generation, so a
  // leftover can never be mistaken for the generation being built.
  std::uint64_t next = found.highest ? *found.highest + 1 : (legacy ? 0 : 1);
  if (installed.number) next = std::max(next, *installed.number + 1);
  if (legacy) return {.fresh = next + 1, .adopted = next};
  return {.fresh = next};
}

/// Best effort, for cleanup on a path that already failed: the first error is the one to report.
void discard(const fs::path& path) noexcept {
  std::error_code ignored;
  fs::remove_all(path, ignored);
}

void rename_or_throw(const fs::path& from, const fs::path& to) {
  if (::rename(from.c_str(), to.c_str()) != 0)
    detail::throw_errno(from, fmt::format("cannot rename to {}", to.string()));
}

mode_t dir_mode(const std::string& relative) {
  return fs::path(relative).filename() == "keys" ? k_key_dir_mode : k_public_dir_mode;
}

struct Build {
  const fs::path& gens;
  std::uint64_t number{0};
  const fs::path& old_dir;
  const Plan& plan;
  const Views& views;
  const util::Owner& owner;
};

void fill_generation(const Build& build, const fs::path& root) {
  struct stat st {};
  if (::lstat(root.c_str(), &st) == 0) throw util::Error({.file = root.string()}, "exists");
  util::make_dirs(root, k_public_dir_mode, build.owner);
  for (const std::string& dir : build.plan.dirs)
    util::make_dirs(root / dir, dir_mode(dir), build.owner);
  for (const std::string& relative : build.plan.carried) {
    const fs::path from = build.old_dir / relative;
    const fs::path to = root / relative;
    // A hard link shares the inode: unchanged files are neither copied nor archived.
    if (::linkat(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), 0) != 0)
      detail::throw_errno(to, fmt::format("cannot link to {}", from.string()));
  }
  for (const std::string& relative : build.plan.written) {
    const StagedView& view = build.views.at(relative);
    util::create_file(root / relative, view.bytes, view.mode, build.owner);
  }
}

/// Builds <N>.partial, makes it durable, then renames it to <N>: a complete <N> is complete on
/// disk. On failure nothing of it is left and the installed generation was never touched.
fs::path build_generation(const Build& build) {
  const fs::path partial = build.gens / fmt::format("{}{}", build.number, detail::k_partial_suffix);
  const fs::path complete = build.gens / std::to_string(build.number);
  try {
    fill_generation(build, partial);
    // Files were fsync'ed as written; the directories hold their names. Children first, so each
    // directory is synced after the entries created in it.
    for (auto it = build.plan.dirs.rbegin(); it != build.plan.dirs.rend(); ++it)
      util::fsync_dir(partial / *it);
    util::fsync_dir(partial);
    util::fsync_dir(build.gens); // the .partial entry, so recover() finds it after a power loss
    rename_or_throw(partial, complete);
    util::fsync_dir(build.gens); // <N> is durable before any link can point at it
  } catch (...) {
    discard(partial);
    discard(complete); // renamed but not durable: never linked, so still ours to drop
    throw;
  }
  return complete;
}

struct Switch {
  const Paths& paths;
  const std::string& name;
  const detail::Installed& installed;
  Numbers numbers{};
  fs::path fresh{};
};

/// The Python tree is a real directory where the link must go: it becomes generation
/// `adopted` first. Between the two renames <name> is missing and recover() would install the
/// newest generation, `fresh`, which is complete by then.
fs::path adopt_and_switch(const Switch& change, const std::string& target) {
  const fs::path gens = detail::generations_dir(change.paths, change.name);
  const fs::path adopted = gens / std::to_string(change.numbers.adopted);
  try {
    rename_or_throw(change.installed.dir, adopted);
  } catch (...) {
    discard(change.fresh);
    throw;
  }
  try {
    util::fsync_dir(gens);
    util::fsync_dir(change.paths.data_dir);
    detail::switch_link(change.paths.data_dir, change.name, target);
  } catch (...) {
    // Put the legacy tree back; if even that fails, `fresh` stays for recover() to install.
    if (::rename(adopted.c_str(), change.installed.dir.c_str()) == 0) discard(change.fresh);
    throw;
  }
  return adopted;
}

/// Points <data_dir>/<name> at `fresh`. Returns the superseded generation (empty: none).
fs::path install(const Switch& change) {
  const std::string target = detail::generation_target(change.name, change.numbers.fresh);
  fs::path superseded;
  if (change.installed.kind == detail::InstalledKind::legacy) {
    superseded = adopt_and_switch(change, target);
  } else {
    try {
      detail::switch_link(change.paths.data_dir, change.name, target);
    } catch (...) {
      discard(change.fresh); // never installed
      throw;
    }
    if (change.installed.kind == detail::InstalledKind::generation)
      superseded = change.installed.dir;
  }
  // The switch is visible; make it durable before the old generation is dismantled.
  util::fsync_dir(change.paths.data_dir);
  return superseded;
}

} // namespace

Transaction::Transaction(Paths paths, std::string name, util::Owner owner)
    : m_paths(std::move(paths)), m_name(std::move(name)), m_owner(owner) {
  detail::check_name(m_name);
}

// Staging lives in memory until commit(): nothing is on disk to remove, and the Secrets zero
// themselves.
Transaction::~Transaction() = default;

void Transaction::write(const std::string& relative, std::string content, mode_t mode) {
  check_write(relative, mode, m_staged);
  m_staged[relative] = Staged{.content = std::move(content), .mode = mode};
}

void Transaction::write(const std::string& relative, const util::Secret& content, mode_t mode) {
  check_write(relative, mode, m_staged);
  // Copied in place: no moved-from Secret is left to destroy (and one copy of the key, not two).
  Staged& staged = m_staged[relative];
  staged.content.emplace<util::Secret>(content);
  staged.mode = mode;
  staged.removed = false;
}

void Transaction::remove(const std::string& relative) {
  detail::check_relative(relative);
  const std::string below = relative + "/";
  auto it = m_staged.lower_bound(below);
  while (it != m_staged.end() && it->first.starts_with(below)) it = m_staged.erase(it);
  m_staged[relative] = Staged{.removed = true};
}

bool Transaction::empty() const {
  if (m_staged.empty()) return true;
  const detail::Installed installed = detail::find_installed(m_paths, m_name);
  return make_plan(installed.dir, detail::list_tree(installed.dir), view_of(m_staged, m_owner))
      .changed.empty();
}

std::vector<std::string> Transaction::commit(std::chrono::system_clock::time_point now,
                                             bool archive) {
  const detail::Installed installed = detail::find_installed(m_paths, m_name);
  const Views views = view_of(m_staged, m_owner);
  const Plan plan = make_plan(installed.dir, detail::list_tree(installed.dir), views);
  if (plan.changed.empty()) return {};
  refuse_foreign(m_paths, m_name, installed);
  const fs::path gens = detail::generations_dir(m_paths, m_name);
  util::make_dirs(gens, k_public_dir_mode);
  const Numbers numbers = choose_numbers(gens, installed);
  const fs::path fresh = build_generation({.gens = gens,
                                           .number = numbers.fresh,
                                           .old_dir = installed.dir,
                                           .plan = plan,
                                           .views = views,
                                           .owner = m_owner});
  const fs::path superseded = install({.paths = m_paths,
                                       .name = m_name,
                                       .installed = installed,
                                       .numbers = numbers,
                                       .fresh = fresh});
  if (!superseded.empty()) {
    try {
      detail::retire_generation({.paths = m_paths,
                                 .name = m_name,
                                 .old_dir = superseded,
                                 .current_dir = fresh,
                                 .now = now,
                                 .archive = archive});
    } catch (const util::Error& error) {
      // The new files are live: this commit succeeded, and its hooks and reloads must run.
      // recover() finishes the archiving at the next run.
      log::warning("[{}] generation {} is installed, but retiring {} failed: {}", m_name,
                   numbers.fresh, superseded.filename().string(), error.what());
    }
  }
  m_staged.clear();
  return {plan.changed.begin(), plan.changed.end()};
}

} // namespace certmgr::store
