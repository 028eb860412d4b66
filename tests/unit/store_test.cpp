// Unit tests of util::fs and of the store's data tree. The oracle is the file system itself
// (stat, readlink, inode numbers, directory listings), never store's own reading of it.
#include "testutil.hpp"
#include <certmgr/store.hpp>
#include <certmgr/util/error.hpp>
#include <certmgr/util/fs.hpp>
#include <certmgr/util/secret.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <stdlib.h>
#include <string>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <vector>

namespace {

namespace fs = std::filesystem;
namespace store = certmgr::store;
namespace util = certmgr::util;
using certmgr::test::read_text;
using certmgr::test::TempDir;
using certmgr::test::write_text;
using Files = std::map<std::string, std::string>;

const std::string k_name = "example.org";
// 2024-05-01 03:15:02 UTC (`date -u -d @1714533302`); stamps are checked under TZ=UTC.
const std::chrono::system_clock::time_point k_now{std::chrono::seconds{1714533302}};
const std::string k_stamp = "2024_05_01_031502";

const Files k_first = {{"params.pem", "params 1"},         {"rsa/cert.pem", "rsa cert 1"},
                       {"rsa/chain.pem", "rsa chain 1"},   {"rsa/keys/key.pem", "rsa key 1"},
                       {"ecdsa/cert.pem", "ecdsa cert 1"}, {"ecdsa/keys/key.pem", "ecdsa key 1"}};

/// TZ=UTC for one test, restored afterwards (other test files may depend on the local zone).
class ScopedUtc {
public:
  ScopedUtc() {
    if (const char* old = getenv("TZ")) m_old = old;
    setenv("TZ", "UTC", 1);
    tzset();
  }
  ~ScopedUtc() {
    if (m_old)
      setenv("TZ", m_old->c_str(), 1);
    else
      unsetenv("TZ");
    tzset();
  }
  ScopedUtc(const ScopedUtc&) = delete;
  ScopedUtc& operator=(const ScopedUtc&) = delete;

private:
  std::optional<std::string> m_old;
};

class ScopedUmask {
public:
  explicit ScopedUmask(mode_t mask) : m_old(::umask(mask)) {}
  ~ScopedUmask() { ::umask(m_old); }
  ScopedUmask(const ScopedUmask&) = delete;
  ScopedUmask& operator=(const ScopedUmask&) = delete;

private:
  mode_t m_old;
};

struct stat lstat_of(const fs::path& path) {
  struct stat st {};
  REQUIRE_MESSAGE(::lstat(path.c_str(), &st) == 0, path.string());
  return st;
}

mode_t mode_of(const fs::path& path) { return lstat_of(path).st_mode & 07777; }
ino_t inode_of(const fs::path& path) { return lstat_of(path).st_ino; }
bool present(const fs::path& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

mode_t policy_mode(const std::string& relative) {
  const bool secret = relative == "params.pem" || relative.find("/keys/") != std::string::npos;
  return secret ? store::k_key_file_mode : store::k_public_file_mode;
}

/// Ids that are not the process's (65534 is nobody; when the tests run as nobody, 65533).
util::Owner other_owner() {
  return {.uid = ::geteuid() == 65534 ? 65533 : 65534, .gid = ::getegid() == 65534 ? 65533 : 65534};
}

store::Paths make_paths(const TempDir& dir) {
  fs::create_directory(dir.path() / "data");
  return {.data_dir = dir.path() / "data"};
}

fs::path generations(const store::Paths& paths) { return paths.data_dir / ".generations" / k_name; }
fs::path generation(const store::Paths& paths, int number) {
  return generations(paths) / std::to_string(number);
}
fs::path archive_of(const store::Paths& paths, const std::string& stamp = k_stamp) {
  return paths.data_dir / "archives" / k_name / stamp;
}

/// Names directly in `dir`, sorted.
std::vector<std::string> entries(const fs::path& dir) {
  std::vector<std::string> names;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir))
    names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

/// Every non-directory below `dir` (symlinks not followed, except `dir` itself) with its bytes.
Files files_below(const fs::path& dir) {
  Files files;
  for (const fs::directory_entry& entry : fs::recursive_directory_iterator(dir)) {
    if (entry.is_directory() && !entry.is_symlink()) continue;
    files[fs::relative(entry.path(), dir).string()] = read_text(entry.path());
  }
  return files;
}

/// What a reader of <data_dir>/<name> sees.
Files installed(const store::Paths& paths) { return files_below(paths.data_dir / k_name); }

void stage(store::Transaction& tx, const Files& files) {
  for (const auto& [relative, content] : files) {
    if (relative.find("/keys/") != std::string::npos)
      tx.write(relative, util::Secret(content), policy_mode(relative));
    else
      tx.write(relative, content, policy_mode(relative));
  }
}

Files install_first(const store::Paths& paths) {
  store::Transaction tx(paths, k_name, {});
  stage(tx, k_first);
  tx.commit(k_now, true);
  return k_first;
}

/// A second generation made by hand the way commit() makes it: hard links of everything but
/// rsa/cert.pem, which is new. Returns what the tree holds once it is installed.
Files make_second_generation_by_hand(const store::Paths& paths) {
  const fs::path second = generation(paths, 2);
  for (const auto& dir : {"", "rsa", "rsa/keys", "ecdsa", "ecdsa/keys"})
    fs::create_directory(second / dir);
  Files files = k_first;
  for (const auto& [relative, content] : k_first)
    if (relative != "rsa/cert.pem")
      fs::create_hard_link(generation(paths, 1) / relative, second / relative);
  write_text(second / "rsa/cert.pem", "rsa cert 2");
  files["rsa/cert.pem"] = "rsa cert 2";
  return files;
}

void point_link_by_hand(const store::Paths& paths, int number) {
  fs::remove(paths.data_dir / k_name);
  fs::create_symlink(".generations/" + k_name + "/" + std::to_string(number),
                     paths.data_dir / k_name);
}

/// A tree after recovery: one generation, linked, no leftovers, reading exactly `files`.
void check_consistent(const store::Paths& paths, const Files& files, int number) {
  CHECK(entries(generations(paths)) == std::vector<std::string>{std::to_string(number)});
  CHECK(fs::read_symlink(paths.data_dir / k_name) ==
        ".generations/" + k_name + "/" + std::to_string(number));
  CHECK_FALSE(present(paths.data_dir / ("." + k_name + ".link-tmp")));
  CHECK(installed(paths) == files);
}

} // namespace

