#include "detail.hpp"
#include <certmgr/crypto.hpp>
#include <certmgr/util/error.hpp>
#include <certmgr/util/time.hpp>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/tls1.h>
#include <openssl/x509v3.h>

#include <climits>
#include <ctime>

namespace certmgr::crypto {
namespace {

using GeneralNamesPtr = std::unique_ptr<GENERAL_NAMES, util::FreeWith<GENERAL_NAMES_free>>;
using TlsFeaturePtr = std::unique_ptr<TLS_FEATURE, util::FreeWith<TLS_FEATURE_free>>;
using BignumPtr = std::unique_ptr<BIGNUM, util::FreeWith<BN_free>>;
using Utf8Ptr = std::unique_ptr<unsigned char, util::FreeWith<detail::openssl_free>>;

// A chain is a handful of certificates of a few KiB each; anything far larger is hostile.
constexpr std::size_t k_max_chain_bytes = 1024 * 1024;
constexpr std::size_t k_max_label_in_message = 40;

std::string asn1_to_utf8(const ASN1_STRING* value) {
  unsigned char* raw = nullptr;
  const int size = ASN1_STRING_to_UTF8(&raw, value);
  Utf8Ptr owned(raw);
  if (size < 0 || raw == nullptr) {
    ERR_clear_error();
    return {};
  }
  return {reinterpret_cast<const char*>(raw), static_cast<std::size_t>(size)};
}

std::string common_name(const X509_NAME* name) {
  const int index = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (index < 0) return {};
  return asn1_to_utf8(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, index)));
}

std::chrono::system_clock::time_point to_time_point(const ASN1_TIME* time) {
  std::tm parts{};
  if (time == nullptr || ASN1_TIME_to_tm(time, &parts) != 1)
    detail::fail("", "invalid time in certificate");
  return util::from_time_t_clamped(timegm(&parts));
}

bool is_whitespace(std::string_view text) {
  return text.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

// The label comes from the network: quote it only when it is short and printable.
std::string describe_label(std::string_view label) {
  const bool printable =
      label.size() <= k_max_label_in_message &&
      label.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ._-") == std::string_view::npos;
  return printable ? "\"" + std::string(label) + "\" block" : "non-certificate block";
}

Certificate decode_block(const detail::PemBlock& block, std::string_view source) {
  if (!block.terminated) detail::fail(source, "unterminated CERTIFICATE block");
  const auto der = detail::decode_base64(block.body);
  if (!der) detail::fail(source, "CERTIFICATE block is not valid base64");
  return Certificate::from_der(*der, source);
}

} // namespace

Certificate::Certificate(const Certificate& other) {
  if (other.m_cert && X509_up_ref(other.m_cert.get()) == 1) m_cert.reset(other.m_cert.get());
}

Certificate& Certificate::operator=(const Certificate& other) {
  if (this != &other) *this = Certificate(other);
  return *this;
}

Certificate Certificate::from_der(std::string_view der, std::string_view source) {
  ERR_clear_error();
  if (der.empty()) detail::fail(source, "empty certificate");
  if (der.size() > static_cast<std::size_t>(LONG_MAX))
    detail::fail(source, "certificate too large");
  const auto* begin = reinterpret_cast<const unsigned char*>(der.data());
  const unsigned char* next = begin;
  X509Ptr cert(d2i_X509(nullptr, &next, static_cast<long>(der.size())));
  if (!cert) detail::fail(source, "cannot parse certificate");
  if (next != begin + der.size()) detail::fail(source, "trailing bytes after certificate");
  return Certificate(std::move(cert));
}

std::string Certificate::der() const {
  return detail::encode_der([&](unsigned char** out) { return i2d_X509(m_cert.get(), out); },
                            "certificate");
}

std::string Certificate::pem() const {
  auto bio = detail::write_bio();
  if (PEM_write_bio_X509(bio.get(), m_cert.get()) != 1)
    detail::fail("", "cannot write certificate");
  return std::string(detail::bio_contents(bio.get()));
}

std::string Certificate::subject_cn() const {
  return common_name(X509_get_subject_name(m_cert.get()));
}

std::string Certificate::label() const {
  if (std::string cn = subject_cn(); !cn.empty()) return cn;
  if (auto names = dns_names(); !names.empty()) return names.front();
  detail::OpensslString line(X509_NAME_oneline(X509_get_subject_name(m_cert.get()), nullptr, 0));
  return line ? std::string(line.get()) : std::string();
}

