#include "detail.hpp"
#include <certmgr/crypto.hpp>
#include <certmgr/util/error.hpp>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>

namespace certmgr::crypto {
namespace {

using AlgorPtr = std::unique_ptr<X509_ALGOR, util::FreeWith<X509_ALGOR_free>>;
using Pkcs8Ptr = std::unique_ptr<PKCS8_PRIV_KEY_INFO, util::FreeWith<PKCS8_PRIV_KEY_INFO_free>>;
using SigPtr = std::unique_ptr<X509_SIG, util::FreeWith<X509_SIG_free>>;

// scrypt cost of to_pem(passphrase): the scrypt paper's parameters for interactive use (also
// `openssl pkcs8 -scrypt`'s), 16 MiB and a few tens of milliseconds per key.
constexpr std::uint64_t k_scrypt_n = 16384;
constexpr std::uint64_t k_scrypt_r = 8;
constexpr std::uint64_t k_scrypt_p = 1;

/// What the passphrase callback of from_pem was given and what happened in it.
struct PassphraseRequest {
  const util::Secret* passphrase{nullptr};
  bool asked{false};
  bool too_long{false};
};

// Always passed to OpenSSL's PEM readers: without a callback they prompt on the terminal. It
// also tells from_pem whether the key was encrypted at all, which OpenSSL's errors do not.
int supply_passphrase(char* buf, int size, int /*rwflag*/, void* userdata) {
  auto& request = *static_cast<PassphraseRequest*>(userdata);
  request.asked = true;
  if (request.passphrase == nullptr || size <= 0) return -1;
  const std::string_view passphrase = request.passphrase->reveal();
  // Truncating would make a wrong passphrase of a right one's prefix: refuse instead.
  if (passphrase.size() > static_cast<std::size_t>(size)) {
    request.too_long = true;
    return -1;
  }
  std::memcpy(buf, passphrase.data(), passphrase.size());
  return static_cast<int>(passphrase.size());
}

/// The first line of a PEM body: where RFC 1421 headers such as "Proc-Type:" stand.
std::string_view first_body_line(std::string_view body) {
  while (!body.empty() && (body.front() == '\r' || body.front() == '\n')) body.remove_prefix(1);
  return body.substr(0, body.find_first_of("\r\n"));
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

bool is_encrypted_pem(std::string_view pem) {
  for (auto block = detail::next_pem_block(pem, 0); block;
       block = detail::next_pem_block(pem, block->end)) {
    if (block->label == "ENCRYPTED PRIVATE KEY") return true;
    if (block->label.ends_with("PRIVATE KEY") &&
        first_body_line(block->body).starts_with("Proc-Type: 4,ENCRYPTED"))
      return true;
  }
  return false;
}

Key Key::from_pem(std::string_view pem, std::string_view source) {
  return from_pem(pem, source, nullptr);
}

Key Key::from_pem(std::string_view pem, std::string_view source, const util::Secret* passphrase) {
  ERR_clear_error();
  auto bio = detail::read_bio(pem, source);
  PassphraseRequest request{.passphrase = passphrase};
  PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, supply_passphrase, &request));
  if (!key && request.asked) {
    ERR_clear_error(); // OpenSSL's reason ("bad decrypt", "unsupported", ...) would only confuse
    if (passphrase == nullptr)
      detail::fail(source, "the key is encrypted and no passphrase is configured");
    if (request.too_long)
      detail::fail(source, "the passphrase is longer than " +
                               std::to_string(k_max_passphrase_bytes) + " bytes");
    detail::fail(source, "wrong passphrase (cannot decrypt the key)");
  }
  if (!key) {
    ERR_clear_error(); // OpenSSL 3's decoders say only "unsupported", whatever went wrong
    detail::fail(source, "cannot parse private key: not a PEM RSA or EC key");
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

util::Secret Key::to_pem(const util::Secret& passphrase) const {
  const std::string_view pass = passphrase.reveal();
  if (pass.empty()) throw util::Error("empty passphrase");
  // from_pem could not decrypt what a longer passphrase encrypts (see k_max_passphrase_bytes).
  if (pass.size() > k_max_passphrase_bytes)
    throw util::Error("passphrase longer than " + std::to_string(k_max_passphrase_bytes) +
                      " bytes");
  ERR_clear_error();
  // Null salt and IV: OpenSSL draws both from its CSPRNG.
  AlgorPtr pbe(PKCS5_pbe2_set_scrypt(EVP_aes_256_cbc(), nullptr, 0, nullptr, k_scrypt_n, k_scrypt_r,
                                     k_scrypt_p));
  if (!pbe) detail::fail("", "cannot set up scrypt key encryption");
  // The PKCS#8 structure holds the clear key; OpenSSL cleanses it when freeing it.
  const Pkcs8Ptr info(EVP_PKEY2PKCS8(m_key.get()));
  if (!info) detail::fail("", "cannot encode private key as PKCS#8");
  SigPtr encrypted(
      PKCS8_set0_pbe(pass.data(), static_cast<int>(pass.size()), info.get(), pbe.get()));
  if (!encrypted) detail::fail("", "cannot encrypt private key");
  (void)pbe.release(); // owned by `encrypted` now (only on success)
  // The encrypted PEM is still secret enough (offline guessing): keep it on the secure heap.
  auto bio = detail::write_bio(true);
  if (PEM_write_bio_PKCS8(bio.get(), encrypted.get()) != 1)
    detail::fail("", "cannot encode encrypted private key as PEM");
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
