#include "account.hpp"
#include "backoff.hpp"
#include "events.hpp"
#include "extras.hpp"
#include "issue.hpp"
#include "keys.hpp"
#include "layout.hpp"
#include "links.hpp"
#include "plan.hpp"
#include "verify_run.hpp"
#include <certmgr/actions.hpp>
#include <certmgr/hooks.hpp>
#include <certmgr/log.hpp>
#include <certmgr/services.hpp>
#include <certmgr/store.hpp>
#include <certmgr/util/error.hpp>
#include <certmgr/util/fs.hpp>
#include <certmgr/util/stop.hpp>
#include <certmgr/util/time.hpp>

#include <fmt/format.h>
#include <rapidjson/document.h>

#include <algorithm>
#include <set>
#include <sys/stat.h>

namespace certmgr::actions {
namespace {
using util::KeyType;

/// Reloaded servers need a moment before they serve the new files (behaviour §5.8 waits 5 s).
constexpr std::chrono::seconds k_settle_after_reload{5};

/// The issuance attempts of one certificate in this run, for its back-off state.
struct Attempts {
  std::optional<std::string> blocked{}; ///< set when the back-off forbids a new order now
  bool probing{false}; ///< failed before: stop at the first failed order of this run
  int issued{0};
  int failed{0}; ///< failures that count (not --no-auth's pending authorizations)
  std::optional<util::Clock::time_point> ca_not_before{};
};

struct Run {
  const config::Config& config;
  store::Paths paths;
  util::Clock::time_point now;
  const Secrets& secrets;
  Account account;
  Force force;
  Steps steps;
  bool no_auth{false};
  hooks::Spec hooks{};
  challenge::Ledger& ledger;
  std::vector<std::string> changed{}; ///< certificates whose files changed, in processing order
  std::vector<const config::Certificate*> done{}; ///< processed without failure
  Attempts attempts{};                            ///< orders of the certificate being processed
};

/// One key type of one certificate: what is installed, what was decided, what was issued.
struct KeyWork {
  KeyType kt{};
  KeyState installed{};
  util::Secret key_pem{}; ///< installed keys/key.pem, re-encoded when the passphrase changed
  std::vector<crypto::Certificate> chain{};
  Decision decision{};
  std::optional<Issued> issued{};
  std::optional<Extras> extras{}; ///< set when the OCSP or SCT step ran for this key type
};

std::optional<std::string> read(const Run& run, const config::Certificate& cert,
                                const std::string& relative) {
  return store::read(run.paths, cert.name, relative);
}

/// Key types whose must-staple request the CA ignored ([B58]-style loop guard, webpki §1).
std::set<std::string> read_dropped(const Run& run, const config::Certificate& cert) {
  std::set<std::string> out;
  const auto text = read(run, cert, layout::k_state);
  if (!text) return out;
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseIterativeFlag>(text->data(), text->size());
  if (doc.HasParseError() || !doc.IsObject()) return out;
  const auto it = doc.FindMember("must_staple_dropped");
  if (it == doc.MemberEnd() || !it->value.IsArray()) return out;
  for (const auto& v : it->value.GetArray())
    if (v.IsString()) out.insert(v.GetString());
  return out;
}

std::optional<util::Secret> passphrase_of(const Run& run, const config::Certificate& cert) {
  return wanted_passphrase(cert.key_passphrase, run.secrets, "key_passphrase");
}

KeyWork load(const Run& run, const config::Certificate& cert, KeyType kt,
             const std::set<std::string>& dropped) {
  KeyWork work{.kt = kt};
  const auto cert_text = read(run, cert, layout::cert_path(kt));
  const auto key_text = read(run, cert, layout::key_path(kt));
  if (!cert_text || !key_text) return work;
  const std::string source = (run.paths.data_dir / cert.name / layout::cert_path(kt)).string();
  auto certs = crypto::scan_certificates(*cert_text, source);
  if (certs.empty()) return work;
  const auto passphrase = passphrase_of(run, cert);
  ReadKey read =
      read_key(*key_text, (run.paths.data_dir / cert.name / layout::key_path(kt)).string(),
               passphrase, run.secrets);
  const crypto::Key& key = read.key;
  work.installed = {.leaf = certs.front(),
                    .key_spec = key.spec(),
                    .key_public_der = key.public_der(),
                    .must_staple_dropped = dropped.contains(std::string(util::key_type_name(kt)))};
  work.key_pem = read.rewrite ? write_key(key, passphrase) : util::Secret(*key_text);
  work.chain.assign(certs.begin() + 1, certs.end());
  return work;
}

crypto::KeySpec key_spec(const config::Certificate& cert, KeyType kt) {
  return {.type = kt, .rsa_bits = cert.key_size, .curve = cert.key_curve};
}

/// What is installed for `kt`; with --force an unreadable installed key is no obstacle, since
/// it is replaced anyway.
KeyWork load_for_plan(const Run& run, const config::Certificate& cert, KeyType kt,
                      const std::set<std::string>& dropped) {
  if (run.force == Force::no || !run.steps.certs) return load(run, cert, kt, dropped);
  try {
    return load(run, cert, kt, dropped);
  } catch (const std::exception& e) {
    log::info("[{}] {}: ignoring the installed files: {}", cert.name, util::key_type_name(kt),
              e.what());
  }
  return KeyWork{.kt = kt};
}

Decision decide_for(const Run& run, const config::Certificate& cert, const KeyWork& work) {
  if (!run.steps.certs) return {false, "certificate step not selected"};
  if (run.force == Force::yes) return {true, "forced renewal"};
  const Wanted wanted{.key = key_spec(cert, work.kt),
                      .name = cert.name,
                      .names = cert.alt_names,
                      .must_staple = cert.ocsp_must_staple,
                      .renewal_days = run.config.settings.renewal_days};
  return decide(work.installed, wanted, run.now);
}

std::vector<KeyWork> plan(const Run& run, const config::Certificate& cert) {
  const auto dropped = read_dropped(run, cert);
  std::vector<KeyWork> works;
  for (const KeyType kt : cert.key_types) {
    KeyWork work = load_for_plan(run, cert, kt, dropped);
    work.decision = decide_for(run, cert, work);
    if (work.decision.issue) {
      log::info("[{}] {}: {}", cert.name, util::key_type_name(kt), work.decision.reason);
    } else {
      log::debug("[{}] {}: {}", cert.name, util::key_type_name(kt), work.decision.reason);
    }
    works.push_back(std::move(work));
  }
  return works;
}

/// One order, counted for the back-off; refused while the certificate backs off.
Issued issue_key_type(Run& run, const config::Certificate& cert, KeyType kt) {
  Attempts& attempts = run.attempts;
  if (attempts.blocked) throw util::Error(*attempts.blocked);
  const int sent_before = run.account.requests_sent();
  try {
    Issued issued = issue(run.account, {.certificate = &cert,
                                        .key = key_spec(cert, kt),
                                        .cert_poll_time = run.config.settings.cert_poll_time,
                                        .hooks = &run.hooks,
                                        .ledger = &run.ledger,
                                        .no_auth = run.no_auth});
    ++attempts.issued;
    return issued;
  } catch (const NoAuthPending&) {
    throw;
  } catch (const acme::Problem& e) {
    ++attempts.failed;
    if (e.not_before())
      attempts.ca_not_before =
          std::max(attempts.ca_not_before.value_or(*e.not_before()), *e.not_before());
    throw;
  } catch (...) {
    // Only a failure after asking the CA loads it: a local error (an unreadable account key)
    // or an interruption does not count.
    if (!util::stop_requested() && run.account.requests_sent() > sent_before) ++attempts.failed;
    throw;
  }
}

/// The names of an order, as the back-off state keeps them.
std::string ordered_names(const config::Certificate& cert) {
  return fmt::format("{}", fmt::join(cert.alt_names, " "));
}

/// When the certificate failed before (backoff.hpp): no new order before its time unless
/// --force. Sets run.attempts.blocked and returns true when a due key type is held back.
bool backing_off(Run& run, const config::Certificate& cert, const std::vector<KeyWork>& works) {
  run.attempts = {};
  if (run.force == Force::yes || !run.steps.certs) return false;
  const auto state = read_backoff(run.paths, cert.name);
  if (!state || state->names != ordered_names(cert))
    return false; // never failed, or failed for another set of names: a new start
  run.attempts.probing = true;
  if (run.now >= state->until) return false;
  run.attempts.blocked = fmt::format(
      "not ordering before {} UTC after {} failed attempt{} (last: {}); \"certmgr update "
      "--force {}\" tries now",
      util::utc_text(state->until), state->failures, state->failures == 1 ? "" : "s", state->reason,
      cert.name);
  return std::ranges::any_of(works, [](const KeyWork& w) { return w.decision.issue; });
}

/// Records the outcome of this run's orders: a counted failure extends the back-off (and says
/// until when in `failure`), an order without failure clears it. A failure that does not count
/// (--no-auth, local errors) leaves the state as it was.
void settle_backoff(Run& run, const config::Certificate& cert, std::string& failure) {
  const Attempts& attempts = run.attempts;
  if (attempts.failed > 0) {
    const Backoff b = record_failure(run.paths, cert.name, ordered_names(cert), util::Clock::now(),
                                     failure, attempts.ca_not_before);
    if (b.until > util::Clock::now())
      failure += fmt::format(" (no new order before {} UTC)", util::utc_text(b.until));
  } else if (attempts.issued > 0 && failure.empty()) {
    clear_backoff(run.paths, cert.name);
  }
}

/// Issues every due key type; a failure of one does not stop the others, and what was issued is
/// still installed [B39]. Returns the failures, one "<kt>: <cause>" each, joined with "; ".
std::string issue_due(Run& run, const config::Certificate& cert, std::vector<KeyWork>& works) {
  std::string failures;
  for (KeyWork& work : works) {
    if (!work.decision.issue) continue;
    if (run.attempts.probing && run.attempts.failed > 0) {
      // A certificate that failed before retries with one order, not one per key type.
      failures += fmt::format("; {}: not ordered after that failure (back-off)",
                              util::key_type_name(work.kt));
      continue;
    }
    try {
      work.issued = issue_key_type(run, cert, work.kt);
      log::progress("[{}] {}: new certificate issued, valid until {} UTC", cert.name,
                    util::key_type_name(work.kt), util::utc_text(work.issued->leaf.not_after()));
    } catch (const std::exception& e) {
      failures += fmt::format("{}{}: {}", failures.empty() ? "" : "; ",
                              util::key_type_name(work.kt), e.what());
    }
  }
  return failures;
}

std::optional<crypto::Certificate> root_of(const Run& run, KeyType kt);

/// Log names with a file in <name>/<kt>/scts/ (to remove those no longer configured [B30]).
std::vector<std::string> stored_sct_logs(const Run& run, const config::Certificate& cert,
                                         KeyType kt) {
  std::vector<std::string> logs;
  std::error_code ec;
  const auto dir = run.paths.data_dir / cert.name / layout::sct_dir(kt);
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string file = entry.path().filename().string();
    if (file.ends_with(".sct") && file.size() > 4) logs.push_back(file.substr(0, file.size() - 4));
  }
  return logs;
}

Extras extras_for(const Run& run, const config::Certificate& cert, const KeyWork& work) {
  const crypto::Certificate& leaf = work.issued ? work.issued->leaf : *work.installed.leaf;
  const auto& chain = work.issued ? work.issued->chain : work.chain;
  ExtrasInput in{.config = run.config,
                 .cert = cert,
                 .kt = work.kt,
                 .leaf = leaf,
                 .chain = chain,
                 .root = root_of(run, work.kt),
                 .now = run.now,
                 .force = run.force == Force::yes};
  if (!work.issued) // a new certificate has no stored response or SCT that could belong to it
    in.stored = [&run, &cert](const std::string& relative) { return read(run, cert, relative); };
  Extras extras;
  if (run.steps.ocsp) ocsp_step(in, extras);
  if (run.steps.sct) sct_step(in, extras);
  return extras;
}

/// The OCSP and SCT steps (behaviour §5.5, §5.6); a key type whose OCSP responder says
/// "revoked" is issued again with a new key, and its steps run for the new certificate.
void run_extras(Run& run, const config::Certificate& cert, std::vector<KeyWork>& works,
                std::string& failures) {
  if (!run.steps.ocsp && !run.steps.sct) return;
  for (KeyWork& work : works) {
    if (util::stop_requested()) return;
    if (!work.issued && !work.installed.leaf) continue;
    Extras extras = extras_for(run, cert, work);
    if (extras.revoked) {
      try {
        work.issued = issue_key_type(run, cert, work.kt);
        extras = extras_for(run, cert, work);
      } catch (const std::exception& e) {
        failures += fmt::format("{}{}: {}", failures.empty() ? "" : "; ",
                                util::key_type_name(work.kt), e.what());
      }
    }
    work.extras = std::move(extras);
  }
}

layout::ParamsText plan_params(const Run& run, const config::Certificate& cert) {
  const auto text = read(run, cert, layout::k_params);
  const crypto::Params installed = crypto::scan_params(text.value_or(""));
  if (!run.steps.params) return {.dh = installed.dh_pem, .ec = installed.ec_pem};
  const bool regenerate = run.force == Force::yes;
  layout::ParamsText out;
  if (cert.dhparam_size > 0) {
    if (!regenerate && installed.dh_bits == cert.dhparam_size) {
      out.dh = installed.dh_pem;
    } else {
      if (!cert.fast_dhparam)
        log::progress("[{}] generating {}-bit DH parameters (this takes a while)", cert.name,
                      cert.dhparam_size);
      out.dh = crypto::dh_params(cert.dhparam_size, cert.fast_dhparam);
    }
  }
  if (!cert.ecparam_curve.empty()) {
    out.ec = (!regenerate && installed.ec_curve == cert.ecparam_curve)
                 ? installed.ec_pem
                 : crypto::ec_params(cert.ecparam_curve);
  }
  return out;
}

std::optional<crypto::Certificate> root_of(const Run& run, KeyType kt) {
  const auto path = run.config.dir / fmt::format("root_cert.{}.pem", util::key_type_name(kt));
  const auto text = util::read_file(path);
  if (!text) return std::nullopt;
  auto certs = crypto::scan_certificates(*text, path.string());
  if (certs.empty()) throw util::Error({.file = path.string()}, "holds no certificate");
  return certs.front();
}

/// ocsp.der and scts/: as the steps decided; when a step did not run, a new certificate drops
/// the files of the old one [B38] and an unchanged one keeps them.
void stage_extras(const Run& run, const config::Certificate& cert, store::Transaction& tx,
                  const KeyWork& work) {
  const KeyType kt = work.kt;
  tx.remove(layout::legacy_ocsp_path(kt)); // [B20]
  if (run.steps.ocsp && work.extras) {
    if (work.extras->ocsp) {
      tx.write(layout::ocsp_path(kt), *work.extras->ocsp, store::k_public_file_mode);
    } else {
      tx.remove(layout::ocsp_path(kt));
    }
  } else if (work.issued) {
    tx.remove(layout::ocsp_path(kt));
  }
  if (run.steps.sct && work.extras) {
    for (const std::string& log : stored_sct_logs(run, cert, kt))
      if (!work.extras->scts.contains(log)) tx.remove(layout::sct_path(kt, log));
    for (const auto& [log, bytes] : work.extras->scts)
      tx.write(layout::sct_path(kt, log), bytes, store::k_public_file_mode);
  } else if (work.issued) {
    tx.remove(layout::sct_dir(kt));
  }
}

void stage_key_type(const Run& run, const config::Certificate& cert, store::Transaction& tx,
                    const KeyWork& work, const layout::ParamsText& params) {
  const KeyType kt = work.kt;
  const crypto::Certificate& leaf = work.issued ? work.issued->leaf : *work.installed.leaf;
  const auto& chain = work.issued ? work.issued->chain : work.chain;
  const std::string cert_file = layout::certificate_file(leaf, chain, nullptr, params);
  tx.write(layout::cert_path(kt), cert_file, store::k_public_file_mode);
  tx.write(layout::chain_path(kt), layout::chain_file(chain), store::k_public_file_mode);
  if (const auto root = root_of(run, kt)) {
    tx.write(layout::cert_root_path(kt), layout::certificate_file(leaf, chain, &*root, params),
             store::k_public_file_mode);
  } else {
    tx.remove(layout::cert_root_path(kt));
  }
  stage_extras(run, cert, tx, work);
  if (work.issued) {
    const util::Secret key_pem = write_key(work.issued->key, passphrase_of(run, cert));
    tx.write(layout::key_path(kt), key_pem, store::k_key_file_mode);
    tx.write(layout::key_cert_path(kt), key_pem.with_suffix("\n" + cert_file),
             store::k_key_file_mode);
  } else {
    // The same key bytes: no change, unless mode or owner (file_user/file_group) must change,
    // or the passphrase setting did.
    tx.write(layout::key_path(kt), work.key_pem, store::k_key_file_mode);
    tx.write(layout::key_cert_path(kt), work.key_pem.with_suffix("\n" + cert_file),
             store::k_key_file_mode);
  }
}

std::string state_file(const std::vector<KeyWork>& works, const std::set<std::string>& dropped,
                       const config::Certificate& cert) {
  std::string list;
  for (const KeyWork& work : works) {
    const std::string kt(util::key_type_name(work.kt));
    // The flag only holds while must-staple is still wanted: a changed setting clears it.
    const bool is_dropped = work.issued ? work.issued->must_staple_dropped
                                        : dropped.contains(kt) && cert.ocsp_must_staple;
    if (!is_dropped) continue;
    list += fmt::format("{}\"{}\"", list.empty() ? "" : ",", kt);
  }
  return list.empty() ? "" : fmt::format("{{\"must_staple_dropped\":[{}]}}\n", list);
}

void stage(const Run& run, const config::Certificate& cert, store::Transaction& tx,
           const std::vector<KeyWork>& works, const layout::ParamsText& params) {
  const std::string params_text = layout::params_file(params);
  if (params_text.empty()) {
    tx.remove(layout::k_params);
  } else {
    tx.write(layout::k_params, params_text, store::k_key_file_mode);
  }
  for (const KeyWork& work : works)
    if (work.issued || work.installed.leaf) stage_key_type(run, cert, tx, work, params);
  for (const KeyType kt : {KeyType::rsa, KeyType::ecdsa}) {
    if (std::ranges::find(cert.key_types, kt) == cert.key_types.end())
      tx.remove(std::string(util::key_type_name(kt))); // [B30]: key type no longer configured
  }
  const std::string state = state_file(works, read_dropped(run, cert), cert);
  if (state.empty()) {
    tx.remove(layout::k_state);
  } else {
    tx.write(layout::k_state, state, store::k_public_file_mode);
  }
}

void warn_new_drops(const config::Certificate& cert, const std::vector<KeyWork>& works) {
  for (const KeyWork& work : works) {
    if (work.issued && work.issued->must_staple_dropped && !work.installed.must_staple_dropped)
      log::warning("[{}] {}: the CA left out the OCSP must-staple extension; not asking again "
                   "until the setting changes",
                   cert.name, util::key_type_name(work.kt));
  }
}

std::string summary(const config::Certificate& cert, const std::vector<KeyWork>& works,
                    const std::vector<std::string>& changed) {
  std::vector<std::string> issued;
  std::optional<util::Clock::time_point> until;
  for (const KeyWork& work : works) {
    if (!work.issued) continue;
    issued.emplace_back(util::key_type_name(work.kt));
    until = until ? std::min(*until, work.issued->leaf.not_after()) : work.issued->leaf.not_after();
  }
  if (issued.empty()) return fmt::format("[{}] updated {}", cert.name, fmt::join(changed, ", "));
  return fmt::format("[{}] new {} certificate{} for {}, valid until {} UTC", cert.name,
                     fmt::join(issued, " and "), issued.size() > 1 ? "s" : "",
                     fmt::join(cert.alt_names, ", "), util::utc_text(*until));
}

/// Behaviour §4.3: after a successful certificate, its archives older than archive_days go.
void prune(const Run& run, const std::string& name) {
  const auto cutoff = store::archive_cutoff(run.now, run.config.settings.archive_days);
  if (!cutoff) return;
  for (const auto& stamp : store::prune_archives(run.paths, name, *cutoff, store::Prune::remove))
    log::progress("[{}] removed archive {}", name, stamp);
}

void renew(Run& run, const config::Certificate& cert) {
  const bool archive = run.config.settings.archive_days > 0;
  for (const auto& line : store::recover(run.paths, cert.name, run.now, archive))
    log::info("[{}] {}", cert.name, line);
  std::vector<KeyWork> works = plan(run, cert);
  std::string failure =
      backing_off(run, cert, works) ? *run.attempts.blocked : issue_due(run, cert, works);
  run_extras(run, cert, works, failure);
  settle_backoff(run, cert, failure);
  const bool nothing_to_install =
      std::ranges::none_of(works, [](const KeyWork& w) { return w.issued || w.installed.leaf; });
  if (nothing_to_install && !store::read(run.paths, cert.name, layout::k_params)) {
    // A certificate that was never issued gets no files at all, not even params.pem.
    if (!failure.empty()) throw util::Error(failure);
    return;
  }
  const layout::ParamsText params = plan_params(run, cert);
  store::Transaction tx(run.paths, cert.name, {.uid = cert.file_uid, .gid = cert.file_gid});
  stage(run, cert, tx, works, params);
  if (!tx.empty()) {
    util::make_dirs(run.paths.data_dir, store::k_public_dir_mode);
    const auto changed = tx.commit(util::Clock::now(), archive);
    log::info("[{}] committed: {}", cert.name, fmt::join(changed, ", "));
    warn_new_drops(cert, works);
    log::notice("{}", summary(cert, works, changed));
    run.changed.push_back(cert.name);
    // Hooks run after the transaction that caused them, never inside it (§7.4).
    for (const auto& event : file_events(run.paths.data_dir, cert, changed)) {
      if (util::stop_requested()) break; // the files are installed; hooks are not started now
      (void)hooks::run(run.hooks, event);
    }
  }
  if (!failure.empty()) throw util::Error(failure);
  prune(run, cert.name);
}

bool update_one(Run& run, const config::Certificate& cert) noexcept {
  try {
    renew(run, cert);
    return true;
  } catch (const std::exception& e) {
    log::error("[{}] {}", cert.name, e.what());
  }
  return false;
}

void sync_links(const Run& run) {
  const auto [wanted, names] = wanted_links(run.config);
  if (wanted.empty() && ::access(run.paths.data_dir.c_str(), F_OK) != 0) return;
  for (const auto& line : store::sync_links(run.paths, wanted, names)) {
    if (line.find(" not ") != std::string::npos) {
      log::warning("{}: {}", run.paths.data_dir.string(), line);
    } else {
      log::progress("{}", line);
    }
  }
}
/// Behaviour §5.8: after the last certificate, the certificates_updated hook, then each service
/// of a changed certificate reloaded once. Failures are warnings: the certificates are installed.
void finish(const Run& run) {
  if (run.changed.empty()) return;
  (void)hooks::run(run.hooks, updated_event(run.changed));
  (void)services::reload(services_to_reload(run.config, run.changed), services::k_default_timeout);
}
/// `update --verify` (behaviour §5.8): the certificates processed without failure must be
/// served; a changed one that is not runs the `rollback` hook. Returns the number that fail.
int verify_after(const Run& run) {
  if (!run.changed.empty()) util::sleep_unless_stopped(k_settle_after_reload);
  int failed = 0;
  for (const config::Certificate* cert : run.done) {
    if (util::stop_requested()) break;
    if (verify_certificate(run.config, *cert) == 0) continue;
    ++failed;
    if (std::ranges::find(run.changed, cert->name) != run.changed.end())
      (void)hooks::run(run.hooks, rollback_event(*cert));
  }
  return failed;
}

/// A stop request (SIGTERM, SIGINT, SIGHUP) ends the run before the next certificate, without
/// hooks or reloads that would outlive the stop; says what was left. Exit status 1.
int stopped(const Run& run, const Selection& selection, const config::Certificate* next) {
  std::vector<std::string> left;
  bool after = next == nullptr;
  for (const config::Certificate* cert : selection.certificates) {
    if (cert == next) after = true;
    if (after && next != nullptr) left.push_back(cert->name);
  }
  std::string message = fmt::format("certmgr: interrupted by signal {}", util::stop_signal());
  if (!left.empty()) message += fmt::format("; not processed: {}", fmt::join(left, ", "));
  if (!run.changed.empty())
    message += fmt::format("; services of {} not reloaded", fmt::join(run.changed, ", "));
  log::error("{}", message);
  return 1;
}
} // namespace

int update(const config::Config& config, const UpdateOptions& options, const Secrets& secrets) {
  Selection selection = select(config, options.names);
  challenge::Ledger ledger(ledger_path(config)); // outlives every challenge file of the run
  (void)ledger.recover();
  Run run{.config = config,
          .paths = {.data_dir = config.settings.data_dir},
          .now = util::Clock::now(),
          .secrets = secrets,
          .account = Account(config, secrets),
          .force = options.force,
          .steps = options.steps,
          .no_auth = options.no_auth,
          .hooks = hook_spec(config),
          .ledger = ledger};
  int failed = selection.unknown;
  for (const config::Certificate* cert : selection.certificates) {
    if (util::stop_requested()) return stopped(run, selection, cert);
    if (update_one(run, *cert)) {
      run.done.push_back(cert);
    } else {
      ++failed;
    }
  }
  if (util::stop_requested()) return stopped(run, selection, nullptr);
  try {
    sync_links(run);
  } catch (const std::exception& e) {
    log::error("{}", e.what());
    ++failed;
  }
  finish(run);
  if (options.verify) failed += verify_after(run);
  return failed > 0 ? 1 : 0;
}

} // namespace certmgr::actions
