// tests/unit/testutil.hpp: helpers shared by unit tests.
#pragma once

#include <certmgr/util/error.hpp>
#include <certmgr/util/handle.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdlib.h>
#include <string>

namespace certmgr::test {

/// Standard output of `command` run through /bin/sh ("" when it cannot start).
inline std::string run_command(const std::string& command) {
  const std::unique_ptr<FILE, util::FreeWith<pclose>> pipe(popen(command.c_str(), "r"));
  if (!pipe) return {};
  std::string out;
  char buffer[4096];
  for (std::size_t n; (n = fread(buffer, 1, sizeof buffer, pipe.get())) > 0;) out.append(buffer, n);
  return out;
}

/// The what() of the util::Error that `call` throws, or "(no error)".
inline std::string error_of(auto&& call) {
  try {
    call();
  } catch (const util::Error& e) {
    return e.what();
  }
  return "(no error)";
}

/// A fresh directory under $TMPDIR (or /tmp), removed with everything in it when destroyed.
class TempDir {
public:
  TempDir() {
    const char* base = getenv("TMPDIR");
    std::string pattern = std::string(base != nullptr ? base : "/tmp") + "/certmgr-unit-XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    m_path = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(m_path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  [[nodiscard]] const std::filesystem::path& path() const { return m_path; }

private:
  std::filesystem::path m_path;
};

inline void write_text(const std::filesystem::path& path, const std::string& text) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

inline std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

} // namespace certmgr::test
