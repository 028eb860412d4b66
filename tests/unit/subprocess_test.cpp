// tests/unit/subprocess_test.cpp: util::spawn against real programs (sh, cat, env, pwd). No
// timing is asserted beyond hang guards.

#include "testutil.hpp"
#include <certmgr/util/subprocess.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <stdlib.h>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace util = certmgr::util;
namespace fs = std::filesystem;
using certmgr::test::read_text;
using certmgr::test::TempDir;
using Status = util::SpawnResult::Status;
using std::chrono::steady_clock;

/// Far above any honest run of the commands below; only catches a hang.
constexpr auto k_hang_guard = std::chrono::seconds{10};

util::SpawnResult sh(const std::string& script, util::SpawnOptions options = {}) {
  options.argv = {"/bin/sh", "-c", script};
  if (options.environment.empty()) options.environment = util::base_environment();
  return util::spawn(options);
}

/// Gone, or a zombie nobody reaped yet (the container's init may not reap).
bool process_gone(const std::string& pid) {
  const std::string stat = read_text(fs::path("/proc") / pid / "stat");
  if (stat.empty()) return true;
  const std::size_t close = stat.rfind(") ");
  return close != std::string::npos && stat.substr(close + 2, 1) == "Z";
}

/// Waits (bounded) for `pid` to disappear: SIGKILL is delivered asynchronously.
bool eventually_gone(const std::string& pid) {
  const auto until = steady_clock::now() + k_hang_guard;
  while (!process_gone(pid) && steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds{20});
  }
  return process_gone(pid);
}

std::string trimmed(std::string text) {
  while (!text.empty() && text.back() == '\n') text.pop_back();
  return text;
}

} // namespace

TEST_SUITE_BEGIN("util::spawn");

TEST_CASE("the exit status and stdout and stderr merged are reported") {
  const util::SpawnResult result = sh("echo out; echo err >&2; exit 3");
  CHECK(result.status == Status::exited);
  CHECK(result.code == 3);
  CHECK(result.output == "out\nerr\n");
  CHECK(result.error.empty());
}

TEST_CASE("input reaches stdin and is closed; without input stdin is /dev/null") {
  const std::string input = "line 1\nline 2 with {braces} and $(no expansion)\n";
  CHECK(util::spawn({.argv = {"cat"}, .input = input, .environment = util::base_environment()})
            .output == input);
  const util::SpawnResult empty = util::spawn({.argv = {"cat"}, .input = std::string()});
  CHECK(empty.status == Status::exited);
  CHECK(empty.output.empty());
  const util::SpawnResult none = util::spawn({.argv = {"cat"}});
  CHECK(none.status == Status::exited);
  CHECK(none.code == 0);
  CHECK(none.output.empty());
}

TEST_CASE("a child that does not read a large input neither hangs nor raises SIGPIPE in us") {
  const util::SpawnResult result =
      util::spawn({.argv = {"true"}, .input = std::string(4 << 20, 'x'), .timeout = k_hang_guard});
  CHECK(result.status == Status::exited);
  CHECK(result.code == 0);
}

TEST_CASE("the environment is exactly the one given") {
  const util::SpawnResult result =
      util::spawn({.argv = {"env"}, .environment = {"A=1", "B=two words"}});
  CHECK(result.output == "A=1\nB=two words\n");
}

TEST_CASE("base_environment keeps PATH and drops everything else of ours") {
  REQUIRE(setenv("CERTMGR_TEST_CANARY", "leaked", 1) == 0);
  const std::vector<std::string> environment = util::base_environment();
  unsetenv("CERTMGR_TEST_CANARY");
  REQUIRE_FALSE(environment.empty());
  CHECK(environment.front().starts_with("PATH="));
  for (const std::string& entry : environment) {
    CHECK(entry.find("CERTMGR_TEST_CANARY") == std::string::npos);
  }
}

