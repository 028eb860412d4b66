// tests/unit/hooks_test.cpp: hooks::run against real programs. The argv a hook receives is
// written NUL-separated by the hook itself and compared byte for byte; log lines are read back
// from a log file.

#include "logcapture.hpp"
#include "testutil.hpp"
#include <certmgr/hooks.hpp>
#include <certmgr/log.hpp>
#include <certmgr/util/template.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <filesystem>
#include <stdlib.h>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace hooks = certmgr::hooks;
namespace log = certmgr::log;
namespace util = certmgr::util;
namespace fs = std::filesystem;
using certmgr::test::LogCapture;
using certmgr::test::read_text;
using certmgr::test::TempDir;
using std::chrono::steady_clock;

constexpr auto k_hang_guard = std::chrono::seconds{10};

hooks::Event installed(std::map<std::string, std::string> fields = {}) {
  fields.emplace("certificate_name", "example.org");
  fields.emplace("key_name", "example.org");
  fields.emplace("key_type", "rsa");
  fields.emplace("file", "/etc/certmgr/example.org/rsa/cert.pem");
  fields.emplace("certificate_file", "/etc/certmgr/example.org/rsa/cert.pem");
  return {.hook = "certificate_installed", .prefix = "[example.org] ", .fields = std::move(fields)};
}

hooks::Spec one(hooks::Command command) {
  return {{"certificate_installed", {std::move(command)}}};
}

hooks::Command sh(const std::string& script, const TempDir& dir) {
  return {.args = {"/bin/sh", "-c", script}, .cwd = dir.path()};
}

bool process_gone(const std::string& pid) {
  const std::string stat = read_text(fs::path("/proc") / pid / "stat");
  if (stat.empty()) return true;
  const std::size_t close = stat.rfind(") ");
  return close != std::string::npos && stat.substr(close + 2, 1) == "Z";
}

} // namespace

TEST_SUITE_BEGIN("hooks::run");

TEST_CASE("a field with spaces, quotes, ;, $(...) and a newline stays one literal argument") {
  const TempDir dir;
  const LogCapture capture(dir.path());
  const std::string evil = "a b; rm -rf / $(touch pwned) `touch pwned2` \"q\" 'q' {file}\nline 2";
  // Split like a configured string, then expanded word by word, as config and hooks do.
  const std::optional<std::vector<std::string>> words =
      util::split_words(R"(/bin/sh -c 'printf "%s\0" "$@" > argv.bin' sh {file} x{key_type}y)");
  REQUIRE(words);
  const hooks::Outcome outcome =
      hooks::run(one({.args = *words, .cwd = dir.path()}), installed({{"file", evil}}));
  CHECK(outcome == hooks::Outcome::ok);
  CHECK(read_text(dir.path() / "argv.bin") == evil + std::string(1, '\0') + "xrsay" + '\0');
  CHECK_FALSE(fs::exists(dir.path() / "pwned"));
  CHECK_FALSE(fs::exists(dir.path() / "pwned2"));
  CHECK(capture.count("[example.org] calling hook certificate_installed: /bin/sh -c ") == 1);
  CHECK(capture.text().find("a b; rm -rf /") != std::string::npos);
  CHECK(capture.text().find("\\x0aline 2") != std::string::npos); // printable, one line
}

TEST_CASE("a hook that exits 3 fails with one warning quoting its first output line") {
  const TempDir dir;
  const LogCapture capture(dir.path());
  CHECK(hooks::run(one(sh("echo first; echo second; exit 3", dir)), installed()) ==
        hooks::Outcome::failed);
  CHECK(capture.count("WARNING") == 1);
  CHECK(capture.count(
            "WARNING [example.org] hook certificate_installed failed: exit status 3: first") == 1);
  CHECK(capture.count("INFO [example.org]   > first") == 1);
  CHECK(capture.count("INFO [example.org]   > second") == 1);
}

TEST_CASE("a hook past its timeout is killed with its process group") {
  const TempDir dir;
  const LogCapture capture(dir.path());
  hooks::Command command = sh("sleep 30 & echo $! > grandchild.pid; wait", dir);
  command.timeout = std::chrono::seconds{1};
  const auto start = steady_clock::now();
  CHECK(hooks::run(one(command), installed()) == hooks::Outcome::failed);
  CHECK(steady_clock::now() - start < k_hang_guard);
  CHECK(capture.count("hook certificate_installed failed: killed after 1 s") == 1);
  std::string pid = read_text(dir.path() / "grandchild.pid");
  while (!pid.empty() && pid.back() == '\n') pid.pop_back();
  REQUIRE_FALSE(pid.empty());
  const auto until = steady_clock::now() + k_hang_guard;
  while (!process_gone(pid) && steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds{20});
  }
  CHECK(process_gone(pid));
}

