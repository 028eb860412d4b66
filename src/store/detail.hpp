// store/detail.hpp: helpers private to the store module (its .cpp files and unit tests): names of
// the tree, listing a generation, finding the installed one, switching a link, retiring an old
// generation into the archive. Not an API: nothing outside src/store/ and its tests includes it.
#pragma once

#include <certmgr/store.hpp>
#include <certmgr/util/fs.hpp>

#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <sys/stat.h>
#include <sys/types.h>
#include <vector>

namespace certmgr::store::detail {

inline constexpr std::string_view k_generations_dir = ".generations";
inline constexpr std::string_view k_archives_dir = "archives";
inline constexpr std::string_view k_partial_suffix = ".partial";
inline constexpr std::string_view k_link_tmp_suffix = ".link-tmp";

using util::throw_errno;

/// A certificate name or alt name is one plain entry of data_dir: not empty, no '/', no NUL, not
/// starting with '.' (our hidden entries), not "archives" or "account". Throws util::Error.
void check_name(const std::string& name);
/// A normalised relative path without "", ".", ".." components. Throws util::Error.
void check_relative(const std::string& relative);

/// <data_dir>/.generations/<name>
[[nodiscard]] std::filesystem::path generations_dir(const Paths& paths, const std::string& name);
/// ".generations/<name>/<number>", the target of <data_dir>/<name>.
[[nodiscard]] std::string generation_target(const std::string& name, std::uint64_t number);
/// "." + <link name> + ".link-tmp", the temporary link renamed over <link name>.
[[nodiscard]] std::string temporary_link_name(const std::string& link_name);
/// A canonical decimal generation number ("0", "17"; not "017", "", "1a").
[[nodiscard]] std::optional<std::uint64_t> parse_number(std::string_view text);

/// A non-directory entry of a generation (regular files; links and others are carried the same).
struct Entry {
  dev_t dev{};
  ino_t ino{};
  mode_t mode{};
  off_t size{};
  uid_t uid{};
  gid_t gid{};
};
struct Listing {
  std::map<std::string, Entry> files{}; ///< by relative path
  std::set<std::string> dirs{};         ///< relative paths; parents sort before their children
};
/// Everything below `root`, never following symlinks. An empty or missing root lists nothing.
[[nodiscard]] Listing list_tree(const std::filesystem::path& root);

enum class InstalledKind {
  none,       ///< <data_dir>/<name> does not exist
  generation, ///< a symlink .generations/<name>/<N> (the directory may be missing)
  legacy,     ///< a real directory left by the Python certmgr
  foreign,    ///< a symlink elsewhere (`target`), e.g. an old alt-name link
};
struct Installed {
  InstalledKind kind{InstalledKind::none};
  std::filesystem::path dir{};           ///< directory holding the files; empty for none/foreign
  std::optional<std::uint64_t> number{}; ///< for generation
  std::string target{};                  ///< link target, for generation and foreign
};
[[nodiscard]] Installed find_installed(const Paths& paths, const std::string& name);

struct Generations {
  std::vector<std::uint64_t> complete{};  ///< ascending
  std::vector<std::string> partial{};     ///< entry names "<N>.partial"
  std::optional<std::uint64_t> highest{}; ///< over complete and partial
};
/// The generation directories of `dir` (<data_dir>/.generations/<name>); missing dir: none.
[[nodiscard]] Generations scan_generations(const std::filesystem::path& dir);

/// Points <dir>/<link_name> at `target` with one rename(2) of a temporary link over it. A stale
/// temporary link is replaced. Throws before the rename, never after: when it returns, the
/// switch is visible (the caller fsyncs `dir` to make it durable).
void switch_link(const std::filesystem::path& dir, const std::string& link_name,
                 const std::string& target);

/// Local time "YYYY_MM_DD_HHMMSS" (behaviour §4.1).
[[nodiscard]] std::string stamp(std::chrono::system_clock::time_point now);

struct Retirement {
  const Paths& paths;
  const std::string& name;
  std::filesystem::path old_dir{};     ///< generation to retire
  std::filesystem::path current_dir{}; ///< the installed generation
  std::chrono::system_clock::time_point now{};
  bool archive{true};
};
/// Moves every file of old_dir that is not also (same inode, same path) in current_dir to
/// archives/<name>/<stamp>/<relative> (or drops it when !archive), then removes old_dir. Returns
/// the number of files archived. Throws util::Error; a repeat after a crash finishes the job.
std::size_t retire_generation(const Retirement& retirement);

} // namespace certmgr::store::detail
