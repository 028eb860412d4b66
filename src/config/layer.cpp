// config/layer.cpp: the keys a certificate inherits from settings (behaviour §2.4 "cert"
// column, §2.8), read the same way in both places.

#include "config/detail.hpp"

#include <fmt/format.h>

namespace certmgr::config::detail {
namespace {

/// CA/B Baseline Requirements §6.1.5: at least 2048 bits, a multiple of 8. Above 16384 key
/// generation takes minutes and buys nothing.
constexpr Range k_rsa_bits{2048, 16384, true};
constexpr int k_rsa_bits_step = 8;
/// RFC 7919 groups start at 2048; generating beyond 8192 takes hours.
constexpr Range k_dhparam_bits{2048, 8192, true};

void read_key_size(const Node& node, Layer& layer) {
  const int bits = read_size(node, k_rsa_bits);
  if (bits % k_rsa_bits_step != 0) {
    node.fail(fmt::format("{} is not a multiple of {} (RSA key sizes are whole bytes)", bits,
                          k_rsa_bits_step));
  }
  layer.key_size = bits;
}

// clang-format off
constexpr Key<Layer> k_layer_keys[] = {
  {"key_size", read_key_size},
  {"key_curve", [](const Node& n, Layer& l) { l.key_curve = read_curve(n); }},
  {"dhparam_size", [](const Node& n, Layer& l) { l.dhparam_size = read_size(n, k_dhparam_bits); }},
  {"fast_dhparam", [](const Node& n, Layer& l) { agree(l.fast_dhparam, read_bool(n), n,
                                                       "fast_dhparams"); }},
  // B9: the README spelling.
  {"fast_dhparams", [](const Node& n, Layer& l) { agree(l.fast_dhparam, read_bool(n), n,
                                                        "fast_dhparam"); }},
  {"ecparam_curve", [](const Node& n, Layer& l) { l.ecparam_curve = read_curve(n); }},
  {"ocsp_must_staple", [](const Node& n, Layer& l) { l.ocsp_must_staple = read_bool(n); }},
  {"file_user", [](const Node& n, Layer& l) { l.file_uid = read_user(n); }},
  {"file_group", [](const Node& n, Layer& l) { l.file_gid = read_group(n); }},
  {"auth", [](const Node& n, Layer& l) { l.auth = read_auth(n); }},
  {"key_passphrase", [](const Node& n, Layer& l) { l.key_passphrase = read_passphrase(n); }},
  {"ocsp_responder_urls", [](const Node& n, Layer& l) { l.ocsp_responder_urls = read_url_list(n); }},
  {"ct_submit_logs", [](const Node& n, Layer& l) { l.ct_submit_logs = n; }},
  {"preferred_chain", unsupported<Layer, Off::null>},
  {"verify", [](const Node& n, Layer& l) { l.verify = n; }},
};
// clang-format on

template <class T>
T pick(const std::optional<T>& own, const std::optional<T>& global, const T& fallback) {
  if (own) return *own;
  if (global) return *global;
  return fallback;
}

} // namespace

bool read_layer_key(const Node& member, Layer& layer) {
  const Key<Layer>* key = find_key<Layer>(k_layer_keys, member.key());
  if (key == nullptr) return false;
  key->read(member, layer);
  return true;
}

Certificate resolve_layers(const Layer& own, const Layer& global) {
  const Certificate defaults;
  Certificate certificate;
  certificate.key_size = pick(own.key_size, global.key_size, defaults.key_size);
  certificate.key_curve = pick(own.key_curve, global.key_curve, defaults.key_curve);
  certificate.dhparam_size = pick(own.dhparam_size, global.dhparam_size, defaults.dhparam_size);
  certificate.fast_dhparam = pick(own.fast_dhparam, global.fast_dhparam, defaults.fast_dhparam);
  certificate.ecparam_curve = pick(own.ecparam_curve, global.ecparam_curve, defaults.ecparam_curve);
  certificate.ocsp_must_staple =
      pick(own.ocsp_must_staple, global.ocsp_must_staple, defaults.ocsp_must_staple);
  certificate.key_passphrase =
      pick(own.key_passphrase, global.key_passphrase, defaults.key_passphrase);
  certificate.ocsp_responder_urls =
      pick(own.ocsp_responder_urls, global.ocsp_responder_urls, defaults.ocsp_responder_urls);
  certificate.file_uid = pick(own.file_uid, global.file_uid, defaults.file_uid);
  certificate.file_gid = pick(own.file_gid, global.file_gid, defaults.file_gid);
  return certificate;
}

} // namespace certmgr::config::detail