TEST_SUITE_BEGIN("util::fs");

TEST_CASE("write_file_atomic gives the final mode under any umask and replaces the content") {
  for (const mode_t mask : {mode_t{0}, mode_t{077}}) {
    CAPTURE(mask);
    const TempDir dir;
    const ScopedUmask umask(mask);
    const fs::path path = dir.path() / "registration.json";
    util::write_file_atomic(path, "first", 0640);
    CHECK(read_text(path) == "first");
    CHECK(mode_of(path) == 0640);
    util::write_file_atomic(path, "second", 0644);
    CHECK(read_text(path) == "second");
    CHECK(mode_of(path) == 0644);
    CHECK(entries(dir.path()) == std::vector<std::string>{"registration.json"}); // no temporaries
  }
}

TEST_CASE("write_file_atomic into a missing directory throws an error naming the file") {
  const TempDir dir;
  const fs::path path = dir.path() / "missing" / "client.key";
  CHECK_THROWS_WITH_AS(util::write_file_atomic(path, "key", 0600),
                       doctest::Contains("missing/client.key"), util::Error);
  CHECK(entries(dir.path()).empty());
}

TEST_CASE("write_file_atomic replaces a symlink instead of writing through it") {
  const TempDir dir;
  write_text(dir.path() / "target", "untouched");
  fs::create_symlink("target", dir.path() / "link");
  util::write_file_atomic(dir.path() / "link", "new", 0644);
  CHECK(read_text(dir.path() / "target") == "untouched");
  CHECK_FALSE(fs::is_symlink(dir.path() / "link"));
  CHECK(read_text(dir.path() / "link") == "new");
}

TEST_CASE("create_file refuses an existing file and a symlink, and leaves both alone") {
  const TempDir dir;
  write_text(dir.path() / "existing", "old");
  fs::create_symlink("elsewhere", dir.path() / "link");
  CHECK_THROWS_AS(util::create_file(dir.path() / "existing", "new", 0644), util::Error);
  CHECK_THROWS_AS(util::create_file(dir.path() / "link", "new", 0644), util::Error);
  CHECK(read_text(dir.path() / "existing") == "old");
  CHECK_FALSE(present(dir.path() / "elsewhere"));
}

TEST_CASE("create_file chowns to a different owner, or fails when it may not") {
  const TempDir dir;
  const fs::path path = dir.path() / "key.pem";
  const util::Owner other = other_owner();
  if (::geteuid() == 0) {
    util::create_file(path, "key", 0640, other);
    CHECK(lstat_of(path).st_uid == *other.uid);
    CHECK(lstat_of(path).st_gid == *other.gid);
    CHECK(mode_of(path) == 0640);
  } else {
    CHECK_THROWS_AS(util::create_file(path, "key", 0640, other), util::Error);
    CHECK_FALSE(present(path)); // no half-made file left behind
  }
}

