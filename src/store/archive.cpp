// Retiring a superseded generation: files that left the installed tree go to
// archives/<name>/<stamp>/<relative> (so rsa and ecdsa copies never collide [B22]), the rest were
// only extra hard links of live files and go away with the old directory.
#include "store/detail.hpp"
#include <certmgr/util/error.hpp>
#include <certmgr/util/fs.hpp>

#include <fmt/format.h>

#include <optional>
#include <stdio.h>
#include <sys/stat.h>

namespace certmgr::store::detail {
namespace {

namespace fs = std::filesystem;

/// Two commits within one second share a stamp and get "_1", "_2"...; a thousand in one second
/// means something loops, and is better stopped than served.
constexpr unsigned k_max_stamp_suffix = 1000;

/// archives/<name>/<stamp>[_<n>], created by this call (mkdir is the test-and-set).
fs::path make_stamp_dir(const Paths& paths, const std::string& name,
                        std::chrono::system_clock::time_point now) {
  const fs::path base = paths.data_dir / k_archives_dir / name;
  util::make_dirs(base, k_private_dir_mode);
  const std::string first = stamp(now);
  for (unsigned suffix = 0; suffix < k_max_stamp_suffix; ++suffix) {
    const fs::path dir = base / (suffix == 0 ? first : fmt::format("{}_{}", first, suffix));
    if (::mkdir(dir.c_str(), k_private_dir_mode) != 0) {
      if (errno == EEXIST) continue;
      throw_errno(dir, "cannot create directory");
    }
    // The umask may have narrowed mkdir's mode; archives are exactly 0700.
    if (::chmod(dir.c_str(), k_private_dir_mode) != 0) throw_errno(dir, "cannot chmod");
    util::fsync_dir(base); // the new stamp directory must survive with what is moved into it
    return dir;
  }
  throw util::Error({.file = base.string()},
                    fmt::format("more than {} archives stamped {}", k_max_stamp_suffix, first));
}

bool still_installed(const Listing& current, const std::string& relative, const Entry& entry) {
  const auto it = current.files.find(relative);
  return it != current.files.end() && it->second.dev == entry.dev && it->second.ino == entry.ino;
}

std::size_t archive_replaced(const Retirement& retirement, const Listing& old) {
  const Listing current = list_tree(retirement.current_dir);
  std::optional<fs::path> stamp_dir;
  std::set<fs::path> touched;
  std::size_t archived = 0;
  for (const auto& [relative, entry] : old.files) {
    if (still_installed(current, relative, entry)) continue;
    if (!stamp_dir) stamp_dir = make_stamp_dir(retirement.paths, retirement.name, retirement.now);
    const fs::path from = retirement.old_dir / relative;
    const fs::path to = *stamp_dir / relative;
    util::make_dirs(to.parent_path(), k_private_dir_mode);
    // rename keeps the inode: mode, owner and bytes of the archived file are the live ones.
    if (::rename(from.c_str(), to.c_str()) != 0) throw_errno(from, "cannot move to the archive");
    touched.insert(to.parent_path());
    ++archived;
  }
  // The archived copies must be durable before the old generation, their last other name, goes.
  for (auto it = touched.rbegin(); it != touched.rend(); ++it) util::fsync_dir(*it);
  return archived;
}

} // namespace

std::size_t retire_generation(const Retirement& retirement) {
  const Listing old = list_tree(retirement.old_dir);
  const std::size_t archived = retirement.archive ? archive_replaced(retirement, old) : 0;
  util::remove_tree(retirement.old_dir);
  // Without this a power loss could resurrect the old generation; recover() would then archive
  // it again, which is harmless, but a clean tree is cheaper.
  util::fsync_dir(retirement.old_dir.parent_path());
  return archived;
}

} // namespace certmgr::store::detail
