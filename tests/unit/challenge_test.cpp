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
