#include "testutil.hpp"
#include <certmgr/challenge.hpp>
#include <certmgr/util/error.hpp>

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <sys/stat.h>

using namespace certmgr;
using certmgr::test::read_text;
using certmgr::test::TempDir;
namespace fs = std::filesystem;

namespace {
const std::string k_token = "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0";
}

TEST_SUITE_BEGIN("challenge::publish");

TEST_CASE("a challenge file holds the key authorization, mode 0644, and is removed afterwards") {
  const TempDir dir;
  const fs::path webroot = dir.path() / "www/.well-known/acme-challenge";
  {
    const challenge::Published file = challenge::publish(webroot, k_token, k_token + ".thumb");
    CHECK(read_text(webroot / k_token) == k_token + ".thumb");
    struct stat st {};
    REQUIRE(::stat((webroot / k_token).c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0644);
  }
  CHECK_FALSE(fs::exists(webroot / k_token));
}

TEST_CASE("a token outside the base64url alphabet is refused before any path is built") {
  const TempDir dir;
  for (const std::string bad : {"../../../../tmp/evil_aaaaaaaaaaaaaa", "aaaaaaaaaaaaaaaaaaaaa",
                                "aaaaaaaaaaaaaaaaaaaaaaaaa/b", "$(touch x)aaaaaaaaaaaaaaaaaaa"}) {
    CHECK_THROWS_AS((void)challenge::publish(dir.path() / "c", bad, "x"), util::Error);
  }
  CHECK_FALSE(fs::exists(dir.path() / "c"));
}

TEST_CASE("a challenge directory that is a symlink is refused") {
  const TempDir dir;
  fs::create_directories(dir.path() / "elsewhere");
  fs::create_symlink(dir.path() / "elsewhere", dir.path() / "acme-challenge");
  CHECK_THROWS_AS((void)challenge::publish(dir.path() / "acme-challenge", k_token, "x"),
                  util::Error);
  CHECK(fs::is_empty(dir.path() / "elsewhere"));
}

TEST_CASE("an existing file or symlink at the token's name is never overwritten") {
  const TempDir dir;
  fs::create_directories(dir.path() / "c");
  test::write_text(dir.path() / "target", "precious");
  fs::create_symlink(dir.path() / "target", dir.path() / "c" / k_token);
  CHECK_THROWS_AS((void)challenge::publish(dir.path() / "c", k_token, "x"), util::Error);
  CHECK(read_text(dir.path() / "target") == "precious");
}

TEST_SUITE_END();

TEST_SUITE_BEGIN("challenge::Ledger");

namespace {
const std::string k_thumb = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";
const std::string k_other_thumb = "AAAAXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs0";
const std::string k_token2 = "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA";
std::string part_token() { return "partpartpartpartpartpart"; }
} // namespace

namespace {
/// The ledger line of a file, as note() writes it.
std::string line_of(const fs::path& dir, const std::string& token, const std::string& thumb) {
  return thumb + " " + token + " " + dir.string() + "\n";
}
} // namespace

TEST_CASE("the files a killed run left are removed by the next run, and nothing else") {
  const TempDir dir;
  const fs::path webroot = dir.path() / "www";
  fs::create_directories(webroot);
  const std::string empty = "emptyemptyemptyemptyempty";
  const std::string part = "partpartpartpartpartpart";
  const std::string linked = "linkedlinkedlinkedlinked";
  const std::string replaced = "replacedreplacedreplaced";
  const std::string unrecorded = "unrecordedunrecordedunrecorded";
  // What the killed run recorded, and left: a whole file, an empty one and a beginning (killed
  // between creation and last byte); one name now a symlink, one now holding something else.
  std::string ledger;
  for (const auto& t : {k_token, empty, part, linked, replaced})
    ledger += line_of(webroot, t, k_thumb);
  test::write_text(dir.path() / ".challenges", ledger);
  test::write_text(webroot / k_token, k_token + "." + k_thumb);
  test::write_text(webroot / empty, "");
  test::write_text(webroot / part, part + "." + k_thumb.substr(0, 10));
  test::write_text(dir.path() / "target", linked + "." + k_thumb);
  fs::create_symlink(dir.path() / "target", webroot / linked);
  test::write_text(webroot / replaced, "index of something else");
  // Not recorded: another client's file, even one that looks like ours.
  test::write_text(webroot / k_token2, k_token2 + "." + k_other_thumb);
  test::write_text(webroot / unrecorded, unrecorded + "." + k_thumb);

  challenge::Ledger next(dir.path() / ".challenges");
  CHECK(next.recover() == 3);
  for (const auto& gone : {k_token, empty, part}) CHECK_FALSE(fs::exists(webroot / gone));
  CHECK(fs::is_symlink(webroot / linked));
  CHECK(read_text(dir.path() / "target") == linked + "." + k_thumb);
  CHECK(read_text(webroot / replaced) == "index of something else");
  CHECK(fs::exists(webroot / k_token2));
  CHECK(fs::exists(webroot / unrecorded));
  CHECK_FALSE(fs::exists(dir.path() / ".challenges"));
  CHECK(next.recover() == 0); // nothing left to do, nothing created
  CHECK_FALSE(fs::exists(dir.path() / ".challenges"));
}

TEST_CASE("a live run's files are never touched; the last run out leaves no ledger and removes "
          "what a run killed beside it left") {
  const TempDir dir;
  const fs::path webroot = dir.path() / "www";
  const fs::path path = dir.path() / ".challenges";
  {
    challenge::Ledger live(path);
    live.note(webroot, k_token, k_thumb);
    CHECK(read_text(path) == line_of(webroot, k_token, k_thumb));
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0600);
    const challenge::Published file = challenge::publish(webroot, k_token, k_token + "." + k_thumb);
    challenge::Ledger other(path); // a second run while this one lives (no lock_file)
    CHECK(other.recover() == 0);
    CHECK(fs::exists(webroot / k_token));
    CHECK(fs::exists(path));
    // A run killed meanwhile appended a torn line (no newline), which must not swallow the
    // next one, and a whole line with its file.
    std::ofstream(path, std::ios::app) << k_thumb << " " << k_token2;
    live.note(webroot, part_token(), k_thumb);
    std::ofstream(path, std::ios::app) << line_of(webroot, k_token2, k_thumb);
    test::write_text(webroot / k_token2, k_token2 + "." + k_thumb);
    CHECK(read_text(path).ends_with("\n" + line_of(webroot, part_token(), k_thumb) +
                                    line_of(webroot, k_token2, k_thumb)));
  }
  CHECK_FALSE(fs::exists(webroot / k_token));
  CHECK_FALSE(fs::exists(webroot / k_token2));
  CHECK_FALSE(fs::exists(path));
}

