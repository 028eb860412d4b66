// tests/fuzz/fake_stop.cpp: util/stop for the fuzz build (replaces src/util/stop.cpp). No signal
// is ever recorded, and sleep_unless_stopped() does not sleep: it adds the duration to a
// counter the targets read (fake_stop.hpp), so a CA's Retry-After costs no fuzzing time and its
// waits can be checked against their bounds.
#include "fake_stop.hpp"

#include <certmgr/util/stop.hpp>

namespace certmgr::fuzz {
namespace {
std::vector<std::chrono::milliseconds>& recorded() {
  static std::vector<std::chrono::milliseconds> instance;
  return instance;
}
} // namespace

const std::vector<std::chrono::milliseconds>& sleeps() { return recorded(); }
void clear_sleeps() { recorded().clear(); }
void record_sleep(std::chrono::milliseconds duration) { recorded().push_back(duration); }

} // namespace certmgr::fuzz

namespace certmgr::util {

void install_stop_handlers() {}
int stop_signal() noexcept { return 0; }
void throw_if_stopped() {}
void sleep_unless_stopped(std::chrono::milliseconds duration) { fuzz::record_sleep(duration); }

} // namespace certmgr::util