TEST_CASE("read_file returns nullopt for a missing file and the bytes of an existing one") {
  const TempDir dir;
  CHECK_FALSE(util::read_file(dir.path() / "missing").has_value());
  write_text(dir.path() / "cert.pem", std::string("a\0b", 3));
  CHECK(util::read_file(dir.path() / "cert.pem") == std::string("a\0b", 3));
}

TEST_CASE("read_file refuses a file larger than its cap") {
  const TempDir dir;
  write_text(dir.path() / "big", std::string(100, 'x'));
  CHECK(util::read_file(dir.path() / "big", 100)->size() == 100);
  CHECK_THROWS_WITH_AS(util::read_file(dir.path() / "big", 99),
                       doctest::Contains("larger than 99 bytes"), util::Error);
}

TEST_CASE("read_file refuses a directory and a FIFO without blocking") {
  const TempDir dir;
  REQUIRE(::mkfifo((dir.path() / "fifo").c_str(), 0600) == 0);
  CHECK_THROWS_WITH_AS(util::read_file(dir.path() / "fifo"),
                       doctest::Contains("not a regular file"), util::Error);
  CHECK_THROWS_AS(util::read_file(dir.path()), util::Error);
}

TEST_CASE("make_dirs creates missing directories with exactly the mode and leaves others") {
  const TempDir dir;
  const ScopedUmask umask(077);
  fs::create_directory(dir.path() / "a");
  fs::permissions(dir.path() / "a", fs::perms::owner_all);
  util::make_dirs(dir.path() / "a" / "b" / "c", 0751);
  CHECK(mode_of(dir.path() / "a") == 0700);
  CHECK(mode_of(dir.path() / "a" / "b") == 0751);
  CHECK(mode_of(dir.path() / "a" / "b" / "c") == 0751);
  write_text(dir.path() / "file", "x");
  CHECK_THROWS_AS(util::make_dirs(dir.path() / "file" / "d", 0755), util::Error);
}

TEST_CASE("remove_tree removes a symlink, not what it points to, and accepts a missing path") {
  const TempDir dir;
  write_text(dir.path() / "kept" / "file", "x");
  fs::create_symlink("kept", dir.path() / "link");
  util::remove_tree(dir.path() / "link");
  CHECK_FALSE(present(dir.path() / "link"));
  CHECK(read_text(dir.path() / "kept" / "file") == "x");
  CHECK_NOTHROW(util::remove_tree(dir.path() / "missing"));
}

TEST_SUITE_END();

TEST_SUITE_BEGIN("store::Transaction");

TEST_CASE("the first commit creates the link and a generation with the right content and modes") {
  for (const mode_t mask : {mode_t{0}, mode_t{077}}) {
    CAPTURE(mask);
    const TempDir dir;
    const store::Paths paths = make_paths(dir);
    const ScopedUmask umask(mask);
    store::Transaction tx(paths, k_name, {});
    stage(tx, k_first);
    CHECK_FALSE(tx.empty());
    const std::vector<std::string> changed = tx.commit(k_now, true);
    CHECK(changed == std::vector<std::string>{"ecdsa/cert.pem", "ecdsa/keys/key.pem", "params.pem",
                                              "rsa/cert.pem", "rsa/chain.pem", "rsa/keys/key.pem"});
    CHECK(fs::read_symlink(paths.data_dir / k_name) == ".generations/example.org/1");
    CHECK(installed(paths) == k_first);
    for (const auto& [relative, content] : k_first)
      CHECK_MESSAGE(mode_of(generation(paths, 1) / relative) == policy_mode(relative), relative);
    for (const fs::path& public_dir :
         {paths.data_dir / ".generations", generations(paths), generation(paths, 1),
          generation(paths, 1) / "rsa", generation(paths, 1) / "ecdsa"})
      CHECK_MESSAGE(mode_of(public_dir) == 0755, public_dir);
    CHECK(mode_of(generation(paths, 1) / "rsa/keys") == 0750);
    CHECK(mode_of(generation(paths, 1) / "ecdsa/keys") == 0750);
    CHECK(entries(paths.data_dir) == std::vector<std::string>{".generations", "example.org"});
  }
}

TEST_CASE("an uncommitted transaction leaves the old generation in place") {
  const TempDir dir;
  const store::Paths paths = make_paths(dir);
  const Files first = install_first(paths);
  {
    store::Transaction tx(paths, k_name, {});
    tx.write("rsa/cert.pem", "rsa cert 2", store::k_public_file_mode);
    tx.remove("ecdsa");
  }
  check_consistent(paths, first, 1);
}

