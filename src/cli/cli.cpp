#include "lock.hpp"
#include <certmgr/actions.hpp>
#include <certmgr/cli.hpp>
#include <certmgr/config.hpp>
#include <certmgr/http.hpp>
#include <certmgr/log.hpp>
#include <certmgr/util/error.hpp>
#include <certmgr/util/passphrase.hpp>
#include <certmgr/util/stop.hpp>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <random>
#include <thread>
#include <unistd.h>

namespace certmgr::cli {
namespace {
/// The random delay of -w never exceeds a day (behaviour §10.5).
constexpr std::chrono::seconds k_max_random_wait = std::chrono::hours{24};

struct Options {
  std::string config{"certmgr.json"};
  bool quiet{false};
  bool verbose{false};
  bool debug{false};
  bool no_color{false};
  bool random_wait{false};
  bool update_force{false};
  bool update_certs{false};
  bool update_params{false};
  bool update_no_auth{false};
  bool update_ocsp{false};
  bool update_sct{false};
  bool update_verify{false};
  bool auth_csr{false};
  std::string revoke_reason{"unspecified"};
  bool revoke_dry_run{false};
  bool account_rollover{false};
  std::optional<std::filesystem::path> pass_file{};
  std::optional<int> cleanup_days{};
  bool cleanup_dry_run{false};
  std::vector<std::string> names{};
  std::string subcommand{"update"};
};

void define(CLI::App& app, Options& o) {
  app.set_version_flag("--version", "certmgr " CERTMGR_VERSION, "Print the version and exit");
  app.add_option("-c,--config", o.config,
                 "Configuration file (default certmgr.json, looked up in ./, /etc/certmgr/ and "
                 "the program's directory)");
  app.add_flag("-q,--quiet", o.quiet, "Print only warnings and errors");
  app.add_flag("-v,--verbose,--info", o.verbose, "Print progress and step details");
  app.add_flag("-d,--debug", o.debug, "Print everything, including debug details");
  app.add_flag("--no-color", o.no_color, "Never colour the output");
  app.add_flag("-w,--randomwait", o.random_wait,
               "Sleep a random time (min_run_delay..max_run_delay) first, and wait for a busy "
               "lock instead of failing");
  app.add_option("--pass-file", o.pass_file,
                 "Read the passphrase for settings that are true (and the old one when a "
                 "passphrase changes) from the first line of FILE")
      ->check(CLI::ExistingFile)
      ->option_text("FILE");
  app.require_subcommand(0, 1);
  CLI::App* update = app.add_subcommand(
      "update", "Issue and renew certificates that are due (the default subcommand)");
  update->add_flag("--force", o.update_force,
                   "Renew every selected certificate now, with new keys (and new parameters)");
  update->add_flag("--certs", o.update_certs,
                   "Run the certificate step (with --params, --ocsp or --sct: only the steps "
                   "given, in the order certs, params, ocsp, sct; default all)");
  update->add_flag("--params", o.update_params, "Run the DH/EC parameter step");
  update->add_flag("--ocsp", o.update_ocsp, "Run the OCSP response step");
  update->add_flag("--sct", o.update_sct, "Run the SCT step (ct_submit_logs)");
  update->add_flag("--verify", o.update_verify,
                   "After the reloads, check that the servers of the verify targets serve the "
                   "installed certificates");
  update->add_flag("--no-auth", o.update_no_auth,
                   "Use only authorizations that are valid already (a follower: the master runs "
                   "certmgr auth); a pending one fails the certificate");
  update->add_option("names", o.names,
                     "Certificates to process, by name or alt name (default: all)");
  CLI::App* auth = app.add_subcommand(
      "auth", "Prove control of the certificates' names (http-01) without issuing");
  CLI::Option* csr =
      auth->add_flag("--csr", o.auth_csr,
                     "Authorize the names of one PEM certificate request read from standard "
                     "input (with the global auth settings)");
  auth->add_option("names", o.names, "Certificates whose names to authorize (default: all)")
      ->excludes(csr);
  CLI::App* revoke = app.add_subcommand(
      "revoke", "Revoke the installed certificates and move them out of the tree");
  std::vector<std::string> reasons;
  for (const auto& r : acme::revocation_reasons()) reasons.emplace_back(r.name);
  revoke
      ->add_option("--reason", o.revoke_reason, "RFC 5280 revocation reason (default unspecified)")
      ->check(CLI::IsMember(reasons));
  revoke->add_flag("--dry-run", o.revoke_dry_run, "Only show what would be revoked");
  revoke->add_option("names", o.names, "Certificates to revoke (required)")->required();
  CLI::App* account = app.add_subcommand(
      "account", "Register or show the ACME account, push account.email changes");
  account->add_flag("--rollover", o.account_rollover, "Replace the account key (RFC 8555 7.3.5)");
  CLI::App* verify = app.add_subcommand(
      "verify",
      "Check that the TLS servers of the verify targets serve the installed certificates");
  verify->add_option("names", o.names, "Certificates to verify (default: all)");
  CLI::App* check = app.add_subcommand(
      "check", "Repair modes, owners and alt-name links of the tree, without network");
  check->add_option("names", o.names, "Certificates to check (default: all)");
  CLI::App* cleanup =
      app.add_subcommand("cleanup", "Remove archives older than --days (default archive_days)");
  cleanup->add_option("--days", o.cleanup_days, "Age in days of the archives to remove")
      ->check(CLI::Range(0, 36500));
  cleanup->add_flag("--dry-run", o.cleanup_dry_run, "Only list what would be removed");
  cleanup->add_option("names", o.names,
                      "Certificates whose archives to prune (default: all, and archives of "
                      "certificates no longer configured)");
  for (CLI::App* sub : {update, auth, revoke, account, verify, check, cleanup})
    sub->callback([&o, sub] { o.subcommand = sub->get_name(); });
}

acme::RevocationReason reason_of(const std::string& name) {
  for (const auto& r : acme::revocation_reasons())
    if (r.name == name) return r.reason;
  return acme::RevocationReason::unspecified; // unreachable: CLI::IsMember checked the name
}

/// All of standard input (a PEM CSR), at most 1 MiB.
std::string read_stdin() {
  constexpr std::size_t k_max_csr_bytes = 1 << 20;
  std::string text;
  char buffer[4096];
  std::size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof buffer, stdin)) > 0) {
    text.append(buffer, n);
    if (text.size() > k_max_csr_bytes)
      throw util::Error("auth --csr: standard input is larger than 1 MiB", util::ErrorKind::config);
  }
  return text;
}

