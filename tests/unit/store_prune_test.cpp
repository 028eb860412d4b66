// Unit tests of store::archive_cutoff, store::prune_archives and store::archived_names. Times are
// built from local broken-down time, so the tests hold in any time zone; the oracle is the
// directory listing.
#include "store/detail.hpp"
#include "testutil.hpp"
#include <certmgr/store.hpp>
#include <certmgr/util/error.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <string>
#include <sys/stat.h>
#include <vector>

namespace {

namespace fs = std::filesystem;
namespace store = certmgr::store;
using certmgr::test::read_text;
using certmgr::test::TempDir;
using certmgr::test::write_text;
using Names = std::vector<std::string>;
using TimePoint = std::chrono::system_clock::time_point;

const std::string k_name = "example.org";

/// Local wall-clock time as a time_point (mktime picks the DST offset of that date).
TimePoint local(int year, int month, int day, int hour, int minute, int second) {
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  tm.tm_isdst = -1;
  return std::chrono::system_clock::from_time_t(std::mktime(&tm));
}

/// 2024-03-31 10:00 local, 30 days: the example of behaviour §4.3 (cutoff 2024-03-01 00:00:00).
const TimePoint k_now = local(2024, 3, 31, 10, 0, 0);
constexpr int k_days = 30;

store::Paths make_paths(const TempDir& dir) {
  fs::create_directory(dir.path() / "data");
  return {.data_dir = dir.path() / "data"};
}

fs::path archives_of(const store::Paths& paths, const std::string& name = k_name) {
  return paths.data_dir / "archives" / name;
}

/// Names directly in `dir`, sorted.
Names entries(const fs::path& dir) {
  Names names;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir))
    names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

/// An archive as commit leaves it: a stamp directory holding a file.
void make_archive(const store::Paths& paths, const std::string& stamp) {
  write_text(archives_of(paths) / stamp / "rsa/cert.pem", "old cert of " + stamp);
}

const Names k_old = {"2023_12_31_000000", "2024_02_29_120000_2", "2024_02_29_120000_12",
                     "2024_02_29_235959", "2024_02_29_235959_1"};
const Names k_recent = {"2024_03_01_000000", "2024_03_01_000000_1", "2024_03_31_095959"};
/// Not stamps as commit writes them: never touched, however old they look.
const Names k_foreign = {"notes",
                         "2024_02_30_000000",    // no such day
                         "2024_01_01_240000",    // no such hour
                         "2024_01_01_000000_01", // not a canonical suffix
                         "2024_01_01_000000_0",  // commit's suffixes start at 1
                         "2024_01_01_000000_",
                         "2024_01_01_000000x",
                         "2024_01_01_00000",
                         "2024-01-01_000000"};

/// archives/example.org with every name above, plus a file and a symlink named like old stamps.
void make_mixed_archives(const TempDir& dir, const store::Paths& paths) {
  for (const Names* names : {&k_old, &k_recent, &k_foreign})
    for (const std::string& name : *names) make_archive(paths, name);
  write_text(archives_of(paths) / "2020_01_01_000000", "a file, not an archive");
  write_text(dir.path() / "elsewhere/keep.pem", "not ours");
  fs::create_symlink(dir.path() / "elsewhere", archives_of(paths) / "2019_01_01_000000");
}

Names sorted(Names names) {
  std::sort(names.begin(), names.end());
  return names;
}

} // namespace

TEST_SUITE_BEGIN("store::archive_cutoff");

TEST_CASE("the cutoff is local midnight of the day `days` days back (behaviour §4.3 example)") {
  const auto cutoff = store::archive_cutoff(k_now, k_days);
  REQUIRE(cutoff);
  CHECK(store::detail::stamp(*cutoff) == "2024_03_01_000000");
  CHECK(*cutoff == local(2024, 3, 1, 0, 0, 0));
  // Any time of day gives the same cutoff: it is truncated, not rounded.
  CHECK(store::archive_cutoff(local(2024, 3, 31, 0, 0, 0), k_days) == cutoff);
  CHECK(store::archive_cutoff(local(2024, 3, 31, 23, 59, 59), k_days) == cutoff);
}

TEST_CASE("zero or negative days mean that nothing is ever pruned") {
  CHECK_FALSE(store::archive_cutoff(k_now, 0));
  CHECK_FALSE(store::archive_cutoff(k_now, -1));
}