TEST_CASE("the expanded input reaches stdin") {
  const TempDir dir;
  const LogCapture capture(dir.path());
  hooks::Command command = sh("cat > stdin.txt", dir);
  command.input = "name={certificate_name} {{literal}}\n";
  CHECK(hooks::run(one(command), installed()) == hooks::Outcome::ok);
  CHECK(read_text(dir.path() / "stdin.txt") == "name=example.org {literal}\n");
}

TEST_CASE("the environment has the event and its fields, and nothing else of ours") {
  const TempDir dir;
  const LogCapture capture(dir.path());
  REQUIRE(setenv("CERTMGR_TEST_CANARY", "secret-value", 1) == 0);
  hooks::Event event = installed({{"file", "/a b/cert.pem"}});
  event.environment = {"CERTMGR_EXTRA=1"};
  const hooks::Outcome outcome = hooks::run(one(sh("env > env.txt", dir)), event);
  unsetenv("CERTMGR_TEST_CANARY");
  CHECK(outcome == hooks::Outcome::ok);
  const std::string env = read_text(dir.path() / "env.txt");
  CHECK(env.find("CERTMGR_EVENT=certificate_installed\n") != std::string::npos);
  CHECK(env.find("CERTMGR_CERTIFICATE_NAME=example.org\n") != std::string::npos);
  CHECK(env.find("CERTMGR_KEY_TYPE=rsa\n") != std::string::npos);
  CHECK(env.find("CERTMGR_FILE=/a b/cert.pem\n") != std::string::npos);
  CHECK(env.find("CERTMGR_EXTRA=1\n") != std::string::npos);
  CHECK(env.find("PATH=") != std::string::npos);
  CHECK(env.find("secret-value") == std::string::npos);
  CHECK(env.find("CERTMGR_TEST_CANARY") == std::string::npos);
}

TEST_CASE("the working directory is honoured") {
  const TempDir dir;
  const LogCapture capture(dir.path());
  fs::create_directories(dir.path() / "sub dir");
  const hooks::Command command{.args = {"/bin/sh", "-c", "pwd > ../pwd.txt"},
                               .cwd = dir.path() / "sub dir"};
  CHECK(hooks::run(one(command), installed()) == hooks::Outcome::ok);
  CHECK(read_text(dir.path() / "pwd.txt") == fs::canonical(dir.path() / "sub dir").string() + "\n");
}

TEST_CASE("a missing program fails the hook with a warning, never an exception") {
  const TempDir dir;
  const LogCapture capture(dir.path());
  const hooks::Command command{.args = {"certmgr-no-such-hook", "{file}"}};
  CHECK(hooks::run(one(command), installed()) == hooks::Outcome::failed);
  CHECK(capture.count("hook certificate_installed failed: cannot run \"certmgr-no-such-hook\": "
                      "No such file or directory") == 1);
}

TEST_CASE("every command runs in order even after a failure; no commands is ok") {
  const TempDir dir;
  const LogCapture capture(dir.path());
  const hooks::Spec spec = {{"certificate_installed",
                             {sh("echo 1 >> order.txt; exit 1", dir),
                              sh("echo 2 >> order.txt", dir),
                              {.args = {"sh", "-c", "echo {missing}"}},
                              sh("echo 3 >> order.txt", dir)}}};
  CHECK(hooks::run(spec, installed()) == hooks::Outcome::failed);
  CHECK(read_text(dir.path() / "order.txt") == "1\n2\n3\n");
  CHECK(capture.count("WARNING") == 2);
  CHECK(capture.count("hook certificate_installed failed: unknown field \"{missing}\"") == 1);
  CHECK(hooks::run(spec, {.hook = "chain_installed"}) == hooks::Outcome::ok);
  CHECK(hooks::run({}, installed()) == hooks::Outcome::ok);
}

TEST_SUITE_END();

TEST_SUITE_BEGIN("hooks::known_hooks");

TEST_CASE("known hooks offer both field spellings and no hook of an unbuilt feature [B51]") {
  const auto& known = hooks::known_hooks();
  using Fields = std::vector<std::string>;
  CHECK(known.at("certificate_installed") ==
        Fields{"certificate_name", "key_name", "key_type", "file", "certificate_file"});
  CHECK(known.at("set_http_challenge") == Fields{"domain", "file", "challenge_file"});
  CHECK(known.at("params_installed") ==
        Fields{"certificate_name", "key_name", "file", "params_file"});
  CHECK(known.at("certificates_updated") == Fields{"certificates"});
  CHECK(known.at("ocsp_installed") ==
        Fields{"certificate_name", "key_name", "key_type", "file", "ocsp_file"});
  CHECK(known.at("sct_installed") ==
        Fields{"certificate_name", "key_name", "key_type", "file", "sct_file", "ct_log_name"});
  CHECK(known.at("rollback") == Fields{"certificate_name", "key_name"});
  CHECK(known.size() == 12);
  for (const auto& [hook, fields] : known) {
    for (const std::string& field : fields) CHECK(field != "passphrase");
  }
}

TEST_SUITE_END();