TEST_CASE("a second commit hard-links unchanged files and archives exactly the replaced one") {
  const ScopedUtc utc;
  const TempDir dir;
  const store::Paths paths = make_paths(dir);
  install_first(paths);
  std::map<std::string, ino_t> inodes;
  for (const auto& [relative, content] : k_first)
    inodes[relative] = inode_of(generation(paths, 1) / relative);

  store::Transaction tx(paths, k_name, {});
  tx.write("rsa/cert.pem", "rsa cert 2", store::k_public_file_mode);
  CHECK(tx.commit(k_now, true) == std::vector<std::string>{"rsa/cert.pem"});

  Files expected = k_first;
  expected["rsa/cert.pem"] = "rsa cert 2";
  check_consistent(paths, expected, 2);
  for (const auto& [relative, inode] : inodes)
    if (relative != "rsa/cert.pem")
      CHECK_MESSAGE(inode_of(generation(paths, 2) / relative) == inode, relative);
  CHECK(inode_of(generation(paths, 2) / "rsa/cert.pem") != inodes["rsa/cert.pem"]);
  CHECK(files_below(archive_of(paths)) == Files{{"rsa/cert.pem", "rsa cert 1"}});
  CHECK(inode_of(archive_of(paths) / "rsa/cert.pem") == inodes["rsa/cert.pem"]); // moved
  CHECK(mode_of(archive_of(paths) / "rsa/cert.pem") == store::k_public_file_mode);
  for (const fs::path& private_dir : {paths.data_dir / "archives", archive_of(paths).parent_path(),
                                      archive_of(paths), archive_of(paths) / "rsa"})
    CHECK_MESSAGE(mode_of(private_dir) == 0700, private_dir);
}

TEST_CASE("the rsa and ecdsa copies of one file name are both archived [B22]") {
  const ScopedUtc utc;
  const TempDir dir;
  const store::Paths paths = make_paths(dir);
  install_first(paths);
  store::Transaction tx(paths, k_name, {});
  tx.write("rsa/keys/key.pem", util::Secret("rsa key 2"), store::k_key_file_mode);
  tx.write("ecdsa/keys/key.pem", util::Secret("ecdsa key 2"), store::k_key_file_mode);
  tx.commit(k_now, true);
  CHECK(files_below(archive_of(paths)) ==
        Files{{"ecdsa/keys/key.pem", "ecdsa key 1"}, {"rsa/keys/key.pem", "rsa key 1"}});
  CHECK(mode_of(archive_of(paths) / "rsa/keys/key.pem") == store::k_key_file_mode);
  CHECK(*store::read(paths, k_name, "ecdsa/keys/key.pem") == "ecdsa key 2");
}

TEST_CASE("with archiving off, replaced files are deleted instead") {
  const TempDir dir;
  const store::Paths paths = make_paths(dir);
  install_first(paths);
  store::Transaction tx(paths, k_name, {});
  tx.write("rsa/cert.pem", "rsa cert 2", store::k_public_file_mode);
  tx.remove("ecdsa");
  tx.commit(k_now, false);
  CHECK_FALSE(present(paths.data_dir / "archives"));
  CHECK(entries(paths.data_dir) == std::vector<std::string>{".generations", "example.org"});
  check_consistent(paths,
                   {{"params.pem", "params 1"},
                    {"rsa/cert.pem", "rsa cert 2"},
                    {"rsa/chain.pem", "rsa chain 1"},
                    {"rsa/keys/key.pem", "rsa key 1"}},
                   2);
}

TEST_CASE("writing the installed bytes with the installed mode is not a change") {
  const TempDir dir;
  const store::Paths paths = make_paths(dir);
  install_first(paths);
  const ino_t inode = inode_of(generation(paths, 1) / "rsa/keys/key.pem");
  store::Transaction tx(paths, k_name, {});
  stage(tx, k_first);
  tx.remove("rsa/ocsp.der"); // absent: no change either
  tx.remove("scts");
  CHECK(tx.empty());
  CHECK(tx.commit(k_now, true).empty());
  check_consistent(paths, k_first, 1);
  CHECK(inode_of(generation(paths, 1) / "rsa/keys/key.pem") == inode);
}

TEST_CASE("writing the installed bytes with another mode is a change") {
  const TempDir dir;
  const store::Paths paths = make_paths(dir);
  install_first(paths);
  store::Transaction tx(paths, k_name, {});
  tx.write("rsa/chain.pem", "rsa chain 1", 0600);
  CHECK_FALSE(tx.empty());
  CHECK(tx.commit(k_now, true) == std::vector<std::string>{"rsa/chain.pem"});
  CHECK(mode_of(generation(paths, 2) / "rsa/chain.pem") == 0600);
}

