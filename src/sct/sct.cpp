// src/sct/sct.cpp: SCT encoding (OpenSSL's o2i_SCT / i2o_SCT), the RFC 6962 §3.2 x509_entry
// signature check, the embedded SCT list, log keys.
#include <certmgr/log.hpp>
#include <certmgr/sct.hpp>
#include <certmgr/util/error.hpp>
#include <certmgr/util/text.hpp>

#include <fmt/format.h>
#include <openssl/ct.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include <arpa/inet.h>
#include <array>
#include <memory>

namespace certmgr::sct {
namespace {

using SctPtr = std::unique_ptr<SCT, util::FreeWith<SCT_free>>;
using SctListPtr = std::unique_ptr<STACK_OF(SCT), util::FreeWith<SCT_LIST_free>>;
using PkeyPtr = crypto::PkeyPtr;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, util::FreeWith<EVP_MD_CTX_free>>;

constexpr std::size_t k_log_id_bytes = 32;
constexpr std::size_t k_max_u16 = 0xffff;
constexpr std::size_t k_max_u24 = 0xffffff;

inline void openssl_free(void* p) noexcept { OPENSSL_free(p); }

const unsigned char* bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

/// Big-endian `value` in `width` bytes appended to `out`.
void put_uint(std::string& out, std::uint64_t value, int width) {
  for (int shift = 8 * (width - 1); shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((value >> shift) & 0xff));
}

/// The log key, or null unless `der` is exactly one DER SPKI of EC P-256 or RSA >= 2048 bits.
PkeyPtr log_key(std::string_view der) {
  if (der.empty() || der.size() > 16 * 1024) return nullptr;
  const unsigned char* p = bytes(der);
  PkeyPtr key(d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size())));
  ERR_clear_error();
  if (!key || p != bytes(der) + der.size()) return nullptr;
  if (EVP_PKEY_is_a(key.get(), "RSA"))
    return EVP_PKEY_get_bits(key.get()) >= 2048 ? std::move(key) : nullptr;
  if (!EVP_PKEY_is_a(key.get(), "EC")) return nullptr;
  char group[64] = {};
  std::size_t length = 0;
  if (EVP_PKEY_get_group_name(key.get(), group, sizeof group, &length) != 1) return nullptr;
  return std::string_view(group, length) == "prime256v1" ? std::move(key) : nullptr;
}

/// OpenSSL's SCT for `t`, or null with `why` set.
SctPtr to_openssl(const Timestamp& t, std::string& why) {
  if (t.log_id.size() != k_log_id_bytes) {
    why = "SCT log id is not 32 bytes";
    return nullptr;
  }
  if (t.extensions.size() > k_max_u16) {
    why = "SCT extensions are longer than 65535 bytes";
    return nullptr;
  }
  SctPtr sct(SCT_new());
  if (!sct || SCT_set_version(sct.get(), SCT_VERSION_V1) != 1 ||
      SCT_set_log_entry_type(sct.get(), CT_LOG_ENTRY_TYPE_X509) != 1 ||
      SCT_set1_log_id(sct.get(), bytes(t.log_id), t.log_id.size()) != 1 ||
      (!t.extensions.empty() &&
       SCT_set1_extensions(sct.get(), bytes(t.extensions), t.extensions.size()) != 1)) {
    ERR_clear_error();
    why = "cannot build the SCT";
    return nullptr;
  }
  SCT_set_timestamp(sct.get(), t.timestamp);
  // TLS DigitallySigned (RFC 5246 §4.7): hash and signature algorithm, 2-byte length, bytes.
  // OpenSSL keeps its parser of it private, so it is read here.
  const std::string_view sig = t.signature;
  int nid = NID_undef;
  if (sig.size() > 4 && sig[0] == 4 /* sha256 */) {
    if (sig[1] == 1) nid = NID_sha256WithRSAEncryption;
    if (sig[1] == 3) nid = NID_ecdsa_with_SHA256;
  }
  const std::size_t length =
      sig.size() > 4 ? (static_cast<std::size_t>(static_cast<unsigned char>(sig[2])) << 8) |
                           static_cast<unsigned char>(sig[3])
                     : 0;
  if (nid == NID_undef || length == 0 || length != sig.size() - 4 ||
      SCT_set_signature_nid(sct.get(), nid) != 1 ||
      SCT_set1_signature(sct.get(), bytes(sig.substr(4)), length) != 1) {
    ERR_clear_error();
    why = "SCT signature is not one TLS DigitallySigned with SHA-256 and ECDSA or RSA";
    return nullptr;
  }
  return sct;
}

