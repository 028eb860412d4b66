// store::repair_modes and store::repair_account, the file side of `certmgr check` (behaviour
// §3.6, [B25], [B26]): modes and owners of the live tree are put back to what a commit gives
// them. Every call addresses an entry so that a symlink is never followed: directories through
// an O_NOFOLLOW descriptor, files by name with AT_SYMLINK_NOFOLLOW, so a link planted in the
// tree cannot make a root run chmod or chown something outside it.
#include "store/detail.hpp"
#include <certmgr/store.hpp>
#include <certmgr/util/error.hpp>
#include <certmgr/util/fs.hpp>
#include <certmgr/util/handle.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <memory>
#include <sys/stat.h>
#include <unistd.h>

namespace certmgr::store {
namespace {

namespace fs = std::filesystem;

using DirPtr = std::unique_ptr<DIR, util::FreeWith<closedir>>;

struct Ids {
  uid_t uid{};
  gid_t gid{};
};

/// Behaviour §3.3: an unset file_user/file_group means the process's own uid and gid.
Ids resolve(const util::Owner& owner) {
  return {.uid = owner.uid.value_or(::geteuid()), .gid = owner.gid.value_or(::getegid())};
}

/// One directory or regular file to repair: a directory by its own descriptor (`name` empty),
/// a file by `name` in the directory `dir`.
struct Target {
  int dir{-1};
  std::string name{};
  std::string label{}; ///< the path shown in report lines
  struct stat st {};
};

int change_owner(const Target& t, const Ids& ids) {
  if (t.name.empty()) return ::fchown(t.dir, ids.uid, ids.gid);
  return ::fchownat(t.dir, t.name.c_str(), ids.uid, ids.gid, AT_SYMLINK_NOFOLLOW);
}

int change_mode(const Target& t, mode_t mode) {
  if (t.name.empty()) return ::fchmod(t.dir, mode);
  // With AT_SYMLINK_NOFOLLOW glibc refuses a symlink (EOPNOTSUPP) instead of following it.
  return ::fchmodat(t.dir, t.name.c_str(), mode, AT_SYMLINK_NOFOLLOW);
}

void add_failure(RepairReport& report, const std::string& label, std::string_view what, int error) {
  report.failed.push_back(fmt::format("{}: {}: {}", label, what, std::strerror(error)));
}

/// Gives `t` the owner `ids` and the mode `wanted`, reporting each change.
void repair(RepairReport& report, const Target& t, mode_t wanted, const Ids& ids) {
  const mode_t mode = t.st.st_mode & 07777;
  mode_t current = mode;
  if (t.st.st_uid != ids.uid || t.st.st_gid != ids.gid) {
    // Narrow first, so that between the two calls neither the old owner nor the new one can
    // read more than it was or will be allowed to (a 0666 key changing group stays closed).
    const mode_t narrowed = mode & wanted;
    if (narrowed != mode && change_mode(t, narrowed) != 0)
      return add_failure(report, t.label, "cannot chmod", errno);
    current = narrowed;
    if (change_owner(t, ids) != 0) {
      const int error = errno;
      add_failure(report, t.label, fmt::format("cannot chown to {}:{}", ids.uid, ids.gid), error);
    } else {
      report.repaired.push_back(fmt::format("{}: owner {}:{} -> {}:{}", t.label, t.st.st_uid,
                                            t.st.st_gid, ids.uid, ids.gid));
    }
  }
  if (current != wanted && change_mode(t, wanted) != 0)
    return add_failure(report, t.label, "cannot chmod", errno);
  if (mode != wanted)
    report.repaired.push_back(fmt::format("{}: mode {:04o} -> {:04o}", t.label, mode, wanted));
}

/// Opens `name` in `dir` (AT_FDCWD: a path) as a directory, refusing a symlink.
util::Fd open_dir(int dir, const char* name) {
  return util::Fd(::openat(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
}

/// Entry names of the open directory `dir`, sorted (so reports come in a stable order).
std::vector<std::string> entries(const util::Fd& dir, const std::string& label) {
  util::Fd copy(::fcntl(dir.get(), F_DUPFD_CLOEXEC, 0));
  if (!copy.valid()) detail::throw_errno(label, "cannot list directory");
  DirPtr stream(::fdopendir(copy.get()));
  if (!stream) detail::throw_errno(label, "cannot list directory");
  copy.release(); // owned by `stream` now
  std::vector<std::string> names;
  errno = 0;
  while (const dirent* entry = ::readdir(stream.get())) {
    const std::string_view name = entry->d_name;
    if (name != "." && name != "..") names.emplace_back(name);
    errno = 0;
  }
  if (errno != 0) detail::throw_errno(label, "cannot list directory");
  std::sort(names.begin(), names.end());
  return names;
}

bool has_dir_component(const std::string& relative, std::string_view component) {
  const std::string needle = fmt::format("{}/", component);
  return relative.starts_with(needle) || relative.find("/" + needle) != std::string::npos;
}

/// The mode a commit gives a file at `relative` (update's stage(): keys and params are secret).
mode_t file_mode(const std::string& relative) {
  const bool secret = relative == "params.pem" || has_dir_component(relative, "keys");
  return secret ? k_key_file_mode : k_public_file_mode;
}

/// The mode a commit gives a directory at `relative` (the transaction's dir_mode()).
mode_t dir_mode(const std::string& relative) {
  return fs::path(relative).filename() == "keys" ? k_key_dir_mode : k_public_dir_mode;
}

struct Walk {
  RepairReport& report;
  Ids ids{};
};

void repair_below(Walk& walk, const util::Fd& dir, const std::string& prefix);

void repair_entry(Walk& walk, const util::Fd& dir, const std::string& prefix,
                  const std::string& name) {
  const std::string relative = prefix.empty() ? name : prefix + "/" + name;
  Target target{.dir = dir.get(), .name = name, .label = relative};
  if (::fstatat(dir.get(), name.c_str(), &target.st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno != ENOENT) add_failure(walk.report, relative, "cannot stat", errno);
    return;
  }
  if (S_ISREG(target.st.st_mode)) return repair(walk.report, target, file_mode(relative), walk.ids);
  if (!S_ISDIR(target.st.st_mode)) return; // symlinks and the like are nobody's to chmod here
  const util::Fd sub = open_dir(dir.get(), name.c_str());
  if (!sub.valid() || ::fstat(sub.get(), &target.st) != 0)
    return add_failure(walk.report, relative, "cannot open directory", errno);
  target.dir = sub.get();
  target.name.clear();
  repair(walk.report, target, dir_mode(relative), walk.ids);
  repair_below(walk, sub, relative);
}

void repair_below(Walk& walk, const util::Fd& dir, const std::string& prefix) {
  std::vector<std::string> names;
  try {
    names = entries(dir, prefix.empty() ? "." : prefix);
  } catch (const util::Error& e) {
    walk.report.failed.emplace_back(e.what()); // the other directories are still repaired
    return;
  }
  for (const std::string& name : names) repair_entry(walk, dir, prefix, name);
}

} // namespace

RepairReport repair_modes(const Paths& paths, const std::string& name, const util::Owner& owner) {
  RepairReport report;
  const detail::Installed installed = detail::find_installed(paths, name);
  const bool ours = installed.kind == detail::InstalledKind::generation ||
                    installed.kind == detail::InstalledKind::legacy;
  if (!ours) return report;
  report.found = true;
  const util::Fd root = open_dir(AT_FDCWD, installed.dir.c_str());
  Target target{.dir = root.get(), .label = "."};
  if (!root.valid() || ::fstat(root.get(), &target.st) != 0)
    detail::throw_errno(installed.dir, "cannot open directory");
  Walk walk{.report = report, .ids = resolve(owner)};
  repair(report, target, k_public_dir_mode, walk.ids);
  repair_below(walk, root, "");
  return report;
}

namespace {
/// An account directory (account/ itself, or one account/<label>/ per ACME directory) and its
/// files: private, owned by the process (never by file_user).
void repair_account_dir(RepairReport& report, const util::Fd& fd, const std::string& label) {
  Target target{.dir = fd.get(), .label = label};
  if (!fd.valid() || ::fstat(fd.get(), &target.st) != 0) {
    add_failure(report, label, "cannot open directory", errno);
    return;
  }
  const Ids process{.uid = ::geteuid(), .gid = ::getegid()};
  repair(report, target, k_private_dir_mode, process);
  for (const char* file : {"client.key", "client.key.next", "registration.json"}) {
    Target entry{.dir = fd.get(), .name = file, .label = fmt::format("{}/{}", label, file)};
    if (::fstatat(fd.get(), file, &entry.st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno != ENOENT) add_failure(report, entry.label, "cannot stat", errno);
      continue;
    }
    if (S_ISREG(entry.st.st_mode)) repair(report, entry, k_private_file_mode, process);
  }
}
} // namespace

RepairReport repair_account(const Paths& paths) {
  RepairReport report;
  const fs::path dir = paths.data_dir / "account";
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0) {
    if (errno == ENOENT) return report;
    detail::throw_errno(dir, "cannot stat");
  }
  report.found = true;
  const util::Fd fd = open_dir(AT_FDCWD, dir.c_str());
  repair_account_dir(report, fd, "account");
  if (!fd.valid()) return report;
  for (const std::string& name : entries(fd, "account")) {
    struct stat sub {};
    if (::fstatat(fd.get(), name.c_str(), &sub, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(sub.st_mode))
      continue;
    repair_account_dir(report, open_dir(fd.get(), name.c_str()), fmt::format("account/{}", name));
  }
  return report;
}

} // namespace certmgr::store
