// tests/fuzz/fake_stop.hpp: the waits certmgr asked for in the fuzz build (fake_stop.cpp), in
// order, since the last clear_sleeps().
#pragma once

#include <chrono>
#include <vector>

namespace certmgr::fuzz {

[[nodiscard]] const std::vector<std::chrono::milliseconds>& sleeps();
void clear_sleeps();
/// What util::sleep_unless_stopped() does in the fuzz build.
void record_sleep(std::chrono::milliseconds duration);

} // namespace certmgr::fuzz
