// tests/fuzz/fuzz_common.hpp: what every fuzz target shares: the oracle check (a failed check
// aborts, which libFuzzer records as a crash with the input), the one-line rule for errors, and
// the fixture files (test certificates and keys made by make_fixtures.py; public parts only).
#pragma once

#include <certmgr/crypto.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>

namespace certmgr::fuzz {

/// Aborts with `what` and `detail` on stderr unless `condition` holds.
inline void require(bool condition, std::string_view what, std::string_view detail = {}) {
  if (condition) return;
  std::fprintf(stderr, "\n==certmgr fuzz oracle failed: %.*s\n", static_cast<int>(what.size()),
               what.data());
  if (!detail.empty())
    std::fprintf(stderr, "  detail (%zu bytes): %.*s\n", detail.size(),
                 static_cast<int>(std::min<std::size_t>(detail.size(), 2000)), detail.data());
  std::abort();
}

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

/// An error message certmgr shows the user is one line of bounded length (issue 7: "a one-line
/// error"; server text only through log::printable()).
inline void require_one_line(std::string_view message) {
  require(message.find_first_of("\r\n") == std::string_view::npos, "error message is not one line",
          message);
  require(message.size() <= 8192, "error message longer than 8 KiB", message);
}

/// Contents of a file in tests/fuzz/fixtures/; aborts when it is missing.
inline std::string fixture(const char* name) {
  const std::string path = std::string(CERTMGR_FUZZ_FIXTURES) + "/" + name;
  std::ifstream in(path, std::ios::binary);
  require(static_cast<bool>(in), "missing fixture file", path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// The fixture leaf (fixtures/leaf.pem), its issuer (fixtures/issuer.pem) and the fixed time
/// they are checked at (fixtures/now.txt, inside the leaf's validity).
struct LeafFixture {
  crypto::Certificate leaf;
  crypto::Certificate issuer;
  std::chrono::system_clock::time_point now;
};

inline LeafFixture leaf_fixture() {
  return {.leaf = crypto::parse_chain(fixture("leaf.pem"), "leaf.pem").front(),
          .issuer = crypto::parse_chain(fixture("issuer.pem"), "issuer.pem").front(),
          .now = std::chrono::system_clock::time_point(
              std::chrono::seconds(std::stoll(fixture("now.txt"))))};
}

} // namespace certmgr::fuzz
