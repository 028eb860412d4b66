#include "extras.hpp"

#include "account.hpp"
#include "layout.hpp"
#include <certmgr/log.hpp>
#include <certmgr/ocsp.hpp>
#include <certmgr/sct.hpp>
#include <certmgr/util/time.hpp>

#include <fmt/format.h>

#include <algorithm>

namespace certmgr::actions {
namespace {

std::string prefix(const ExtrasInput& in) {
  return fmt::format("[{}] {}", in.cert.name, util::key_type_name(in.kt));
}

/// The stored response, when it is one for this very certificate and still within its
/// validity (whatever its age); nullopt otherwise.
std::optional<ocsp::Response> stored_response(const ExtrasInput& in,
                                              const crypto::Certificate& issuer) {
  if (!in.stored) return std::nullopt;
  const std::string relative = layout::ocsp_path(in.kt);
  const auto der = in.stored(relative);
  if (!der) return std::nullopt;
  try {
    return ocsp::check(*der, in.leaf, issuer, in.now, relative);
  } catch (const std::exception& e) {
    log::debug("{}: stored OCSP response not usable: {}", prefix(in), e.what());
  }
  return std::nullopt;
}

std::optional<sct::Log> shard_for(const ExtrasInput& in, const std::string& name) {
  const auto it = in.config.ct_logs.find(name);
  if (it == in.config.ct_logs.end()) return std::nullopt;
  const auto not_after = in.leaf.not_after();
  for (const config::CtLogShard& shard : it->second) {
    // [B31]: the shard that will hold the certificate is chosen by its notAfter.
    if (shard.start <= not_after && not_after < shard.end)
      return sct::Log{.name = name,
                      .url = shard.url,
                      .log_id = shard.log_id,
                      .public_key_der = shard.public_key_der};
  }
  return std::nullopt;
}

} // namespace

void ocsp_step(const ExtrasInput& in, Extras& out) {
  std::vector<std::string> urls = ocsp::aia_urls(in.leaf);
  if (urls.empty()) urls = in.cert.ocsp_responder_urls;
  if (urls.empty()) { // webpki-2026 §1: no OCSP at this CA, nothing to do and nothing to say
    out.ocsp.reset();
    return;
  }
  const crypto::Certificate* issuer = !in.chain.empty() ? &in.chain.front()
                                      : in.root         ? &*in.root
                                                        : nullptr;
  if (issuer == nullptr) {
    log::warning("{}: no issuer certificate to check OCSP responses with", prefix(in));
    out.ocsp.reset();
    return;
  }
  const auto stored = stored_response(in, *issuer);
  if (stored && stored->status == ocsp::Status::good && !in.force &&
      !ocsp::refresh_due(*stored, in.now)) {
    out.ocsp = stored->der;
    return;
  }
  ocsp::Response fresh;
  try {
    fresh = ocsp::fetch(http_options(in.config), urls, in.leaf, *issuer, in.now);
  } catch (const std::exception& e) {
    // [B38]: a response for another certificate never stays; one for this one does while valid.
    const bool keep = stored && stored->status == ocsp::Status::good;
    log::warning("{}: no OCSP response: {}{}", prefix(in), e.what(),
                 keep ? " (keeping the stored one, still valid)" : "");
    out.ocsp = keep ? std::optional<std::string>(stored->der) : std::nullopt;
    return;
  }
  switch (fresh.status) {
  case ocsp::Status::good:
    if (!stored || stored->der != fresh.der)
      log::progress("{}: new OCSP response, valid until {} UTC", prefix(in),
                    fresh.next_update ? util::utc_text(*fresh.next_update) : "its next update");
    out.ocsp = fresh.der;
    return;
  case ocsp::Status::revoked:
    log::error("{}: certificate {} is REVOKED{} according to its OCSP responder; issuing a new "
               "one with a new key",
               prefix(in), in.leaf.serial_hex(),
               fresh.revocation_reason.empty() ? "" : " (" + fresh.revocation_reason + ")");
    out.ocsp.reset();
    out.revoked = true;
    return;
  case ocsp::Status::unknown:
    // [B37]: no stale "good" answer stays on disk next to an unknown one.
    log::warning("{}: the OCSP responder does not know certificate {}", prefix(in),
                 in.leaf.serial_hex());
    out.ocsp.reset();
    return;
  }
}

void sct_step(const ExtrasInput& in, Extras& out) {
  out.scts.clear();
  const std::vector<std::string> embedded = sct::embedded_log_ids(in.leaf);
  for (const std::string& name : in.cert.ct_submit_logs) {
    const auto log = shard_for(in, name);
    if (!log) {
      log::warning("{}: no shard of CT log {} covers the certificate's expiry {} UTC", prefix(in),
                   name, util::utc_text(in.leaf.not_after()));
      continue;
    }
    if (!in.force && std::ranges::find(embedded, log->log_id) != embedded.end()) {
      log::debug("{}: the certificate embeds an SCT of {} already", prefix(in), name);
      continue;
    }
    const std::string relative = layout::sct_path(in.kt, name);
    const auto stored = in.stored ? in.stored(relative) : std::nullopt;
    if (stored && !in.force && sct::verify(*stored, *log, in.leaf, in.now)) {
      out.scts.emplace(name, *stored);
      continue;
    }
    try {
      out.scts.emplace(name, sct::submit(http_options(in.config), *log, in.leaf, in.chain));
      log::progress("{}: new SCT from {}", prefix(in), name);
    } catch (const std::exception& e) {
      const bool keep = stored && sct::verify(*stored, *log, in.leaf, in.now);
      log::warning("{}: CT log {}: {}{}", prefix(in), name, e.what(),
                   keep ? " (keeping the stored SCT)" : "");
      if (keep) out.scts.emplace(name, *stored);
    }
  }
}

} // namespace certmgr::actions
