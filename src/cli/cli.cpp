#include "lock.hpp"
#include <certmgr/actions.hpp>
#include <certmgr/cli.hpp>
#include <certmgr/config.hpp>
#include <certmgr/http.hpp>
#include <certmgr/log.hpp>
#include <certmgr/util/error.hpp>
#include <certmgr/util/stop.hpp>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

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
  app.require_subcommand(0, 1);
  CLI::App* update = app.add_subcommand(
      "update", "Issue and renew certificates that are due (the default subcommand)");
  update->add_flag("--force", o.update_force,
                   "Renew every selected certificate now, with new keys (and new parameters)");
  update->add_flag("--certs", o.update_certs,
                   "Run the certificate step (with --params: only the steps given; default all)");
  update->add_flag("--params", o.update_params, "Run the DH/EC parameter step");
  update->add_option("names", o.names,
                     "Certificates to process, by name or alt name (default: all)");
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
  for (CLI::App* sub : {update, check, cleanup})
    sub->callback([&o, sub] { o.subcommand = sub->get_name(); });
}

int dispatch(const Options& o, const config::Config& config) {
  if (o.subcommand == "check") return actions::check(config, o.names);
  if (o.subcommand == "cleanup")
    return actions::cleanup(
        config, {.names = o.names,
                 .days = o.cleanup_days,
                 .dry_run = o.cleanup_dry_run ? actions::DryRun::yes : actions::DryRun::no});
  const bool all_steps = !o.update_certs && !o.update_params;
  return actions::update(
      config,
      {.names = o.names,
       .force = o.update_force ? actions::Force::yes : actions::Force::no,
       .steps = {.certs = all_steps || o.update_certs, .params = all_steps || o.update_params}});
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
  if (o.random_wait) random_wait(config.settings);
  util::Fd lock;
  if (config.settings.lock_file)
    lock = take_lock(*config.settings.lock_file, o.random_wait ? LockWait::yes : LockWait::no);
  return dispatch(o, config);
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
