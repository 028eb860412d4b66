// The names and shapes of the data tree: where things live, what is installed, which generations
// exist, and the one-rename link switch everything else builds on.
#include "store/detail.hpp"
#include <certmgr/store.hpp>
#include <certmgr/util/error.hpp>
#include <certmgr/util/fs.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <ctime>
#include <system_error>
#include <time.h>
#include <unistd.h>

namespace certmgr::store {
namespace detail {
namespace {

namespace fs = std::filesystem;

/// Canonical generation numbers fit in 19 digits (uint64); longer names are not ours.
constexpr std::size_t k_max_number_digits = 19;

bool has_component(const std::string& relative, std::string_view component) {
  std::size_t start = 0;
  for (;;) {
    const std::size_t slash = relative.find('/', start);
    const std::size_t end = slash == std::string::npos ? relative.size() : slash;
    if (std::string_view(relative).substr(start, end - start) == component) return true;
    if (slash == std::string::npos) return false;
    start = slash + 1;
  }
}

void walk(const fs::path& root, const std::string& prefix, Listing& listing) {
  const fs::path dir = prefix.empty() ? root : root / prefix;
  std::error_code error;
  for (fs::directory_iterator it(dir, error), end; !error && it != end; it.increment(error)) {
    const fs::path& path = it->path();
    const std::string entry = path.filename().string();
    const std::string relative = prefix.empty() ? entry : prefix + "/" + entry;
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) throw_errno(path, "cannot stat");
    if (S_ISDIR(st.st_mode)) {
      listing.dirs.insert(relative);
      walk(root, relative, listing);
    } else {
      listing.files.emplace(
          relative, Entry{st.st_dev, st.st_ino, st.st_mode, st.st_size, st.st_uid, st.st_gid});
    }
  }
  if (error) throw util::Error({.file = dir.string()}, "cannot list directory: " + error.message());
}

/// N from a link target ".generations/<name>/<N>", or nullopt when the target is not that.
std::optional<std::uint64_t> generation_of(const std::string& name, const std::string& target) {
  const std::string prefix = fmt::format("{}/{}/", k_generations_dir, name);
  if (!target.starts_with(prefix)) return std::nullopt;
  return parse_number(std::string_view(target).substr(prefix.size()));
}

} // namespace

void check_name(const std::string& name) {
  const bool plain = !name.empty() && name.front() != '.' &&
                     name.find_first_of(std::string_view("/\0", 2)) == std::string::npos;
  // "archives" and "account" are our directories: a certificate of that name would adopt them.
  if (!plain || name == k_archives_dir || name == "account")
    throw util::Error(fmt::format("\"{}\" cannot be a name in the data directory", name));
}

void check_relative(const std::string& relative) {
  const bool bad = relative.empty() || relative.front() == '/' || relative.back() == '/' ||
                   relative.find('\0') != std::string::npos ||
                   relative.find("//") != std::string::npos || has_component(relative, ".") ||
                   has_component(relative, "..");
  if (bad) throw util::Error(fmt::format("\"{}\" is not a normalised relative path", relative));
}

fs::path generations_dir(const Paths& paths, const std::string& name) {
  return paths.data_dir / k_generations_dir / name;
}

std::string generation_target(const std::string& name, std::uint64_t number) {
  return fmt::format("{}/{}/{}", k_generations_dir, name, number);
}

std::string temporary_link_name(const std::string& link_name) {
  return fmt::format(".{}{}", link_name, k_link_tmp_suffix);
}

std::optional<std::uint64_t> parse_number(std::string_view text) {
  const bool canonical =
      !text.empty() && text.size() <= k_max_number_digits &&
      std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; }) &&
      (text.size() == 1 || text.front() != '0');
  if (!canonical) return std::nullopt;
  std::uint64_t number = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return number;
}