TEST_CASE("the working directory is honoured") {
  const TempDir dir;
  const util::SpawnResult result = util::spawn({.argv = {"pwd"}, .cwd = dir.path()});
  CHECK(trimmed(result.output) == fs::canonical(dir.path()).string());
}

TEST_CASE("a missing program, a missing directory and a NUL byte are spawn failures") {
  const util::SpawnOptions missing{.argv = {"certmgr-no-such-program", "x"}};
  const util::SpawnResult result = util::spawn(missing);
  CHECK(result.status == Status::spawn_failed);
  CHECK(result.error == "No such file or directory");
  CHECK(util::failure_reason(result, missing) ==
        "cannot run \"certmgr-no-such-program\": No such file or directory");
  const TempDir dir;
  const util::SpawnResult no_dir = util::spawn({.argv = {"true"}, .cwd = dir.path() / "none"});
  CHECK(no_dir.status == Status::spawn_failed);
  CHECK(no_dir.error.find("none") != std::string::npos);
  CHECK(util::spawn({.argv = {"echo", std::string("a\0b", 3)}}).status == Status::spawn_failed);
  CHECK(util::spawn({.argv = {}}).status == Status::spawn_failed);
}

TEST_CASE("a timeout kills the whole process group and returns promptly") {
  const TempDir dir;
  const fs::path pid_file = dir.path() / "grandchild.pid";
  const util::SpawnOptions options{
      .argv = {"/bin/sh", "-c", "sleep 30 & echo $! > \"$0\"; wait", pid_file.string()},
      .timeout = std::chrono::seconds{1}};
  const auto start = steady_clock::now();
  const util::SpawnResult result = util::spawn(options);
  CHECK(steady_clock::now() - start < k_hang_guard);
  CHECK(result.status == Status::timed_out);
  CHECK(util::failure_reason(result, options) == "killed after 1 s");
  const std::string grandchild = trimmed(read_text(pid_file));
  REQUIRE_FALSE(grandchild.empty());
  CHECK(eventually_gone(grandchild));
}

TEST_CASE("a background grandchild holding the output does not keep spawn waiting") {
  const TempDir dir;
  const fs::path pid_file = dir.path() / "background.pid";
  const auto start = steady_clock::now();
  const util::SpawnResult result =
      sh("sleep 30 & echo $! > '" + pid_file.string() + "'; echo started");
  CHECK(steady_clock::now() - start < k_hang_guard);
  CHECK(result.status == Status::exited);
  CHECK(result.output == "started\n");
  const std::string background = trimmed(read_text(pid_file));
  if (!background.empty()) (void)kill(std::stoi(background), SIGKILL);
}

TEST_CASE("a signal that ends the child is reported with its name") {
  const util::SpawnOptions options{.argv = {"/bin/sh", "-c", "kill -TERM $$"}};
  const util::SpawnResult result = util::spawn(options);
  CHECK(result.status == Status::signalled);
  CHECK(result.code == SIGTERM);
  CHECK(util::failure_reason(result, options) == "killed by signal 15 (SIGTERM)");
}

TEST_CASE("output beyond 64 KiB is read and dropped, and marked") {
  const util::SpawnResult result = sh("yes 0123456789 | head -c 1000000; echo; exit 0");
  CHECK(result.status == Status::exited);
  CHECK(result.code == 0);
  CHECK(result.output.size() <= util::k_max_output_bytes + util::k_truncated_marker.size() + 1);
  CHECK(result.output.ends_with("\n[... truncated]"));
}

TEST_CASE("failure_reason is empty for success; output_lines drops empty lines and CR") {
  const util::SpawnOptions options{.argv = {"x"}};
  CHECK(util::failure_reason({.status = Status::exited, .code = 0}, options).empty());
  CHECK(util::failure_reason({.status = Status::exited, .code = 2}, options) == "exit status 2");
  CHECK(util::output_lines("a\r\n\nb\nc") == std::vector<std::string_view>{"a", "b", "c"});
  CHECK(util::output_lines("").empty());
}

TEST_SUITE_END();
