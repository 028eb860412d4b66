// tests/unit/testutil.hpp: helpers shared by unit tests.
#pragma once

#include <certmgr/util/error.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdlib.h>
#include <string>

namespace certmgr::test {

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
