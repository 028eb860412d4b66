// tests/unit/logcapture.hpp: captures certmgr's log records in a file for a test to read back.
#pragma once

#include "testutil.hpp"
#include <certmgr/log.hpp>

#include <filesystem>
#include <string>

namespace certmgr::test {

/// Sends every log record to a fresh file (and only errors to the console) while it lives.
class LogCapture {
public:
  explicit LogCapture(const std::filesystem::path& dir) : m_file(dir / "certmgr.log") {
    log::set_console({.threshold = log::Level::error});
    log::open_file(m_file, log::Level::debug);
  }
  ~LogCapture() { log::set_console({}); }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;
  [[nodiscard]] std::string text() const { return read_text(m_file); }
  [[nodiscard]] bool has(const std::string& needle) const {
    return text().find(needle) != std::string::npos;
  }
  [[nodiscard]] std::size_t count(const std::string& needle) const {
    const std::string all = text();
    std::size_t n = 0;
    for (std::size_t at = all.find(needle); at != std::string::npos; at = all.find(needle, at + 1))
      ++n;
    return n;
  }

private:
  std::filesystem::path m_file;
};

} // namespace certmgr::test
