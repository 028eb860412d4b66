#include "testutil.hpp"
#include <certmgr/challenge.hpp>
#include <certmgr/util/error.hpp>

#include <doctest/doctest.h>

#include <filesystem>
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
} // namespace

TEST_CASE("the files a killed run left are swept by the next run, and nothing else") {
  const TempDir dir;
  const fs::path webroot = dir.path() / "www";
  fs::create_directories(webroot);
  // What the killed run left, noted in the ledger before it wrote the file.
  {
    challenge::Ledger killed(dir.path() / ".challenges");
    killed.note(webroot, k_thumb);
    test::write_text(webroot / k_token, k_token + "." + k_thumb);
    // Killed: the destructor never runs; the ledger stays behind.
    std::string copy = read_text(dir.path() / ".challenges");
    test::write_text(dir.path() / "ledger.copy", copy);
  }
  fs::copy_file(dir.path() / "ledger.copy", dir.path() / ".challenges",
                fs::copy_options::overwrite_existing);
  // Not ours: another account's, another client's, a name that is not a token, a symlink.
  test::write_text(webroot / k_token2, k_token2 + "." + k_other_thumb);
  test::write_text(webroot / "index.html", "index.html." + k_thumb);
  test::write_text(webroot / "with-newline-aaaaaaaaaaaaaaaa",
                   "with-newline-aaaaaaaaaaaaaaaa." + k_thumb + "\n");
  const std::string linked = "linkedlinkedlinkedlinked";
  test::write_text(dir.path() / "target", linked + "." + k_thumb);
  fs::create_symlink(dir.path() / "target", webroot / linked);

  // Killed between creation and the last byte: empty, or a beginning of the key authorization.
  const std::string empty = "emptyemptyemptyemptyempty";
  const std::string part = "partpartpartpartpartpart";
  test::write_text(webroot / empty, "");
  test::write_text(webroot / part, part + "." + k_thumb.substr(0, 10));

  challenge::Ledger next(dir.path() / ".challenges");
  CHECK(next.recover() == 3);
  CHECK_FALSE(fs::exists(webroot / k_token));
  CHECK_FALSE(fs::exists(webroot / empty));
  CHECK_FALSE(fs::exists(webroot / part));
  CHECK(fs::exists(webroot / k_token2));
  CHECK(fs::exists(webroot / "index.html"));
  CHECK(fs::exists(webroot / "with-newline-aaaaaaaaaaaaaaaa"));
  CHECK(fs::is_symlink(webroot / linked));
  CHECK(fs::exists(dir.path() / "target"));
  CHECK_FALSE(fs::exists(dir.path() / ".challenges"));
  CHECK(next.recover() == 0); // nothing left to do, nothing created
  CHECK_FALSE(fs::exists(dir.path() / ".challenges"));
}

TEST_CASE("a run that ends normally leaves no ledger; a live run's files are never swept") {
  const TempDir dir;
  const fs::path webroot = dir.path() / "www";
  const fs::path path = dir.path() / ".challenges";
  {
    challenge::Ledger live(path);
    live.note(webroot, k_thumb);
    live.note(webroot, k_thumb); // once per directory
    CHECK(read_text(path) == k_thumb + " " + webroot.string() + "\n");
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0600);
    const challenge::Published file = challenge::publish(webroot, k_token, k_token + "." + k_thumb);
    challenge::Ledger other(path); // a second run while this one lives (no lock_file)
    CHECK(other.recover() == 0);
    CHECK(fs::exists(webroot / k_token));
    CHECK(fs::exists(path));
  }
  CHECK_FALSE(fs::exists(webroot / k_token));
  CHECK_FALSE(fs::exists(path));
}

TEST_CASE("a torn last line and malformed lines of a ledger are skipped") {
  const TempDir dir;
  const fs::path webroot = dir.path() / "www";
  fs::create_directories(webroot);
  test::write_text(webroot / k_token, k_token + "." + k_thumb);
  test::write_text(dir.path() / ".challenges",
                   "garbage\n" + k_thumb + " relative/dir\n" + k_thumb + " " + webroot.string());
  challenge::Ledger next(dir.path() / ".challenges");
  CHECK(next.recover() == 0);
  CHECK(fs::exists(webroot / k_token));
  CHECK_FALSE(fs::exists(dir.path() / ".challenges"));
}

TEST_SUITE_END();
