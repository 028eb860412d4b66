#include <certmgr/jose.hpp>
#include <certmgr/util/base64url.hpp>
#include <certmgr/util/error.hpp>

#include <fmt/format.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>

#include <vector>

namespace certmgr::jose {
namespace {
using BnPtr = std::unique_ptr<BIGNUM, util::FreeWith<BN_free>>;
using SigPtr = std::unique_ptr<ECDSA_SIG, util::FreeWith<ECDSA_SIG_free>>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, util::FreeWith<EVP_MD_CTX_free>>;

std::string bn_param(const EVP_PKEY* key, const char* name) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(key, name, &raw) != 1)
    throw util::Error("account key: no RSA parameter");
  const BnPtr bn(raw);
  std::string bytes(static_cast<std::size_t>(BN_num_bytes(bn.get())), '\0');
  BN_bn2bin(bn.get(), reinterpret_cast<unsigned char*>(bytes.data()));
  return bytes;
}

std::string ec_point(const EVP_PKEY* key) {
  std::string point(256, '\0');
  std::size_t len = 0;
  if (EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY,
                                      reinterpret_cast<unsigned char*>(point.data()), point.size(),
                                      &len) != 1)
    throw util::Error("account key: cannot read the EC public point");
  point.resize(len);
  // RFC 7518 §6.2.1: x and y are the uncompressed point's halves (after the 0x04 prefix).
  if (point.empty() || point[0] != 0x04 || len % 2 != 1)
    throw util::Error("account key: EC public point is not uncompressed");
  return point.substr(1);
}

const EVP_MD* digest_for(std::string_view alg) {
  if (alg.ends_with("384")) return EVP_sha384();
  if (alg.ends_with("512")) return EVP_sha512();
  return EVP_sha256();
}
} // namespace

std::string json_string(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20) {
      out += fmt::format("\\u{:04x}", u);
    } else {
      out += c;
    }
  }
  return out + "\"";
}

Signer::Signer(crypto::Key key) : m_key(std::move(key)) {
  const crypto::KeySpec spec = m_key.spec();
  if (spec.type == crypto::KeyType::rsa) {
    if (spec.rsa_bits < 2048) throw util::Error("account key: RSA keys need at least 2048 bits");
    m_alg = "RS256";
    m_jwk = fmt::format(R"({{"e":"{}","kty":"RSA","n":"{}"}})",
                        util::base64url_encode(bn_param(m_key.get(), OSSL_PKEY_PARAM_RSA_E)),
                        util::base64url_encode(bn_param(m_key.get(), OSSL_PKEY_PARAM_RSA_N)));
    return;
  }
  const std::string point = ec_point(m_key.get());
  m_ec_coordinate_bytes = static_cast<int>(point.size() / 2);
  std::string crv;
  if (spec.curve == "secp256r1")
    m_alg = "ES256", crv = "P-256";
  else if (spec.curve == "secp384r1")
    m_alg = "ES384", crv = "P-384";
  else if (spec.curve == "secp521r1")
    m_alg = "ES512", crv = "P-521";
  else
    throw util::Error(fmt::format("account key: unsupported curve {}", spec.curve));
  const auto half = point.size() / 2;
  m_jwk = fmt::format(R"({{"crv":"{}","kty":"EC","x":"{}","y":"{}"}})", crv,
                      util::base64url_encode(point.substr(0, half)),
                      util::base64url_encode(point.substr(half)));
}

std::string Signer::thumbprint() const { return util::base64url_encode(crypto::sha256(m_jwk)); }

std::string Signer::raw_signature(std::string_view signing_input) const {
  const MdCtxPtr ctx(EVP_MD_CTX_new());
  std::size_t len = 0;
  if (!ctx ||
      EVP_DigestSignInit(ctx.get(), nullptr, digest_for(m_alg), nullptr, m_key.get()) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &len,
                     reinterpret_cast<const unsigned char*>(signing_input.data()),
                     signing_input.size()) != 1)
    throw util::Error("cannot sign the ACME request");
  std::vector<unsigned char> sig(len);
  if (EVP_DigestSign(ctx.get(), sig.data(), &len,
                     reinterpret_cast<const unsigned char*>(signing_input.data()),
                     signing_input.size()) != 1)
    throw util::Error("cannot sign the ACME request");
  sig.resize(len);
  if (m_ec_coordinate_bytes == 0) return {sig.begin(), sig.end()};
  // RFC 7518 §3.4: ECDSA signatures are r ‖ s, each padded to the coordinate size, not DER.
  const unsigned char* p = sig.data();
  const SigPtr ecdsa(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size())));
  if (!ecdsa) throw util::Error("cannot decode the ECDSA signature");
  std::string out(static_cast<std::size_t>(2 * m_ec_coordinate_bytes), '\0');
  auto* bytes = reinterpret_cast<unsigned char*>(out.data());
  BN_bn2binpad(ECDSA_SIG_get0_r(ecdsa.get()), bytes, m_ec_coordinate_bytes);
  BN_bn2binpad(ECDSA_SIG_get0_s(ecdsa.get()), bytes + m_ec_coordinate_bytes, m_ec_coordinate_bytes);
  return out;
}

std::string Signer::sign(std::string_view url, std::string_view nonce,
                         const std::optional<std::string>& kid, std::string_view payload) const {
  const std::string key_member =
      kid ? fmt::format(R"("kid":{})", json_string(*kid)) : fmt::format(R"("jwk":{})", m_jwk);
  // RFC 8555 §7.3.5: the inner JWS of a key change carries no nonce.
  const std::string nonce_member =
      nonce.empty() ? std::string() : fmt::format(R"("nonce":{},)", json_string(nonce));
  const std::string header = fmt::format(R"({{"alg":"{}",{},{}"url":{}}})", m_alg, key_member,
                                         nonce_member, json_string(url));
  const std::string protected64 = util::base64url_encode(header);
  const std::string payload64 = util::base64url_encode(payload);
  const std::string signature = raw_signature(protected64 + "." + payload64);
  return fmt::format(R"({{"protected":"{}","payload":"{}","signature":"{}"}})", protected64,
                     payload64, util::base64url_encode(signature));
}

} // namespace certmgr::jose
