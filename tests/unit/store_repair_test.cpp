// Unit tests of store::repair_modes and store::repair_account. The tree is built by a real
// store::Transaction, damaged with chmod/chown/symlink, and judged by lstat.
#include "testutil.hpp"
#include <certmgr/store.hpp>
#include <certmgr/util/error.hpp>
#include <certmgr/util/fs.hpp>
#include <certmgr/util/secret.hpp>

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace {

namespace fs = std::filesystem;
namespace store = certmgr::store;
namespace util = certmgr::util;
using certmgr::test::TempDir;
using certmgr::test::write_text;
using Lines = std::vector<std::string>;

const std::string k_name = "example.org";
const std::chrono::system_clock::time_point k_now{std::chrono::seconds{1714533302}};

struct stat lstat_of(const fs::path& path) {
  struct stat st {};
  REQUIRE_MESSAGE(::lstat(path.c_str(), &st) == 0, path.string());
  return st;
}
mode_t mode_of(const fs::path& path) { return lstat_of(path).st_mode & 07777; }

Lines sorted(Lines lines) {
  std::sort(lines.begin(), lines.end());
  return lines;
}

/// Ids that are not the process's (65534 is nobody; when the tests run as nobody, 65533).
util::Owner other_owner() {
  return {.uid = ::geteuid() == 65534 ? 65533 : 65534, .gid = ::getegid() == 65534 ? 65533 : 65534};
}

store::Paths make_paths(const TempDir& dir) {
  fs::create_directory(dir.path() / "data");
  return {.data_dir = dir.path() / "data"};
}

/// The tree update writes for one certificate with both key types; returns the generation.
fs::path install(const store::Paths& paths) {
  store::Transaction tx(paths, k_name, {});
  tx.write("params.pem", "params", store::k_key_file_mode);
  tx.write(".state.json", "{}\n", store::k_public_file_mode);
  for (const std::string kt : {"rsa", "ecdsa"}) {
    tx.write(kt + "/cert.pem", kt + " cert", store::k_public_file_mode);
    tx.write(kt + "/chain.pem", kt + " chain", store::k_public_file_mode);
    tx.write(kt + "/keys/key.pem", util::Secret(kt + " key"), store::k_key_file_mode);
    tx.write(kt + "/keys/key+cert.pem", util::Secret(kt + " key+cert"), store::k_key_file_mode);
  }
  tx.commit(k_now, true);
  return fs::canonical(paths.data_dir / k_name);
}

/// Every file and directory of the generation (not following symlinks) with the mode the
/// tree policy gives it.
std::map<std::string, mode_t> policy(const fs::path& generation) {
  std::map<std::string, mode_t> modes{{".", store::k_public_dir_mode}};
  for (const fs::directory_entry& entry : fs::recursive_directory_iterator(generation)) {
    const std::string relative = fs::relative(entry.path(), generation).string();
    if (entry.is_symlink()) continue;
    if (entry.is_directory()) {
      modes[relative] =
          entry.path().filename() == "keys" ? store::k_key_dir_mode : store::k_public_dir_mode;
    } else {
      const bool secret = relative == "params.pem" || relative.find("/keys/") != std::string::npos;
      modes[relative] = secret ? store::k_key_file_mode : store::k_public_file_mode;
    }
  }
  return modes;
}

void check_policy(const fs::path& generation) {
  for (const auto& [relative, mode] : policy(generation))
    CHECK_MESSAGE(mode_of(generation / relative) == mode, relative);
}

} // namespace

TEST_SUITE_BEGIN("store::repair_modes");

TEST_CASE("a tree as the commit left it needs no repair") {
  const TempDir dir;
  const store::Paths paths = make_paths(dir);
  check_policy(install(paths));
  const store::RepairReport report = store::repair_modes(paths, k_name, {});
  CHECK(report.found);
  CHECK(report.repaired.empty());
  CHECK(report.failed.empty());
}

