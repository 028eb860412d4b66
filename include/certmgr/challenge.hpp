// certmgr/challenge.hpp: owns the HTTP-01 files named after ACME tokens in challenge
// directories. Never builds a path from an unchecked token; never leaves a file behind.
#pragma once

#include <certmgr/util/fs.hpp>

#include <filesystem>
#include <string>
#include <string_view>

namespace certmgr::challenge {

/// A published challenge file; removes it when destroyed (or at remove()). Move-only.
class Published {
public:
  /// Takes ownership of `dir_fd`, the open challenge directory the file was created in.
  Published(std::filesystem::path dir, util::Fd dir_fd, std::string token);
  Published(Published&& other) noexcept;
  Published& operator=(Published&&) = delete;
  Published(const Published&) = delete;
  Published& operator=(const Published&) = delete;
  ~Published();
  /// Deletes the file now; a file already gone is fine. Warns (never throws) on failure.
  void remove() noexcept;
  [[nodiscard]] std::filesystem::path path() const { return m_dir / m_token; }

private:
  std::filesystem::path m_dir;
  util::Fd m_dir_fd; ///< removal goes through the directory the file was made in, not the path
  std::string m_token;
  bool m_active{true};
};

/// Creates `dir/token` holding `key_authorization` (no newline), mode 0644, creating `dir` (0755)
/// if missing; refuses a token outside RFC 8555 §8.3's alphabet and length, a challenge
/// directory that is itself a symlink, and existing files (O_CREAT|O_EXCL|O_NOFOLLOW relative to
/// the directory's fd, which is also used for the removal).
/// Throws util::Error naming the file.
[[nodiscard]] Published publish(const std::filesystem::path& dir, std::string_view token,
                                std::string_view key_authorization);

} // namespace certmgr::challenge
