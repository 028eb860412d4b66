// util/subprocess.cpp: posix_spawnp rather than fork(): glibc's posix_spawn reports a failed
// exec as the return value (no error pipe needed) and runs no code of ours in the child, so it
// is safe while other threads hold locks. The child gets its own process group, so a timeout
// kills what it started too (`sh -c 'sleep 30 & wait'`).

#include <certmgr/util/fs.hpp>
#include <certmgr/util/sigpipe.hpp>
#include <certmgr/util/stop.hpp>
#include <certmgr/util/subprocess.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <new>
#include <optional>
#include <poll.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

namespace certmgr::util {
namespace {

using SteadyClock = std::chrono::steady_clock;
using std::chrono::milliseconds;

/// SIGTERM first so a hook can clean up; what still runs after this gets SIGKILL.
constexpr milliseconds k_kill_grace{2000};
/// After the child exited, a grandchild left in the background may keep the output pipe open
/// forever; we read what comes within this time and then stop listening.
constexpr milliseconds k_drain_after_exit{1000};
/// How often the loop checks whether the child exited (poll() cannot wait for a child).
constexpr milliseconds k_poll_tick{50};
constexpr std::size_t k_io_chunk_bytes = 16 * 1024;
/// What login(1) gives root when nothing else is known.
constexpr const char* k_default_path =
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
constexpr const char* k_inherited_variables[] = {"HOME", "LANG", "LC_ALL", "TZ"};

class FileActions {
public:
  FileActions() {
    if (posix_spawn_file_actions_init(&m_actions) != 0) throw std::bad_alloc();
  }
  ~FileActions() { posix_spawn_file_actions_destroy(&m_actions); }
  FileActions(const FileActions&) = delete;
  FileActions& operator=(const FileActions&) = delete;
  posix_spawn_file_actions_t* get() noexcept { return &m_actions; }

private:
  posix_spawn_file_actions_t m_actions{};
};

class SpawnAttributes {
public:
  SpawnAttributes() {
    if (posix_spawnattr_init(&m_attributes) != 0) throw std::bad_alloc();
  }
  ~SpawnAttributes() { posix_spawnattr_destroy(&m_attributes); }
  SpawnAttributes(const SpawnAttributes&) = delete;
  SpawnAttributes& operator=(const SpawnAttributes&) = delete;
  posix_spawnattr_t* get() noexcept { return &m_attributes; }

private:
  posix_spawnattr_t m_attributes{};
};

/// A started child, leader of its own process group. Destroyed unreaped only on an exception
/// path: then the group is killed and the child reaped, so nothing outlives us.
class Child {
public:
  explicit Child(pid_t pid) noexcept : m_pid(pid) {}
  ~Child() {
    if (m_pid <= 0) return;
    signal_group(SIGKILL);
    (void)reap();
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  /// True once the child has exited; WNOWAIT leaves the zombie, so its pid (the group id)
  /// cannot be reused while we may still signal the group.
  [[nodiscard]] bool exited() const noexcept {
    siginfo_t info{};
    if (waitid(P_PID, static_cast<id_t>(m_pid), &info, WEXITED | WNOHANG | WNOWAIT) != 0) {
      return errno != EINTR; // ECHILD: nothing left to wait for
    }
    return info.si_pid == m_pid;
  }
  void signal_group(int signal) const noexcept { (void)::kill(-m_pid, signal); }
  /// waitpid() status of the child, which is gone afterwards; nullopt when the status was
  /// lost (SIGCHLD set to SIG_IGN in this process makes the kernel reap children itself).
  std::optional<int> reap() noexcept {
    int status = 0;
    pid_t reaped = -1;
    do {
      reaped = waitpid(m_pid, &status, 0);
    } while (reaped < 0 && errno == EINTR);
    m_pid = -1;
    return reaped < 0 ? std::nullopt : std::optional<int>(status);
  }

private:
  pid_t m_pid;
};

struct Pipe {
  Fd read{};
  Fd write{};
};

/// Both ends close on exec; posix_spawn's dup2 gives the child its copies without the flag.
/// nullopt with errno set when the process is out of descriptors.
std::optional<Pipe> make_pipe() {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return std::nullopt;
  return Pipe{Fd(fds[0]), Fd(fds[1])};
}

/// Our end only: the child's end of a pipe is a separate open file description.
void set_nonblocking(const Fd& fd) {
  const int flags = fcntl(fd.get(), F_GETFL);
  if (flags >= 0) (void)fcntl(fd.get(), F_SETFL, flags | O_NONBLOCK);
}

/// Why `options` cannot be started, or "".
std::string check_options(const SpawnOptions& options) {
  if (options.argv.empty() || options.argv.front().empty()) return "no program given";
  const auto has_nul = [](const std::string& s) { return s.find('\0') != std::string::npos; };
  // execve() would cut such a string at the NUL: an argument or variable silently changed.
  if (std::ranges::any_of(options.argv, has_nul)) return "an argument contains a NUL byte";
  if (std::ranges::any_of(options.environment, has_nul)) {
    return "an environment entry contains a NUL byte";
  }
  if (options.cwd) {
    struct stat st {};
    if (::stat(options.cwd->c_str(), &st) != 0) {
      return fmt::format("working directory {}: {}", options.cwd->string(), std::strerror(errno));
    }
    if (!S_ISDIR(st.st_mode)) {
      return fmt::format("working directory {}: not a directory", options.cwd->string());
    }
  }
  return {};
}

/// NULL-terminated pointers into `strings` (which must outlive them). exec*() takes char*
/// const[] for historical reasons and never writes through it.
std::vector<char*> c_strings(const std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  pointers.reserve(strings.size() + 1);
  for (const std::string& s : strings) pointers.push_back(const_cast<char*>(s.c_str()));
  pointers.push_back(nullptr);
  return pointers;
}

/// Default signal dispositions and an empty mask in the child, whatever ours are; a group of
/// its own, so a timeout can kill everything it started.
void set_attributes(SpawnAttributes& attributes) {
  sigset_t none;
  sigset_t all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(attributes.get(), &none);
  posix_spawnattr_setsigdefault(attributes.get(), &all);
  posix_spawnattr_setpgroup(attributes.get(), 0);
  posix_spawnattr_setflags(attributes.get(),
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
}

struct ChildEnds {
  const Fd* input{}; ///< read end of the stdin pipe; nullptr = /dev/null
  const Fd* output{};
};

/// Stdin, stdout+stderr, nothing else open (a descriptor without O_CLOEXEC elsewhere in the
/// process must not leak into a hook), then the working directory.
void set_file_actions(FileActions& actions, const ChildEnds& ends, const SpawnOptions& options) {
  if (ends.input != nullptr) {
    posix_spawn_file_actions_adddup2(actions.get(), ends.input->get(), STDIN_FILENO);
  } else {
    posix_spawn_file_actions_addopen(actions.get(), STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  }
  posix_spawn_file_actions_adddup2(actions.get(), ends.output->get(), STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(actions.get(), ends.output->get(), STDERR_FILENO);
  posix_spawn_file_actions_addclosefrom_np(actions.get(), STDERR_FILENO + 1);
  if (options.cwd) posix_spawn_file_actions_addchdir_np(actions.get(), options.cwd->c_str());
}

/// The pid, or the errno of the failed fork, chdir or exec (as a negative number).
pid_t start(const SpawnOptions& options, const ChildEnds& ends) {
  FileActions actions;
  SpawnAttributes attributes;
  set_file_actions(actions, ends, options);
  set_attributes(attributes);
  const std::vector<char*> argv = c_strings(options.argv);
  const std::vector<char*> envp = c_strings(options.environment);
  pid_t pid = -1;
  const int rc =
      posix_spawnp(&pid, argv[0], actions.get(), attributes.get(), argv.data(), envp.data());
  return rc == 0 ? pid : -rc;
}

/// Our ends of the child's stdin and output while it runs.
class Io {
public:
  Io(Fd input, Fd output, std::string_view pending)
      : m_input(std::move(input)), m_output(std::move(output)), m_pending(pending) {
    if (m_pending.empty()) m_input = Fd();
    if (m_input.valid()) set_nonblocking(m_input);
    set_nonblocking(m_output);
  }

  [[nodiscard]] bool output_open() const noexcept { return m_output.valid(); }

  /// Waits up to `wait` for the pipes, then reads and writes what is ready.
  void step(milliseconds wait) {
    pollfd fds[2] = {{m_output.get(), POLLIN, 0}, {m_input.get(), POLLOUT, 0}};
    const int ready =
        ::poll(fds, 2, static_cast<int>(std::max(wait.count(), milliseconds::rep{0})));
    if (ready <= 0) return; // timeout, or EINTR: the caller loops
    if (fds[0].revents != 0) read_output();
    if (fds[1].revents != 0) write_input();
  }

  /// The output, with the truncation marker when some was dropped.
  [[nodiscard]] std::string take_output() {
    if (m_truncated) {
      if (!m_collected.empty() && m_collected.back() != '\n') m_collected += '\n';
      m_collected += k_truncated_marker;
    }
    return std::move(m_collected);
  }

private:
  void read_output() {
    char buffer[k_io_chunk_bytes];
    const ssize_t n = ::read(m_output.get(), buffer, sizeof buffer);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
    if (n <= 0) {
      m_output = Fd(); // EOF: every writer (child and its children) has closed it
      return;
    }
    const std::size_t room = k_max_output_bytes - m_collected.size();
    const std::size_t keep = std::min(room, static_cast<std::size_t>(n));
    m_collected.append(buffer, keep);
    if (keep < static_cast<std::size_t>(n)) m_truncated = true;
  }

  void write_input() {
    const std::size_t size = std::min(m_pending.size(), k_io_chunk_bytes);
    const ssize_t n = ::write(m_input.get(), m_pending.data(), size);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
    // EPIPE: the child does not read its stdin; what it did not take is dropped.
    if (n > 0) m_pending.remove_prefix(static_cast<std::size_t>(n));
    if (n <= 0 || m_pending.empty()) m_input = Fd(); // closing is the child's EOF
  }

  Fd m_input;
  Fd m_output;
  std::string_view m_pending;
  std::string m_collected{};
  bool m_truncated{false};
};

milliseconds until(SteadyClock::time_point when) {
  return std::chrono::ceil<milliseconds>(when - SteadyClock::now());
}

enum class Ended { exited, timed_out };

/// Runs the I/O until the child exited and its output ended (or the drain time passed), or
/// until the deadline.
Ended pump(Io& io, const Child& child, SteadyClock::time_point deadline) {
  std::optional<SteadyClock::time_point> drain_until;
  for (;;) {
    if (!drain_until && child.exited()) drain_until = SteadyClock::now() + k_drain_after_exit;
    if (drain_until && (!io.output_open() || until(*drain_until).count() <= 0)) {
      return Ended::exited;
    }
    // A stop request (SIGTERM to certmgr) ends the hook like its timeout: the group is killed.
    if (!drain_until && (until(deadline).count() <= 0 || stop_requested())) return Ended::timed_out;
    io.step(std::min(k_poll_tick, until(drain_until.value_or(deadline))));
  }
}

/// SIGTERM to the group, up to k_kill_grace for the child to go, then SIGKILL to whatever of
/// the group is left (a grandchild may ignore SIGTERM). The child is not reaped yet, so the
/// group id cannot have been reused.
void terminate(Io& io, const Child& child) {
  child.signal_group(SIGTERM);
  const SteadyClock::time_point grace_end = SteadyClock::now() + k_kill_grace;
  while (!child.exited() && until(grace_end).count() > 0) {
    io.step(std::min(k_poll_tick, until(grace_end)));
  }
  child.signal_group(SIGKILL);
}

/// "9 (SIGKILL)"; just the number for a signal glibc has no name for.
std::string signal_name(int signal) {
  const char* abbreviation = sigabbrev_np(signal);
  if (abbreviation == nullptr) return std::to_string(signal);
  return fmt::format("{} (SIG{})", signal, abbreviation);
}

SpawnResult result_of(std::optional<int> reaped, Ended ended) {
  SpawnResult result;
  const int status = reaped.value_or(0);
  if (ended == Ended::timed_out) {
    result.status = SpawnResult::Status::timed_out;
  } else if (!reaped) {
    result.error = "the exit status was lost (SIGCHLD is ignored in certmgr)";
  } else if (WIFSIGNALED(status)) {
    result.status = SpawnResult::Status::signalled;
    result.code = WTERMSIG(status);
  } else {
    result.status = SpawnResult::Status::exited;
    result.code = WEXITSTATUS(status);
  }
  return result;
}

} // namespace

SpawnResult spawn(const SpawnOptions& options) {
  if (std::string why = check_options(options); !why.empty()) return {.error = std::move(why)};
  std::optional<Pipe> input = options.input ? make_pipe() : Pipe{};
  std::optional<Pipe> output = input ? make_pipe() : std::nullopt;
  if (!output) return {.error = fmt::format("cannot create a pipe: {}", std::strerror(errno))};
  const SigpipeBlock sigpipe_block;
  const pid_t pid =
      start(options, {.input = options.input ? &input->read : nullptr, .output = &output->write});
  if (pid < 0) return {.error = std::strerror(-pid)};
  Child child(pid);
  // Our copies of the child's ends must go, or we would never see EOF on the output.
  input->read = Fd();
  output->write = Fd();
  Io io(std::move(input->write), std::move(output->read),
        options.input ? std::string_view(*options.input) : std::string_view());
  const Ended ended = pump(io, child, SteadyClock::now() + options.timeout);
  if (ended == Ended::timed_out) terminate(io, child);
  SpawnResult result = result_of(child.reap(), ended);
  result.output = io.take_output();
  return result;
}

std::vector<std::string> base_environment() {
  std::vector<std::string> environment;
  const char* path = std::getenv("PATH");
  environment.push_back(std::string("PATH=") + (path != nullptr ? path : k_default_path));
  for (const char* name : k_inherited_variables) {
    if (const char* value = std::getenv(name))
      environment.push_back(fmt::format("{}={}", name, value));
  }
  return environment;
}

std::string failure_reason(const SpawnResult& result, const SpawnOptions& options) {
  switch (result.status) {
  case SpawnResult::Status::exited:
    return result.code == 0 ? std::string() : fmt::format("exit status {}", result.code);
  case SpawnResult::Status::signalled:
    return fmt::format("killed by signal {}", signal_name(result.code));
  case SpawnResult::Status::timed_out:
    return fmt::format("killed after {} s",
                       std::chrono::ceil<std::chrono::seconds>(options.timeout).count());
  case SpawnResult::Status::spawn_failed:
    break;
  }
  const std::string program = options.argv.empty() ? std::string() : options.argv.front();
  return fmt::format("cannot run \"{}\": {}", program, result.error);
}

std::vector<std::string_view> output_lines(std::string_view output) {
  std::vector<std::string_view> lines;
  while (!output.empty()) {
    const std::size_t end = output.find('\n');
    std::string_view line = output.substr(0, end);
    if (line.ends_with('\r')) line.remove_suffix(1);
    if (!line.empty()) lines.push_back(line);
    output.remove_prefix(end == std::string_view::npos ? output.size() : end + 1);
  }
  return lines;
}

} // namespace certmgr::util