std::string Certificate::issuer_cn() const {
  return common_name(X509_get_issuer_name(m_cert.get()));
}

std::vector<std::string> Certificate::dns_names() const {
  GeneralNamesPtr names(static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(m_cert.get(), NID_subject_alt_name, nullptr, nullptr)));
  ERR_clear_error(); // absent, duplicated or broken extension: no names
  std::vector<std::string> out;
  for (int i = 0; names && i < sk_GENERAL_NAME_num(names.get()); ++i) {
    int type = 0;
    const auto* value = static_cast<const ASN1_STRING*>(
        GENERAL_NAME_get0_value(sk_GENERAL_NAME_value(names.get(), i), &type));
    if (type != GEN_DNS || value == nullptr) continue;
    std::string name(reinterpret_cast<const char*>(ASN1_STRING_get0_data(value)),
                     static_cast<std::size_t>(ASN1_STRING_length(value)));
    for (char& c : name)
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    out.push_back(std::move(name));
  }
  return out;
}

std::chrono::system_clock::time_point Certificate::not_before() const {
  return to_time_point(X509_get0_notBefore(m_cert.get()));
}

std::chrono::system_clock::time_point Certificate::not_after() const {
  return to_time_point(X509_get0_notAfter(m_cert.get()));
}

std::string Certificate::public_der() const {
  const X509_PUBKEY* key = X509_get_X509_PUBKEY(m_cert.get());
  return detail::encode_der([&](unsigned char** out) { return i2d_X509_PUBKEY(key, out); },
                            "certificate public key");
}

bool Certificate::must_staple() const {
  TlsFeaturePtr features(
      static_cast<TLS_FEATURE*>(X509_get_ext_d2i(m_cert.get(), NID_tlsfeature, nullptr, nullptr)));
  ERR_clear_error();
  for (int i = 0; features && i < sk_ASN1_INTEGER_num(features.get()); ++i)
    if (ASN1_INTEGER_get(sk_ASN1_INTEGER_value(features.get(), i)) == TLSEXT_TYPE_status_request)
      return true;
  return false;
}

std::string Certificate::serial_hex() const {
  BignumPtr serial(ASN1_INTEGER_to_BN(X509_get0_serialNumber(m_cert.get()), nullptr));
  if (!serial) detail::fail("", "cannot read certificate serial number");
  detail::OpensslString hex(BN_bn2hex(serial.get()));
  if (!hex) detail::fail("", "cannot format certificate serial number");
  return hex.get();
}

bool Certificate::issued_by(const Certificate& issuer) const {
  bool issued = X509_check_issued(issuer.get(), m_cert.get()) == X509_V_OK;
  if (issued) {
    EVP_PKEY* key = X509_get0_pubkey(issuer.get());
    issued = key != nullptr && X509_verify(m_cert.get(), key) == 1;
  }
  ERR_clear_error(); // a failed check is an answer, not an error to report later
  return issued;
}

std::vector<Certificate> parse_chain(std::string_view pem, std::string_view source,
                                     std::size_t max_certificates) {
  if (pem.size() > k_max_chain_bytes) detail::fail(source, "certificate chain larger than 1 MiB");
  std::vector<Certificate> chain;
  std::size_t pos = 0;
  while (auto block = detail::next_pem_block(pem, pos)) {
    if (!is_whitespace(pem.substr(pos, block->begin - pos)))
      detail::fail(source, "unexpected text in certificate chain");
    if (block->label != "CERTIFICATE")
      detail::fail(source, "unexpected " + describe_label(block->label) + " in certificate chain");
    if (chain.size() >= max_certificates)
      detail::fail(source,
                   "more than " + std::to_string(max_certificates) + " certificates in chain");
    chain.push_back(decode_block(*block, source));
    pos = block->end;
  }
  if (!is_whitespace(pem.substr(pos))) detail::fail(source, "unexpected text in certificate chain");
  if (chain.empty()) detail::fail(source, "no certificate in chain");
  return chain;
}

std::vector<Certificate> scan_certificates(std::string_view text, std::string_view source) {
  std::vector<Certificate> certs;
  std::size_t pos = 0;
  while (auto block = detail::next_pem_block(text, pos)) {
    if (block->label == "CERTIFICATE") certs.push_back(decode_block(*block, source));
    // An unterminated block of another kind must not hide the certificates after it.
    pos = block->terminated ? block->end : block->begin + 1;
  }
  return certs;
}

} // namespace certmgr::crypto
