// certmgr/util/secret.hpp: bytes that must never be logged (private keys, passphrases).
// Zeroed when destroyed; no fmt formatter, so log::info("{}", secret) does not compile.
// Only crypto and jose call reveal(), and the two writers of key files (util/fs.cpp and store).
#pragma once

#include <string.h>
#include <string>
#include <string_view>
#include <vector>

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

  [[nodiscard]] std::string_view reveal() const noexcept {
    return {m_bytes.data(), m_bytes.size()};
  }
  [[nodiscard]] bool empty() const noexcept { return m_bytes.empty(); }
  /// A new secret: these bytes followed by `suffix` (key+cert bundles), without revealing.
  [[nodiscard]] Secret with_suffix(std::string_view suffix) const {
    Secret out(*this);
    out.m_bytes.insert(out.m_bytes.end(), suffix.begin(), suffix.end());
    return out;
  }
  [[nodiscard]] bool operator==(const Secret& other) const noexcept = default;

private:
  std::vector<char> m_bytes;
};

} // namespace certmgr::util