Listing list_tree(const fs::path& root) {
  Listing listing;
  if (root.empty()) return listing;
  struct stat st {};
  if (::lstat(root.c_str(), &st) != 0) {
    if (errno == ENOENT) return listing;
    throw_errno(root, "cannot stat");
  }
  if (!S_ISDIR(st.st_mode)) throw util::Error({.file = root.string()}, "not a directory");
  walk(root, "", listing);
  return listing;
}

Installed find_installed(const Paths& paths, const std::string& name) {
  check_name(name);
  const fs::path link = paths.data_dir / name;
  struct stat st {};
  if (::lstat(link.c_str(), &st) != 0) {
    if (errno == ENOENT) return {};
    throw_errno(link, "cannot stat");
  }
  if (S_ISDIR(st.st_mode)) return {.kind = InstalledKind::legacy, .dir = link};
  if (!S_ISLNK(st.st_mode))
    throw util::Error({.file = link.string()}, "neither a symlink nor a directory");
  std::error_code error;
  const std::string target = fs::read_symlink(link, error).string();
  if (error) throw util::Error({.file = link.string()}, "cannot read link: " + error.message());
  const std::optional<std::uint64_t> number = generation_of(name, target);
  if (!number) return {.kind = InstalledKind::foreign, .target = target};
  return {.kind = InstalledKind::generation,
          .dir = generations_dir(paths, name) / std::to_string(*number),
          .number = number,
          .target = target};
}

Generations scan_generations(const fs::path& dir) {
  Generations found;
  std::error_code error;
  for (fs::directory_iterator it(dir, error), end; !error && it != end; it.increment(error)) {
    const std::string entry = it->path().filename().string();
    const bool partial = entry.ends_with(k_partial_suffix);
    const std::string_view digits =
        std::string_view(entry).substr(0, entry.size() - (partial ? k_partial_suffix.size() : 0));
    const std::optional<std::uint64_t> number = parse_number(digits);
    if (!number) continue; // not ours: left alone
    if (partial)
      found.partial.push_back(entry);
    else
      found.complete.push_back(*number);
    found.highest = std::max(found.highest.value_or(0), *number);
  }
  if (error && error != std::errc::no_such_file_or_directory)
    throw util::Error({.file = dir.string()}, "cannot list directory: " + error.message());
  std::sort(found.complete.begin(), found.complete.end());
  std::sort(found.partial.begin(), found.partial.end());
  return found;
}

void switch_link(const fs::path& dir, const std::string& link_name, const std::string& target) {
  const fs::path temporary = dir / temporary_link_name(link_name);
  const fs::path link = dir / link_name;
  // A crash between symlink and rename leaves the temporary behind; it is never live.
  if (::unlink(temporary.c_str()) != 0 && errno != ENOENT)
    throw_errno(temporary, "cannot remove stale temporary link");
  if (::symlink(target.c_str(), temporary.c_str()) != 0)
    throw_errno(temporary, "cannot create link");
  // rename(2) replaces the old link atomically: readers see the old or the new target, never none.
  if (::rename(temporary.c_str(), link.c_str()) != 0) {
    const int error = errno;
    ::unlink(temporary.c_str());
    throw_errno(link, "cannot switch link to " + target, error);
  }
}

std::string stamp(std::chrono::system_clock::time_point now) {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  std::tm local{};
  if (::localtime_r(&seconds, &local) == nullptr)
    throw util::Error(fmt::format("cannot convert time {} to local time", seconds));
  char text[32];
  if (std::strftime(text, sizeof text, "%Y_%m_%d_%H%M%S", &local) == 0)
    throw util::Error(fmt::format("cannot format time {}", seconds));
  return text;
}

} // namespace detail

std::optional<std::string> read(const Paths& paths, const std::string& name,
                                const std::string& relative) {
  detail::check_name(name);
  detail::check_relative(relative);
  // Through the link (or the legacy directory): one path resolution sees one generation.
  return util::read_file(paths.data_dir / name / relative);
}

} // namespace certmgr::store