int dispatch(const Options& o, const config::Config& config, const actions::Secrets& secrets) {
  if (o.subcommand == "check") return actions::check(config, o.names);
  if (o.subcommand == "verify") return actions::verify(config, o.names);
  if (o.subcommand == "auth")
    return o.auth_csr ? actions::auth_csr(config, read_stdin(), secrets)
                      : actions::auth(config, o.names, secrets);
  if (o.subcommand == "revoke")
    return actions::revoke(
        config,
        {.names = o.names,
         .reason = reason_of(o.revoke_reason),
         .dry_run = o.revoke_dry_run ? actions::DryRun::yes : actions::DryRun::no},
        secrets);
  if (o.subcommand == "account") return actions::account(config, o.account_rollover, secrets);
  if (o.subcommand == "cleanup")
    return actions::cleanup(
        config, {.names = o.names,
                 .days = o.cleanup_days,
                 .dry_run = o.cleanup_dry_run ? actions::DryRun::yes : actions::DryRun::no});
  const bool all_steps = !o.update_certs && !o.update_params && !o.update_ocsp && !o.update_sct;
  return actions::update(config,
                         {.names = o.names,
                          .force = o.update_force ? actions::Force::yes : actions::Force::no,
                          .steps = {.certs = all_steps || o.update_certs,
                                    .params = all_steps || o.update_params,
                                    .ocsp = all_steps || o.update_ocsp,
                                    .sct = all_steps || o.update_sct},
                          .no_auth = o.update_no_auth,
                          .verify = o.update_verify},
                         secrets);
}

log::Level console_level(const Options& o) {
  if (o.quiet) return log::Level::warning; // --quiet wins over --debug over --verbose (§1.1)
  if (o.debug) return log::Level::debug;
  if (o.verbose) return log::Level::info;
  return log::Level::notice;
}

log::Level file_level(config::LogLevel level) {
  switch (level) {
  case config::LogLevel::quiet:
    return log::Level::warning;
  case config::LogLevel::normal:
    return log::Level::progress;
  case config::LogLevel::verbose:
    return log::Level::info;
  case config::LogLevel::debug:
    return log::Level::debug;
  }
  return log::Level::info;
}

void random_wait(const config::Settings& s) {
  const auto low = std::min(s.min_run_delay, s.max_run_delay);
  const auto high = std::min(std::max(s.min_run_delay, s.max_run_delay), k_max_random_wait);
  std::mt19937 random(std::random_device{}());
  const std::chrono::seconds delay(
      std::uniform_int_distribution<long long>(low.count(), high.count())(random));
  log::debug("waiting {} s before starting", delay.count());
  util::sleep_unless_stopped(delay);
}

