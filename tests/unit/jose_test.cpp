#include <certmgr/jose.hpp>
#include <certmgr/util/base64url.hpp>

#include <doctest/doctest.h>
#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <rapidjson/document.h>

using namespace certmgr;

namespace {
rapidjson::Document parse(const std::string& text) {
  rapidjson::Document doc;
  doc.Parse(text.c_str());
  REQUIRE_FALSE(doc.HasParseError());
  return doc;
}

/// Verifies a JOSE ES256 signature (r ‖ s) with OpenSSL, independently of the signer's code.
bool verify_es256(const crypto::Key& key, const std::string& input, const std::string& sig) {
  if (sig.size() != 64) return false;
  ECDSA_SIG* raw = ECDSA_SIG_new();
  BIGNUM* r = BN_bin2bn(reinterpret_cast<const unsigned char*>(sig.data()), 32, nullptr);
  BIGNUM* s = BN_bin2bn(reinterpret_cast<const unsigned char*>(sig.data()) + 32, 32, nullptr);
  ECDSA_SIG_set0(raw, r, s);
  unsigned char* der = nullptr;
  const int der_len = i2d_ECDSA_SIG(raw, &der);
  ECDSA_SIG_free(raw);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const bool ok =
      EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key.get()) == 1 &&
      EVP_DigestVerify(ctx, der, static_cast<std::size_t>(der_len),
                       reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
  EVP_MD_CTX_free(ctx);
  OPENSSL_free(der);
  return ok;
}
} // namespace

TEST_SUITE_BEGIN("jose::Signer");

TEST_CASE("an EC P-256 account key signs ES256 as 64 raw bytes that verify") {
  const auto pem =
      crypto::Key::generate({.type = crypto::KeyType::ecdsa, .curve = "secp256r1"}).to_pem();
  const jose::Signer signer(crypto::Key::from_pem(pem.reveal(), "test"));
  CHECK(signer.alg() == "ES256");
  const auto jws = parse(signer.sign("https://ca.test/acme/new-order", "nonce123",
                                     std::string("https://ca.test/acct/1"), R"({"a":1})"));
  const std::string input =
      std::string(jws["protected"].GetString()) + "." + jws["payload"].GetString();
  const auto sig = util::base64url_decode(jws["signature"].GetString());
  REQUIRE(sig.has_value());
  CHECK(verify_es256(crypto::Key::from_pem(pem.reveal(), "test"), input, *sig));
  const auto header = parse(*util::base64url_decode(jws["protected"].GetString()));
  CHECK(std::string(header["alg"].GetString()) == "ES256");
  CHECK(std::string(header["kid"].GetString()) == "https://ca.test/acct/1");
  CHECK(std::string(header["nonce"].GetString()) == "nonce123");
  CHECK(std::string(header["url"].GetString()) == "https://ca.test/acme/new-order");
  CHECK_FALSE(header.HasMember("jwk"));
  CHECK(*util::base64url_decode(jws["payload"].GetString()) == R"({"a":1})");
}

TEST_CASE("without an account URL the header carries the JWK instead of a kid") {
  const jose::Signer signer(
      crypto::Key::generate({.type = crypto::KeyType::ecdsa, .curve = "secp256r1"}));
  const auto jws = parse(signer.sign("https://ca.test/new-acct", "n", std::nullopt, ""));
  const auto header = parse(*util::base64url_decode(jws["protected"].GetString()));
  REQUIRE(header.HasMember("jwk"));
  CHECK(std::string(header["jwk"]["kty"].GetString()) == "EC");
  CHECK(std::string(header["jwk"]["crv"].GetString()) == "P-256");
  CHECK(std::string(jws["payload"].GetString()).empty()); // POST-as-GET
}

TEST_CASE("the JWK is canonical and its thumbprint is base64url SHA-256 of it (RFC 7638)") {
  const jose::Signer signer(
      crypto::Key::generate({.type = crypto::KeyType::ecdsa, .curve = "secp256r1"}));
  const std::string& jwk = signer.jwk();
  CHECK(jwk.starts_with(R"({"crv":"P-256","kty":"EC","x":")"));
  CHECK(jwk.find(' ') == std::string::npos);
  const auto doc = parse(jwk);
  const std::string x = doc["x"].GetString();
  CHECK(util::base64url_decode(x)->size() == 32);
  CHECK(signer.thumbprint() == util::base64url_encode(crypto::sha256(jwk)));
  CHECK(signer.thumbprint().size() == 43);
}

TEST_CASE("an RSA account key (as the Python certmgr made) signs RS256") {
  const jose::Signer signer(
      crypto::Key::generate({.type = crypto::KeyType::rsa, .rsa_bits = 2048}));
  CHECK(signer.alg() == "RS256");
  CHECK(signer.jwk().starts_with(R"({"e":"AQAB","kty":"RSA","n":")"));
  const auto jws = parse(signer.sign("https://ca.test/x", "n", std::nullopt, "{}"));
  CHECK(util::base64url_decode(jws["signature"].GetString())->size() == 256);
}

TEST_CASE("JSON strings escape quotes, backslashes and control characters") {
  CHECK(jose::json_string("a\"b\\c\n") == R"("a\"b\\c\u000a")");
}

TEST_SUITE_END();
