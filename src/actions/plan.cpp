#include "plan.hpp"

#include <certmgr/log.hpp>
#include <certmgr/util/text.hpp>
#include <certmgr/util/time.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <set>

namespace certmgr::actions {
namespace {
using std::chrono::days;
using std::chrono::seconds;

/// webpki-2026.md §2: below this lifetime renew at half, above it at a third.
constexpr days k_short_lifetime{10};

std::string describe_names(const std::set<std::string>& missing,
                           const std::set<std::string>& extra) {
  std::string out;
  for (const auto& n : missing) out += fmt::format(" +{}", n);
  for (const auto& n : extra) out += fmt::format(" -{}", n);
  return out;
}

std::optional<std::string> names_differ(const crypto::Certificate& leaf, const Wanted& wanted) {
  const auto have_list = leaf.dns_names();
  const std::set<std::string> have(have_list.begin(), have_list.end());
  const std::set<std::string> want(wanted.names.begin(), wanted.names.end());
  if (have == want) return std::nullopt;
  std::set<std::string> missing;
  std::set<std::string> extra;
  std::ranges::set_difference(want, have, std::inserter(missing, missing.end()));
  std::ranges::set_difference(have, want, std::inserter(extra, extra.end()));
  return "names changed:" + describe_names(missing, extra);
}

std::optional<std::string> key_differs(const KeyState& installed, const Wanted& wanted) {
  const crypto::KeySpec& have = *installed.key_spec;
  if (have.type != wanted.key.type) return "key type changed";
  if (have.type == crypto::KeyType::rsa && have.rsa_bits != wanted.key.rsa_bits)
    return fmt::format("key size changed from {} to {}", have.rsa_bits, wanted.key.rsa_bits);
  if (have.type == crypto::KeyType::ecdsa && have.curve != wanted.key.curve)
    return fmt::format("key curve changed from {} to {}", have.curve, wanted.key.curve);
  return std::nullopt;
}

std::optional<std::string> staple_differs(const KeyState& installed, const Wanted& wanted) {
  const bool has = installed.leaf->must_staple();
  if (has == wanted.must_staple) return std::nullopt;
  if (wanted.must_staple && installed.must_staple_dropped) return std::nullopt;
  return wanted.must_staple ? "OCSP must-staple requested" : "OCSP must-staple no longer wanted";
}
} // namespace

std::chrono::system_clock::time_point renewal_time(std::chrono::system_clock::time_point not_before,
                                                   std::chrono::system_clock::time_point not_after,
                                                   int renewal_days) {
  const seconds lifetime = std::chrono::duration_cast<seconds>(not_after - not_before);
  const seconds fraction = lifetime < k_short_lifetime ? lifetime / 2 : lifetime / 3;
  const seconds window = std::min<seconds>(days(std::max(renewal_days, 0)), lifetime / 2);
  return not_after - std::max(fraction, window);
}

Decision decide(const KeyState& installed, const Wanted& wanted,
                std::chrono::system_clock::time_point now) {
  if (!installed.leaf || !installed.key_spec) return {true, "no certificate yet"};
  const crypto::Certificate& leaf = *installed.leaf;
  if (auto why = key_differs(installed, wanted)) return {true, *why};
  // A name longer than 64 bytes cannot be a CN: the CSR has none and a CA may promote another
  // alt name to CN [B58]; any CN that is one of the names is then fine (no re-issue loop).
  const std::string cn = util::ascii_lower(leaf.subject_cn());
  const bool cn_fits = wanted.name.size() <= 64;
  const bool cn_ok = cn.empty() || cn == wanted.name ||
                     (!cn_fits && std::ranges::find(wanted.names, cn) != wanted.names.end());
  if (!cn_ok) return {true, fmt::format("subject changed from {}", log::printable(cn))};
  if (auto why = names_differ(leaf, wanted)) return {true, *why};
  if (leaf.public_der() != installed.key_public_der)
    return {true, "certificate does not match the private key"};
  if (auto why = staple_differs(installed, wanted)) return {true, *why};
  const auto due = renewal_time(leaf.not_before(), leaf.not_after(), wanted.renewal_days);
  if (now >= leaf.not_after())
    return {true, fmt::format("expired at {} UTC", util::utc_text(leaf.not_after()))};
  if (now >= due) return {true, fmt::format("expires at {} UTC", util::utc_text(leaf.not_after()))};
  return {false, fmt::format("valid until {} UTC, renewal from {} UTC",
                             util::utc_text(leaf.not_after()), util::utc_text(due))};
}

} // namespace certmgr::actions
