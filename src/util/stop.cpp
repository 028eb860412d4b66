#include <certmgr/util/error.hpp>
#include <certmgr/util/stop.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <csignal>
#include <cstring>
#include <thread>

namespace certmgr::util {
namespace {
volatile std::sig_atomic_t g_stop_signal = 0;

/// How often a sleeping wait looks at the flag: short enough that systemd's stop timeout is
/// never reached, long enough to cost nothing.
constexpr std::chrono::milliseconds k_stop_check{100};

extern "C" void record_stop(int signal) { g_stop_signal = signal; }
} // namespace

void install_stop_handlers() {
  struct sigaction action {};
  action.sa_handler = record_stop;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0; // no SA_RESTART: a blocking call returns EINTR and its loop sees the flag
  for (const int signal : {SIGTERM, SIGINT, SIGHUP}) ::sigaction(signal, &action, nullptr);
}

int stop_signal() noexcept { return g_stop_signal; }

void throw_if_stopped() {
  const int signal = stop_signal();
  if (signal == 0) return;
  const char* name = sigabbrev_np(signal);
  throw Error(fmt::format("interrupted by SIG{}", name != nullptr ? name : "?"));
}

void sleep_unless_stopped(std::chrono::milliseconds duration) {
  const auto end = std::chrono::steady_clock::now() + duration;
  for (;;) {
    throw_if_stopped();
    const auto left =
        std::chrono::ceil<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
    if (left.count() <= 0) return;
    std::this_thread::sleep_for(std::min(left, k_stop_check));
  }
}

} // namespace certmgr::util
