#include "issue.hpp"

#include "events.hpp"
#include <certmgr/challenge.hpp>
#include <certmgr/log.hpp>
#include <certmgr/util/error.hpp>
#include <certmgr/util/stop.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <set>

namespace certmgr::actions {
namespace {
/// Between polls of an order after finalize: Pebble and Let's Encrypt finish in well under a
/// second, so start short; the deadline is cert_poll_time.
constexpr std::chrono::seconds k_max_order_poll_delay{5};
constexpr int k_max_order_polls = 1000; // the deadline is the real bound

const acme::Challenge& http01_of(const acme::Authorization& authz) {
  const auto it =
      std::ranges::find(authz.challenges, std::string("http-01"), &acme::Challenge::type);
  if (it == authz.challenges.end())
    throw util::Error(fmt::format("the CA offers no http-01 challenge for {}", authz.identifier));
  return *it;
}

std::filesystem::path directory_for(const config::Certificate& cert, const std::string& domain) {
  if (cert.auth.type != config::Auth::Type::http)
    throw util::Error(
        fmt::format("{} needs authorization but no auth method is configured (settings.auth or "
                    "certificates[].auth with type \"http\")",
                    domain));
  auto dir = config::challenge_dir(cert.auth.http, domain);
  if (!dir) throw util::Error(fmt::format("no challenge directory configured for {}", domain));
  return *dir;
}

struct Pending {
  acme::Authorization authz;
  challenge::Published file;
};

std::vector<Pending> publish_pending(Account& account, const IssueRequest& request,
                                     const acme::Order& order) {
  const config::Certificate& cert = *request.certificate;
  std::vector<Pending> pending;
  const std::string thumbprint = account.signer().thumbprint();
  std::set<std::string> seen;
  for (const auto& url : order.authorizations) {
    acme::Authorization authz = account.client().get_authorization(url);
    if (std::ranges::find(cert.alt_names, authz.identifier) == cert.alt_names.end())
      throw util::Error({.url = url}, fmt::format("the CA asks to authorize \"{}\", which was not "
                                                  "ordered",
                                                  log::printable(authz.identifier)));
    if (!seen.insert(authz.identifier).second)
      throw util::Error({.url = url}, fmt::format("the CA asks to authorize \"{}\" twice",
                                                  log::printable(authz.identifier)));
    if (authz.status == "valid") {
      log::debug("[{}] {} already authorized until {}", cert.name, authz.identifier,
                 log::printable(authz.expires));
      continue;
    }
    if (authz.status != "pending")
      throw util::Error(fmt::format("authorization for {} is {}", authz.identifier,
                                    log::printable(authz.status)));
    if (request.no_auth)
      throw NoAuthPending(fmt::format("authorization for {} is pending and --no-auth is set: run "
                                      "\"certmgr auth\" for it first (on the master)",
                                      authz.identifier));
    const acme::Challenge& http01 = http01_of(authz);
    const auto dir = directory_for(cert, authz.identifier);
    log::progress("[{}] requesting authorization for {}", cert.name, authz.identifier);
    request.ledger->note(dir, http01.token, thumbprint);
    auto file = challenge::publish(dir, http01.token, http01.token + "." + thumbprint);
    log::debug("[{}] wrote {}", cert.name, file.path().string());
    pending.push_back({std::move(authz), std::move(file)});
  }
  return pending;
}

void run_challenge_hooks(const IssueRequest& request, const std::string& hook,
                         const std::vector<Pending>& pending) {
  if (util::stop_requested()) return; // interrupted: files are removed, no hook is started
  const std::string prefix = fmt::format("[{}] ", request.certificate->name);
  for (const auto& p : pending)
    (void)hooks::run(*request.hooks,
                     challenge_event(hook, prefix, p.authz.identifier, p.file.path()));
}

void answer_and_poll(Account& account, const config::Certificate& cert,
                     const std::vector<Pending>& pending) {
  for (const auto& p : pending) account.client().answer(http01_of(p.authz));
  const acme::PollLimits limits{.max_delay = cert.auth.http.delay,
                                .max_polls = cert.auth.http.retry,
                                .deadline = cert.auth.http.delay * cert.auth.http.retry};
  for (const auto& p : pending) {
    const acme::Authorization done =
        acme::poll_authorization(account.client(), p.authz.url, limits);
    if (done.status != "valid")
      throw util::Error(fmt::format("authorization for {} failed: {}", p.authz.identifier,
                                    done.error.empty() ? log::printable(done.status) : done.error));
    log::progress("[{}] {} authorized", cert.name, p.authz.identifier);
  }
}

/// Removes the challenge files, then runs the clear hooks, on success and failure alike [B46].
void clear(const IssueRequest& request, std::vector<Pending>& pending) {
  for (auto& p : pending) p.file.remove();
  run_challenge_hooks(request, "clear_http_challenge", pending);
}

/// Returns the names it authorized.
std::vector<std::string> authorize(Account& account, const IssueRequest& request,
                                   const acme::Order& order) {
  const config::Certificate& cert = *request.certificate;
  std::vector<Pending> pending = publish_pending(account, request, order);
  if (pending.empty()) return {};
  try {
    run_challenge_hooks(request, "set_http_challenge", pending);
    answer_and_poll(account, cert, pending);
  } catch (...) {
    clear(request, pending);
    throw;
  }
  clear(request, pending);
  std::vector<std::string> names;
  for (const auto& p : pending) names.push_back(p.authz.identifier);
  return names;
}

acme::Order finalize(Account& account, const IssueRequest& request, const acme::Order& ready,
                     const std::string& csr) {
  const acme::PollLimits limits{.max_delay = k_max_order_poll_delay,
                                .max_polls = k_max_order_polls,
                                .deadline = request.cert_poll_time};
  acme::Order order;
  try {
    order = account.client().finalize(ready, csr);
  } catch (const util::Error& e) {
    if (!request.certificate->ocsp_must_staple) throw;
    // webpki-2026.md §1: Let's Encrypt refuses must-staple CSRs since 2025.
    throw util::Error(fmt::format("{} (the CSR asked for OCSP must-staple; this CA may not "
                                  "support it: set ocsp_must_staple to false)",
                                  e.what()));
  }
  if (order.status == "processing" || order.status == "ready")
    order = acme::poll_order(account.client(), ready.url, limits);
  if (order.status != "valid" || order.certificate.empty())
    throw util::Error(fmt::format("the order is {} after finalize{}", log::printable(order.status),
                                  order.error.empty() ? "" : ": " + order.error));
  return order;
}
} // namespace

void check_chain(const std::vector<crypto::Certificate>& chain, const crypto::Key& key,
                 const std::vector<std::string>& names, const std::string& source) {
  if (chain.size() < 2)
    throw util::Error({.url = source}, "the CA sent a certificate without intermediate");
  if (chain.front().public_der() != key.public_der())
    throw util::Error({.url = source}, "the CA sent a certificate for another key");
  const auto have_list = chain.front().dns_names();
  const std::set<std::string> have(have_list.begin(), have_list.end());
  if (have != std::set<std::string>(names.begin(), names.end()))
    throw util::Error({.url = source}, "the CA sent a certificate for other names");
  for (std::size_t i = 0; i + 1 < chain.size(); ++i)
    if (!chain[i].issued_by(chain[i + 1]))
      throw util::Error({.url = source}, fmt::format("certificate {} of the chain is not issued "
                                                     "by the next one",
                                                     i));
}

std::vector<std::string> authorize_only(Account& account, const IssueRequest& request) {
  const config::Certificate& cert = *request.certificate;
  const acme::Order order = account.client().new_order(cert.alt_names);
  log::debug("[{}] order {} is {}", cert.name, order.url, order.status);
  if (order.status == "ready" || order.status == "valid") return {};
  if (order.status != "pending")
    throw util::Error(fmt::format("the order is {}{}", log::printable(order.status),
                                  order.error.empty() ? "" : ": " + order.error));
  return authorize(account, request, order);
}

Issued issue(Account& account, const IssueRequest& request) {
  const config::Certificate& cert = *request.certificate;
  crypto::Key key = crypto::Key::generate(request.key);
  const std::string csr = crypto::make_csr(key, cert.alt_names, cert.ocsp_must_staple);
  acme::Order order = account.client().new_order(cert.alt_names);
  log::debug("[{}] order {} is {}", cert.name, order.url, order.status);
  if (order.status == "pending") {
    (void)authorize(account, request, order);
    const acme::PollLimits limits{.max_polls = k_max_order_polls,
                                  .deadline = request.cert_poll_time};
    order = acme::poll_order(account.client(), order.url, limits);
  }
  if (order.status != "ready")
    throw util::Error(fmt::format("the order is {}{}", log::printable(order.status),
                                  order.error.empty() ? "" : ": " + order.error));
  order = finalize(account, request, order, csr);
  const std::string pem = account.client().download_certificate(order.certificate);
  std::vector<crypto::Certificate> chain = crypto::parse_chain(pem, order.certificate);
  check_chain(chain, key, cert.alt_names, order.certificate);
  crypto::Certificate leaf = chain.front();
  chain.erase(chain.begin());
  const bool dropped = cert.ocsp_must_staple && !leaf.must_staple();
  return {std::move(key), std::move(leaf), std::move(chain), dropped};
}

} // namespace certmgr::actions
