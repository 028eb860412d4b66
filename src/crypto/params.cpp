#include "detail.hpp"
#include <certmgr/crypto.hpp>
#include <certmgr/util/error.hpp>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/params.h>
#include <openssl/pem.h>

#include <algorithm>
#include <array>

namespace certmgr::crypto {
namespace {

constexpr std::array k_ffdhe_bits{2048, 3072, 4096, 6144, 8192};
constexpr int k_dh_generator = 2;
constexpr std::string_view k_dh_label = "DH PARAMETERS";
constexpr std::string_view k_ec_label = "EC PARAMETERS";

detail::PkeyCtxPtr paramgen_context(const char* algorithm) {
  detail::PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, algorithm, nullptr));
  if (!ctx || EVP_PKEY_paramgen_init(ctx.get()) != 1)
    detail::fail("", std::string("cannot set up ") + algorithm + " parameter generation");
  return ctx;
}

PkeyPtr run_paramgen(EVP_PKEY_CTX* ctx, const std::string& what) {
  EVP_PKEY* raw = nullptr;
  if (EVP_PKEY_paramgen(ctx, &raw) != 1) detail::fail("", "cannot generate " + what);
  return PkeyPtr(raw);
}

// RFC 7919 groups are fixed: "generating" them only selects the built-in prime.
PkeyPtr ffdhe_params(int bits) {
  const std::string group = "ffdhe" + std::to_string(bits);
  auto ctx = paramgen_context("DH");
  if (EVP_PKEY_CTX_set_group_name(ctx.get(), group.c_str()) != 1)
    detail::fail("", "cannot select DH group " + group);
  return run_paramgen(ctx.get(), "DH group " + group);
}

// Safe prime with generator 2, as `openssl dhparam <bits>` makes. The type is set as a
// parameter: EVP_PKEY_CTX_set_dh_paramgen_type(DH_PARAMGEN_TYPE_GENERATOR) crashes OpenSSL 3.0.
PkeyPtr generated_dh_params(int bits) {
  const std::string what = "DH parameters of " + std::to_string(bits) + " bits";
  if (bits <= 0) throw util::Error("cannot generate " + what);
  auto ctx = paramgen_context("DH");
  std::string type = "generator";
  std::size_t prime_bits = static_cast<std::size_t>(bits);
  int generator = k_dh_generator;
  const std::array settings{
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_FFC_TYPE, type.data(), 0),
      OSSL_PARAM_construct_size_t(OSSL_PKEY_PARAM_FFC_PBITS, &prime_bits),
      OSSL_PARAM_construct_int(OSSL_PKEY_PARAM_DH_GENERATOR, &generator),
      OSSL_PARAM_construct_end(),
  };
  if (EVP_PKEY_CTX_set_params(ctx.get(), settings.data()) != 1)
    detail::fail("", "cannot set up generation of " + what);
  return run_paramgen(ctx.get(), what);
}

std::string write_params(EVP_PKEY* params, std::string_view label) {
  auto bio = detail::write_bio();
  if (PEM_write_bio_Parameters(bio.get(), params) != 1)
    detail::fail("", "cannot write " + std::string(label));
  std::string pem(detail::bio_contents(bio.get()));
  // Another encoding (X9.42 DH, explicit curve) would not be what `openssl` tools print.
  if (!pem.starts_with("-----BEGIN " + std::string(label) + "-----\n"))
    throw util::Error("unexpected encoding of " + std::string(label));
  return pem;
}

// Parses one parameters block and runs OpenSSL's check; nullptr when either fails.
PkeyPtr checked_params(std::string_view block, const char* algorithm) {
  auto bio = detail::read_bio(block, "");
  PkeyPtr params(PEM_read_bio_Parameters(bio.get(), nullptr));
  bool ok = params && EVP_PKEY_is_a(params.get(), algorithm);
  if (ok) {
    detail::PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, params.get(), nullptr));
    ok = ctx && EVP_PKEY_param_check(ctx.get()) == 1;
  }
  ERR_clear_error(); // a bad block is reported as absent, not as an error
  return ok ? std::move(params) : PkeyPtr();
}

void take_dh(Params& out, std::string block) {
  if (PkeyPtr params = checked_params(block, "DH")) {
    out.dh_bits = EVP_PKEY_get_bits(params.get());
    out.dh_pem = std::move(block);
  }
}

void take_ec(Params& out, std::string block) {
  if (PkeyPtr params = checked_params(block, "EC")) {
    std::string curve = detail::curve_of(params.get());
    if (curve.empty()) return; // explicit curve parameters: not something certmgr writes
    out.ec_curve = std::move(curve);
    out.ec_pem = std::move(block);
  }
}

} // namespace

std::string dh_params(int bits, bool fast) {
  ERR_clear_error();
  const bool named = fast && std::ranges::find(k_ffdhe_bits, bits) != k_ffdhe_bits.end();
  const PkeyPtr params = named ? ffdhe_params(bits) : generated_dh_params(bits);
  return write_params(params.get(), k_dh_label);
}

std::string ec_params(std::string_view curve) {
  ERR_clear_error();
  std::string name = detail::openssl_curve_name(curve);
  if (name.empty()) throw util::Error("unknown EC curve \"" + std::string(curve) + "\"");
  auto ctx = paramgen_context("EC");
  std::string encoding = OSSL_PKEY_EC_ENCODING_GROUP;
  const std::array settings{
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, name.data(), 0),
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_EC_ENCODING, encoding.data(), 0),
      OSSL_PARAM_construct_end(),
  };
  if (EVP_PKEY_CTX_set_params(ctx.get(), settings.data()) != 1)
    detail::fail("", "cannot select EC curve " + std::string(curve));
  const PkeyPtr params = run_paramgen(ctx.get(), "EC parameters for " + std::string(curve));
  return write_params(params.get(), k_ec_label);
}

Params scan_params(std::string_view text) {
  ERR_clear_error();
  Params out;
  std::size_t pos = 0;
  while (auto block = detail::next_pem_block(text, pos)) {
    pos = block->terminated ? block->end : block->begin + 1;
    if (!block->terminated) continue;
    if (block->label == k_dh_label && out.dh_pem.empty())
      take_dh(out, detail::block_text(text, *block));
    else if (block->label == k_ec_label && out.ec_pem.empty())
      take_ec(out, detail::block_text(text, *block));
  }
  return out;
}

} // namespace certmgr::crypto
