#include "test_keys.hpp"
#include "testutil.hpp"
#include <certmgr/crypto.hpp>
#include <certmgr/util/error.hpp>

#include <doctest/doctest.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <utility>
#include <vector>

using namespace certmgr;
using crypto::Certificate;
using crypto::Key;
using crypto::KeySpec;
using crypto::KeyType;

namespace {

void free_extensions(STACK_OF(X509_EXTENSION) * extensions) {
  sk_X509_EXTENSION_pop_free(extensions, X509_EXTENSION_free);
}
void free_string(char* text) { OPENSSL_free(text); }

using BioPtr = std::unique_ptr<BIO, util::FreeWith<BIO_free_all>>;
using BignumPtr = std::unique_ptr<BIGNUM, util::FreeWith<BN_free>>;
using NamePtr = std::unique_ptr<X509_NAME, util::FreeWith<X509_NAME_free>>;
using ExtensionPtr = std::unique_ptr<X509_EXTENSION, util::FreeWith<X509_EXTENSION_free>>;
using ExtensionsPtr = std::unique_ptr<STACK_OF(X509_EXTENSION), util::FreeWith<free_extensions>>;
using ReqPtr = std::unique_ptr<X509_REQ, util::FreeWith<X509_REQ_free>>;
using StringPtr = std::unique_ptr<char, util::FreeWith<free_string>>;

// ---------------------------------------------------------------------------------------------
// Fixtures made with the openssl command line (independent of the code under test).

// `openssl ecparam -name prime256v1 -genkey -noout`
constexpr std::string_view k_ec_traditional_pem = R"(-----BEGIN EC PRIVATE KEY-----
MHcCAQEEIIji8yfl6JfbEb6MOTQaLxo3qlZKkdnIDf/K14ALxjDhoAoGCCqGSM49
AwEHoUQDQgAESWf3+4SIlmfvCrcVC177k6qDb7qn/yPzh135htF7z50purb9kn7f
THVh0DwK0evBv4tMUCXp7GpKzKHXNARgFw==
-----END EC PRIVATE KEY-----
)";
// `openssl ec -in key.pem -pubout -outform DER | xxd -p`
constexpr std::string_view k_ec_public_der_hex =
    "3059301306072a8648ce3d020106082a8648ce3d030107034200044967f7fb84889667ef0ab7150b5efb93aa83"
    "6fbaa7ff23f3875df986d17bcf9d29bab6fd927edf4c7561d03c0ad1ebc1bf8b4c5025e9ec6a4acca1d7340460"
    "17";

// `openssl genrsa -traditional 1024`
constexpr std::string_view k_rsa_traditional_pem = R"(-----BEGIN RSA PRIVATE KEY-----
MIICXQIBAAKBgQDTR+405JkVWpNcIulOENrMrZ/cnXM4C4/c5BHSJf4Oi9DF7hGR
7rCEmtX6bHiufNvB5wX9FinhgPcbjs5TnJKzf2k2sVHOjyPXY3axo1d7bptYzZ1j
+UhuaVi2tZyEl7skVSLGwl54+OVEYYn8dRHYyjidqUu0nHW0CKujr9CvrwIDAQAB
AoGBAMHSFeMt5oVhXxfB6xczfRURHjsLsbwzVxmDnBmVwtfjSXWZ7UJbnlE3nZ6q
zZb8cbkSzzqaj3cQkSAVxI+NbkFSxsOhhdELwTwgdXTA6+HaRMhfw1zqt2NMAdb5
CncAavkFlJyCw3hdvgXtymJPe0TUqfu+k+EgoK60ME2ljeoxAkEA9/q3RzG9WEms
V8cazCQGec1IwTQ8Pf1rHC6TfZcTdY9D0g3siI0iDu9VOnbd6h+LwwWta1rVAu+o
K67OHLhw9wJBANodWYmniR6N7pc6rJohANioBK1VTi6GHFiEHGKXd+Q83FDC0wyk
0zKk+gqVIX1rnLxDBypB5b3whKlHCUkKQQkCQQDNmNDb9iFGUc7R+AH/vt6fndP0
W5qWysVDWFpwhhFcJqvUPDcf/+N8/nFrR6I1unHl/48IswZoqMqFbSj2JvWBAkAf
9AbG/M1AtahLbWQV3FnkY5Dz17hxZmJGsWv7IZeFz0izaCdFBeyO0c5zuG9EkXxP
tD4bebXvgoncxrRch+0JAkBolvgcSoQ8pwK/FKnmyMMBEsQ+PtqTdRZb9X3708hE
bJFDjW7quL3qYzrJuen3X/OrnE5rH0uzwjVNZBK9Yfae
-----END RSA PRIVATE KEY-----
)";
// `openssl rsa -in key.pem -pubout -outform DER | sha256sum`
constexpr std::string_view k_rsa_public_der_sha256 =
    "5b6f3f4bec2cc088a7a4069820dbecf0eda8651e19ce82d91cfc131953089231";

