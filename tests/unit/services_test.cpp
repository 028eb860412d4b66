// tests/unit/services_test.cpp: services::reload runs real shell command lines.

#include "logcapture.hpp"
#include "testutil.hpp"
#include <certmgr/log.hpp>
#include <certmgr/services.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <filesystem>
#include <stdlib.h>
#include <string>

namespace {

namespace services = certmgr::services;
namespace log = certmgr::log;
namespace fs = std::filesystem;
using certmgr::test::LogCapture;
using certmgr::test::read_text;
using certmgr::test::TempDir;
using std::chrono::steady_clock;

constexpr auto k_hang_guard = std::chrono::seconds{10};
constexpr auto k_timeout = std::chrono::seconds{30};

/// A shell word for `path` (TempDir paths hold no single quote).
std::string quoted(const fs::path& path) { return "'" + path.string() + "'"; }

} // namespace

TEST_SUITE_BEGIN("services");

TEST_CASE("the built-in table is the one of behaviour §2.5") {
  const services::Table& table = services::builtin();
  CHECK(table.size() == 12);
  CHECK(table.at("apache") == "systemctl reload apache2");
  CHECK(table.at("nginx") == "systemctl reload nginx");
  CHECK(table.at("dovecot") == "systemctl restart dovecot");
  CHECK(table.at("synapse") == "systemctl restart matrix-synapse");
  CHECK(table.at("znc") == "systemctl restart znc");
}

TEST_CASE("each service is reloaded once, in the given order, and failures are counted") {
  const TempDir dir;
  const LogCapture capture(dir.path());
  const std::string order = quoted(dir.path() / "order.txt");
  const int failures = services::reload(
      {
          {"first", "echo first >> " + order},
          {"broken", "echo 'not running' >&2; exit 4"},
          {"first", "echo again >> " + order},
          {"nothing", std::nullopt},
          {"piped", "echo piped | tr a-z A-Z >> " + order + " && echo done"},
      },
      k_timeout);
  CHECK(failures == 2);
  CHECK(read_text(dir.path() / "order.txt") == "first\nPIPED\n");
  CHECK(capture.has("PROGRESS reloaded first\n"));
  CHECK(capture.has("PROGRESS reloaded piped\n"));
  CHECK(capture.has("INFO service piped:  > done\n"));
  CHECK(capture.has("WARNING service broken: reload failed: exit status 4: not running\n"));
  CHECK(capture.has("WARNING service nothing has no command\n"));
}

TEST_CASE("a reload sees only the scrubbed environment") {
  const TempDir dir;
  const LogCapture capture(dir.path());
  REQUIRE(setenv("CERTMGR_TEST_CANARY", "secret-value", 1) == 0);
  const int failures =
      services::reload({{"env", "env > " + quoted(dir.path() / "env.txt")}}, k_timeout);
  unsetenv("CERTMGR_TEST_CANARY");
  CHECK(failures == 0);
  const std::string env = read_text(dir.path() / "env.txt");
  CHECK(env.find("PATH=") != std::string::npos);
  CHECK(env.find("secret-value") == std::string::npos);
}

TEST_CASE("a reload past its timeout is killed and counted") {
  const TempDir dir;
  const LogCapture capture(dir.path());
  const auto start = steady_clock::now();
  CHECK(services::reload({{"slow", "sleep 30"}}, std::chrono::seconds{1}) == 1);
  CHECK(steady_clock::now() - start < k_hang_guard);
  CHECK(capture.has("WARNING service slow: reload failed: killed after 1 s\n"));
}

TEST_SUITE_END();
