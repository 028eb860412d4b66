// tests/fuzz/pem_chain_fuzz.cpp: certificate and key parsing of src/crypto on arbitrary bytes:
// parse_chain (the CA's PEM chain), scan_certificates (cert.pem as certmgr writes it),
// Certificate::from_der, Key::from_pem without passphrase, csr_names (auth --csr), and the
// readers of certificate extensions in ocsp (AIA URLs) and sct (embedded SCT list).
//
// Oracles: only util::Error escapes, as one line; a parsed certificate re-encodes to DER and
// PEM that parse back to the same DER; at most 10 certificates per chain; SAN names and CSR
// names lower-case; AIA URLs http(s), printable ASCII, at most 2048 bytes; embedded log IDs 32
// bytes; a parsed key is RSA or EC on a named curve and its PEM re-parses to the same public key;
// an encrypted key without a passphrase is always refused.
#include "fuzz_common.hpp"
#include <certmgr/crypto.hpp>
#include <certmgr/ocsp.hpp>
#include <certmgr/sct.hpp>
#include <certmgr/util/error.hpp>

#include <algorithm>
#include <set>

namespace {
namespace crypto = certmgr::crypto;
namespace util = certmgr::util;
using certmgr::fuzz::require;
using certmgr::fuzz::require_one_line;

bool has_upper(std::string_view text) {
  return std::ranges::any_of(text, [](char c) { return c >= 'A' && c <= 'Z'; });
}

bool is_http_url(std::string_view url) {
  if (url.empty() || url.size() > 2048) return false;
  if (!std::ranges::all_of(url, [](char c) { return c > 0x20 && c < 0x7f; })) return false;
  std::string scheme(url.substr(0, url.find(':')));
  std::ranges::transform(scheme, scheme.begin(), [](char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
  });
  return (scheme == "http" || scheme == "https") && url.substr(scheme.size()).starts_with("://") &&
         url.size() > scheme.size() + 3;
}

template <class F> void expect_error_or_value(F&& f) {
  try {
    f();
  } catch (const util::Error& e) {
    require_one_line(e.what());
  }
}

/// Every accessor of a parsed certificate, with the promises of crypto.hpp.
void check_certificate(const crypto::Certificate& cert) {
  std::string der;
  try {
    der = cert.der();
    require(!der.empty(), "certificate encodes to nothing");
    const crypto::Certificate again = crypto::Certificate::from_der(der, "re-encoded");
    require(again.der() == der, "DER round trip differs");
    const auto from_pem = crypto::parse_chain(cert.pem(), "re-encoded");
    require(from_pem.size() == 1 && from_pem.front().der() == der, "PEM round trip differs");
  } catch (const util::Error& e) {
    require(false, "a parsed certificate does not re-encode and parse back", e.what());
  }

  (void)cert.subject_cn();
  (void)cert.issuer_cn();
  (void)cert.label();
  for (const std::string& name : cert.dns_names())
    require(!has_upper(name), "dns_names() not lower-cased", name);
  expect_error_or_value([&] { (void)cert.not_before(); });
  expect_error_or_value([&] { (void)cert.not_after(); });
  (void)cert.public_der();
  (void)cert.must_staple();
  expect_error_or_value([&] {
    const std::string serial = cert.serial_hex();
    const std::string_view digits =
        std::string_view(serial).substr(serial.starts_with('-') ? 1 : 0);
    require(!digits.empty() && std::ranges::all_of(digits,
                                                   [](char c) {
                                                     return (c >= '0' && c <= '9') ||
                                                            (c >= 'A' && c <= 'F');
                                                   }),
            "serial_hex() is not upper-case hex", serial);
  });
  (void)cert.issued_by(cert);
  const std::vector<std::string> urls = certmgr::ocsp::aia_urls(cert);
  for (const std::string& url : urls) require(is_http_url(url), "bad AIA OCSP URL", url);
  require(std::set<std::string>(urls.begin(), urls.end()).size() == urls.size(),
          "duplicate AIA URLs");
  for (const std::string& id : certmgr::sct::embedded_log_ids(cert))
    require(id.size() == 32, "embedded SCT log id not 32 bytes");
}

void fuzz_chain(std::string_view input) {
  expect_error_or_value([&] {
    const std::vector<crypto::Certificate> chain = crypto::parse_chain(input, "chain.pem");
    require(!chain.empty() && chain.size() <= 10, "parse_chain returned 0 or more than 10");
    for (std::size_t i = 0; i < chain.size(); ++i) {
      check_certificate(chain[i]);
      if (i + 1 < chain.size()) (void)chain[i].issued_by(chain[i + 1]);
    }
  });
  expect_error_or_value([&] {
    for (const crypto::Certificate& cert : crypto::scan_certificates(input, "cert.pem"))
      check_certificate(cert);
  });
}

void fuzz_der(std::string_view input) {
  expect_error_or_value([&] { check_certificate(crypto::Certificate::from_der(input, "der")); });
}

void fuzz_key(std::string_view input) {
  const bool encrypted = crypto::is_encrypted_pem(input);
  expect_error_or_value([&] {
    const crypto::Key key = crypto::Key::from_pem(input, "key.pem");
    require(!encrypted, "an encrypted key was read without a passphrase");
    require(EVP_PKEY_is_a(key.get(), "RSA") || EVP_PKEY_is_a(key.get(), "EC"),
            "a key that is neither RSA nor EC");
    const crypto::KeySpec spec = key.spec();
    if (spec.type == util::KeyType::ecdsa) require(!spec.curve.empty(), "EC key without curve");
    const std::string public_der = key.public_der();
    const util::Secret pem = key.to_pem();
    const crypto::Key again = crypto::Key::from_pem(pem.reveal(), "re-encoded");
    require(again.public_der() == public_der, "key PEM round trip changes the public key");
  });
}

void fuzz_csr(std::string_view input) {
  expect_error_or_value([&] {
    const std::vector<std::string> names = crypto::csr_names(input, "request.csr");
    require(!names.empty(), "csr_names returned no name");
    for (const std::string& name : names) require(!has_upper(name), "CSR name upper", name);
    require(std::set<std::string>(names.begin(), names.end()).size() == names.size(),
            "csr_names has duplicates");
  });
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input = certmgr::fuzz::as_text(data, size);
  fuzz_chain(input);
  fuzz_der(input);
  fuzz_key(input);
  fuzz_csr(input);
  return 0;
}
