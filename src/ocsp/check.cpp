// src/ocsp/check.cpp: the strict check of an OCSP response (RFC 6960 §3.2, §4.2.2.2), the AIA
// responder URLs of a certificate and the refresh rule of stored responses.
#include "detail.hpp"
#include <certmgr/ocsp.hpp>
#include <certmgr/util/error.hpp>
#include <certmgr/util/time.hpp>

#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <climits>
#include <ctime>

namespace certmgr::ocsp {
namespace {

using ResponsePtr = std::unique_ptr<OCSP_RESPONSE, util::FreeWith<OCSP_RESPONSE_free>>;
using BasicPtr = std::unique_ptr<OCSP_BASICRESP, util::FreeWith<OCSP_BASICRESP_free>>;
using StorePtr = std::unique_ptr<X509_STORE, util::FreeWith<X509_STORE_free>>;
using CertStackPtr = std::unique_ptr<STACK_OF(X509), util::FreeWith<detail::free_cert_stack>>;
using AiaPtr = std::unique_ptr<AUTHORITY_INFO_ACCESS, util::FreeWith<AUTHORITY_INFO_ACCESS_free>>;

constexpr auto k_default_refresh = std::chrono::hours(12);

[[noreturn]] void fail(std::string_view source, const std::string& why) {
  ERR_clear_error();
  throw util::Error(util::Where{.file = std::string(source)}, why);
}

enum class Reason { oldest, newest };

/// "<why>: <OpenSSL reason>" with the reason of the oldest queued error (the decoder's, e.g.
/// "too long") or the newest one (the verifier's, naming the failed check, e.g. "missing
/// ocspsigning usage") and its detail text; clears the queue.
[[noreturn]] void fail_openssl(std::string_view source, const std::string& why,
                               Reason which = Reason::oldest) {
  const char* data = nullptr;
  int flags = 0;
  const unsigned long code = which == Reason::newest
                                 ? ERR_peek_last_error_all(nullptr, nullptr, nullptr, &data, &flags)
                                 : ERR_peek_error_all(nullptr, nullptr, nullptr, &data, &flags);
  std::string line = why;
  if (code != 0) {
    const char* reason = ERR_reason_error_string(code);
    line += ": ";
    line += reason != nullptr ? reason : "unknown OpenSSL error";
    if (data != nullptr && (flags & ERR_TXT_STRING) != 0 && *data != '\0')
      line += fmt::format(" ({})", detail::printable(data, 200));
  }
  fail(source, line);
}

std::chrono::system_clock::time_point to_time_point(const ASN1_GENERALIZEDTIME* time,
                                                    std::string_view source, const char* what) {
  std::tm parts{};
  if (time == nullptr || ASN1_TIME_to_tm(time, &parts) != 1)
    fail(source, fmt::format("invalid {}", what));
  return util::from_time_t_clamped(timegm(&parts));
}

std::string reason_name(int reason) {
  switch (reason) {
  case OCSP_REVOKED_STATUS_UNSPECIFIED:
    return "unspecified";
  case OCSP_REVOKED_STATUS_KEYCOMPROMISE:
    return "keyCompromise";
  case OCSP_REVOKED_STATUS_CACOMPROMISE:
    return "cACompromise";
  case OCSP_REVOKED_STATUS_AFFILIATIONCHANGED:
    return "affiliationChanged";
  case OCSP_REVOKED_STATUS_SUPERSEDED:
    return "superseded";
  case OCSP_REVOKED_STATUS_CESSATIONOFOPERATION:
    return "cessationOfOperation";
  case OCSP_REVOKED_STATUS_CERTIFICATEHOLD:
    return "certificateHold";
  case OCSP_REVOKED_STATUS_REMOVEFROMCRL:
    return "removeFromCRL";
  case OCSP_REVOKED_STATUS_PRIVILEGEWITHDRAWN:
    return "privilegeWithdrawn";
  case OCSP_REVOKED_STATUS_AACOMPROMISE:
    return "aACompromise";
  default:
    return ""; // absent (-1) or a value RFC 5280 does not define
  }
}

/// The text of an IA5String URL when it is an http(s) URL of printable ASCII within the size limit.
std::optional<std::string> usable_url(const ASN1_IA5STRING* uri) {
  if (uri == nullptr || uri->data == nullptr || uri->length <= 0) return std::nullopt;
  const auto size = static_cast<std::size_t>(uri->length);
  if (size > k_max_url_bytes) return std::nullopt;
  std::string url(reinterpret_cast<const char*>(uri->data), size);
  if (!detail::is_http_url(url)) return std::nullopt;
  return url;
}

} // namespace

std::string_view status_name(Status status) {
  switch (status) {
  case Status::good:
    return "good";
  case Status::revoked:
    return "revoked";
  case Status::unknown:
    break;
  }
  return "unknown";
}

std::vector<std::string> aia_urls(const crypto::Certificate& leaf) {
  std::vector<std::string> urls;
  int critical = 0;
  const AiaPtr aia(static_cast<AUTHORITY_INFO_ACCESS*>(
      X509_get_ext_d2i(leaf.get(), NID_info_access, &critical, nullptr)));
  ERR_clear_error(); // an absent or broken extension is "no URL"
  if (!aia) return urls;
  for (int i = 0; i < sk_ACCESS_DESCRIPTION_num(aia.get()); ++i) {
    const ACCESS_DESCRIPTION* ad = sk_ACCESS_DESCRIPTION_value(aia.get(), i);
    if (OBJ_obj2nid(ad->method) != NID_ad_OCSP || ad->location->type != GEN_URI) continue;
    auto url = usable_url(ad->location->d.uniformResourceIdentifier);
    if (url && std::ranges::find(urls, *url) == urls.end()) urls.push_back(std::move(*url));
  }
  return urls;
}

Response check(std::string_view der, const crypto::Certificate& leaf,
               const crypto::Certificate& issuer, std::chrono::system_clock::time_point now,
               std::string_view source) {
  ERR_clear_error();
  if (der.empty()) fail(source, "empty OCSP response");
  if (der.size() > http::k_max_json_bytes)
    fail(source, fmt::format("OCSP response larger than {} bytes", http::k_max_json_bytes));

  // 1. The outer OCSPResponse: exactly one DER structure, responseStatus successful.
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  const ResponsePtr response(d2i_OCSP_RESPONSE(nullptr, &p, static_cast<long>(der.size())));
  if (!response) fail_openssl(source, "not a DER OCSP response");
  if (p != reinterpret_cast<const unsigned char*>(der.data()) + der.size())
    fail(source, "trailing bytes after the OCSP response");
  const int response_status = OCSP_response_status(response.get());
  if (response_status != OCSP_RESPONSE_STATUS_SUCCESSFUL)
    fail(source, fmt::format("responder answered {} ({})",
                             OCSP_response_status_str(response_status), response_status));
  const BasicPtr basic(OCSP_response_get1_basic(response.get()));
  if (!basic) fail_openssl(source, "not a basic OCSP response");

  // 2. The signature: by the issuer itself, or by a responder certificate included in the
  // response that the issuer signed directly and that carries id-kp-OCSPSigning.
  //  - `certs` = {issuer} with OCSP_TRUSTOTHER: a response signed by the issuer needs only the
  //    signature check;
  //  - otherwise the signer must come from the response's certs and chain to the store, which
  //    trusts only the issuer (X509_V_FLAG_PARTIAL_CHAIN: it is an intermediate), at `now`;
  //    OpenSSL then requires the chain's second certificate to be the CertID's issuer and the
  //    signer to have the OCSPSigning EKU (ocsp_check_issuer / ocsp_check_delegated);
  //  - OCSP_NOEXPLICIT: no fallback to "root trusted for OCSP signing", which OpenSSL grants
  //    any self-signed trust anchor.
  const StorePtr store(X509_STORE_new());
  const CertStackPtr certs(sk_X509_new_null());
  if (!store || !certs || X509_STORE_add_cert(store.get(), issuer.get()) != 1 ||
      sk_X509_push(certs.get(), issuer.get()) <= 0)
    fail_openssl(source, "cannot set up the OCSP signature check");
  X509_up_ref(issuer.get()); // now owned by `certs` too
  X509_VERIFY_PARAM* param = X509_STORE_get0_param(store.get());
  X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_PARTIAL_CHAIN);
  X509_VERIFY_PARAM_set_time(param, std::chrono::system_clock::to_time_t(now));
  if (OCSP_basic_verify(basic.get(), certs.get(), store.get(), OCSP_TRUSTOTHER | OCSP_NOEXPLICIT) <=
      0)
    fail_openssl(source, "signature does not verify", Reason::newest);

