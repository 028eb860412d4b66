// src/actions/verify.cpp: `certmgr verify` and `update --verify` (behaviour §8 with [B50] and
// [B55] fixed): every configured TLS endpoint must serve exactly the installed leaf and chain
// of each key type, and a valid stapled OCSP response where one is expected.
#include "layout.hpp"
#include "verify_run.hpp"
#include <certmgr/actions.hpp>
#include <certmgr/log.hpp>
#include <certmgr/ocsp.hpp>
#include <certmgr/store.hpp>
#include <certmgr/util/error.hpp>
#include <certmgr/util/stop.hpp>
#include <certmgr/util/time.hpp>
#include <certmgr/verify.hpp>

#include <fmt/format.h>

#include <algorithm>

namespace certmgr::actions {
namespace {
using util::KeyType;

struct Installed {
  crypto::Certificate leaf;
  std::vector<crypto::Certificate> chain;
  bool staple_expected{false}; ///< an OCSP response is installed for it
};

std::optional<Installed> installed(const store::Paths& paths, const config::Certificate& cert,
                                   KeyType kt) {
  const auto text = store::read(paths, cert.name, layout::cert_path(kt));
  if (!text) return std::nullopt;
  auto certs = crypto::scan_certificates(
      *text, (paths.data_dir / cert.name / layout::cert_path(kt)).string());
  if (certs.empty()) return std::nullopt;
  Installed out{.leaf = certs.front(), .chain = {certs.begin() + 1, certs.end()}};
  out.staple_expected = store::read(paths, cert.name, layout::ocsp_path(kt)).has_value();
  return out;
}

/// What is wrong with a staple (or its absence); "" when all is right.
std::string staple_problem(const std::optional<std::string>& staple, const Installed& want) {
  if (!staple) return want.staple_expected ? "no OCSP response stapled" : "";
  if (want.chain.empty()) return "";
  try {
    const auto r = ocsp::check(*staple, want.leaf, want.chain.front(), util::Clock::now(),
                               "stapled OCSP response");
    if (r.status != ocsp::Status::good)
      return fmt::format("stapled OCSP response says {}", ocsp::status_name(r.status));
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

/// One host of one target; returns the number of addresses that mismatch.
int check_host(const config::Certificate& cert, KeyType kt, const config::VerifyTarget& target,
               const std::string& host, const Installed& want) {
  const verify::Endpoint endpoint{.host = host, .port = target.port, .starttls = target.starttls};
  const std::string where =
      fmt::format("[{}] {}: {}:{}{}", cert.name, util::key_type_name(kt), host, target.port,
                  target.starttls.empty() ? "" : " (" + target.starttls + ")");
  std::vector<verify::Outcome> outcomes;
  for (int attempt = 1;; ++attempt) {
    outcomes = verify::check(endpoint, {.key_type = kt, .leaf = want.leaf, .chain = want.chain},
                             verify::k_default_timeout);
    // A server fetches its first staple lazily: retry while one is expected and missing.
    const bool missing = want.staple_expected && std::ranges::any_of(outcomes, [](const auto& o) {
                           return o.mismatches.empty() && !o.staple;
                         });
    if (!missing || attempt >= cert.verify.ocsp_max_attempts || util::stop_requested()) break;
    util::sleep_unless_stopped(cert.verify.ocsp_retry_delay);
  }
  int bad = 0;
  for (const verify::Outcome& o : outcomes) {
    std::vector<std::string> problems = o.mismatches;
    if (problems.empty())
      if (auto p = staple_problem(o.staple, want); !p.empty()) problems.push_back(std::move(p));
    for (const std::string& p : problems) log::error("{} [{}]: {}", where, o.address, p);
    if (problems.empty()) log::info("{} [{}]: serves the installed certificate", where, o.address);
    if (!problems.empty()) ++bad;
  }
  return bad;
}

} // namespace

int verify_certificate(const config::Config& config, const config::Certificate& cert) {
  const store::Paths paths{.data_dir = config.settings.data_dir};
  int bad = 0;
  for (const KeyType kt : cert.key_types) {
    const auto want = installed(paths, cert, kt);
    if (!want) {
      if (!cert.verify.targets.empty())
        log::warning("[{}] {}: no certificate installed to verify", cert.name,
                     util::key_type_name(kt));
      continue;
    }
    for (const config::VerifyTarget& target : cert.verify.targets) {
      if (!target.key_types.empty() &&
          std::ranges::find(target.key_types, kt) == target.key_types.end())
        continue;
      for (const std::string& host : target.hosts.empty() ? cert.alt_names : target.hosts) {
        if (util::stop_requested()) return bad + 1;
        try {
          bad += check_host(cert, kt, target, host, *want);
        } catch (const std::exception& e) {
          log::error("[{}] {}: {}", cert.name, util::key_type_name(kt), e.what());
          ++bad;
        }
      }
    }
  }
  return bad;
}

int verify(const config::Config& config, const std::vector<std::string>& names) {
  const Selection selection = select(config, names);
  int failed = selection.unknown;
  for (const config::Certificate* cert : selection.certificates) {
    if (util::stop_requested()) break;
    if (verify_certificate(config, *cert) > 0) ++failed;
  }
  if (util::stop_requested()) {
    log::error("certmgr: interrupted by signal {}", util::stop_signal());
    return 1;
  }
  return failed > 0 ? 1 : 0;
}

} // namespace certmgr::actions