std::optional<std::string> encode(const Timestamp& t, std::string& why) {
  const SctPtr sct = to_openssl(t, why);
  if (!sct) return std::nullopt;
  unsigned char* out = nullptr;
  const int size = i2o_SCT(sct.get(), &out);
  ERR_clear_error();
  if (size <= 0) {
    why = "cannot encode the SCT";
    return std::nullopt;
  }
  const std::unique_ptr<unsigned char, util::FreeWith<openssl_free>> owner(out);
  return std::string(reinterpret_cast<const char*>(out), static_cast<std::size_t>(size));
}

/// RFC 6962 §3.2: the data a log signs for an x509_entry.
std::string signed_data(const Timestamp& t, std::string_view leaf_der) {
  std::string data;
  data.reserve(16 + leaf_der.size() + t.extensions.size());
  put_uint(data, 0, 1);           // sct_version v1
  put_uint(data, 0, 1);           // signature_type certificate_timestamp
  put_uint(data, t.timestamp, 8); // timestamp
  put_uint(data, 0, 2);           // entry_type x509_entry
  put_uint(data, leaf_der.size(), 3);
  data.append(leaf_der);
  put_uint(data, t.extensions.size(), 2);
  data.append(t.extensions);
  return data;
}

} // namespace

std::string log_id_of(std::string_view public_key_der) { return crypto::sha256(public_key_der); }

bool is_log_key(std::string_view public_key_der) { return log_key(public_key_der) != nullptr; }

std::string serialize(const Timestamp& sct) {
  std::string why;
  auto out = encode(sct, why);
  if (!out) throw util::Error(why);
  return std::move(*out);
}

std::optional<Timestamp> parse(std::string_view serialized) {
  if (serialized.empty() || serialized.size() > 2 * k_max_u16) return std::nullopt;
  const unsigned char* p = bytes(serialized);
  const SctPtr sct(o2i_SCT(nullptr, &p, serialized.size()));
  ERR_clear_error();
  if (!sct || SCT_get_version(sct.get()) != SCT_VERSION_V1) return std::nullopt;
  // o2i_SCT swallows trailing bytes: only an exact re-encoding is one SCT.
  unsigned char* out = nullptr;
  const int size = i2o_SCT(sct.get(), &out);
  ERR_clear_error();
  const std::unique_ptr<unsigned char, util::FreeWith<openssl_free>> owner(out);
  if (size <= 0 || std::string_view(reinterpret_cast<const char*>(out),
                                    static_cast<std::size_t>(size)) != serialized)
    return std::nullopt;
  Timestamp t;
  unsigned char* id = nullptr;
  const std::size_t id_size = SCT_get0_log_id(sct.get(), &id);
  if (id_size != k_log_id_bytes) return std::nullopt;
  t.log_id.assign(reinterpret_cast<const char*>(id), id_size);
  t.timestamp = SCT_get_timestamp(sct.get());
  unsigned char* ext = nullptr;
  const std::size_t ext_size = SCT_get0_extensions(sct.get(), &ext);
  if (ext_size > 0) t.extensions.assign(reinterpret_cast<const char*>(ext), ext_size);
  // version, id, timestamp, extensions length, extensions: the rest is the DigitallySigned.
  t.signature = std::string(serialized.substr(1 + k_log_id_bytes + 8 + 2 + ext_size));
  return t;
}