TEST_CASE("a file that cannot be removed keeps the ledger for the next run") {
  const TempDir dir;
  const fs::path webroot = dir.path() / "www";
  test::write_text(webroot, "not a directory now"); // opening it fails (even for root)
  test::write_text(dir.path() / ".challenges", line_of(webroot, k_token, k_thumb));
  challenge::Ledger next(dir.path() / ".challenges");
  CHECK(next.recover() == 0);
  CHECK(fs::exists(dir.path() / ".challenges"));
  fs::remove(webroot);
  fs::create_directories(webroot);
  test::write_text(webroot / k_token, k_token + "." + k_thumb);
  CHECK(next.recover() == 1);
  CHECK_FALSE(fs::exists(webroot / k_token));
  CHECK_FALSE(fs::exists(dir.path() / ".challenges"));
}

TEST_CASE("note() refuses a token outside the alphabet before writing anything") {
  const TempDir dir;
  challenge::Ledger ledger(dir.path() / ".challenges");
  CHECK_THROWS_AS(ledger.note(dir.path(), "../../etc/passwd_aaaaaaaaaaaa", k_thumb), util::Error);
  CHECK_FALSE(fs::exists(dir.path() / ".challenges"));
}

TEST_CASE("a torn last line and malformed lines of a ledger are skipped") {
  const TempDir dir;
  const fs::path webroot = dir.path() / "www";
  fs::create_directories(webroot);
  test::write_text(webroot / k_token, k_token + "." + k_thumb);
  test::write_text(dir.path() / ".challenges", "garbage\n" + k_thumb + " " + k_token +
                                                   " relative/dir\n" + k_thumb + " " + k_token +
                                                   " " + webroot.string());
  challenge::Ledger next(dir.path() / ".challenges");
  CHECK(next.recover() == 0);
  CHECK(fs::exists(webroot / k_token));
  CHECK_FALSE(fs::exists(dir.path() / ".challenges"));
}

TEST_SUITE_END();