// RFC 7919 appendix A.1 (identical to `openssl genpkey -genparam -algorithm DH -pkeyopt
// group:ffdhe2048`).
constexpr std::string_view k_ffdhe2048_pem = R"(-----BEGIN DH PARAMETERS-----
MIIBCAKCAQEA//////////+t+FRYortKmq/cViAnPTzx2LnFg84tNpWp4TZBFGQz
+8yTnc4kmz75fS/jY2MMddj2gbICrsRhetPfHtXV/WVhJDP1H18GbtCFY2VVPe0a
87VXE15/V8k1mE8McODmi3fipona8+/och3xWKE2rec1MKzKT0g6eXq8CrGCsyT7
YdEIqUuyyOP7uWrat2DX9GgdT0Kj3jlN9K5W7edjcrsZCwenyO4KbXCeAvzhzffi
7MA0BM0oNC9hkXL+nOmFg/+OTxIy7vKBg8P+OxtMb61zO7X8vC7CIAXFjvGDfRaD
ssbzSibBsu/6iGtCOGEoXJf//////////wIBAg==
-----END DH PARAMETERS-----
)";
// RFC 7919 ffdhe2048 prime p.
constexpr std::string_view k_ffdhe2048_prime =
    "FFFFFFFFFFFFFFFFADF85458A2BB4A9AAFDC5620273D3CF1D8B9C583CE2D3695A9E13641146433FBCC939DCE249B3E"
    "F97D2FE363630C75D8F681B202AEC4617AD3DF1ED5D5FD65612433F51F5F066ED0856365553DED1AF3B557135E7F5"
    "7C935984F0C70E0E68B77E2A689DAF3EFE8721DF158A136ADE73530ACCA4F483A797ABC0AB182B324FB61D108A94B"
    "B2C8E3FBB96ADAB760D7F4681D4F42A3DE394DF4AE56EDE76372BB190B07A7C8EE0A6D709E02FCE1CDF7E2ECC0340"
    "4CD28342F619172FE9CE98583FF8E4F1232EEF28183C3FE3B1B4C6FAD733BB5FCBC2EC22005C58EF1837D1683B2C6"
    "F34A26C1B2EFFA886B423861285C97FFFFFFFFFFFFFFFF";
// Every RFC 7919 prime starts with 64 one bits and the leading bits of e.
constexpr std::string_view k_ffdhe_prime_prefix = "FFFFFFFFFFFFFFFFADF85458A2BB4A9AAFDC5620";

// `openssl ecparam -name <curve>`
constexpr std::string_view k_p256_pem =
    "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n";
constexpr std::string_view k_p384_pem =
    "-----BEGIN EC PARAMETERS-----\nBgUrgQQAIg==\n-----END EC PARAMETERS-----\n";
constexpr std::string_view k_p521_pem =
    "-----BEGIN EC PARAMETERS-----\nBgUrgQQAIw==\n-----END EC PARAMETERS-----\n";
constexpr std::string_view k_brainpool_pem =
    "-----BEGIN EC PARAMETERS-----\nBgkrJAMDAggBAQc=\n-----END EC PARAMETERS-----\n";

// ---------------------------------------------------------------------------------------------
// Helpers

std::string to_hex(std::string_view bytes) {
  static constexpr char k_digits[] = "0123456789abcdef";
  std::string out;
  for (const unsigned char c : bytes) {
    out += k_digits[c >> 4];
    out += k_digits[c & 0x0f];
  }
  return out;
}

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  return {data, static_cast<std::size_t>(size)};
}

std::string replace_once(std::string text, std::string_view from, std::string_view to) {
  const auto pos = text.find(from);
  REQUIRE(pos != std::string::npos);
  return text.replace(pos, from.size(), to);
}

using test::error_of;

using test::ec_key;
using test::rsa_key;

struct CertSpec {
  std::string cn{"example.test"};
  std::string org{};
  std::string san{"DNS:Example.TEST,IP:192.0.2.1,DNS:www.example.test"}; // openssl conf syntax
  bool must_staple{false};
  bool ca{false};
  bool authority_key_id{true};
  std::string serial{"1A2B3C"};
};

NamePtr make_name(const CertSpec& spec) {
  NamePtr name(X509_NAME_new());
  REQUIRE(name);
  const auto add = [&](const char* field, const std::string& value) {
    if (value.empty()) return;
    REQUIRE(X509_NAME_add_entry_by_txt(name.get(), field, MBSTRING_UTF8,
                                       reinterpret_cast<const unsigned char*>(value.c_str()), -1,
                                       -1, 0) == 1);
  };
  add("O", spec.org);
  add("CN", spec.cn);
  return name;
}

void add_extension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  ExtensionPtr extension(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
  REQUIRE(extension);
  REQUIRE(X509_add_ext(cert, extension.get(), -1) == 1);
}

void add_extensions(X509* cert, X509* issuer, const CertSpec& spec) {
  if (!spec.san.empty()) add_extension(cert, issuer, NID_subject_alt_name, spec.san);
  if (spec.must_staple) add_extension(cert, issuer, NID_tlsfeature, "status_request");
  if (spec.ca) {
    add_extension(cert, issuer, NID_basic_constraints, "critical,CA:TRUE");
    add_extension(cert, issuer, NID_key_usage, "critical,keyCertSign,cRLSign");
    add_extension(cert, issuer, NID_subject_key_identifier, "hash");
  } else if (spec.authority_key_id && issuer != cert) {
    add_extension(cert, issuer, NID_authority_key_identifier, "keyid:always");
  }
}

