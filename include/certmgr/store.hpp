// certmgr/store.hpp: the data tree. Owns the paths under data_dir, reading what is installed,
// the Transaction that switches all files of one certificate at once, archives of replaced
// files, alt-name symlinks and recovery after a crash. Never talks to the network and never
// parses certificates: it moves bytes.
//
// Layout (architecture.md, "The transaction"):
//   <data_dir>/<name>                 -> .generations/<name>/<N>   (relative symlink)
//   <data_dir>/.generations/<name>/<N>/params.pem, <kt>/cert.pem, <kt>/keys/key.pem, ...
//   <data_dir>/archives/<name>/<stamp>/<relative path of each replaced or removed file>
//   <data_dir>/<alt>                  -> <name>                    (relative symlink)
// A certificate's files are read and written by their path relative to <data_dir>/<name>
// ("params.pem", "rsa/cert.pem", "ecdsa/keys/key.pem"); those are built by certmgr, never from
// server data, and must be normalised relative paths without "..".
#pragma once

#include <certmgr/util/fs.hpp>
#include <certmgr/util/secret.hpp>

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <sys/types.h>
#include <variant>
#include <vector>

namespace certmgr::store {

struct Paths {
  std::filesystem::path data_dir{}; ///< absolute
};

/// Modes of the tree (behaviour §3.3, [B25]).
inline constexpr mode_t k_public_file_mode = 0644; ///< certificates, chains
inline constexpr mode_t k_key_file_mode = 0640;    ///< keys, key+cert, params
inline constexpr mode_t k_public_dir_mode = 0755;  ///< <gen>, <gen>/<kt>
inline constexpr mode_t k_key_dir_mode = 0750;     ///< <gen>/<kt>/keys
inline constexpr mode_t k_private_dir_mode = 0700; ///< account/, archives/

/// The content of one file of the installed generation of `name`, or nullopt when the
/// certificate or the file does not exist. Reads through <data_dir>/<name>, which may also be a
/// real directory left by the Python certmgr. Throws util::Error on read errors.
[[nodiscard]] std::optional<std::string> read(const Paths& paths, const std::string& name,
                                              const std::string& relative);

/// Makes the tree of `name` consistent after a crash, before anything else touches it:
/// removes half-built generations and temporary links, archives (or, with archive == false,
/// deletes) a superseded generation whose archiving was interrupted, and re-creates a missing
/// <data_dir>/<name> link from the newest complete generation. Returns one human-readable line
/// per repair (empty when the tree was clean). Throws util::Error when it cannot repair.
std::vector<std::string> recover(const Paths& paths, const std::string& name,
                                 std::chrono::system_clock::time_point now, bool archive);

/// All file changes of one certificate, switched at once by commit(). Until commit() nothing is
/// visible; a Transaction destroyed without commit() removes what it staged.
class Transaction {
public:
  Transaction(Paths paths, std::string name, util::Owner owner);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  /// The file at `relative` gets `content` and `mode` in the new generation.
  void write(const std::string& relative, std::string content, mode_t mode);
  /// Same for secret content (keys): created 0600, chown'ed, then chmod'ed to `mode`, before
  /// the first byte is written.
  void write(const std::string& relative, const util::Secret& content, mode_t mode);
  /// The file at `relative` (and, for a directory such as "rsa", everything below it) is absent
  /// from the new generation. Removing something that does not exist is not a change.
  void remove(const std::string& relative);

  /// True when no write() or remove() would change anything (a write of bytes and mode equal to
  /// the installed file is no change).
  [[nodiscard]] bool empty() const;

  /// Builds the new generation (unchanged files hard-linked from the installed one, new files
  /// written and fsync'ed, directories with the modes above), switches <data_dir>/<name> to it
  /// with one rename, fsyncs, then moves every replaced or removed file of the old generation to
  /// archives/<name>/<stamp>/<relative> (archive == true) or deletes it, and removes the old
  /// generation. <stamp> is local time "YYYY_MM_DD_HHMMSS" of `now`, with "_1", "_2"... appended
  /// when that directory exists. Returns the relative paths that changed, sorted. A transaction
  /// that is empty() does nothing and returns {}. Throws util::Error; then the installed
  /// generation is untouched.
  std::vector<std::string> commit(std::chrono::system_clock::time_point now, bool archive);

private:
  struct Staged {
    std::variant<std::string, util::Secret> content{};
    mode_t mode{0};
    bool removed{false};
  };
  Paths m_paths;
  std::string m_name;
  util::Owner m_owner;
  std::map<std::string, Staged> m_staged;
};

/// Keeps <data_dir>/<alt> -> <name> links as `wanted` (alt → name) says: creates missing links,
/// replaces links that point elsewhere inside the tree, removes links that point at one of
/// `certificate_names` but are no longer wanted. Never deletes a real file or directory: such a
/// conflict is reported. Returns one line per change or conflict ("created link a.test -> b.test",
/// "a.test is a directory, not replaced by a link to b.test").
std::vector<std::string> sync_links(const Paths& paths,
                                    const std::map<std::string, std::string>& wanted,
                                    const std::set<std::string>& certificate_names);

} // namespace certmgr::store