  // 3. The SingleResponse for our certificate (a CertID with SHA-1 or SHA-256 hashes); two of
  // them (which could disagree) make the response ambiguous.
  int status = -1;
  int reason = -1;
  ASN1_GENERALIZEDTIME* revoked_at = nullptr;
  ASN1_GENERALIZEDTIME* this_update = nullptr;
  ASN1_GENERALIZEDTIME* next_update = nullptr;
  int matches = 0;
  for (const EVP_MD* md : {EVP_sha1(), EVP_sha256()}) {
    const detail::CertIdPtr id(OCSP_cert_to_id(md, leaf.get(), issuer.get()));
    if (!id) fail_openssl(source, "cannot compute the CertID");
    if (matches == 0 && OCSP_resp_find_status(basic.get(), id.get(), &status, &reason, &revoked_at,
                                              &this_update, &next_update) != 1)
      continue;
    for (int i = OCSP_resp_find(basic.get(), id.get(), -1); i >= 0;
         i = OCSP_resp_find(basic.get(), id.get(), i))
      ++matches;
  }
  if (matches == 0)
    fail(source, fmt::format("no status for serial {} in the response", leaf.serial_hex()));
  if (matches > 1)
    fail(source,
         fmt::format("{} statuses for serial {} in the response", matches, leaf.serial_hex()));