namespace {
/// Why `t` is not a valid SCT of `log` for `leaf` at `now`, or nullopt when it is.
std::optional<std::string> check(const Timestamp& t, const Log& log,
                                 const crypto::Certificate& leaf,
                                 std::chrono::system_clock::time_point now) {
  const PkeyPtr key = log_key(log.public_key_der);
  if (!key) return "the log key is not an EC P-256 or RSA (2048 bits or more) public key";
  if (log.log_id != log_id_of(log.public_key_der))
    return "the configured log_id is not the SHA-256 of the log key";
  if (t.log_id != log.log_id) return "the SCT's log id is not the log's";
  const auto limit =
      std::chrono::duration_cast<std::chrono::milliseconds>((now + k_max_future).time_since_epoch())
          .count();
  if (limit < 0 || t.timestamp > static_cast<std::uint64_t>(limit))
    return "the SCT's timestamp is more than 5 minutes in the future";
  std::string why;
  const SctPtr sct = to_openssl(t, why);
  if (!sct) return why;
  const int want =
      EVP_PKEY_is_a(key.get(), "RSA") ? NID_sha256WithRSAEncryption : NID_ecdsa_with_SHA256;
  if (SCT_get_signature_nid(sct.get()) != want)
    return "the SCT's signature algorithm does not match the log key";
  const std::string der = leaf.der();
  if (der.size() > k_max_u24) return "the certificate is too large for an SCT";
  const std::string data = signed_data(t, der);
  unsigned char* sig = nullptr;
  const std::size_t sig_size = SCT_get0_signature(sct.get(), &sig);
  const MdCtxPtr ctx(EVP_MD_CTX_new());
  const bool ok = ctx &&
                  EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.get()) == 1 &&
                  EVP_DigestVerify(ctx.get(), sig, sig_size, bytes(data), data.size()) == 1;
  ERR_clear_error();
  if (!ok) return "the SCT's signature does not verify with the log key";
  return std::nullopt;
}
} // namespace

bool verify(std::string_view serialized, const Log& log, const crypto::Certificate& leaf,
            std::chrono::system_clock::time_point now) {
  try {
    const auto t = parse(serialized);
    return t && !check(*t, log, leaf, now);
  } catch (const std::exception&) {
    return false;
  }
}

std::vector<std::string> embedded_log_ids(const crypto::Certificate& leaf) {
  std::vector<std::string> ids;
  int critical = 0;
  const SctListPtr list(static_cast<STACK_OF(SCT)*>(
      X509_get_ext_d2i(leaf.get(), NID_ct_precert_scts, &critical, nullptr)));
  ERR_clear_error();
  if (!list) return ids;
  for (int i = 0; i < sk_SCT_num(list.get()); ++i) {
    const SCT* sct = sk_SCT_value(list.get(), i);
    if (SCT_get_version(sct) != SCT_VERSION_V1) continue;
    unsigned char* id = nullptr;
    const std::size_t size = SCT_get0_log_id(sct, &id);
    if (size == k_log_id_bytes) ids.emplace_back(reinterpret_cast<const char*>(id), size);
  }
  return ids;
}

namespace {

/// Standard base64 (RFC 4648 §4) with padding, nothing else (no white space).
std::optional<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    std::array<int, 4> v{};
    int pad = 0;
    for (std::size_t j = 0; j < 4; ++j) {
      const char c = text[i + j];
      if (c == '=' && i + 4 == text.size() && j >= 2) {
        ++pad;
        v[j] = 0;
        continue;
      }
      if (pad > 0) return std::nullopt; // data after '='
      if (c >= 'A' && c <= 'Z')
        v[j] = c - 'A';
      else if (c >= 'a' && c <= 'z')
        v[j] = c - 'a' + 26;
      else if (c >= '0' && c <= '9')
        v[j] = c - '0' + 52;
      else if (c == '+')
        v[j] = 62;
      else if (c == '/')
        v[j] = 63;
      else
        return std::nullopt;
    }
    const unsigned n = (static_cast<unsigned>(v[0]) << 18) | (static_cast<unsigned>(v[1]) << 12) |
                       (static_cast<unsigned>(v[2]) << 6) | static_cast<unsigned>(v[3]);
    out.push_back(static_cast<char>((n >> 16) & 0xff));
    if (pad < 2) out.push_back(static_cast<char>((n >> 8) & 0xff));
    if (pad < 1) out.push_back(static_cast<char>(n & 0xff));
  }
  return out;
}

