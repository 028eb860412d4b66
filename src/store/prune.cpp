// store::prune_archives and friends (behaviour §4.3): archives/<name>/<stamp> directories older
// than a cutoff go. Only names that are exactly a stamp as the commit writes it are ours; any
// other entry was put there by someone else and stays.
#include "store/detail.hpp"
#include <certmgr/store.hpp>
#include <certmgr/util/error.hpp>
#include <certmgr/util/fs.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <ctime>
#include <sys/stat.h>
#include <system_error>
#include <time.h>
#include <tuple>

namespace certmgr::store {
namespace {

namespace fs = std::filesystem;

/// "YYYY_MM_DD_HHMMSS"
constexpr std::size_t k_stamp_chars = 17;
/// A century of archives is more than anyone keeps; larger values of `days` are read as this so
/// that now − days stays inside the range of system_clock (about ±292 years around 1970).
constexpr int k_max_archive_days = 36525;

/// Local broken-down time as comparable fields; lexicographic order is chronological (but for
/// the hour repeated when DST ends, which a cutoff at midnight never falls into).
using LocalTime = std::tuple<int, int, int, int, int, int>;

struct Stamp {
  LocalTime time{};
  std::uint64_t suffix{0}; ///< the "_<n>" of a second commit within one second
  std::string entry{};
};

bool digits(std::string_view text, std::size_t pos, std::size_t count, int& out) {
  out = 0;
  for (std::size_t i = pos; i < pos + count; ++i) {
    if (text[i] < '0' || text[i] > '9') return false;
    out = out * 10 + (text[i] - '0');
  }
  return true;
}

int days_in_month(int year, int month) {
  static constexpr int k_days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : k_days[month - 1];
}

/// The stamp of an archive directory name as detail::stamp() and make_stamp_dir() write it
/// ("2026_01_02_030405", "2026_01_02_030405_1"), or nullopt for anything else.
std::optional<Stamp> parse_stamp(std::string_view entry) {
  if (entry.size() < k_stamp_chars) return std::nullopt;
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  const bool shaped = digits(entry, 0, 4, y) && entry[4] == '_' && digits(entry, 5, 2, mo) &&
                      entry[7] == '_' && digits(entry, 8, 2, d) && entry[10] == '_' &&
                      digits(entry, 11, 2, h) && digits(entry, 13, 2, mi) &&
                      digits(entry, 15, 2, s);
  if (!shaped || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 ||
      s > 60)
    return std::nullopt;
  Stamp stamp{.time = {y, mo, d, h, mi, s}, .entry = std::string(entry)};
  if (entry.size() == k_stamp_chars) return stamp;
  const std::optional<std::uint64_t> suffix = detail::parse_number(entry.substr(k_stamp_chars + 1));
  if (entry[k_stamp_chars] != '_' || !suffix || *suffix == 0) return std::nullopt;
  stamp.suffix = *suffix;
  return stamp;
}

std::tm local_tm(std::time_t seconds) {
  std::tm local{};
  if (::localtime_r(&seconds, &local) == nullptr)
    throw util::Error(fmt::format("cannot convert time {} to local time", seconds));
  return local;
}

LocalTime local_time(std::chrono::system_clock::time_point t) {
  const std::tm local = local_tm(std::chrono::system_clock::to_time_t(t));
  return {local.tm_year + 1900, local.tm_mon + 1, local.tm_mday,
          local.tm_hour,        local.tm_min,     local.tm_sec};
}

/// A real directory (not a symlink to one): removing below a symlink would delete elsewhere.
bool is_real_dir(const fs::path& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) return S_ISDIR(st.st_mode);
  if (errno == ENOENT) return false;
  detail::throw_errno(path, "cannot stat");
}

/// The directory archives/<name> when it exists; throws when it or archives/ is not a real one.
std::optional<fs::path> archive_dir(const Paths& paths, const std::string& name) {
  const fs::path archives = paths.data_dir / detail::k_archives_dir;
  const fs::path dir = archives / name;
  for (const fs::path& path : {archives, dir}) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) {
      if (errno == ENOENT) return std::nullopt; // nothing archived
      detail::throw_errno(path, "cannot stat");
    }
    if (!S_ISDIR(st.st_mode))
      throw util::Error({.file = path.string()}, "not a directory, archives not pruned");
  }
  return dir;
}

std::vector<Stamp> stamps_before(const fs::path& dir, const LocalTime& cutoff) {
  std::vector<Stamp> found;
  std::error_code error;
  for (fs::directory_iterator it(dir, error), end; !error && it != end; it.increment(error)) {
    std::optional<Stamp> stamp = parse_stamp(it->path().filename().string());
    if (stamp && stamp->time < cutoff && is_real_dir(it->path())) found.push_back(*stamp);
  }
  if (error) throw util::Error({.file = dir.string()}, "cannot list directory: " + error.message());
  std::sort(found.begin(), found.end(), [](const Stamp& a, const Stamp& b) {
    return std::tie(a.time, a.suffix) < std::tie(b.time, b.suffix);
  });
  return found;
}

} // namespace

std::optional<std::chrono::system_clock::time_point>
archive_cutoff(std::chrono::system_clock::time_point now, int days) {
  if (days <= 0) return std::nullopt;
  const auto back = std::chrono::hours{24} * std::min(days, k_max_archive_days);
  std::tm local = local_tm(std::chrono::system_clock::to_time_t(now - back));
  local.tm_hour = local.tm_min = local.tm_sec = 0;
  local.tm_isdst = -1; // midnight may be in another DST period than the time of day
  const std::time_t midnight = std::mktime(&local);
  if (midnight == static_cast<std::time_t>(-1))
    throw util::Error("cannot compute the archive cutoff: local midnight does not exist");
  return std::chrono::system_clock::from_time_t(midnight);
}

std::vector<std::string> prune_archives(const Paths& paths, const std::string& name,
                                        std::chrono::system_clock::time_point cutoff, Prune mode) {
  if (name != "account") detail::check_name(name); // account/ is no certificate, archives are
  const std::optional<fs::path> dir = archive_dir(paths, name);
  if (!dir) return {};
  std::vector<std::string> pruned;
  for (const Stamp& stamp : stamps_before(*dir, local_time(cutoff))) {
    if (mode == Prune::remove) {
      std::error_code error;
      // remove_all never descends through a symlink; a removal lost to a power failure is
      // simply redone by the next run, so no fsync.
      fs::remove_all(*dir / stamp.entry, error);
      if (error)
        throw util::Error({.file = (*dir / stamp.entry).string()},
                          fmt::format("cannot remove: {}{}", error.message(),
                                      pruned.empty() ? ""
                                                     : fmt::format(" (removed before it: {})",
                                                                   fmt::join(pruned, ", "))));
    }
    pruned.push_back(stamp.entry);
  }
  return pruned;
}

std::vector<std::string> archived_names(const Paths& paths) {
  const fs::path archives = paths.data_dir / detail::k_archives_dir;
  if (!is_real_dir(archives)) return {};
  std::vector<std::string> names;
  std::error_code error;
  for (fs::directory_iterator it(archives, error), end; !error && it != end; it.increment(error)) {
    std::string entry = it->path().filename().string();
    // Hidden entries and "archives" are never ours (check_name refuses them as names).
    const bool ours = !entry.starts_with('.') && entry != detail::k_archives_dir;
    if (ours && is_real_dir(it->path())) names.push_back(std::move(entry));
  }
  if (error)
    throw util::Error({.file = archives.string()}, "cannot list directory: " + error.message());
  std::sort(names.begin(), names.end());
  return names;
}

} // namespace certmgr::store
