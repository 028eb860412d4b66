#include "detail.hpp"
#include <certmgr/crypto.hpp>
#include <certmgr/util/error.hpp>
#include <certmgr/util/text.hpp>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/tls1.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <array>

namespace certmgr::crypto {
namespace {

void free_extensions(STACK_OF(X509_EXTENSION) * extensions) {
  sk_X509_EXTENSION_pop_free(extensions, X509_EXTENSION_free);
}

using ReqPtr = std::unique_ptr<X509_REQ, util::FreeWith<X509_REQ_free>>;
using ExtensionPtr = std::unique_ptr<X509_EXTENSION, util::FreeWith<X509_EXTENSION_free>>;
using ExtensionsPtr = std::unique_ptr<STACK_OF(X509_EXTENSION), util::FreeWith<free_extensions>>;
using GeneralNamesPtr = std::unique_ptr<GENERAL_NAMES, util::FreeWith<GENERAL_NAMES_free>>;
using GeneralNamePtr = std::unique_ptr<GENERAL_NAME, util::FreeWith<GENERAL_NAME_free>>;
using Ia5StringPtr = std::unique_ptr<ASN1_IA5STRING, util::FreeWith<ASN1_IA5STRING_free>>;
using TlsFeaturePtr = std::unique_ptr<TLS_FEATURE, util::FreeWith<TLS_FEATURE_free>>;
using IntegerPtr = std::unique_ptr<ASN1_INTEGER, util::FreeWith<ASN1_INTEGER_free>>;

// RFC 5280 ub-common-name: a longer first name cannot be the CN and is only in the SAN.
constexpr std::size_t k_max_common_name = 64;
constexpr std::size_t k_max_dns_name = 253;

// dNSName is an IA5String: printable ASCII without spaces is all a DNS name or wildcard needs,
// and anything else would only make the CA reject the order later with a vaguer message.
bool is_dns_name(std::string_view name) {
  if (name.empty() || name.size() > k_max_dns_name) return false;
  for (const char c : name)
    if (c <= ' ' || c > '~') return false;
  return true;
}

// Names come from the configuration; quote one only when that cannot garble the message line.
std::string describe_name(std::string_view name, std::size_t index) {
  const bool quotable =
      !name.empty() && name.size() <= k_max_dns_name &&
      std::ranges::none_of(name, [](char c) { return (c >= 0 && c < ' ') || c == '\x7f'; });
  return quotable ? "\"" + std::string(name) + "\"" : "name " + std::to_string(index + 1);
}

GeneralNamePtr dns_general_name(const std::string& name) {
  Ia5StringPtr text(ASN1_IA5STRING_new());
  GeneralNamePtr general(GENERAL_NAME_new());
  if (!text || !general ||
      ASN1_STRING_set(text.get(), name.data(), static_cast<int>(name.size())) != 1)
    detail::fail("", "cannot build subjectAltName");
  GENERAL_NAME_set0_value(general.get(), GEN_DNS, text.release()); // cannot fail, takes ownership
  return general;
}

ExtensionPtr san_extension(const std::vector<std::string>& names) {
  GeneralNamesPtr general_names(GENERAL_NAMES_new());
  if (!general_names) detail::fail("", "cannot build subjectAltName");
  for (const auto& name : names) {
    GeneralNamePtr general = dns_general_name(name);
    if (sk_GENERAL_NAME_push(general_names.get(), general.get()) <= 0)
      detail::fail("", "cannot build subjectAltName");
    general.release(); // now owned by the stack
  }
  ExtensionPtr extension(X509V3_EXT_i2d(NID_subject_alt_name, 0, general_names.get()));
  if (!extension) detail::fail("", "cannot encode subjectAltName");
  return extension;
}

// RFC 7633 TLS feature extension listing status_request: SEQUENCE { INTEGER 5 }.
ExtensionPtr must_staple_extension() {
  TlsFeaturePtr features(TLS_FEATURE_new());
  IntegerPtr status_request(ASN1_INTEGER_new());
  if (!features || !status_request ||
      ASN1_INTEGER_set(status_request.get(), TLSEXT_TYPE_status_request) != 1 ||
      sk_ASN1_INTEGER_push(features.get(), status_request.get()) <= 0)
    detail::fail("", "cannot build TLS feature extension");
  status_request.release(); // now owned by the stack
  ExtensionPtr extension(X509V3_EXT_i2d(NID_tlsfeature, 0, features.get()));
  if (!extension) detail::fail("", "cannot encode TLS feature extension");
  return extension;
}

void add_extensions(X509_REQ* req, const std::vector<std::string>& names, bool must_staple) {
  ExtensionsPtr extensions(sk_X509_EXTENSION_new_null());
  if (!extensions) detail::fail("", "cannot build CSR extensions");
  std::vector<ExtensionPtr> parts;
  parts.push_back(san_extension(names));
  if (must_staple) parts.push_back(must_staple_extension());
  for (auto& part : parts) {
    if (sk_X509_EXTENSION_push(extensions.get(), part.get()) <= 0)
      detail::fail("", "cannot build CSR extensions");
    part.release(); // now owned by the stack
  }
  // X509_REQ_add_extensions copies the stack into the request's attribute.
  if (X509_REQ_add_extensions(req, extensions.get()) != 1)
    detail::fail("", "cannot add extensions to CSR");
}

void set_subject(X509_REQ* req, const std::string& first_name) {
  if (first_name.size() > k_max_common_name) return; // empty subject, the SAN carries the name
  X509_NAME* subject = X509_REQ_get_subject_name(req);
  if (X509_NAME_add_entry_by_NID(subject, NID_commonName, MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(first_name.data()),
                                 static_cast<int>(first_name.size()), -1, 0) != 1)
    detail::fail("", "cannot set CSR subject");
}

} // namespace

std::string make_csr(const Key& key, const std::vector<std::string>& names, bool must_staple) {
  ERR_clear_error();
  if (names.empty()) throw util::Error("cannot make a CSR without names");
  for (std::size_t i = 0; i < names.size(); ++i)
    if (!is_dns_name(names[i]))
      throw util::Error("cannot make a CSR: " + describe_name(names[i], i) +
                        " is not a valid DNS name");
  ReqPtr req(X509_REQ_new());
  if (!req) detail::fail("", "cannot create CSR");
  if (X509_REQ_set_version(req.get(), X509_REQ_VERSION_1) != 1 ||
      X509_REQ_set_pubkey(req.get(), key.get()) != 1)
    detail::fail("", "cannot set up CSR");
  set_subject(req.get(), names.front());
  add_extensions(req.get(), names, must_staple);
  if (X509_REQ_sign(req.get(), key.get(), EVP_sha256()) <= 0) detail::fail("", "cannot sign CSR");
  return detail::encode_der([&](unsigned char** out) { return i2d_X509_REQ(req.get(), out); },
                            "CSR");
}

std::string sha256(std::string_view bytes) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int size = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), digest.data(), &size, EVP_sha256(), nullptr) != 1)
    detail::fail("", "cannot compute SHA-256");
  return {reinterpret_cast<const char*>(digest.data()), size};
}

} // namespace certmgr::crypto