std::string base64_encode(std::string_view data) {
  static constexpr char k_alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  for (std::size_t i = 0; i < data.size(); i += 3) {
    const std::size_t left = data.size() - i;
    unsigned n = static_cast<unsigned>(static_cast<unsigned char>(data[i])) << 16;
    if (left > 1) n |= static_cast<unsigned>(static_cast<unsigned char>(data[i + 1])) << 8;
    if (left > 2) n |= static_cast<unsigned char>(data[i + 2]);
    out.push_back(k_alphabet[(n >> 18) & 63]);
    out.push_back(k_alphabet[(n >> 12) & 63]);
    out.push_back(left > 1 ? k_alphabet[(n >> 6) & 63] : '=');
    out.push_back(left > 2 ? k_alphabet[n & 63] : '=');
  }
  return out;
}

/// True for "localhost", 127.0.0.0/8 and ::1 (`host` without IPv6 brackets).
bool is_loopback(const std::string& host) {
  if (util::ascii_lower(host) == "localhost") return true;
  std::array<unsigned char, 16> address{};
  if (inet_pton(AF_INET, host.c_str(), address.data()) == 1) return address[0] == 127;
  if (inet_pton(AF_INET6, host.c_str(), address.data()) == 1) {
    static constexpr std::array<unsigned char, 16> k_loopback{0, 0, 0, 0, 0, 0, 0, 0,
                                                              0, 0, 0, 0, 0, 0, 0, 1};
    return address == k_loopback;
  }
  return false;
}

/// The add-chain URL of `base` (exactly one slash before "ct/v1/add-chain" [B32]) and whether
/// plain http is allowed for it; throws util::Error naming `base` for anything but an https URL
/// or an http URL of a loopback host, without user info, query or fragment.
std::string add_chain_url(const std::string& base, bool& plain) {
  const auto fail = [&](const std::string& why) { return util::Error({.url = base}, why); };
  const std::string lower = util::ascii_lower(base);
  std::size_t rest = 0;
  if (lower.starts_with("https://")) {
    plain = false;
    rest = 8;
  } else if (lower.starts_with("http://")) {
    plain = true;
    rest = 7;
  } else {
    throw fail("a CT log URL must start with https:// (or http:// for a loopback host)");
  }
  if (base.find_first_of("?#") != std::string::npos)
    throw fail("a CT log URL must not have a query or fragment");
  for (const char c : base)
    if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f)
      throw fail("a CT log URL must be printable ASCII without spaces");
  const std::string authority = base.substr(rest, base.find('/', rest) - rest);
  if (authority.find('@') != std::string::npos) throw fail("a CT log URL must not hold user info");
  std::string host;
  if (authority.starts_with('[')) {
    const auto close = authority.find(']');
    if (close == std::string::npos) throw fail("bad IPv6 address in the CT log URL");
    host = authority.substr(1, close - 1);
  } else {
    host = authority.substr(0, authority.find(':'));
  }
  if (host.empty()) throw fail("the CT log URL has no host");
  if (plain && !is_loopback(host))
    throw fail("a CT log URL must use https:// unless its host is a loopback address");
  std::string url = base;
  while (url.ends_with('/')) url.pop_back();
  return url + "/ct/v1/add-chain";
}