TEST_CASE("removing a key type directory archives all its files") {
  const ScopedUtc utc;
  const TempDir dir;
  const store::Paths paths = make_paths(dir);
  install_first(paths);
  store::Transaction tx(paths, k_name, {});
  tx.remove("ecdsa");
  CHECK(tx.commit(k_now, true) == std::vector<std::string>{"ecdsa/cert.pem", "ecdsa/keys/key.pem"});
  CHECK_FALSE(present(generation(paths, 2) / "ecdsa"));
  CHECK(files_below(archive_of(paths)) ==
        Files{{"ecdsa/cert.pem", "ecdsa cert 1"}, {"ecdsa/keys/key.pem", "ecdsa key 1"}});
  CHECK_FALSE(store::read(paths, k_name, "ecdsa/cert.pem").has_value());
}

TEST_CASE("a write after removing its directory keeps only the written file") {
  const TempDir dir;
  const store::Paths paths = make_paths(dir);
  install_first(paths);
  store::Transaction tx(paths, k_name, {});
  tx.remove("rsa");
  tx.write("rsa/cert.pem", "rsa cert 2", store::k_public_file_mode);
  tx.commit(k_now, false);
  CHECK(files_below(generation(paths, 2) / "rsa") == Files{{"cert.pem", "rsa cert 2"}});
}

TEST_CASE("a write below a path staged as a file is refused when staged") {
  const TempDir dir;
  const store::Paths paths = make_paths(dir);
  store::Transaction tx(paths, k_name, {});
  tx.write("rsa", "a file", store::k_public_file_mode);
  CHECK_THROWS_AS(tx.write("rsa/cert.pem", "x", store::k_public_file_mode), util::Error);
  CHECK_THROWS_AS(tx.write("../cert.pem", "x", store::k_public_file_mode), util::Error);
  CHECK_THROWS_AS(tx.write("a//b", "x", store::k_public_file_mode), util::Error);
  CHECK_THROWS_AS(store::Transaction(paths, "../etc", {}), util::Error);
}

TEST_CASE("a stamp that is already taken gets _1, then _2") {
  const ScopedUtc utc;
  const TempDir dir;
  const store::Paths paths = make_paths(dir);
  install_first(paths);
  fs::create_directories(archive_of(paths));
  for (const std::string suffix : {"_1", "_2"}) {
    store::Transaction tx(paths, k_name, {});
    tx.write("rsa/cert.pem", "rsa cert" + suffix, store::k_public_file_mode);
    tx.commit(k_now, true);
    CHECK(present(archive_of(paths, k_stamp + suffix) / "rsa/cert.pem"));
  }
  CHECK(entries(archive_of(paths)).empty());
  CHECK(read_text(archive_of(paths, k_stamp + "_2") / "rsa/cert.pem") == "rsa cert_1");
}

TEST_CASE("a transaction with an owner gives it the new files and every directory") {
  const TempDir dir;
  const store::Paths paths = make_paths(dir);
  install_first(paths);
  const util::Owner other = other_owner();
  store::Transaction tx(paths, k_name, other);
  tx.write("rsa/keys/key.pem", util::Secret("rsa key 2"), store::k_key_file_mode);
  if (::geteuid() != 0) {
    CHECK_THROWS_AS(tx.commit(k_now, true), util::Error); // EPERM, and nothing switched
    check_consistent(paths, k_first, 1);
    return;
  }
  tx.commit(k_now, true);
  for (const std::string relative :
       {"", "rsa", "rsa/keys", "ecdsa", "ecdsa/keys", "rsa/keys/key.pem"}) {
    const struct stat st = lstat_of(generation(paths, 2) / relative);
    CHECK_MESSAGE(st.st_uid == *other.uid, relative);
    CHECK_MESSAGE(st.st_gid == *other.gid, relative);
  }
  CHECK(mode_of(generation(paths, 2) / "rsa/keys/key.pem") == store::k_key_file_mode);
  CHECK(lstat_of(generation(paths, 2) / "rsa/cert.pem").st_uid == ::geteuid()); // hard link
}

TEST_CASE("a legacy directory of the Python certmgr is adopted on the first commit") {
  const ScopedUtc utc;
  const TempDir dir;
  const store::Paths paths = make_paths(dir);
  const fs::path legacy = paths.data_dir / k_name;
  const Files old = {{"params.pem", "params py"},
                     {"rsa/cert.pem", "rsa cert py"},
                     {"rsa/keys/key.pem", "rsa key py"},
                     {"rsa/oscp.der", "ocsp py"}};
  for (const auto& [relative, content] : old) write_text(legacy / relative, content);
  fs::permissions(legacy / "rsa", fs::perms::owner_all); // as the Python tool left it
  const ino_t params = inode_of(legacy / "params.pem");
  CHECK(*store::read(paths, k_name, "rsa/cert.pem") == "rsa cert py");

  store::Transaction tx(paths, k_name, {});
  tx.write("rsa/cert.pem", "rsa cert 2", store::k_public_file_mode);
  tx.remove("rsa/oscp.der");
  CHECK(tx.commit(k_now, true) == std::vector<std::string>{"rsa/cert.pem", "rsa/oscp.der"});

  check_consistent(paths,
                   {{"params.pem", "params py"},
                    {"rsa/cert.pem", "rsa cert 2"},
                    {"rsa/keys/key.pem", "rsa key py"}},
                   1);
  CHECK(inode_of(generation(paths, 1) / "params.pem") == params);
  CHECK(mode_of(generation(paths, 1) / "rsa") == 0755);
  CHECK(mode_of(generation(paths, 1) / "rsa/keys") == 0750);
  CHECK(files_below(archive_of(paths)) ==
        Files{{"rsa/cert.pem", "rsa cert py"}, {"rsa/oscp.der", "ocsp py"}});
}

