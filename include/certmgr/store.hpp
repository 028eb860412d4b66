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

/// Mode of account/client.key and account/registration.json (behaviour §3.1).
inline constexpr mode_t k_private_file_mode = 0600;

/// Behaviour §4.3: the local time `days`×24 h before `now`, truncated to 00:00:00 local time;
/// archives stamped before it are pruned. nullopt when days <= 0 (nothing is ever pruned).
/// Throws util::Error when the local time cannot be computed.
[[nodiscard]] std::optional<std::chrono::system_clock::time_point>
archive_cutoff(std::chrono::system_clock::time_point now, int days);

enum class Prune { remove, list_only };
/// The archives/<name>/<stamp> directories whose stamp ("YYYY_MM_DD_HHMMSS", optionally "_<n>",
/// read as local time) is before `cutoff`, oldest first, removed with everything in them
/// (Prune::remove) or only listed (Prune::list_only). Other entries are never touched. `name` is
/// a certificate name or "account". A missing archives/<name> lists nothing. Throws util::Error
/// naming the directory that could not be listed or removed (the older ones are gone by then).
std::vector<std::string> prune_archives(const Paths& paths, const std::string& name,
                                        std::chrono::system_clock::time_point cutoff, Prune mode);

/// Names of the directories under archives/ (certificates, also ones no longer configured, and
/// "account"), sorted; none when archives/ does not exist. Throws util::Error.
[[nodiscard]] std::vector<std::string> archived_names(const Paths& paths);

/// What a repair_*() call did. Lines read "<path>: mode 0666 -> 0640", "<path>: owner
/// 1000:1000 -> 0:107", or for failures "<path>: cannot chmod: <strerror>".
struct RepairReport {
  bool found{false};                   ///< false: nothing installed there, nothing examined
  std::vector<std::string> repaired{}; ///< one line per mode or owner changed
  std::vector<std::string> failed{};   ///< one line per entry that could not be examined or fixed
};

/// Repairs modes and owners of the installed generation of `name` (or of the legacy directory
/// of the Python certmgr), reached through <data_dir>/<name>: files below a keys/ directory and
/// params.pem get k_key_file_mode, other files k_public_file_mode; keys/ directories
/// k_key_dir_mode, the generation and other directories k_public_dir_mode ([B25], [B26]); every
/// file and directory gets `owner` (unset ids: the process's; chown only where they differ).
/// Paths in the lines are relative to <data_dir>/<name>, "." being the generation itself. Never
/// follows a symlink, never touches anything but directories and regular files of the
/// generation, and goes on after a failure. found == false when <data_dir>/<name> does not
/// exist or is not a generation (a link left from an alt name). Throws util::Error only when
/// <data_dir>/<name> cannot be examined.
RepairReport repair_modes(const Paths& paths, const std::string& name, const util::Owner& owner);

/// Repairs account/ and each account/<label>/ directory below it (k_private_dir_mode) and in
/// each their client.key, client.key.next and registration.json (k_private_file_mode), all
/// owned by the process's uid and gid; nothing else in account/ is touched, missing files are
/// fine. Paths in the lines are relative to data_dir ("account", "account/<label>/client.key").
/// found == false when account/ does not exist. Same rules otherwise as repair_modes().
RepairReport repair_account(const Paths& paths);

} // namespace certmgr::store
