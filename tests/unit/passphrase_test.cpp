#include "testutil.hpp"
#include <certmgr/util/error.hpp>
#include <certmgr/util/passphrase.hpp>

#include <doctest/doctest.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <optional>
#include <poll.h>
#include <signal.h>
#include <string>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

using namespace certmgr;

namespace {

constexpr const char* k_variable = "CERTMGR_PASSPHRASE";

/// CERTMGR_PASSPHRASE unset for the test (whatever the runner's environment holds), and put
/// back as it was afterwards.
class CleanEnvironment {
public:
  CleanEnvironment() {
    if (const char* value = getenv(k_variable)) m_saved = value;
    unsetenv(k_variable);
  }
  CleanEnvironment(const CleanEnvironment&) = delete;
  CleanEnvironment& operator=(const CleanEnvironment&) = delete;
  ~CleanEnvironment() {
    if (m_saved)
      setenv(k_variable, m_saved->c_str(), 1);
    else
      unsetenv(k_variable);
  }

private:
  std::optional<std::string> m_saved;
};

std::optional<util::Secret> from_file_with(const std::string& content) {
  const test::TempDir dir;
  const auto path = dir.path() / "pass";
  test::write_text(path, content);
  return util::runtime_passphrase(path);
}

template <class F> util::Error error_of(F&& f) {
  try {
    f();
  } catch (const util::Error& e) {
    return e;
  }
  return util::Error("(no error)");
}

std::optional<util::Secret> secret(std::string_view text) { return util::Secret(text); }

/// Everything readable from `fd` within `timeout_ms` of quiet, until `until` shows up (or EOF).
std::string read_until(int fd, std::string_view until, int timeout_ms = 5000) {
  std::string out;
  while (out.find(until) == std::string::npos) {
    pollfd p{.fd = fd, .events = POLLIN, .revents = 0};
    if (::poll(&p, 1, timeout_ms) <= 0) break;
    char buffer[256];
    const ssize_t got = ::read(fd, buffer, sizeof buffer);
    if (got <= 0) break;
    out.append(buffer, static_cast<std::size_t>(got));
  }
  return out;
}

struct PromptResult {
  std::string terminal_output; ///< what certmgr wrote to the terminal
  std::string outcome;         ///< "value:<passphrase>", "none" or "error:<message>"
  bool echo_restored{false};
};

/// Runs runtime_passphrase(nullopt) in a child whose stdin and controlling terminal are a fresh
/// pseudo-terminal, types `typed` after the prompt shows, and reports what happened.
PromptResult prompt_with(const std::string& typed) {
  const int master = ::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  REQUIRE(master >= 0);
  REQUIRE(::grantpt(master) == 0);
  REQUIRE(::unlockpt(master) == 0);
  const std::string slave_name = ::ptsname(master);
  int result_pipe[2];
  REQUIRE(::pipe2(result_pipe, O_CLOEXEC) == 0);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    // The child: a new session whose first terminal opened becomes its controlling terminal.
    ::close(master);
    if (::setsid() < 0) ::_exit(10);
    const int slave = ::open(slave_name.c_str(), O_RDWR);
    if (slave < 0 || ::dup2(slave, STDIN_FILENO) < 0) ::_exit(11);
    std::string outcome;
    try {
      const auto value = util::runtime_passphrase(std::nullopt);
      outcome = value ? "value:" + std::string(value->reveal()) : "none";
    } catch (const util::Error& e) {
      outcome = std::string("error:") + e.what();
    }
    termios settings{};
    const bool echo = ::tcgetattr(slave, &settings) == 0 && (settings.c_lflag & ECHO) != 0;
    outcome = (echo ? "1" : "0") + outcome;
    if (::write(result_pipe[1], outcome.data(), outcome.size()) < 0) ::_exit(12);
    ::_exit(0);
  }
  ::close(result_pipe[1]);
  PromptResult result;
  result.terminal_output = read_until(master, "certmgr: passphrase: ");
  if (result.terminal_output.ends_with("certmgr: passphrase: ")) {
    REQUIRE(::write(master, typed.data(), typed.size()) == static_cast<ssize_t>(typed.size()));
    result.terminal_output += read_until(master, "\n");
  }
  const std::string outcome = read_until(result_pipe[0], "\x01 never", 10000);
  int status = 0;
  if (::waitpid(pid, &status, WNOHANG) == 0) ::kill(pid, SIGKILL);
  ::waitpid(pid, &status, 0);
  ::close(result_pipe[0]);
  ::close(master);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  if (!outcome.empty()) {
    result.echo_restored = outcome[0] == '1';
    result.outcome = outcome.substr(1);
  }
  return result;
}

} // namespace

TEST_SUITE_BEGIN("util::passphrase");

TEST_CASE("the pass file's first line is the passphrase, without its line ending") {
  const CleanEnvironment clean;
  CHECK(from_file_with("s3cret\n") == secret("s3cret"));
  CHECK(from_file_with("s3cret\r\n") == secret("s3cret"));
  CHECK(from_file_with("s3cret") == secret("s3cret"));
  CHECK(from_file_with("first line\nsecond line\n") == secret("first line"));
  CHECK(from_file_with("first\r\nsecond\r\n") == secret("first"));
  // Only the line ending goes: spaces and a lone "\r" inside are part of the passphrase.
  CHECK(from_file_with("  spaced out \t\n") == secret("  spaced out \t"));
  CHECK(from_file_with("a\rb\n") == secret("a\rb"));
}

