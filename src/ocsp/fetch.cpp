// src/ocsp/fetch.cpp: asking OCSP responders (RFC 6960 §4.1, Appendix A.1 POST).
#include "detail.hpp"
#include <certmgr/http.hpp>
#include <certmgr/ocsp.hpp>
#include <certmgr/util/error.hpp>
#include <certmgr/util/stop.hpp>

#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/ocsp.h>

namespace certmgr::ocsp {
namespace {

using RequestPtr = std::unique_ptr<OCSP_REQUEST, util::FreeWith<OCSP_REQUEST_free>>;

constexpr std::chrono::seconds k_connect_timeout{10};
constexpr std::chrono::seconds k_request_timeout{30};

/// DER OCSPRequest with one SHA-1 CertID for leaf+issuer, unsigned, without extensions (no
/// nonce: responders that pre-sign answer only such requests).
std::string make_request(const crypto::Certificate& leaf, const crypto::Certificate& issuer) {
  RequestPtr request(OCSP_REQUEST_new());
  detail::CertIdPtr id(OCSP_cert_to_id(EVP_sha1(), leaf.get(), issuer.get()));
  if (!request || !id || OCSP_request_add0_id(request.get(), id.get()) == nullptr) {
    ERR_clear_error();
    throw util::Error("cannot build the OCSP request");
  }
  static_cast<void>(id.release()); // owned by the request now
  const int size = i2d_OCSP_REQUEST(request.get(), nullptr);
  if (size <= 0) {
    ERR_clear_error();
    throw util::Error("cannot encode the OCSP request");
  }
  std::string der(static_cast<std::size_t>(size), '\0');
  auto* out = reinterpret_cast<unsigned char*>(der.data());
  if (i2d_OCSP_REQUEST(request.get(), &out) != size) {
    ERR_clear_error();
    throw util::Error("cannot encode the OCSP request");
  }
  return der;
}

} // namespace

Response fetch(const http::Options& base_options, const std::vector<std::string>& urls,
               const crypto::Certificate& leaf, const crypto::Certificate& issuer,
               std::chrono::system_clock::time_point now) {
  if (urls.empty()) throw util::Error("no OCSP responder URL");
  const std::string request = make_request(leaf, issuer);
  http::Options options = base_options;
  options.connect_timeout = k_connect_timeout;
  options.request_timeout = k_request_timeout;
  options.plain_http = http::PlainHttp::allow;
  http::Client client(options);

  std::string failures;
  for (const std::string& url : urls) {
    if (!failures.empty()) failures += "; ";
    if (!detail::is_http_url(url)) {
      failures += fmt::format("{}: not an http(s) URL", detail::printable(url, 200));
      continue;
    }
    try {
      const http::Response answer =
          client.post(url, request, "application/ocsp-request", http::k_max_json_bytes);
      if (answer.status != 200) {
        failures += fmt::format("{}: HTTP {}", url, answer.status);
        continue;
      }
      return check(answer.body, leaf, issuer, now, url);
    } catch (const util::Error& e) {
      util::throw_if_stopped(); // an interrupt ends the run, it is not a responder failure
      failures += e.what();
    }
  }
  throw util::Error(failures);
}

} // namespace certmgr::ocsp