TEST_CASE("a huge number of days gives a cutoff in the past instead of overflowing") {
  const auto cutoff = store::archive_cutoff(k_now, 2'000'000'000);
  REQUIRE(cutoff);
  CHECK(*cutoff < local(1950, 1, 1, 0, 0, 0));
}

TEST_SUITE_END();

TEST_SUITE_BEGIN("store::prune_archives");

TEST_CASE("prune removes exactly the stamp directories before the cutoff, oldest first") {
  const TempDir dir;
  const store::Paths paths = make_paths(dir);
  make_mixed_archives(dir, paths);
  const TimePoint cutoff = *store::archive_cutoff(k_now, k_days);
  CHECK(store::prune_archives(paths, k_name, cutoff, store::Prune::remove) == k_old);
  Names left = k_recent;
  left.insert(left.end(), k_foreign.begin(), k_foreign.end());
  left.insert(left.end(), {"2019_01_01_000000", "2020_01_01_000000"});
  CHECK(entries(archives_of(paths)) == sorted(left));
  for (const std::string& stamp : k_recent)
    CHECK(read_text(archives_of(paths) / stamp / "rsa/cert.pem") == "old cert of " + stamp);
  CHECK(read_text(dir.path() / "elsewhere/keep.pem") == "not ours");
  CHECK(store::prune_archives(paths, k_name, cutoff, store::Prune::remove).empty());
}

TEST_CASE("list_only lists what would go and removes nothing") {
  const TempDir dir;
  const store::Paths paths = make_paths(dir);
  make_mixed_archives(dir, paths);
  const Names before = entries(archives_of(paths));
  const TimePoint cutoff = *store::archive_cutoff(k_now, k_days);
  CHECK(store::prune_archives(paths, k_name, cutoff, store::Prune::list_only) == k_old);
  CHECK(entries(archives_of(paths)) == before);
  for (const std::string& stamp : k_old) CHECK(fs::exists(archives_of(paths) / stamp / "rsa"));
}

TEST_CASE("an archive made by a commit is pruned once its day is before the cutoff") {
  const TempDir dir;
  const store::Paths paths = make_paths(dir);
  const TimePoint made = local(2024, 2, 29, 23, 59, 59);
  for (const std::string content : {"first", "second"}) {
    store::Transaction tx(paths, k_name, {});
    tx.write("rsa/cert.pem", content, store::k_public_file_mode);
    tx.commit(made, true);
  }
  const Names stamp = {store::detail::stamp(made)};
  REQUIRE(entries(archives_of(paths)) == stamp);
  // The boundary day itself stays: its archives are not yet `days` days old.
  CHECK(store::prune_archives(paths, k_name, local(2024, 2, 29, 0, 0, 0), store::Prune::remove)
            .empty());
  CHECK(store::prune_archives(paths, k_name, local(2024, 3, 1, 0, 0, 0), store::Prune::remove) ==
        stamp);
  CHECK(entries(archives_of(paths)).empty());
  CHECK(read_text(paths.data_dir / k_name / "rsa/cert.pem") == "second"); // live files stay
}

TEST_CASE("a certificate without archives prunes nothing") {
  const TempDir dir;
  const store::Paths paths = make_paths(dir);
  CHECK(store::prune_archives(paths, k_name, k_now, store::Prune::remove).empty());
  fs::create_directories(archives_of(paths, "other.org"));
  CHECK(store::prune_archives(paths, k_name, k_now, store::Prune::remove).empty());
}

TEST_CASE("prune refuses an archive directory that is a symlink and removes nothing through it") {
  const TempDir dir;
  const store::Paths paths = make_paths(dir);
  write_text(dir.path() / "elsewhere/2020_01_01_000000/keep.pem", "not ours");
  fs::create_directories(paths.data_dir / "archives");
  fs::create_symlink(dir.path() / "elsewhere", archives_of(paths));
  CHECK_THROWS_AS(store::prune_archives(paths, k_name, k_now, store::Prune::remove),
                  certmgr::util::Error);
  CHECK(read_text(dir.path() / "elsewhere/2020_01_01_000000/keep.pem") == "not ours");
}

TEST_CASE("prune accepts the account archives and refuses names that leave archives/") {
  const TempDir dir;
  const store::Paths paths = make_paths(dir);
  write_text(archives_of(paths, "account") / "2020_01_01_000000/client.key", "old key");
  CHECK(store::prune_archives(paths, "account", k_now, store::Prune::remove) ==
        Names{"2020_01_01_000000"});
  for (const std::string bad : {"..", "../data", "", ".generations", "a/b"})
    CHECK_THROWS_AS(store::prune_archives(paths, bad, k_now, store::Prune::remove),
                    certmgr::util::Error);
}

TEST_SUITE_END();

TEST_SUITE_BEGIN("store::archived_names");

TEST_CASE("archived_names lists the archive directories, also of unconfigured certificates") {
  const TempDir dir;
  const store::Paths paths = make_paths(dir);
  CHECK(store::archived_names(paths).empty()); // no archives/ yet
  for (const std::string name : {"b.org", "a.org", "account", ".hidden"})
    fs::create_directories(archives_of(paths, name));
  write_text(archives_of(paths, "file.org"), "a file");
  fs::create_symlink(dir.path(), archives_of(paths, "link.org"));
  CHECK(store::archived_names(paths) == Names{"a.org", "account", "b.org"});
}

TEST_SUITE_END();
