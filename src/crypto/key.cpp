#include "detail.hpp"
#include <certmgr/crypto.hpp>
#include <certmgr/util/error.hpp>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

namespace certmgr::crypto {
namespace {

// Passphrases are not supported yet: refusing (rather than prompting on the terminal, which is
// OpenSSL's default) makes an encrypted key fail at once, and the flag lets us say why.
int refuse_passphrase(char* /*buf*/, int /*size*/, int /*rwflag*/, void* asked) {
  *static_cast<bool*>(asked) = true;
  return -1;
}

detail::PkeyCtxPtr keygen_context(const char* algorithm) {
  detail::PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, algorithm, nullptr));
  if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1)
    detail::fail("", std::string("cannot set up ") + algorithm + " key generation");
  return ctx;
}

PkeyPtr run_keygen(EVP_PKEY_CTX* ctx, const std::string& what) {
  EVP_PKEY* raw = nullptr;
  if (EVP_PKEY_generate(ctx, &raw) != 1) detail::fail("", "cannot generate " + what);
  return PkeyPtr(raw);
}

PkeyPtr generate_rsa(int bits) {
  auto ctx = keygen_context("RSA");
  // The default public exponent of OpenSSL 3 is 65537 (RSA_F4).
  if (EVP_PKEY_CTX_set_rsa_keygen_bits(ctx.get(), bits) <= 0)
    detail::fail("", "cannot generate an RSA key of " + std::to_string(bits) + " bits");
  return run_keygen(ctx.get(), "RSA key of " + std::to_string(bits) + " bits");
}

PkeyPtr generate_ec(const std::string& curve) {
  const std::string name = detail::openssl_curve_name(curve);
  if (name.empty()) throw util::Error("unknown EC curve \"" + curve + "\"");
  auto ctx = keygen_context("EC");
  if (EVP_PKEY_CTX_set_group_name(ctx.get(), name.c_str()) <= 0)
    detail::fail("", "cannot generate an EC key on curve " + curve);
  return run_keygen(ctx.get(), "EC key on curve " + curve);
}

} // namespace

Key Key::generate(const KeySpec& spec) {
  return Key(spec.type == KeyType::rsa ? generate_rsa(spec.rsa_bits) : generate_ec(spec.curve));
}

Key Key::from_pem(std::string_view pem, std::string_view source) {
  ERR_clear_error();
  auto bio = detail::read_bio(pem, source);
  bool asked = false;
  PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, refuse_passphrase, &asked));
  if (!key && asked) {
    ERR_clear_error(); // OpenSSL's reason ("bad decrypt", ...) would only confuse
    detail::fail(source, "encrypted private key: passphrases are not supported yet");
  }
  if (!key) {
    ERR_clear_error(); // OpenSSL 3's decoders say only "unsupported", whatever went wrong
    detail::fail(source, "cannot parse private key: not an unencrypted PEM RSA or EC key");
  }
  if (!EVP_PKEY_is_a(key.get(), "RSA") && !EVP_PKEY_is_a(key.get(), "EC")) {
    const char* type = EVP_PKEY_get0_type_name(key.get());
    detail::fail(source, std::string("unsupported private key type ") +
                             (type != nullptr ? type : "(unknown)") + ": only RSA and EC");
  }
  if (EVP_PKEY_is_a(key.get(), "EC") && detail::curve_of(key.get()).empty())
    detail::fail(source, "EC private key without a named curve");
  return Key(std::move(key));
}

util::Secret Key::to_pem() const {
  // Secure-heap memory is cleansed when the BIO frees (or grows) its buffer.
  auto bio = detail::write_bio(true);
  if (PEM_write_bio_PrivateKey(bio.get(), m_key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1)
    detail::fail("", "cannot encode private key as PEM");
  return util::Secret(detail::bio_contents(bio.get()));
}

KeySpec Key::spec() const {
  if (EVP_PKEY_is_a(m_key.get(), "RSA")) {
    return KeySpec{.type = KeyType::rsa, .rsa_bits = EVP_PKEY_get_bits(m_key.get())};
  }
  if (EVP_PKEY_is_a(m_key.get(), "EC")) {
    std::string curve = detail::curve_of(m_key.get());
    if (curve.empty()) throw util::Error("EC key without a named curve");
    return KeySpec{.type = KeyType::ecdsa, .curve = std::move(curve)};
  }
  throw util::Error("unsupported key type: only RSA and EC");
}

std::string Key::public_der() const {
  return detail::encode_der([&](unsigned char** out) { return i2d_PUBKEY(m_key.get(), out); },
                            "public key");
}

} // namespace certmgr::crypto
