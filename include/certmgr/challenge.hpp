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

/// The record of the challenge files of the runs on one data directory
/// (`<data_dir>/.challenges`), so that the files of a run killed before it could remove them are
/// removed by the next one. One line per file: "<thumbprint> <token> <absolute directory>\n",
/// appended and fdatasync'ed before the file is created. A run holds a shared flock on it while
/// it lives; recover() and the destructor only act under an exclusive one, so a live run's
/// files are never touched (even with settings.lock_file off). Runs on other data directories
/// sharing a web root keep their own ledgers.
class Ledger {
public:
  /// Nothing is touched until recover() or note().
  explicit Ledger(std::filesystem::path path) : m_path(std::move(path)) {}
  Ledger(const Ledger&) = delete;
  Ledger& operator=(const Ledger&) = delete;
  /// When this run wrote to the ledger and no other live run holds it: removes what its lines
  /// name (this run's files are gone already; a run killed meanwhile left its own), then the
  /// ledger. Must outlive every Published of the run.
  ~Ledger();
  /// Removes what killed runs left: for each line, the file of that token when it is a regular
  /// file holding "<token>.<thumbprint>" or a beginning of it (anything else of that name is
  /// not ours and stays); then the ledger, unless a file could not be removed (the next run
  /// tries again). A missing ledger costs one open(2). Warns, never throws. Returns the number
  /// of files removed.
  std::size_t recover() noexcept;
  /// Records the file `dir`/`token` keyed to `thumbprint` before it is created. Refuses a token
  /// outside RFC 8555's alphabet. Throws util::Error naming the ledger.
  void note(const std::filesystem::path& dir, std::string_view token, std::string_view thumbprint);

private:
  /// A shared flock, waiting at most a minute for a run that settles the ledger.
  void lock_shared();
  std::filesystem::path m_path;
  util::Fd m_fd{}; ///< open with a shared flock once note() wrote
};

/// Creates `dir/token` holding `key_authorization` (no newline), mode 0644, creating `dir` (0755)
/// if missing; refuses a token outside RFC 8555 §8.3's alphabet and length, a challenge
/// directory that is itself a symlink, and existing files (O_CREAT|O_EXCL|O_NOFOLLOW relative to
/// the directory's fd, which is also used for the removal).
/// Throws util::Error naming the file.
[[nodiscard]] Published publish(const std::filesystem::path& dir, std::string_view token,
                                std::string_view key_authorization);

} // namespace certmgr::challenge