TEST_CASE("a commit that fails before the switch leaves the installed generation untouched") {
  const TempDir dir;
  const store::Paths paths = make_paths(dir);
  install_first(paths);
  // A directory where the temporary link must go makes the switch fail (unlink: EISDIR).
  const fs::path obstacle = paths.data_dir / ("." + k_name + ".link-tmp");
  write_text(obstacle / "file", "x");
  store::Transaction tx(paths, k_name, {});
  tx.write("rsa/cert.pem", "rsa cert 2", store::k_public_file_mode);
  CHECK_THROWS_WITH_AS(tx.commit(k_now, true), doctest::Contains(".example.org.link-tmp"),
                       util::Error);
  CHECK(entries(generations(paths)) == std::vector<std::string>{"1"});
  CHECK(installed(paths) == k_first);
  CHECK_FALSE(present(paths.data_dir / "archives"));

  fs::remove_all(obstacle);
  CHECK(tx.commit(k_now, true) == std::vector<std::string>{"rsa/cert.pem"});
  CHECK(*store::read(paths, k_name, "rsa/cert.pem") == "rsa cert 2");
}

TEST_CASE("a commit replaces an old alt-name link at its name but not a link made by others") {
  const TempDir dir;
  const store::Paths paths = make_paths(dir);
  fs::create_symlink("other.org", paths.data_dir / k_name); // example.org was an alt of other.org
  {
    store::Transaction tx(paths, k_name, {});
    stage(tx, k_first);
    tx.commit(k_now, true);
  }
  check_consistent(paths, k_first, 1);

  const TempDir elsewhere;
  const store::Paths foreign = make_paths(elsewhere);
  fs::create_symlink("/srv/certs/example.org", foreign.data_dir / k_name);
  store::Transaction tx(foreign, k_name, {});
  stage(tx, k_first);
  CHECK_THROWS_WITH_AS(tx.commit(k_now, true), doctest::Contains("not replaced"), util::Error);
  CHECK(fs::read_symlink(foreign.data_dir / k_name) == "/srv/certs/example.org");
  CHECK_FALSE(present(foreign.data_dir / ".generations"));
}

TEST_CASE("a legacy adoption that fails at the switch puts the legacy directory back") {
  const TempDir dir;
  const store::Paths paths = make_paths(dir);
  write_text(paths.data_dir / k_name / "rsa" / "cert.pem", "rsa cert py");
  write_text(paths.data_dir / ("." + k_name + ".link-tmp") / "file", "x"); // switch fails
  store::Transaction tx(paths, k_name, {});
  tx.write("rsa/cert.pem", "rsa cert 2", store::k_public_file_mode);
  CHECK_THROWS_AS(tx.commit(k_now, true), util::Error);
  CHECK(fs::is_directory(fs::symlink_status(paths.data_dir / k_name)));
  CHECK(files_below(paths.data_dir / k_name) == Files{{"rsa/cert.pem", "rsa cert py"}});
  CHECK(entries(generations(paths)).empty());
}

TEST_CASE("a commit whose archiving fails still succeeds and recover() finishes the archiving") {
  const ScopedUtc utc;
  const TempDir dir;
  const store::Paths paths = make_paths(dir);
  install_first(paths);
  write_text(paths.data_dir / "archives", "a file where the archive directory must go");
  store::Transaction tx(paths, k_name, {});
  tx.write("rsa/cert.pem", "rsa cert 2", store::k_public_file_mode);
  // The new generation is live, so the commit reports its changes (hooks and reloads must run).
  CHECK(tx.commit(k_now, true) == std::vector<std::string>{"rsa/cert.pem"});
  CHECK(*store::read(paths, k_name, "rsa/cert.pem") == "rsa cert 2");
  CHECK(present(generation(paths, 1)));

  fs::remove(paths.data_dir / "archives");
  CHECK(store::recover(paths, k_name, k_now, true) ==
        std::vector<std::string>{"archived superseded generation 1"});
  CHECK(files_below(archive_of(paths)) == Files{{"rsa/cert.pem", "rsa cert 1"}});
  Files expected = k_first;
  expected["rsa/cert.pem"] = "rsa cert 2";
  check_consistent(paths, expected, 2);
}

