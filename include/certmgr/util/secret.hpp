// certmgr/util/secret.hpp: bytes that must never be logged (private keys, passphrases).
// Zeroed when destroyed; no fmt formatter, so log::info("{}", secret) does not compile.
// Only crypto and jose call reveal().
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <string.h>

namespace certmgr::util {

class Secret {
public:
  Secret() = default;
  explicit Secret(std::string_view v) : m_bytes(v.begin(), v.end()) {}
  Secret(const Secret&) = default;
  Secret& operator=(const Secret&) = default;
  Secret(Secret&&) noexcept = default;
  Secret& operator=(Secret&&) noexcept = default;
  ~Secret() {
    if (!m_bytes.empty()) explicit_bzero(m_bytes.data(), m_bytes.size());
  }

  [[nodiscard]] std::string_view reveal() const noexcept { return {m_bytes.data(), m_bytes.size()}; }
  [[nodiscard]] bool empty() const noexcept { return m_bytes.empty(); }
  [[nodiscard]] bool operator==(const Secret& other) const noexcept = default;

private:
  std::vector<char> m_bytes;
};

} // namespace certmgr::util
