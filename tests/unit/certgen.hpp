// tests/unit/certgen.hpp: self-signed test certificates with chosen names, times and
// extensions, made directly with OpenSSL (an oracle independent of crypto::).
#pragma once

#include <certmgr/crypto.hpp>

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <chrono>
#include <string>
#include <vector>

namespace certmgr::test {

struct CertRequest {
  std::string cn{};
  std::vector<std::string> names{};
  std::chrono::system_clock::time_point not_before{};
  std::chrono::system_clock::time_point not_after{};
  bool must_staple{false};
};

inline void add_ext(X509* cert, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

/// A certificate for `key`, self-signed by `key`.
inline crypto::Certificate make_certificate(const crypto::Key& key, const CertRequest& r) {
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 42);
  X509_NAME* name = X509_get_subject_name(cert);
  if (!r.cn.empty())
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(r.cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert, name);
  ASN1_TIME_set(X509_getm_notBefore(cert), std::chrono::system_clock::to_time_t(r.not_before));
  ASN1_TIME_set(X509_getm_notAfter(cert), std::chrono::system_clock::to_time_t(r.not_after));
  X509_set_pubkey(cert, key.get());
  std::string san;
  for (const auto& n : r.names) san += (san.empty() ? "DNS:" : ",DNS:") + n;
  if (!san.empty()) add_ext(cert, NID_subject_alt_name, san);
  if (r.must_staple) add_ext(cert, NID_tlsfeature, "status_request");
  X509_sign(cert, key.get(), EVP_sha256());
  return crypto::Certificate(crypto::X509Ptr(cert));
}

} // namespace certmgr::test