TEST_SUITE_END();

// Each case is a state a SIGKILL can leave between two steps of commit(); after recover() the
// tree must read entirely old or entirely new, with nothing left over.
TEST_SUITE_BEGIN("store::recover");

TEST_CASE("recover on a clean tree repairs nothing") {
  const TempDir dir;
  const store::Paths paths = make_paths(dir);
  CHECK(store::recover(paths, k_name, k_now, true).empty()); // nothing installed at all
  install_first(paths);
  CHECK(store::recover(paths, k_name, k_now, true).empty());
  check_consistent(paths, k_first, 1);
}

TEST_CASE("recover removes a half-built generation and keeps the old one") {
  const TempDir dir;
  const store::Paths paths = make_paths(dir);
  install_first(paths);
  write_text(generations(paths) / "2.partial" / "rsa" / "cert.pem", "rsa cert 2");
  CHECK(store::recover(paths, k_name, k_now, true) ==
        std::vector<std::string>{"removed half-built generation 2"});
  check_consistent(paths, k_first, 1);
}

TEST_CASE("recover removes a complete generation that was never switched to") {
  const TempDir dir;
  const store::Paths paths = make_paths(dir);
  install_first(paths);
  make_second_generation_by_hand(paths);
  CHECK(store::recover(paths, k_name, k_now, true) ==
        std::vector<std::string>{"removed generation 2, which was never installed"});
  check_consistent(paths, k_first, 1);
  CHECK_FALSE(present(paths.data_dir / "archives"));
}

TEST_CASE("recover removes a leftover temporary link and the generation it was meant for") {
  const TempDir dir;
  const store::Paths paths = make_paths(dir);
  install_first(paths);
  make_second_generation_by_hand(paths);
  fs::create_symlink(".generations/example.org/2", paths.data_dir / ".example.org.link-tmp");
  CHECK(store::recover(paths, k_name, k_now, true) ==
        std::vector<std::string>{"removed temporary link .example.org.link-tmp",
                                 "removed generation 2, which was never installed"});
  check_consistent(paths, k_first, 1);
}

TEST_CASE("recover archives a superseded generation whose archiving was interrupted") {
  const ScopedUtc utc;
  const TempDir dir;
  const store::Paths paths = make_paths(dir);
  install_first(paths);
  const Files second = make_second_generation_by_hand(paths);
  point_link_by_hand(paths, 2);
  CHECK(store::recover(paths, k_name, k_now, true) ==
        std::vector<std::string>{"archived superseded generation 1"});
  check_consistent(paths, second, 2);
  CHECK(files_below(archive_of(paths)) == Files{{"rsa/cert.pem", "rsa cert 1"}});
}

TEST_CASE("recover with archiving off deletes a superseded generation") {
  const TempDir dir;
  const store::Paths paths = make_paths(dir);
  install_first(paths);
  const Files second = make_second_generation_by_hand(paths);
  point_link_by_hand(paths, 2);
  CHECK(store::recover(paths, k_name, k_now, false) ==
        std::vector<std::string>{"deleted superseded generation 1"});
  check_consistent(paths, second, 2);
  CHECK_FALSE(present(paths.data_dir / "archives"));
}

TEST_CASE("recover re-creates a missing link to the newest complete generation") {
  const ScopedUtc utc;
  const TempDir dir;
  const store::Paths paths = make_paths(dir);
  install_first(paths);
  const Files second = make_second_generation_by_hand(paths);
  fs::remove(paths.data_dir / k_name); // as between the two renames of a legacy adoption
  CHECK(store::recover(paths, k_name, k_now, true) ==
        std::vector<std::string>{"re-created link example.org -> .generations/example.org/2",
                                 "archived superseded generation 1"});
  check_consistent(paths, second, 2);
}

TEST_CASE("recover keeps a legacy directory and drops generations never switched to") {
  const TempDir dir;
  const store::Paths paths = make_paths(dir);
  write_text(paths.data_dir / k_name / "rsa" / "cert.pem", "rsa cert py");
  write_text(generation(paths, 1) / "rsa" / "cert.pem", "rsa cert 2");
  CHECK(store::recover(paths, k_name, k_now, true) ==
        std::vector<std::string>{"removed generation 1, which was never installed"});
  CHECK(fs::is_directory(fs::symlink_status(paths.data_dir / k_name)));
  CHECK(*store::read(paths, k_name, "rsa/cert.pem") == "rsa cert py");
  CHECK(entries(generations(paths)).empty());
}

TEST_SUITE_END();

TEST_SUITE_BEGIN("store::sync_links");