// A certificate for `key`, signed by `issuer_key` (self-signed when `issuer` is null).
Certificate make_cert(const CertSpec& spec, const Key& key, const Certificate* issuer = nullptr,
                      const Key* issuer_key = nullptr) {
  crypto::X509Ptr cert(X509_new());
  REQUIRE(cert);
  REQUIRE(X509_set_version(cert.get(), X509_VERSION_3) == 1);
  BIGNUM* raw_serial = nullptr;
  REQUIRE(BN_hex2bn(&raw_serial, spec.serial.c_str()) > 0);
  BignumPtr serial(raw_serial);
  REQUIRE(BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())) != nullptr);
  const NamePtr name = make_name(spec);
  REQUIRE(X509_set_subject_name(cert.get(), name.get()) == 1);
  REQUIRE(X509_set_issuer_name(cert.get(), issuer != nullptr ? X509_get_subject_name(issuer->get())
                                                             : name.get()) == 1);
  REQUIRE(ASN1_TIME_set_string(X509_getm_notBefore(cert.get()), "20260101000000Z") == 1);
  REQUIRE(ASN1_TIME_set_string(X509_getm_notAfter(cert.get()), "20270630123456Z") == 1);
  REQUIRE(X509_set_pubkey(cert.get(), key.get()) == 1);
  add_extensions(cert.get(), issuer != nullptr ? issuer->get() : cert.get(), spec);
  const Key& signer = issuer_key != nullptr ? *issuer_key : key;
  REQUIRE(X509_sign(cert.get(), signer.get(), EVP_sha256()) > 0);
  return Certificate(std::move(cert));
}

struct Hierarchy {
  Key ca_key = Key::generate(KeySpec{.type = KeyType::ecdsa, .curve = "secp256r1"});
  Certificate ca = make_cert(CertSpec{.cn = "Test CA", .san = "", .ca = true}, ca_key);
  Certificate leaf = make_cert(CertSpec{}, ec_key(), &ca, &ca_key);
};

const Hierarchy& hierarchy() {
  static const Hierarchy h;
  return h;
}

ReqPtr parse_csr(const std::string& der) {
  const auto* begin = reinterpret_cast<const unsigned char*>(der.data());
  const unsigned char* next = begin;
  ReqPtr req(d2i_X509_REQ(nullptr, &next, static_cast<long>(der.size())));
  REQUIRE(req);
  CHECK(next == begin + der.size());
  return req;
}

// The extension's critical flag and DER value, or nullopt when absent.
std::optional<std::pair<bool, std::string>> csr_extension(X509_REQ* req, int nid) {
  ExtensionsPtr extensions(X509_REQ_get_extensions(req));
  if (!extensions) return std::nullopt;
  const int index = X509v3_get_ext_by_NID(extensions.get(), nid, -1);
  if (index < 0) return std::nullopt;
  X509_EXTENSION* extension = sk_X509_EXTENSION_value(extensions.get(), index);
  const ASN1_OCTET_STRING* value = X509_EXTENSION_get_data(extension);
  return std::pair{X509_EXTENSION_get_critical(extension) != 0,
                   std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(value)),
                               static_cast<std::size_t>(ASN1_STRING_length(value)))};
}

crypto::PkeyPtr read_params(std::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  crypto::PkeyPtr params(PEM_read_bio_Parameters(bio.get(), nullptr));
  REQUIRE(params);
  return params;
}

std::string bn_param_hex(const EVP_PKEY* pkey, const char* name) {
  BIGNUM* raw = nullptr;
  REQUIRE(EVP_PKEY_get_bn_param(pkey, name, &raw) == 1);
  BignumPtr value(raw);
  StringPtr hex(BN_bn2hex(value.get()));
  return hex.get();
}

using test::run_command;

std::string chain_text(const std::vector<Certificate>& certs, std::string_view separator) {
  std::string text;
  for (const auto& cert : certs) text += cert.pem() + std::string(separator);
  return text;
}

std::vector<std::string> ders(const std::vector<Certificate>& certs) {
  std::vector<std::string> out;
  for (const auto& cert : certs) out.push_back(cert.der());
  return out;
}

} // namespace

// ---------------------------------------------------------------------------------------------
TEST_SUITE("crypto curves") {
  TEST_CASE("canonical_curve maps every accepted spelling to the SEC name") {
    CHECK(crypto::canonical_curve("secp256r1") == "secp256r1");
    CHECK(crypto::canonical_curve("prime256v1") == "secp256r1");
    CHECK(crypto::canonical_curve("P-256") == "secp256r1");
    CHECK(crypto::canonical_curve("p-256") == "secp256r1");
    CHECK(crypto::canonical_curve("secp384r1") == "secp384r1");
    CHECK(crypto::canonical_curve("P-384") == "secp384r1");
    CHECK(crypto::canonical_curve("p-384") == "secp384r1");
    CHECK(crypto::canonical_curve("secp521r1") == "secp521r1");
    CHECK(crypto::canonical_curve("P-521") == "secp521r1");
    CHECK(crypto::canonical_curve("p-521") == "secp521r1");
  }

  TEST_CASE("canonical_curve returns an empty string for other names") {
    CHECK(crypto::canonical_curve("").empty());
    CHECK(crypto::canonical_curve("P256").empty());
    CHECK(crypto::canonical_curve("P-224").empty());
    CHECK(crypto::canonical_curve("brainpoolP256r1").empty());
    CHECK(crypto::canonical_curve("secp256k1").empty());
  }

  TEST_CASE("is_known_curve accepts canonical spellings and OpenSSL curve short names only") {
    CHECK(crypto::is_known_curve("P-384"));
    CHECK(crypto::is_known_curve("prime256v1"));
    CHECK(crypto::is_known_curve("brainpoolP256r1"));
    CHECK(crypto::is_known_curve("secp256k1"));
    CHECK_FALSE(crypto::is_known_curve("sha256"));
    CHECK_FALSE(crypto::is_known_curve("no-such-curve"));
    CHECK_FALSE(crypto::is_known_curve(""));
  }
}