/// The run-time passphrase (behaviour §9, [B44]): read when a setting is true for what this
/// subcommand opens, or when a source is given anyway (the old passphrase of a changed one);
/// a true setting without any source stops the run before anything is written.
actions::Secrets obtain_secrets(const Options& o, const config::Config& config) {
  constexpr auto runtime = config::Passphrase::Kind::runtime;
  const bool network = o.subcommand == "update" || o.subcommand == "auth" ||
                       o.subcommand == "account" || (o.subcommand == "revoke" && !o.revoke_dry_run);
  const bool certificate_keys =
      o.subcommand == "update" || (o.subcommand == "auth" && !o.auth_csr) ||
      (o.subcommand == "revoke" && !o.revoke_dry_run && o.revoke_reason == "keyCompromise");
  std::string needed; // the first setting that asks for the run-time passphrase
  if (network && config.account.passphrase.kind == runtime) needed = "account.passphrase";
  for (const config::Certificate& c : config.certificates) {
    if (needed.empty() && certificate_keys && c.key_passphrase.kind == runtime)
      needed = fmt::format("key_passphrase of {}", c.name);
  }
  actions::Secrets secrets;
  if (!needed.empty() || o.pass_file || std::getenv("CERTMGR_PASSPHRASE") != nullptr)
    secrets.runtime = util::runtime_passphrase(o.pass_file);
  util::forget_passphrase_environment();
  if (!needed.empty() && !secrets.runtime)
    throw util::Error(fmt::format("{}: {} is true, but no passphrase was given (use --pass-file "
                                  "FILE or CERTMGR_PASSPHRASE, or run on a terminal)",
                                  config.file.string(), needed),
                      util::ErrorKind::config);
  const bool configured =
      config.account.passphrase.kind != config::Passphrase::Kind::none ||
      std::ranges::any_of(config.certificates, [](const config::Certificate& c) {
        return c.key_passphrase.kind != config::Passphrase::Kind::none;
      });
  if (configured || secrets.runtime) util::protect_secrets_in_memory();
  return secrets;
}

int execute(const Options& o) {
  const bool tty = ::isatty(STDOUT_FILENO) == 1 && ::isatty(STDERR_FILENO) == 1;
  log::set_console({.threshold = console_level(o), .color = tty && !o.no_color});
  const config::Config config = config::load(config::locate(o.config));
  log::set_console(
      {.threshold = console_level(o), .color = tty && !o.no_color && config.settings.color_output});
  if (config.settings.log_file) {
    try {
      log::open_file(*config.settings.log_file, file_level(config.settings.log_level));
    } catch (const util::Error& e) { // [B17]: no log file is no reason to let certificates expire
      log::warning("{} (logging to the console only)", e.what());
    }
  }
  log::info("----- certmgr {} started", CERTMGR_VERSION);
  const actions::Secrets secrets = obtain_secrets(o, config);
  if (o.random_wait) random_wait(config.settings);
  util::Fd lock;
  if (config.settings.lock_file)
    lock = take_lock(*config.settings.lock_file, o.random_wait ? LockWait::yes : LockWait::no);
  return dispatch(o, config, secrets);
}

int exit_status(util::ErrorKind kind) {
  switch (kind) {
  case util::ErrorKind::config:
    return k_exit_usage;
  case util::ErrorKind::lock:
    return k_exit_locked;
  case util::ErrorKind::general:
    return k_exit_failed;
  }
  return k_exit_failed;
}
} // namespace

int run(int argc, char** argv) noexcept {
  try {
    CLI::App app{"certmgr keeps TLS certificates alive with ACME (RFC 8555)", "certmgr"};
    Options options;
    define(app, options);
    try {
      app.parse(argc, argv);
    } catch (const CLI::Success& e) {
      return app.exit(e);
    } catch (const CLI::ParseError& e) {
      fmt::print(stderr, "certmgr: {} (see certmgr --help)\n", e.what());
      return k_exit_usage;
    }
    http::global_init();
    util::install_stop_handlers();
    return execute(options);
  } catch (const util::Error& e) {
    log::error("{}", e.what());
    return exit_status(e.kind());
  } catch (const std::exception& e) {
    log::error("certmgr: {}", e.what());
  } catch (...) {
    log::error("certmgr: unexpected failure");
  }
  return k_exit_failed;
}

} // namespace certmgr::cli
