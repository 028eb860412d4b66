// certmgr/actions.hpp: the subcommands, as orchestration of the modules below. Each action
// catches the failure of one certificate, reports it as one line "[<name>] <cause>" and goes on
// with the others; the returned value is the exit status of architecture.md (0 ok, 1 some
// certificate failed).
#pragma once

#include <certmgr/acme.hpp>
#include <certmgr/config.hpp>
#include <certmgr/util/secret.hpp>

#include <optional>
#include <string>
#include <vector>

namespace certmgr::actions {

/// Certificate selection of behaviour §1.4 ([B59]: arguments are lower-cased). Unknown or
/// ambiguous names are reported as errors and counted in `unknown`.
struct Selection {
  std::vector<const config::Certificate*> certificates{};
  int unknown{0};
};
[[nodiscard]] Selection select(const config::Config& config, const std::vector<std::string>& names);

/// The passphrases of a run besides those in the configuration: the run-time one (--pass-file,
/// CERTMGR_PASSPHRASE, a TTY prompt), obtained by cli before any action starts. It serves
/// settings that are `true`, and opens keys still encrypted under an old passphrase.
struct Secrets {
  std::optional<util::Secret> runtime{};
};

enum class Force { no, yes };

/// The steps of `update` (behaviour §1.2): `--certs`, `--params`, `--ocsp` and `--sct` select
/// some; none = all. They always run in this order.
struct Steps {
  bool certs{true};  ///< decide and issue certificates
  bool params{true}; ///< DH/EC parameters
  bool ocsp{true};   ///< OCSP responses (ocsp.der)
  bool sct{true};    ///< SCTs from the configured CT logs (scts/<log>.sct)
};

struct UpdateOptions {
  std::vector<std::string> names{}; ///< empty = every certificate
  Force force{Force::no};           ///< re-issue (certs step) and regenerate (params step) now
  Steps steps{};
  bool no_auth{false}; ///< only already-valid authorizations (a follower, behaviour §6.7)
  /// After the reloads, verify the certificates processed without failure (behaviour §8); a
  /// changed certificate that is not being served runs the `rollback` hook.
  bool verify{false};
};

/// `certmgr update`: issues or renews what is due, writes each certificate's files in one
/// transaction, maintains alt-name links. Prints one summary line per changed certificate
/// (log::notice) and nothing when nothing is due; contacts the CA only when an order is needed.
[[nodiscard]] int update(const config::Config& config, const UpdateOptions& options,
                         const Secrets& secrets);

/// `certmgr auth` (behaviour §6.7): for each selected certificate an order whose pending
/// authorizations are proven over http-01, never finalized, no file of the tree written. One
/// log::notice "[name] authorized a.test, www.a.test" per certificate that needed any.
[[nodiscard]] int auth(const config::Config& config, const std::vector<std::string>& names,
                       const Secrets& secrets);
/// `certmgr auth --csr`: the same for the names of a PEM CSR (`csr_pem`, read by cli from
/// stdin) with the global auth definition; reported as "[CSR]".
[[nodiscard]] int auth_csr(const config::Config& config, std::string_view csr_pem,
                           const Secrets& secrets);

enum class DryRun { no, yes };

struct RevokeOptions {
  std::vector<std::string> names{}; ///< non-empty (cli refuses none)
  acme::RevocationReason reason{acme::RevocationReason::unspecified};
  DryRun dry_run{DryRun::no};
};

/// `certmgr revoke` (behaviour §6.6 with [B48], [B49] fixed): revokes the installed
/// certificate of every key type of the named certificates (signed with the certificate key
/// for keyCompromise, RFC 8555 §7.6, else with the account), then moves each revoked key
/// type's files out of the live tree into the archive in one transaction, so that the next
/// `update` issues with new keys. No hooks, no reloads. Prints "[name] rsa: certificate
/// <serial> revoked (<reason>)" (or "already revoked", or with DryRun "would revoke").
/// Returns 0, or 1 when a revocation failed or a name is unknown.
[[nodiscard]] int revoke(const config::Config& config, const RevokeOptions& options,
                         const Secrets& secrets);

/// `certmgr account` (RFC 8555 §7.3): opens (registering when needed) the account of the
/// configured directory, pushes a changed account.email, with `rollover` replaces the account
/// key (§7.3.5); prints the account URL and contact. Returns 0, or 1 on failure.
[[nodiscard]] int account(const config::Config& config, bool rollover, const Secrets& secrets);

/// `certmgr verify` (behaviour §8, [B50] [B55]): connects to every verify target of the selected
/// certificates (direct TLS or STARTTLS, bounded timeouts) for each installed key type and
/// compares the served leaf and chain with the tree, and a stapled OCSP response with what is
/// expected. One log::error line per mismatch; silent when all match. Returns 0, or 1 when any
/// endpoint mismatches or a name is unknown.
[[nodiscard]] int verify(const config::Config& config, const std::vector<std::string>& names);

/// `certmgr check` (behaviour §3.6, [B25], [B26]): without network, repairs modes and owners of
/// the selected certificates' live files and directories (owner: file_user/file_group, else the
/// process's), then the alt-name links of all certificates, then account/ (0700) and its
/// client.key and registration.json (0600), owned by the process. One log::notice line per
/// repair ("[name] rsa/keys/key.pem: mode 0666 -> 0640", "[name] rsa/cert.pem: owner
/// 1000:1000 -> 0:107", "created link www.a.test -> a.test"); silent when all is right; a
/// certificate never issued is no error (debug). Returns 0, or 1 when something could not be
/// repaired (each such problem one log::error line) or a name is unknown.
[[nodiscard]] int check(const config::Config& config, const std::vector<std::string>& names);

struct CleanupOptions {
  std::vector<std::string> names{}; ///< empty = every certificate, plus archives of certificates
                                    ///< no longer configured (and archives/account)
  std::optional<int> days{};        ///< default settings.archive_days; <= 0 prunes nothing
  DryRun dry_run{DryRun::no};
};

/// `certmgr cleanup` (behaviour §4.3): removes archives/<name>/<stamp>/ directories older than
/// the cutoff (local now − days×24 h, truncated to 00:00:00 local time); names that are not a
/// stamp (YYYY_MM_DD_HHMMSS, optionally followed by _N) are left alone. One log::notice per
/// removed (or, with DryRun::yes, "would remove") archive: "[name] removed archive
/// 2026_01_02_030405". Returns 0, or 1 on a failure (log::error) or an unknown name.
[[nodiscard]] int cleanup(const config::Config& config, const CleanupOptions& options);

} // namespace certmgr::actions
