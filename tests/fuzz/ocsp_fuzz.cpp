// tests/fuzz/ocsp_fuzz.cpp: ocsp::check() on arbitrary bytes as the DER OCSPResponse for a fixed
// leaf and issuer (fixtures/leaf.pem, fixtures/issuer.pem, made by make_fixtures.py with the
// seeds: responses signed by the issuer, by a delegated responder, good/revoked/unknown, SHA-1
// and SHA-256 CertIDs), checked at the fixed time fixtures/now.txt.
//
// Oracles: only util::Error escapes, as one line; an accepted response is the input, its times
// obey RFC 6960 against `now` (thisUpdate <= now + skew, nextUpdate >= thisUpdate and >= now -
// skew), a revocation reason only with status revoked; refresh_due() answers without throwing
// and is always true for a response that is not good.
#include "fuzz_common.hpp"
#include <certmgr/crypto.hpp>
#include <certmgr/ocsp.hpp>
#include <certmgr/util/error.hpp>

#include <chrono>
#include <memory>

namespace {
namespace crypto = certmgr::crypto;
namespace ocsp = certmgr::ocsp;
using certmgr::fuzz::require;

using Fixture = certmgr::fuzz::LeafFixture;

const Fixture& fixture() {
  static const Fixture* instance = new Fixture(certmgr::fuzz::leaf_fixture());
  return *instance;
}
} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  (void)fixture();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view der = certmgr::fuzz::as_text(data, size);
  const Fixture& f = fixture();
  try {
    const ocsp::Response r = ocsp::check(der, f.leaf, f.issuer, f.now, "fuzz.ocsp");
    require(r.der == der, "accepted response differs from the input");
    require(r.this_update <= f.now + ocsp::k_clock_skew, "accepted thisUpdate in the future");
    if (r.next_update) {
      require(*r.next_update >= r.this_update, "accepted nextUpdate before thisUpdate");
      require(*r.next_update >= f.now - ocsp::k_clock_skew, "accepted a stale response");
    }
    require(r.status == ocsp::Status::revoked || r.revocation_reason.empty(),
            "revocation reason without revoked status");
    const bool due = ocsp::refresh_due(r, f.now);
    require(r.status == ocsp::Status::good || due, "a response that is not good is not due");
    (void)ocsp::status_name(r.status);
  } catch (const certmgr::util::Error& e) {
    certmgr::fuzz::require_one_line(e.what());
  }
  return 0;
}