TEST_CASE("repair_modes fixes wrong file and directory modes, reports each, then nothing") {
  const TempDir dir;
  const store::Paths paths = make_paths(dir);
  const fs::path generation = install(paths);
  fs::permissions(generation / "rsa/keys/key.pem", fs::perms(0666));
  fs::permissions(generation / "rsa/cert.pem", fs::perms(0700));
  fs::permissions(generation / "rsa/keys", fs::perms(0777));
  fs::permissions(generation / "ecdsa", fs::perms(0700));
  fs::permissions(generation / "params.pem", fs::perms(0644));
  fs::permissions(generation, fs::perms(0750));
  const store::RepairReport report = store::repair_modes(paths, k_name, {});
  CHECK(report.found);
  CHECK(report.failed.empty());
  CHECK(sorted(report.repaired) ==
        Lines{".: mode 0750 -> 0755", "ecdsa: mode 0700 -> 0755", "params.pem: mode 0644 -> 0640",
              "rsa/cert.pem: mode 0700 -> 0644", "rsa/keys/key.pem: mode 0666 -> 0640",
              "rsa/keys: mode 0777 -> 0750"});
  check_policy(generation);
  const store::RepairReport again = store::repair_modes(paths, k_name, {});
  CHECK(again.repaired.empty());
  CHECK(again.failed.empty());
}

TEST_CASE("repair_modes fixes the mode of every hard link of a file, archives included") {
  const TempDir dir;
  const store::Paths paths = make_paths(dir);
  const fs::path generation = install(paths);
  const fs::path archived = dir.path() / "archived-key.pem";
  fs::create_hard_link(generation / "ecdsa/keys/key.pem", archived);
  fs::permissions(archived, fs::perms(0604));
  CHECK(store::repair_modes(paths, k_name, {}).repaired ==
        Lines{"ecdsa/keys/key.pem: mode 0604 -> 0640"});
  CHECK(mode_of(archived) == store::k_key_file_mode); // one inode, one mode
}

// The targets live in the TempDir, not in /etc: a regression must fail this test, not chown
// /etc/passwd of the machine running it as root.
TEST_CASE("repair_modes never follows a symlink planted in the generation") {
  const TempDir dir;
  const store::Paths paths = make_paths(dir);
  const fs::path generation = install(paths);
  const fs::path outside = dir.path() / "outside";
  for (const std::string file : {"passwd", "secret.pem"}) {
    write_text(outside / file, "not ours");
    fs::permissions(outside / file, fs::perms(0600));
  }
  fs::permissions(outside, fs::perms(0700));
  fs::create_symlink(outside / "passwd", generation / "rsa/cert+root.pem");
  fs::create_symlink(outside / "secret.pem", generation / "rsa/keys/key2.pem");
  fs::create_symlink(outside, generation / "ecdsa/scts");
  const store::RepairReport report = store::repair_modes(paths, k_name, other_owner());
  if (::geteuid() == 0) CHECK(report.failed.empty());
  for (const std::string& line : report.repaired) {
    CHECK_MESSAGE(line.find("cert+root") == std::string::npos, line);
    CHECK_MESSAGE(line.find("key2") == std::string::npos, line);
    CHECK_MESSAGE(line.find("scts") == std::string::npos, line);
  }
  for (const fs::path& path : {outside, outside / "passwd", outside / "secret.pem"}) {
    const struct stat st = lstat_of(path);
    CHECK_MESSAGE((st.st_mode & 07777) == (path == outside ? 0700 : 0600), path);
    CHECK_MESSAGE(st.st_uid == ::geteuid(), path);
    CHECK_MESSAGE(st.st_gid == ::getegid(), path);
  }
  CHECK(fs::read_symlink(generation / "rsa/cert+root.pem") == outside / "passwd"); // left alone
}

TEST_CASE("repair_modes gives every file and directory the certificate owner") {
  const TempDir dir;
  const store::Paths paths = make_paths(dir);
  const fs::path generation = install(paths);
  fs::permissions(generation / "rsa/keys/key.pem", fs::perms(0666));
  const util::Owner other = other_owner();
  const store::RepairReport report = store::repair_modes(paths, k_name, other);
  if (::geteuid() != 0) { // EPERM for each entry, reported, and the walk goes on
    CHECK(report.failed.size() == policy(generation).size());
    CHECK(mode_of(generation / "rsa/keys/key.pem") == store::k_key_file_mode);
    return;
  }
  CHECK(report.failed.empty());
  CHECK(report.repaired.size() == policy(generation).size() + 1); // + the key's mode
  const std::string from = fmt::format("{}:{}", ::geteuid(), ::getegid());
  const std::string to = fmt::format("{}:{}", *other.uid, *other.gid);
  CHECK(std::count(report.repaired.begin(), report.repaired.end(),
                   "rsa/keys/key.pem: owner " + from + " -> " + to) == 1);
  for (const auto& [relative, mode] : policy(generation)) {
    const struct stat st = lstat_of(generation / relative);
    CHECK_MESSAGE(st.st_uid == *other.uid, relative);
    CHECK_MESSAGE(st.st_gid == *other.gid, relative);
    CHECK_MESSAGE((st.st_mode & 07777) == mode, relative);
  }
  CHECK(store::repair_modes(paths, k_name, other).repaired.empty());
}