/// The string member `name` of the add-chain answer.
std::string answer_string(const rapidjson::Value& answer, const char* name,
                          const std::string& url) {
  const auto it = answer.FindMember(name);
  if (it == answer.MemberEnd())
    throw util::Error({.url = url}, fmt::format("the log's answer lacks \"{}\"", name));
  if (!it->value.IsString())
    throw util::Error({.url = url}, fmt::format("the log's \"{}\" is not a string", name));
  return {it->value.GetString(), it->value.GetStringLength()};
}

/// The base64 string member `name`, decoded.
std::string answer_bytes(const rapidjson::Value& answer, const char* name, const std::string& url) {
  auto decoded = base64_decode(answer_string(answer, name, url));
  if (!decoded)
    throw util::Error({.url = url}, fmt::format("the log's \"{}\" is not base64", name));
  return std::move(*decoded);
}

} // namespace

std::string submit(const http::Options& base_options, const Log& log,
                   const crypto::Certificate& leaf, const std::vector<crypto::Certificate>& chain) {
  bool plain = false;
  const std::string url = add_chain_url(log.url, plain);
  if (!is_log_key(log.public_key_der))
    throw util::Error({.url = log.url},
                      "the log key is not an EC P-256 or RSA (2048 bits or more) public key");
  if (log.log_id != log_id_of(log.public_key_der))
    throw util::Error({.url = log.url}, "the configured log_id is not the SHA-256 of the log key");
  http::Options options = base_options;
  options.connect_timeout = std::chrono::seconds(10);
  options.request_timeout = std::chrono::seconds(30);
  options.plain_http = plain ? http::PlainHttp::allow : http::PlainHttp::refuse;

  std::string body = "{\"chain\":[\"" + base64_encode(leaf.der()) + "\"";
  for (const auto& cert : chain) body += ",\"" + base64_encode(cert.der()) + "\"";
  body += "]}";

  log::debug("CT log {}: add-chain of {} ({} certificates)", log.name, leaf.label(),
             chain.size() + 1);
  http::Client client(options);
  const http::Response response = client.post(url, body, "application/json", k_max_answer_bytes);
  if (response.status != 200)
    throw util::Error({.url = url}, fmt::format("HTTP {}: {}", response.status,
                                                log::printable(response.body, 200)));

  rapidjson::Document answer;
  answer.Parse<rapidjson::kParseIterativeFlag>(response.body.data(), response.body.size());
  if (answer.HasParseError())
    throw util::Error({.url = url},
                      fmt::format("invalid JSON from the log: {}",
                                  rapidjson::GetParseError_En(answer.GetParseError())));
  if (!answer.IsObject()) throw util::Error({.url = url}, "the log's answer is not a JSON object");

  const auto version = answer.FindMember("sct_version");
  if (version == answer.MemberEnd())
    throw util::Error({.url = url}, "the log's answer lacks \"sct_version\"");
  if (!version->value.IsUint() || version->value.GetUint() != 0)
    throw util::Error({.url = url}, "the log's \"sct_version\" is not 0 (v1)");
  const auto stamp = answer.FindMember("timestamp");
  if (stamp == answer.MemberEnd())
    throw util::Error({.url = url}, "the log's answer lacks \"timestamp\"");
  if (!stamp->value.IsUint64())
    throw util::Error({.url = url}, "the log's \"timestamp\" is not an unsigned integer");

  Timestamp t;
  t.log_id = answer_bytes(answer, "id", url);
  if (t.log_id.size() != 32) throw util::Error({.url = url}, "the log's \"id\" is not 32 bytes");
  if (t.log_id != log.log_id)
    throw util::Error({.url = url}, "the log's \"id\" is not the configured log_id");
  t.timestamp = stamp->value.GetUint64();
  t.extensions = answer_bytes(answer, "extensions", url);
  t.signature = answer_bytes(answer, "signature", url);

  std::string why;
  auto serialized = encode(t, why);
  if (!serialized) throw util::Error({.url = url}, why);
  if (const auto bad = check(t, log, leaf, std::chrono::system_clock::now()))
    throw util::Error({.url = url}, *bad);
  return std::move(*serialized);
}

} // namespace certmgr::sct