TEST_CASE("sync_links creates missing links as relative links to the certificate name") {
  const TempDir dir;
  const store::Paths paths = make_paths(dir);
  install_first(paths);
  CHECK(store::sync_links(paths, {{"www.example.org", k_name}}, {k_name}) ==
        std::vector<std::string>{"created link www.example.org -> example.org"});
  CHECK(fs::read_symlink(paths.data_dir / "www.example.org") == "example.org");
  CHECK(*store::read(paths, "www.example.org", "rsa/cert.pem") == "rsa cert 1");
  CHECK(store::sync_links(paths, {{"www.example.org", k_name}}, {k_name}).empty());
  CHECK_FALSE(present(paths.data_dir / ".www.example.org.link-tmp"));
}

TEST_CASE("sync_links replaces a link to another certificate") {
  const TempDir dir;
  const store::Paths paths = make_paths(dir);
  fs::create_symlink("other.org", paths.data_dir / "www.example.org");
  CHECK(store::sync_links(paths, {{"www.example.org", k_name}}, {k_name, "other.org"}) ==
        std::vector<std::string>{
            "replaced link www.example.org -> other.org by www.example.org -> example.org"});
  CHECK(fs::read_symlink(paths.data_dir / "www.example.org") == "example.org");
}

TEST_CASE("sync_links leaves real directories, files and outside links alone and reports them") {
  const TempDir dir;
  const store::Paths paths = make_paths(dir);
  write_text(paths.data_dir / "www.example.org" / "rsa" / "cert.pem", "someone's cert");
  write_text(paths.data_dir / "mail.example.org", "a file");
  fs::create_symlink("/etc", paths.data_dir / "ftp.example.org");
  const std::map<std::string, std::string> wanted = {{"www.example.org", k_name},
                                                     {"mail.example.org", k_name},
                                                     {"ftp.example.org", k_name},
                                                     {"other.org", k_name}};
  CHECK(store::sync_links(paths, wanted, {k_name, "other.org"}) ==
        std::vector<std::string>{
            "ftp.example.org is a link to \"/etc\", not replaced by a link to example.org",
            "mail.example.org is a file, not replaced by a link to example.org",
            "other.org is a certificate name, not linked to example.org",
            "www.example.org is a directory, not replaced by a link to example.org"});
  CHECK(read_text(paths.data_dir / "www.example.org" / "rsa" / "cert.pem") == "someone's cert");
  CHECK(read_text(paths.data_dir / "mail.example.org") == "a file");
  CHECK(fs::read_symlink(paths.data_dir / "ftp.example.org") == "/etc");
  CHECK_FALSE(present(paths.data_dir / "other.org"));
}

TEST_CASE("sync_links removes a link that is no longer wanted and keeps links it does not own") {
  const TempDir dir;
  const store::Paths paths = make_paths(dir);
  install_first(paths);
  fs::create_symlink(k_name, paths.data_dir / "old.example.org");
  fs::create_symlink("unknown.org", paths.data_dir / "foreign.example.org");
  fs::create_symlink("/tmp", paths.data_dir / "tmp.example.org");
  CHECK(store::sync_links(paths, {}, {k_name}) ==
        std::vector<std::string>{"removed stale link old.example.org -> example.org"});
  CHECK_FALSE(present(paths.data_dir / "old.example.org"));
  CHECK(fs::read_symlink(paths.data_dir / "foreign.example.org") == "unknown.org");
  CHECK(fs::read_symlink(paths.data_dir / "tmp.example.org") == "/tmp");
  CHECK(fs::is_symlink(paths.data_dir / k_name)); // the certificate's own link stays
}

TEST_SUITE_END();

TEST_SUITE_BEGIN("store::read");

TEST_CASE("read returns nullopt for a certificate never installed and for a missing file") {
  const TempDir dir;
  const store::Paths paths = make_paths(dir);
  CHECK_FALSE(store::read(paths, k_name, "rsa/cert.pem").has_value());
  install_first(paths);
  CHECK_FALSE(store::read(paths, k_name, "rsa/ocsp.der").has_value());
  CHECK(*store::read(paths, k_name, "params.pem") == "params 1");
}

TEST_CASE("read refuses names and paths that would leave the tree") {
  const TempDir dir;
  const store::Paths paths = make_paths(dir);
  CHECK_THROWS_AS((void)store::read(paths, "../etc", "passwd"), util::Error);
  CHECK_THROWS_AS((void)store::read(paths, k_name, "../../etc/passwd"), util::Error);
  CHECK_THROWS_AS((void)store::read(paths, k_name, "/etc/passwd"), util::Error);
  CHECK_THROWS_AS((void)store::read(paths, ".generations", "x"), util::Error);
}

TEST_SUITE_END();