TEST_CASE("a pass file of the longest allowed line is read, a longer one is refused") {
  const CleanEnvironment clean;
  const std::string longest(util::k_max_passphrase_bytes, 'p');
  CHECK(from_file_with(longest + "\r\n") == secret(longest));
  CHECK(from_file_with(longest) == secret(longest));
  const test::TempDir dir;
  const auto path = dir.path() / "pass";
  test::write_text(path, longest + "p\n");
  const util::Error error = error_of([&] { (void)util::runtime_passphrase(path); });
  CHECK(std::string(error.what()) == path.string() + ": the passphrase is longer than 1024 bytes");
}

TEST_CASE("an empty pass file, or one whose first line is empty, is an error naming it") {
  const CleanEnvironment clean;
  const test::TempDir dir;
  const auto path = dir.path() / "pass";
  for (const std::string content : {"", "\n", "\r\n", "\nsecond line\n"}) {
    test::write_text(path, content);
    const util::Error error = error_of([&] { (void)util::runtime_passphrase(path); });
    CHECK(std::string(error.what()) == path.string() + ": the pass file is empty");
    CHECK(error.kind() == util::ErrorKind::general);
  }
}

TEST_CASE("a pass file that cannot be read is an error naming it and the reason") {
  const CleanEnvironment clean;
  const test::TempDir dir;
  const auto missing = dir.path() / "missing";
  util::Error error = error_of([&] { (void)util::runtime_passphrase(missing); });
  CHECK(std::string(error.what()) ==
        missing.string() + ": cannot read pass file: " + std::strerror(ENOENT));
  CHECK(error.kind() == util::ErrorKind::general);
  error = error_of([&] { (void)util::runtime_passphrase(dir.path()); });
  CHECK(std::string(error.what()) ==
        dir.path().string() + ": cannot read pass file: " + std::strerror(EISDIR));
}

TEST_CASE("the pass file may be a pipe") {
  const CleanEnvironment clean;
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  REQUIRE(::write(fds[1], "piped\nrest", 10) == 10);
  ::close(fds[1]);
  CHECK(util::runtime_passphrase("/dev/fd/" + std::to_string(fds[0])) == secret("piped"));
  ::close(fds[0]);
}

TEST_CASE("CERTMGR_PASSPHRASE is used when there is no pass file, and the pass file wins") {
  const CleanEnvironment clean;
  REQUIRE(setenv(k_variable, "from environment", 1) == 0);
  CHECK(util::runtime_passphrase(std::nullopt) == secret("from environment"));
  CHECK(from_file_with("from file\n") == secret("from file"));
  // A pass file is never skipped for the environment, not even when it is broken.
  CHECK_THROWS_AS((void)from_file_with(""), util::Error);
}

TEST_CASE("forget_passphrase_environment removes the variable and overwrites its value") {
  const CleanEnvironment clean;
  // putenv(3) makes this buffer the environment entry itself, as the kernel's initial block
  // is: the overwrite must happen in it.
  char entry[] = "CERTMGR_PASSPHRASE=hunter2";
  REQUIRE(putenv(entry) == 0);
  REQUIRE(getenv(k_variable) != nullptr);
  util::forget_passphrase_environment();
  CHECK(getenv(k_variable) == nullptr);
  CHECK(std::string_view(entry, 19) == "CERTMGR_PASSPHRASE=");
  CHECK(std::string(entry + 19, 7) == std::string(7, '\0'));
  // Nothing to forget is fine.
  util::forget_passphrase_environment();
  CHECK(getenv(k_variable) == nullptr);
}

TEST_CASE("no pass file, an empty or no variable and no terminal yield no passphrase") {
  const CleanEnvironment clean;
  if (::isatty(STDIN_FILENO) != 0) {
    MESSAGE("stdin is a terminal: skipped (runtime_passphrase would prompt)");
    return;
  }
  CHECK_FALSE(util::runtime_passphrase(std::nullopt).has_value());
  REQUIRE(setenv(k_variable, "", 1) == 0);
  CHECK_FALSE(util::runtime_passphrase(std::nullopt).has_value());
}

TEST_CASE("on a terminal the passphrase is asked for without echo, and echo comes back") {
  const CleanEnvironment clean;
  const PromptResult typed = prompt_with("tty secret\n");
  CHECK(typed.outcome == "value:tty secret");
  CHECK(typed.terminal_output.starts_with("certmgr: passphrase: "));
  CHECK(typed.terminal_output.find("tty secret") == std::string::npos);
  CHECK(typed.terminal_output.ends_with("\n"));
  CHECK(typed.echo_restored);

  // End of input (Ctrl-D) before anything was typed: no passphrase, echo restored all the same.
  const PromptResult nothing = prompt_with("\x04");
  CHECK(nothing.outcome == "none");
  CHECK(nothing.echo_restored);
}

TEST_CASE("protect_secrets_in_memory makes the process non-dumpable without core files") {
  // In a child: the test process itself should stay debuggable.
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    try {
      util::protect_secrets_in_memory();
    } catch (...) {
      ::_exit(10);
    }
    rlimit core{};
    if (::getrlimit(RLIMIT_CORE, &core) != 0) ::_exit(11);
    if (core.rlim_cur != 0 || core.rlim_max != 0) ::_exit(12);
    if (::prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0) ::_exit(13);
    ::_exit(0);
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}

TEST_SUITE_END();