  // 4. Times (RFC 6960 §4.2.2.1, §3.2 item 6). OCSP_check_validity reads the wall clock, so the
  // same rules are applied here against `now`.
  Response result;
  result.this_update = to_time_point(this_update, source, "thisUpdate");
  if (next_update != nullptr) result.next_update = to_time_point(next_update, source, "nextUpdate");
  if (result.this_update > now + k_clock_skew) fail(source, "thisUpdate is in the future");
  if (result.next_update) {
    if (*result.next_update < result.this_update) fail(source, "nextUpdate is before thisUpdate");
    if (*result.next_update < now - k_clock_skew)
      fail(source, "response is stale (nextUpdate has passed)");
  }

  switch (status) {
  case V_OCSP_CERTSTATUS_GOOD:
    result.status = Status::good;
    break;
  case V_OCSP_CERTSTATUS_REVOKED:
    result.status = Status::revoked;
    result.revocation_reason = reason_name(reason);
    break;
  case V_OCSP_CERTSTATUS_UNKNOWN:
    result.status = Status::unknown;
    break;
  default:
    fail(source, "invalid certificate status");
  }
  result.der = std::string(der);
  ERR_clear_error();
  return result;
}

bool refresh_due(const Response& stored, std::chrono::system_clock::time_point now) {
  if (stored.status != Status::good) return true;
  if (!stored.next_update) return now >= stored.this_update + k_default_refresh;
  if (*stored.next_update <= stored.this_update) return true;
  return now >= stored.this_update + (*stored.next_update - stored.this_update) / 2;
}

} // namespace certmgr::ocsp