TEST_CASE("repair_modes examines nothing for a certificate never issued or an alt-name link") {
  const TempDir dir;
  const store::Paths paths = make_paths(dir);
  CHECK_FALSE(store::repair_modes(paths, k_name, {}).found);
  install(paths);
  fs::create_symlink(k_name, paths.data_dir / "www.example.org");
  const store::RepairReport report = store::repair_modes(paths, "www.example.org", {});
  CHECK_FALSE(report.found);
  CHECK(report.repaired.empty());
  CHECK_THROWS_AS((void)store::repair_modes(paths, "../etc", {}), util::Error);
}

TEST_CASE("repair_modes repairs the legacy directory of the Python certmgr in place") {
  const TempDir dir;
  const store::Paths paths = make_paths(dir);
  write_text(paths.data_dir / k_name / "rsa/keys/key.pem", "py key");
  fs::permissions(paths.data_dir / k_name, fs::perms(0750));
  fs::permissions(paths.data_dir / k_name / "rsa/keys/key.pem", fs::perms(0644));
  fs::permissions(paths.data_dir / k_name / "rsa/keys", fs::perms(0755));
  fs::permissions(paths.data_dir / k_name / "rsa", fs::perms(0755));
  CHECK(sorted(store::repair_modes(paths, k_name, {}).repaired) ==
        Lines{".: mode 0750 -> 0755", "rsa/keys/key.pem: mode 0644 -> 0640",
              "rsa/keys: mode 0755 -> 0750"});
}

TEST_SUITE_END();

TEST_SUITE_BEGIN("store::repair_account");

TEST_CASE("repair_account closes account/ and its two files and touches nothing else") {
  const TempDir dir;
  const store::Paths paths = make_paths(dir);
  CHECK_FALSE(store::repair_account(paths).found);
  const fs::path account = paths.data_dir / "account";
  write_text(account / "client.key", "key");
  write_text(account / "registration.json", "{}");
  write_text(account / "notes.txt", "mine");
  fs::permissions(account, fs::perms(0755));
  fs::permissions(account / "client.key", fs::perms(0644));
  fs::permissions(account / "registration.json", fs::perms(0600));
  fs::permissions(account / "notes.txt", fs::perms(0664));
  const store::RepairReport report = store::repair_account(paths);
  CHECK(report.found);
  CHECK(report.failed.empty());
  CHECK(report.repaired ==
        Lines{"account: mode 0755 -> 0700", "account/client.key: mode 0644 -> 0600"});
  CHECK(mode_of(account) == store::k_private_dir_mode);
  CHECK(mode_of(account / "client.key") == store::k_private_file_mode);
  CHECK(mode_of(account / "notes.txt") == 0664);
  CHECK(store::repair_account(paths).repaired.empty());
  // one account/<label>/ per ACME directory, same rules
  const fs::path sub = account / "ca.test-01020304";
  write_text(sub / "client.key", "key");
  write_text(sub / "client.key.next", "key");
  write_text(sub / "registration.json", "{}");
  fs::permissions(sub, fs::perms(0755));
  fs::permissions(sub / "client.key.next", fs::perms(0640));
  fs::permissions(sub / "registration.json", fs::perms(0644));
  fs::permissions(sub / "client.key", fs::perms(0600));
  CHECK(store::repair_account(paths).repaired ==
        Lines{"account/ca.test-01020304: mode 0755 -> 0700",
              "account/ca.test-01020304/client.key.next: mode 0640 -> 0600",
              "account/ca.test-01020304/registration.json: mode 0644 -> 0600"});
  CHECK(store::repair_account(paths).repaired.empty());
}

TEST_SUITE_END();
