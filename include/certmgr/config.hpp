// certmgr/config.hpp: loads and validates certmgr.json into an immutable Config. Every key is
// type-checked at load; a bad value, an unknown section or an unknown key is a util::Error of
// kind ErrorKind::config whose what() reads "<file>: <JSON pointer>: <problem, quoting the value>".
// Never writes anything. Only cli and actions see Config.
#pragma once

#include <certmgr/util/key_type.hpp>
#include <certmgr/util/secret.hpp>

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

namespace certmgr::config {

using util::KeyType;

/// Console/file thresholds of behaviour §2.4 (`info` is an alias of `verbose` [B1]).
enum class LogLevel { quiet, normal, verbose, debug };

/// http-01 with files (behaviour §2.10). Directory lookup: see challenge_dir().
struct HttpAuth {
  std::map<std::string, std::string> per_domain{}; ///< exact fqdn → directory, used verbatim
  std::string default_template{};                  ///< may contain {fqdn}; "" = none
  std::chrono::seconds delay{10};                  ///< longest wait between two polls
  int retry{30};                                   ///< polls per authorization before giving up
};

struct Auth {
  enum class Type { noop, http };
  Type type{Type::noop};
  HttpAuth http{};
};

/// The challenge directory for `fqdn` (behaviour §2.10): the exact per-domain entry, else the
/// default template with every "{fqdn}" replaced and "{{"/"}}" unescaped; nullopt when neither.
[[nodiscard]] std::optional<std::filesystem::path> challenge_dir(const HttpAuth& auth,
                                                                 std::string_view fqdn);

/// A passphrase setting (behaviour §9): `null`/`false` (keys in clear), a string (that
/// passphrase), or `true` (the run-time passphrase: --pass-file, CERTMGR_PASSPHRASE, or a TTY
/// prompt). The literal is a util::Secret: it is never logged or quoted in errors.
struct Passphrase {
  enum class Kind { none, literal, runtime };
  Kind kind{Kind::none};
  util::Secret literal{}; ///< only for Kind::literal; never empty then
  [[nodiscard]] bool operator==(const Passphrase&) const = default;
};

/// One hook command as configured (behaviour §7.2). config does not depend on hooks: actions
/// turns this into a hooks::Command.
struct HookCommand {
  std::vector<std::string> args{};            ///< non-empty; split words, each a checked template
  std::optional<std::filesystem::path> cwd{}; ///< absolute (relative ones anchored at <cfgdir>)
  std::optional<std::string> input{};         ///< a checked template; nullopt = no stdin
  std::chrono::seconds timeout{300};          ///< 1..86400; 300 as hooks::k_default_timeout
};

/// Hook name (one of util::hook_fields()) → its commands in configuration order. Templates
/// use only the fields that hook offers; a hook without commands has no entry.
using HookTable = std::map<std::string, std::vector<HookCommand>>;
/// Service name → shell command (nullopt = known, no command): util::builtin_services() with
/// the `services` section merged over it.
using ServiceTable = std::map<std::string, std::optional<std::string>>;

/// One shard of a CT log (behaviour §2.7 with [B31] fixed): used for certificates whose
/// notAfter lies in [start, end).
struct CtLogShard {
  std::string url{};            ///< http(s) base URL; add-chain is <url>/ct/v1/add-chain
  std::string log_id{};         ///< 32 raw bytes
  std::string public_key_der{}; ///< DER SubjectPublicKeyInfo
  std::chrono::system_clock::time_point start{};
  std::chrono::system_clock::time_point end{};
};
/// `ct_logs`: log name → its shards, in file order. No built-in logs: the ones of the Python
/// tool are retired, and public CAs embed SCTs (webpki-2026.md §6).
using CtLogTable = std::map<std::string, std::vector<CtLogShard>>;

/// One TLS endpoint of `verify` (behaviour §2.11, §8).
struct VerifyTarget {
  int port{443};
  std::vector<std::string> hosts{}; ///< names to connect to; empty = every alt name
  std::string starttls{};           ///< "" or smtp, imap, pop3, ftp, xmpp, sieve
  std::vector<KeyType> key_types{}; ///< empty = every key type of the certificate
};
struct Verify {
  std::vector<VerifyTarget> targets{};
  int ocsp_max_attempts{10};                ///< connections while a staple is expected
  std::chrono::seconds ocsp_retry_delay{5}; ///< between them
};

/// One configured certificate, with every inherited value resolved.
struct Certificate {
  std::string name{};                     ///< trimmed, lower-cased; a valid DNS name
  std::vector<std::string> alt_names{};   ///< lower-cased, deduplicated, name first
  std::vector<KeyType> key_types{};       ///< non-empty, no duplicates, in configured order
  int key_size{4096};                     ///< RSA bits (meaningful when rsa is in key_types)
  std::string key_curve{"secp384r1"};     ///< canonical curve (meaningful when ecdsa is)
  int dhparam_size{2048};                 ///< 0 = no DH params
  bool fast_dhparam{true};                ///< RFC 7919 groups instead of generating
  std::string ecparam_curve{"secp384r1"}; ///< "" = no EC params; canonical where possible
  bool ocsp_must_staple{false};
  Passphrase key_passphrase{}; ///< for keys/key.pem and keys/key+cert.pem
  /// OCSP responders for certificates without an AIA OCSP URL (default none [B36]).
  std::vector<std::string> ocsp_responder_urls{};
  std::vector<std::string> ct_submit_logs{}; ///< names of Config::ct_logs (default none [B33])
  Verify verify{};                           ///< own, else the settings one [B11]
  std::optional<uid_t> file_uid{};           ///< resolved file_user; nullopt = current uid
  std::optional<gid_t> file_gid{};           ///< resolved file_group; nullopt = current gid
  Auth auth{};
  /// Services to reload when this certificate changed, in configuration order, each a name of
  /// Config::services, no duplicates; a string is one name [B12]. Not inherited.
  std::vector<std::string> services{};
  /// Alt names that get a `<data_dir>/<alt> -> <name>` link: every alt name ≠ name that is not
  /// the name of any certificate and not an alt name of another certificate [B28].
  std::vector<std::string> link_names{};
};

struct Settings {
  std::filesystem::path data_dir{"/etc/certmgr"};                                ///< absolute
  std::optional<std::filesystem::path> log_file{"/var/log/certmgr/certmgr.log"}; ///< absolute
  LogLevel log_level{LogLevel::verbose};
  bool color_output{true};
  std::optional<std::filesystem::path> lock_file{"/run/lock/certmgr.lock"}; ///< absolute
  std::string acme_directory_url{"https://acme-v02.api.letsencrypt.org/directory"};
  std::optional<std::filesystem::path> ca_bundle{}; ///< absolute; nullopt = system store
  int renewal_days{30};
  int archive_days{30};
  std::chrono::seconds cert_poll_time{30};
  std::chrono::seconds http_timeout{60}; ///< bound of one ACME HTTP request, connect included
  std::chrono::seconds min_run_delay{300};
  std::chrono::seconds max_run_delay{3600};
  Auth auth{}; ///< the global auth definition (for `auth --csr`); certificates hold their own
};

struct Account {
  std::optional<std::string> email{};
  Passphrase passphrase{}; ///< for the account key
};

struct Config {
  std::filesystem::path file{}; ///< the resolved config file
  std::filesystem::path dir{};  ///< <cfgdir>: directory of the symlink-resolved file
  Account account{};
  Settings settings{};
  std::vector<Certificate> certificates{}; ///< non-empty, in configuration order
  HookTable hooks{};
  ServiceTable services{};
  CtLogTable ct_logs{};
};

/// Finds the file (behaviour §2.1): an absolute `value` is used as is; a relative one is looked
/// up in the current directory, /etc/certmgr/ and the directory of the running executable.
/// Throws a config error "config file not found" listing the places tried.
[[nodiscard]] std::filesystem::path locate(const std::string& value);

/// True when `config` uses the run-time passphrase (`true`) for the account key or for one of
/// `certificates` (all when empty).
[[nodiscard]] bool needs_runtime_passphrase(const Config& config,
                                            const std::vector<const Certificate*>& certificates);

/// Reads and validates the file at `path` (already located).
[[nodiscard]] Config load(const std::filesystem::path& path);

/// Validates JSON `text` as if read from `file`, whose directory anchors relative paths.
/// Used by load() and by unit tests.
[[nodiscard]] Config parse(std::string_view text, const std::filesystem::path& file);

} // namespace certmgr::config