// ---------------------------------------------------------------------------------------------
TEST_SUITE("crypto keys") {
  TEST_CASE("generated EC keys report their curve under its canonical name") {
    for (const char* curve : {"secp256r1", "P-384", "secp521r1"}) {
      CAPTURE(curve);
      const Key key = Key::generate(KeySpec{.type = KeyType::ecdsa, .curve = curve});
      CHECK(key.spec() == KeySpec{.type = KeyType::ecdsa, .curve = crypto::canonical_curve(curve)});
    }
    const Key brainpool =
        Key::generate(KeySpec{.type = KeyType::ecdsa, .curve = "brainpoolP256r1"});
    CHECK(brainpool.spec().curve == "brainpoolP256r1");
  }

  TEST_CASE("a generated RSA key has the requested size and exponent 65537") {
    CHECK(rsa_key().spec() == KeySpec{.type = KeyType::rsa, .rsa_bits = 2048});
    BIGNUM* raw = nullptr;
    REQUIRE(EVP_PKEY_get_bn_param(rsa_key().get(), OSSL_PKEY_PARAM_RSA_E, &raw) == 1);
    BignumPtr exponent(raw);
    CHECK(BN_get_word(exponent.get()) == 65537);
  }

  TEST_CASE("generating a key on an unknown curve fails") {
    CHECK_THROWS_AS((void)Key::generate(KeySpec{.type = KeyType::ecdsa, .curve = "P-999"}),
                    util::Error);
  }

  TEST_CASE("to_pem writes unencrypted PKCS#8 that from_pem reads back to the same key") {
    for (const Key* key : {&ec_key(), &rsa_key()}) {
      const util::Secret pem = key->to_pem();
      const std::string_view text = pem.reveal();
      CHECK(text.starts_with("-----BEGIN PRIVATE KEY-----\n"));
      CHECK(text.ends_with("-----END PRIVATE KEY-----\n"));
      const Key again = Key::from_pem(text, "key.pem");
      CHECK(again.spec() == key->spec());
      CHECK(again.public_der() == key->public_der());
      CHECK(again.to_pem() == pem);
    }
  }

  TEST_CASE("from_pem reads a traditional EC key made by the openssl command") {
    const Key key = Key::from_pem(k_ec_traditional_pem, "ec.pem");
    CHECK(key.spec() == KeySpec{.type = KeyType::ecdsa, .curve = "secp256r1"});
    CHECK(to_hex(key.public_der()) == k_ec_public_der_hex);
  }

  TEST_CASE("from_pem reads a traditional RSA key made by the openssl command") {
    const Key key = Key::from_pem(k_rsa_traditional_pem, "rsa.pem");
    CHECK(key.spec() == KeySpec{.type = KeyType::rsa, .rsa_bits = 1024});
    CHECK(to_hex(crypto::sha256(key.public_der())) == k_rsa_public_der_sha256);
  }

  TEST_CASE("from_pem without a passphrase refuses encrypted keys clearly instead of prompting") {
    const auto check_refused = [](const std::string& pem) {
      const std::string message = error_of([&] { (void)Key::from_pem(pem, "/etc/k.pem"); });
      CHECK(message == "/etc/k.pem: the key is encrypted and no passphrase is configured");
    };
    BioPtr pkcs8(BIO_new(BIO_s_mem()));
    REQUIRE(PEM_write_bio_PKCS8PrivateKey(pkcs8.get(), ec_key().get(), EVP_aes_256_cbc(),
                                          "passphrase", 10, nullptr, nullptr) == 1);
    REQUIRE(bio_text(pkcs8.get()).starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
    check_refused(bio_text(pkcs8.get()));

    BioPtr traditional(BIO_new(BIO_s_mem()));
    REQUIRE(PEM_write_bio_PrivateKey_traditional(
                traditional.get(), rsa_key().get(), EVP_aes_256_cbc(),
                reinterpret_cast<const unsigned char*>("passphrase"), 10, nullptr, nullptr) == 1);
    REQUIRE(bio_text(traditional.get()).find("Proc-Type: 4,ENCRYPTED") != std::string::npos);
    check_refused(bio_text(traditional.get()));
  }

  TEST_CASE("from_pem names the source when the text holds no usable key") {
    const std::string pem(ec_key().to_pem().reveal());
    const std::string corrupt = replace_once(pem, "\n", "\n!!!!");
    for (const std::string& text : {std::string(), std::string("hello"), corrupt}) {
      const std::string message = error_of([&] { (void)Key::from_pem(text, "key.pem"); });
      CHECK(message.starts_with("key.pem: cannot parse private key"));
      CHECK(message.find('\n') == std::string::npos);
      CHECK(message.find("MIG") == std::string::npos); // no key bytes in the message
    }
  }

  TEST_CASE("from_pem rejects key types other than RSA and EC") {
    crypto::PkeyPtr ed25519(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
    REQUIRE(ed25519);
    BioPtr bio(BIO_new(BIO_s_mem()));
    REQUIRE(PEM_write_bio_PrivateKey(bio.get(), ed25519.get(), nullptr, nullptr, 0, nullptr,
                                     nullptr) == 1);
    const std::string message = error_of([&] { (void)Key::from_pem(bio_text(bio.get()), "k"); });
    CHECK(message.find("unsupported private key type") != std::string::npos);
    CHECK_THROWS_AS((void)Key(std::move(ed25519)).spec(), util::Error);
  }
}

// ---------------------------------------------------------------------------------------------
TEST_SUITE("crypto certificates") {
  TEST_CASE("a certificate survives a DER round trip and rejects trailing or missing bytes") {
    const Certificate& leaf = hierarchy().leaf;
    const std::string der = leaf.der();
    CHECK(Certificate::from_der(der, "c.der").der() == der);
    const std::string message = error_of([&] { (void)Certificate::from_der(der + '\0', "c.der"); });
    CHECK(message == "c.der: trailing bytes after certificate");
    CHECK_THROWS_AS((void)Certificate::from_der(der.substr(0, der.size() - 1), "c.der"),
                    util::Error);
    CHECK_THROWS_AS((void)Certificate::from_der("", "c.der"), util::Error);
    CHECK_THROWS_AS((void)Certificate::from_der("garbage", "c.der"), util::Error);
  }

  TEST_CASE("pem writes one CERTIFICATE block with 64-column lines that OpenSSL reads back") {
    const std::string pem = hierarchy().leaf.pem();
    CHECK(pem.starts_with("-----BEGIN CERTIFICATE-----\n"));
    CHECK(pem.ends_with("\n-----END CERTIFICATE-----\n"));
    std::size_t start = 0;
    for (std::size_t end; (end = pem.find('\n', start)) != std::string::npos; start = end + 1)
      CHECK(end - start <= 64);
    BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    crypto::X509Ptr parsed(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    REQUIRE(parsed);
    CHECK(Certificate(std::move(parsed)).der() == hierarchy().leaf.der());
  }

  TEST_CASE("names, SANs, times and serial are read from the certificate") {
    const Certificate& leaf = hierarchy().leaf;
    CHECK(leaf.subject_cn() == "example.test");
    CHECK(leaf.issuer_cn() == "Test CA");
    CHECK(leaf.label() == "example.test");
    CHECK(leaf.dns_names() == std::vector<std::string>{"example.test", "www.example.test"});
    CHECK(leaf.not_before() == std::chrono::system_clock::from_time_t(1767225600));
    CHECK(leaf.not_after() == std::chrono::system_clock::from_time_t(1814358896));
    CHECK(leaf.serial_hex() == "1A2B3C");
    CHECK(hierarchy().ca.dns_names().empty());
  }

  TEST_CASE("serial_hex prints whole bytes of a large serial in upper case") {
    const Certificate cert =
        make_cert(CertSpec{.serial = "0a1b2c3d4e5f60718293a4b5c6d7e8f901"}, ec_key());
    CHECK(cert.serial_hex() == "0A1B2C3D4E5F60718293A4B5C6D7E8F901");
  }

  TEST_CASE("label falls back to the first DNS name and then to the one-line subject") {
    const Certificate no_cn =
        make_cert(CertSpec{.cn = "", .san = "DNS:B.example,DNS:a.example"}, ec_key());
    CHECK(no_cn.subject_cn().empty());
    CHECK(no_cn.label() == "b.example");
    const Certificate bare =
        make_cert(CertSpec{.cn = "", .org = "Example Org", .san = ""}, ec_key());
    CHECK(bare.label() == "/O=Example Org");
  }

  TEST_CASE("public_der of a certificate equals public_der of its key") {
    CHECK(hierarchy().leaf.public_der() == ec_key().public_der());
    CHECK(hierarchy().ca.public_der() == hierarchy().ca_key.public_der());
    CHECK(hierarchy().leaf.public_der() != hierarchy().ca.public_der());
  }

  TEST_CASE("must_staple is true only with the TLS feature status_request") {
    CHECK_FALSE(hierarchy().leaf.must_staple());
    CHECK(make_cert(CertSpec{.must_staple = true}, ec_key()).must_staple());
  }

  TEST_CASE("issued_by checks both the issuer name and the signature") {
    const Hierarchy& h = hierarchy();
    CHECK(h.leaf.issued_by(h.ca));
    CHECK(h.ca.issued_by(h.ca));
    CHECK_FALSE(h.ca.issued_by(h.leaf));
    CHECK_FALSE(h.leaf.issued_by(h.leaf));
    // Same name, no key identifiers: only the signature can tell the impostor apart.
    const Key other_key = Key::generate(KeySpec{.type = KeyType::ecdsa, .curve = "secp256r1"});
    const CertSpec plain{.authority_key_id = false};
    const Certificate leaf = make_cert(plain, ec_key(), &h.ca, &h.ca_key);
    const Certificate impostor = make_cert(CertSpec{.cn = "Test CA", .san = ""}, other_key);
    CHECK(leaf.issued_by(h.ca));
    CHECK_FALSE(leaf.issued_by(impostor));
  }

  TEST_CASE("copies of a certificate share the object and outlive the original") {
    std::optional<Certificate> original = make_cert(CertSpec{}, ec_key());
    const Certificate copy = *original;
    CHECK(copy.get() == original->get());
    Certificate assigned = hierarchy().ca;
    assigned = *original;
    original.reset();
    CHECK(copy.subject_cn() == "example.test");
    CHECK(assigned.der() == copy.der());
  }
}

// ---------------------------------------------------------------------------------------------
TEST_SUITE("crypto chains") {
  TEST_CASE("parse_chain returns the certificates in order, whitespace between them allowed") {
    const Hierarchy& h = hierarchy();
    const std::string text = "\n" + chain_text({h.leaf, h.ca}, "\r\n\n");
    const auto chain = crypto::parse_chain(text, "https://ca.test/cert/1");
    CHECK(ders(chain) == std::vector{h.leaf.der(), h.ca.der()});
  }

  TEST_CASE("parse_chain rejects other block types, stray text and empty input") {
    const Hierarchy& h = hierarchy();
    const std::string leaf = h.leaf.pem();
    const std::string key(ec_key().to_pem().reveal());
    const std::vector<std::string> bad{
        "",
        " \n\t\n",
        leaf + key,
        key + leaf,
        leaf + "junk\n" + h.ca.pem(),
        "example.test issued at 2026-01-01 00:00:00 UTC\n" + leaf,
        leaf + "trailing",
        std::string(k_ffdhe2048_pem) + leaf,
    };
    for (const auto& text : bad) {
      CAPTURE(text);
      const std::string message = error_of([&] { (void)crypto::parse_chain(text, "chain.pem"); });
      CHECK(message.starts_with("chain.pem: "));
      CHECK(message.find("MIG") == std::string::npos); // no key material echoed
    }
    const std::string message = error_of([&] { (void)crypto::parse_chain(key + leaf, "c"); });
    CHECK(message == "c: unexpected \"PRIVATE KEY\" block in certificate chain");
  }

  TEST_CASE("parse_chain rejects CERTIFICATE blocks that do not decode exactly") {
    const std::string leaf = hierarchy().leaf.pem();
    const std::string unterminated = leaf.substr(0, leaf.find("-----END"));
    const std::string headers = replace_once(leaf, "-----\n", "-----\nProc-Type: 4,ENCRYPTED\n\n");
    const std::string bad_base64 = replace_once(leaf, "\n", "\n*");
    // OpenSSL's base64 decoder would stop at '-' and accept what came before.
    const std::string dash_tail = replace_once(leaf, "\n-----END", "\n-junk\n-----END");
    BioPtr bio(BIO_new(BIO_s_mem()));
    const std::string der_plus = hierarchy().leaf.der() + "XYZ";
    REQUIRE(PEM_write_bio(bio.get(), "CERTIFICATE", "",
                          reinterpret_cast<const unsigned char*>(der_plus.data()),
                          static_cast<long>(der_plus.size())) > 0);
    for (const auto& text :
         {unterminated, headers, bad_base64, dash_tail, bio_text(bio.get()),
          std::string("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n")}) {
      CAPTURE(text);
      CHECK_THROWS_AS((void)crypto::parse_chain(text, "chain.pem"), util::Error);
    }
  }

  TEST_CASE("parse_chain accepts at most max_certificates blocks") {
    const Hierarchy& h = hierarchy();
    const std::string three = chain_text({h.leaf, h.ca, h.ca}, "");
    CHECK(crypto::parse_chain(three, "c", 3).size() == 3);
    const std::string message = error_of([&] { (void)crypto::parse_chain(three, "c", 2); });
    CHECK(message == "c: more than 2 certificates in chain");
    std::string many;
    for (int i = 0; i < 11; ++i) many += h.ca.pem();
    CHECK_THROWS_AS((void)crypto::parse_chain(many, "c"), util::Error);
  }

  TEST_CASE("parse_chain refuses oversized input before parsing it") {
    const std::string huge = hierarchy().leaf.pem() + std::string(2 * 1024 * 1024, '\n');
    const std::string message = error_of([&] { (void)crypto::parse_chain(huge, "c"); });
    CHECK(message.find("larger than") != std::string::npos);
  }

  TEST_CASE("scan_certificates skips label lines and other blocks of a file certmgr wrote") {
    const Hierarchy& h = hierarchy();
    const std::string text = "# certmgr certificate file\n"
                             "example.test issued at 2026-01-01 00:00:00 UTC\n" +
                             h.leaf.pem() + "Test CA\n" + h.ca.pem() + "\n" +
                             std::string(k_ffdhe2048_pem) + "-----BEGIN JUNK-----\nnot closed\n";
    CHECK(ders(crypto::scan_certificates(text, "cert.pem")) ==
          std::vector{h.leaf.der(), h.ca.der()});
    CHECK(crypto::scan_certificates("no blocks here\n", "cert.pem").empty());
    CHECK(crypto::scan_certificates("", "cert.pem").empty());
  }

  TEST_CASE("scan_certificates fails on a CERTIFICATE block that does not decode") {
    const std::string text = "label\n" + replace_once(hierarchy().leaf.pem(), "\n", "\nAAAA");
    const std::string message =
        error_of([&] { (void)crypto::scan_certificates(text, "cert.pem"); });
    CHECK(message.starts_with("cert.pem: "));
  }
}

// ---------------------------------------------------------------------------------------------
TEST_SUITE("crypto csr") {
  TEST_CASE("make_csr produces a signed v1 request with CN and a non-critical SAN") {
    const std::vector<std::string> names{"example.test", "www.example.test"};
    const ReqPtr req = parse_csr(crypto::make_csr(ec_key(), names, false));
    CHECK(X509_REQ_get_version(req.get()) == 0);
    EVP_PKEY* key = X509_REQ_get0_pubkey(req.get());
    REQUIRE(key != nullptr);
    CHECK(X509_REQ_verify(req.get(), key) == 1);
    CHECK(X509_REQ_get_signature_nid(req.get()) == NID_ecdsa_with_SHA256);
    StringPtr subject(X509_NAME_oneline(X509_REQ_get_subject_name(req.get()), nullptr, 0));
    CHECK(std::string(subject.get()) == "/CN=example.test");
    const auto san = csr_extension(req.get(), NID_subject_alt_name);
    REQUIRE(san);
    CHECK_FALSE(san->first);
    // SEQUENCE { [2] "example.test", [2] "www.example.test" }
    CHECK(san->second == std::string("\x30\x20\x82\x0c"
                                     "example.test"
                                     "\x82\x10"
                                     "www.example.test",
                                     34));
    CHECK_FALSE(csr_extension(req.get(), NID_tlsfeature));
  }

  TEST_CASE("make_csr adds a non-critical TLS feature status_request when must_staple") {
    const ReqPtr req = parse_csr(crypto::make_csr(rsa_key(), {"example.test"}, true));
    CHECK(X509_REQ_get_signature_nid(req.get()) == NID_sha256WithRSAEncryption);
    CHECK(X509_REQ_verify(req.get(), X509_REQ_get0_pubkey(req.get())) == 1);
    const auto feature = csr_extension(req.get(), NID_tlsfeature);
    REQUIRE(feature);
    CHECK_FALSE(feature->first);
    CHECK(feature->second == std::string("\x30\x03\x02\x01\x05", 5)); // SEQUENCE { INTEGER 5 }
  }

  TEST_CASE("make_csr leaves the subject empty when the first name is longer than 64 bytes") {
    const std::string long_name = std::string(60, 'a') + ".example.test";
    const ReqPtr req = parse_csr(crypto::make_csr(ec_key(), {long_name, "b.test"}, false));
    CHECK(X509_NAME_entry_count(X509_REQ_get_subject_name(req.get())) == 0);
    const auto san = csr_extension(req.get(), NID_subject_alt_name);
    REQUIRE(san);
    CHECK(san->second.find(long_name) != std::string::npos);
  }

  TEST_CASE("make_csr refuses an empty name list and names that are not DNS names") {
    CHECK_THROWS_AS((void)crypto::make_csr(ec_key(), {}, false), util::Error);
    CHECK_THROWS_AS((void)crypto::make_csr(ec_key(), {"a.test", ""}, false), util::Error);
    CHECK_THROWS_AS((void)crypto::make_csr(ec_key(), {"a b.test"}, false), util::Error);
  }

  TEST_CASE("the openssl command verifies a CSR and shows its names and TLS feature") {
    if (run_command("openssl version 2>/dev/null").empty()) {
      MESSAGE("openssl command not available: skipped");
      return;
    }
    test::TempDir dir;
    const auto path = dir.path() / "req.der";
    test::write_text(path, crypto::make_csr(ec_key(), {"example.test", "www.example.test"}, true));
    const std::string text = run_command("openssl req -inform DER -in '" + path.string() +
                                         "' -noout -text -verify 2>&1");
    CHECK(text.find("verify OK") != std::string::npos);
    CHECK(text.find("Subject: CN = example.test") != std::string::npos);
    CHECK(text.find("DNS:example.test, DNS:www.example.test") != std::string::npos);
    CHECK(text.find("status_request") != std::string::npos);
  }
}

// ---------------------------------------------------------------------------------------------
TEST_SUITE("crypto parameters") {
  TEST_CASE("dh_params(2048, fast) is the RFC 7919 ffdhe2048 group") {
    const std::string pem = crypto::dh_params(2048, true);
    CHECK(pem == k_ffdhe2048_pem);
    const crypto::PkeyPtr params = read_params(pem);
    CHECK(bn_param_hex(params.get(), OSSL_PKEY_PARAM_FFC_P) == k_ffdhe2048_prime);
    CHECK(bn_param_hex(params.get(), OSSL_PKEY_PARAM_FFC_G) == "02");
  }

  TEST_CASE("dh_params fast uses the RFC 7919 primes of every size at once") {
    const std::vector<std::pair<int, std::string_view>> groups{
        {3072, "25E41D2B66C62E37FFFFFFFFFFFFFFFF"},
        {4096, "C68A007E5E655F6AFFFFFFFFFFFFFFFF"},
        {6144, "A40E329CD0E40E65FFFFFFFFFFFFFFFF"},
        {8192, "D68C8BB7C5C6424CFFFFFFFFFFFFFFFF"},
    };
    for (const auto& [bits, suffix] : groups) {
      CAPTURE(bits);
      const auto start = std::chrono::steady_clock::now();
      const std::string pem = crypto::dh_params(bits, true);
      CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(1));
      CHECK(pem.starts_with("-----BEGIN DH PARAMETERS-----\n"));
      const crypto::PkeyPtr params = read_params(pem);
      CHECK(EVP_PKEY_get_bits(params.get()) == bits);
      const std::string prime = bn_param_hex(params.get(), OSSL_PKEY_PARAM_FFC_P);
      CHECK(prime.starts_with(k_ffdhe_prime_prefix));
      CHECK(prime.ends_with(suffix));
    }
  }

  TEST_CASE("dh_params without fast generates a fresh safe prime with generator 2") {
    const std::string pem = crypto::dh_params(512, false);
    CHECK(pem.starts_with("-----BEGIN DH PARAMETERS-----\n"));
    const crypto::PkeyPtr params = read_params(pem);
    CHECK(EVP_PKEY_get_bits(params.get()) == 512);
    CHECK(bn_param_hex(params.get(), OSSL_PKEY_PARAM_FFC_G) == "02");
    BIGNUM* raw = nullptr;
    REQUIRE(EVP_PKEY_get_bn_param(params.get(), OSSL_PKEY_PARAM_FFC_P, &raw) == 1);
    BignumPtr p(raw);
    BignumPtr q(BN_dup(p.get()));
    REQUIRE(q);
    REQUIRE(BN_rshift1(q.get(), q.get()) == 1);
    CHECK(BN_check_prime(p.get(), nullptr, nullptr) == 1);
    CHECK(BN_check_prime(q.get(), nullptr, nullptr) == 1); // (p-1)/2 prime: a safe prime
  }

  TEST_CASE("ec_params prints exactly what openssl ecparam -name prints") {
    CHECK(crypto::ec_params("secp256r1") == k_p256_pem);
    CHECK(crypto::ec_params("prime256v1") == k_p256_pem);
    CHECK(crypto::ec_params("P-256") == k_p256_pem);
    CHECK(crypto::ec_params("secp384r1") == k_p384_pem);
    CHECK(crypto::ec_params("p-384") == k_p384_pem);
    CHECK(crypto::ec_params("secp521r1") == k_p521_pem);
    CHECK(crypto::ec_params("brainpoolP256r1") == k_brainpool_pem);
  }

  TEST_CASE("ec_params rejects unknown curves") {
    CHECK_THROWS_AS((void)crypto::ec_params("P-999"), util::Error);
    CHECK_THROWS_AS((void)crypto::ec_params("sha256"), util::Error);
    CHECK_THROWS_AS((void)crypto::ec_params(""), util::Error);
  }

  TEST_CASE("scan_params finds a DH and an EC block among other text") {
    const std::string text = hierarchy().leaf.pem() + "label line\n" +
                             std::string(k_ffdhe2048_pem) + "\n" + std::string(k_p384_pem);
    const crypto::Params params = crypto::scan_params(text);
    CHECK(params.dh_pem == k_ffdhe2048_pem);
    CHECK(params.dh_bits == 2048);
    CHECK(params.ec_pem == k_p384_pem);
    CHECK(params.ec_curve == "secp384r1");
  }

  TEST_CASE("scan_params reports canonical or OpenSSL curve names") {
    CHECK(crypto::scan_params(k_p256_pem).ec_curve == "secp256r1");
    CHECK(crypto::scan_params(k_brainpool_pem).ec_curve == "brainpoolP256r1");
    const crypto::Params nothing = crypto::scan_params("no parameters\n");
    CHECK(nothing.dh_pem.empty());
    CHECK(nothing.dh_bits == 0);
    CHECK(nothing.ec_pem.empty());
    CHECK(nothing.ec_curve.empty());
  }

  TEST_CASE("scan_params treats blocks that do not parse or check as absent") {
    // A changed prime still parses but is no longer prime, so the check rejects it.
    const std::string bad_prime = replace_once(std::string(k_ffdhe2048_pem), "87VXE15", "87VXE16");
    REQUIRE(read_params(bad_prime));
    const std::string bad_base64 = replace_once(std::string(k_p256_pem), "BggqhkjOPQMBBw==", "@@");
    const crypto::Params params = crypto::scan_params(bad_prime + bad_base64);
    CHECK(params.dh_pem.empty());
    CHECK(params.dh_bits == 0);
    CHECK(params.ec_pem.empty());
    // A later valid block is still found.
    const crypto::Params later = crypto::scan_params(bad_prime + std::string(k_ffdhe2048_pem));
    CHECK(later.dh_pem == k_ffdhe2048_pem);
  }
}

// ---------------------------------------------------------------------------------------------
TEST_SUITE("crypto hashes") {
  TEST_CASE("sha256 matches the FIPS 180-2 test vectors") {
    CHECK(to_hex(crypto::sha256("abc")) ==
          "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(to_hex(crypto::sha256("")) ==
          "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  }
}