namespace certmgr::crypto {
namespace {
/// Lower-case ASCII copy of an ASN.1 string's bytes.
std::string lowered(const ASN1_STRING* value) {
  return util::ascii_lower(std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(value)),
                                       static_cast<std::size_t>(ASN1_STRING_length(value))));
}
} // namespace

std::vector<std::string> csr_names(std::string_view pem, std::string_view source) {
  const detail::BioPtr bio = detail::read_bio(pem, source);
  const ReqPtr req(PEM_read_bio_X509_REQ(bio.get(), nullptr, nullptr, nullptr));
  if (!req) detail::fail(source, "not a PEM certificate request");
  EVP_PKEY* key = X509_REQ_get0_pubkey(req.get());
  if (key == nullptr || X509_REQ_verify(req.get(), key) != 1)
    detail::fail(source, "the certificate request's signature does not verify");
  std::vector<std::string> names;
  const auto add = [&](std::string name) {
    if (!is_dns_name(name))
      detail::fail(source, "the certificate request holds a name that is "
                           "not a DNS name");
    if (std::ranges::find(names, name) == names.end()) names.push_back(std::move(name));
  };
  const X509_NAME* subject = X509_REQ_get_subject_name(req.get());
  for (int i = X509_NAME_get_index_by_NID(subject, NID_commonName, -1); i >= 0;
       i = X509_NAME_get_index_by_NID(subject, NID_commonName, i))
    add(lowered(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, i))));
  const ExtensionsPtr extensions(X509_REQ_get_extensions(req.get()));
  ERR_clear_error();
  for (int i = 0; extensions && i < sk_X509_EXTENSION_num(extensions.get()); ++i) {
    X509_EXTENSION* ext = sk_X509_EXTENSION_value(extensions.get(), i);
    if (OBJ_obj2nid(X509_EXTENSION_get_object(ext)) != NID_subject_alt_name) continue;
    const GeneralNamesPtr sans(static_cast<GENERAL_NAMES*>(X509V3_EXT_d2i(ext)));
    if (!sans) detail::fail(source, "the certificate request's subjectAltName does not parse");
    for (int j = 0; j < sk_GENERAL_NAME_num(sans.get()); ++j) {
      int type = 0;
      const auto* value = static_cast<const ASN1_STRING*>(
          GENERAL_NAME_get0_value(sk_GENERAL_NAME_value(sans.get(), j), &type));
      if (type != GEN_DNS || value == nullptr)
        detail::fail(source, "the certificate request holds a name that is not a DNS name");
      add(lowered(value));
    }
  }
  if (names.empty()) detail::fail(source, "the certificate request holds no name");
  return names;
}

} // namespace certmgr::crypto
