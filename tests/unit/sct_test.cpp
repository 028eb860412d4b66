#include "certgen.hpp"
#include "test_keys.hpp"
#include "testutil.hpp"
#include <certmgr/crypto.hpp>
#include <certmgr/http.hpp>
#include <certmgr/sct.hpp>
#include <certmgr/util/error.hpp>

#include <doctest/doctest.h>
#include <openssl/ct.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <filesystem>
#include <spawn.h>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

#ifndef CERTMGR_SOURCE_DIR
#define CERTMGR_SOURCE_DIR "."
#endif

extern char** environ;

using namespace certmgr;
using crypto::Certificate;
using crypto::Key;
using std::chrono::system_clock;
namespace fs = std::filesystem;

namespace {

using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, util::FreeWith<EVP_MD_CTX_free>>;
using SctPtr = std::unique_ptr<SCT, util::FreeWith<SCT_free>>;
using SctListPtr = std::unique_ptr<STACK_OF(SCT), util::FreeWith<SCT_LIST_free>>;

void put(std::string& out, std::uint64_t value, int width) {
  for (int shift = 8 * (width - 1); shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((value >> shift) & 0xff));
}

std::uint64_t now_ms(std::chrono::seconds offset = {}) {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        (system_clock::now() + offset).time_since_epoch())
                                        .count());
}

Certificate leaf_certificate(const std::string& name) {
  const auto now = system_clock::now();
  return test::make_certificate(test::ec_key(), {.cn = name,
                                                 .names = {name},
                                                 .not_before = now - std::chrono::hours(1),
                                                 .not_after = now + std::chrono::hours(24 * 90)});
}

/// RFC 6962 §3.2 signed data of an x509_entry, built here independently of the module.
std::string signed_data(std::uint64_t timestamp, const std::string& der, const std::string& ext) {
  std::string data;
  put(data, 0, 1);
  put(data, 0, 1);
  put(data, timestamp, 8);
  put(data, 0, 2);
  put(data, der.size(), 3);
  data += der;
  put(data, ext.size(), 2);
  data += ext;
  return data;
}

/// TLS DigitallySigned with SHA-256 over `data` by `key` (ECDSA: 4,3; RSA: 4,1).
std::string digitally_signed(const Key& key, const std::string& data) {
  const MdCtxPtr ctx(EVP_MD_CTX_new());
  REQUIRE(EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.get()) == 1);
  std::size_t size = 0;
  const auto* in = reinterpret_cast<const unsigned char*>(data.data());
  REQUIRE(EVP_DigestSign(ctx.get(), nullptr, &size, in, data.size()) == 1);
  std::string sig(size, '\0');
  REQUIRE(EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &size, in,
                         data.size()) == 1);
  sig.resize(size);
  std::string out;
  put(out, 4, 1);
  put(out, EVP_PKEY_is_a(key.get(), "RSA") ? 1 : 3, 1);
  put(out, sig.size(), 2);
  return out + sig;
}

/// RFC 6962 §3.2 TLS encoding, by hand.
std::string encoded(const std::string& id, std::uint64_t timestamp, const std::string& ext,
                    const std::string& signature) {
  std::string out(1, '\0');
  out += id;
  put(out, timestamp, 8);
  put(out, ext.size(), 2);
  return out + ext + signature;
}

sct::Log log_of(const Key& key, std::string name = "testlog") {
  const std::string der = key.public_der();
  return {.name = std::move(name),
          .url = "http://127.0.0.1:1/",
          .log_id = crypto::sha256(der),
          .public_key_der = der};
}

/// A serialized SCT of `key`'s log for `leaf`.
std::string make_sct(const Key& key, const Certificate& leaf, std::uint64_t timestamp,
                     const std::string& ext = "") {
  const std::string sig = digitally_signed(key, signed_data(timestamp, leaf.der(), ext));
  return encoded(crypto::sha256(key.public_der()), timestamp, ext, sig);
}

const Key& log_key() {
  static const Key key = Key::generate({.type = crypto::KeyType::ecdsa, .curve = "secp256r1"});
  return key;
}

} // namespace

TEST_CASE("serialize and parse are inverse and give the RFC 6962 encoding") {
  const std::string id(32, '\x5a');
  const std::string sig = std::string("\x04\x03\x00\x03", 4) + "abc";
  const sct::Timestamp t{
      .log_id = id, .timestamp = 0x0102030405060708ULL, .extensions = "ext", .signature = sig};
  const std::string bytes = sct::serialize(t);
  CHECK(bytes == encoded(id, 0x0102030405060708ULL, "ext", sig));
  const auto back = sct::parse(bytes);
  REQUIRE(back.has_value());
  CHECK(*back == t);

  // OpenSSL's own parser reads the same fields
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  const SctPtr o(o2i_SCT(nullptr, &p, bytes.size()));
  REQUIRE(o);
  CHECK(SCT_get_timestamp(o.get()) == 0x0102030405060708ULL);
  CHECK(SCT_get_signature_nid(o.get()) == NID_ecdsa_with_SHA256);

  const sct::Timestamp no_ext{.log_id = id, .timestamp = 1, .signature = sig};
  const auto plain = sct::parse(sct::serialize(no_ext));
  REQUIRE(plain.has_value());
  CHECK(*plain == no_ext);
}

TEST_CASE("parse refuses anything but exactly one v1 SCT") {
  const std::string id(32, '\x01');
  const std::string sig = std::string("\x04\x03\x00\x02", 4) + "xy";
  const std::string good = encoded(id, 7, "", sig);
  REQUIRE(sct::parse(good).has_value());
  CHECK_FALSE(sct::parse("").has_value());
  CHECK_FALSE(sct::parse(good + "x").has_value());                      // trailing byte
  CHECK_FALSE(sct::parse(good.substr(0, good.size() - 1)).has_value()); // truncated
  CHECK_FALSE(sct::parse("\x01" + good.substr(1)).has_value());         // version 2
  CHECK_FALSE(sct::parse(encoded(id, 7, "", std::string("\x02\x03\x00\x02", 4) + "xy"))
                  .has_value()); // SHA-1
  CHECK_FALSE(sct::parse(encoded(id, 7, "", std::string("\x04\x07\x00\x02", 4) + "xy"))
                  .has_value()); // unknown signature algorithm
  CHECK_FALSE(sct::parse(good.substr(0, 41)).has_value());
}

TEST_CASE("serialize refuses fields that do not fit") {
  const std::string sig = std::string("\x04\x03\x00\x01", 4) + "s";
  CHECK(test::error_of([&] {
          (void)sct::serialize({.log_id = "short", .signature = sig});
        }).find("32 bytes") != std::string::npos);
  CHECK(test::error_of([&] {
          (void)sct::serialize({.log_id = std::string(32, 'a'),
                                .extensions = std::string(70000, 'e'),
                                .signature = sig});
        }).find("65535") != std::string::npos);
  for (const std::string& bad : {std::string(), std::string("\x04\x03\x00\x02s", 5),
                                 std::string("\x04\x03\x00\x00", 4), sig + "z"})
    CHECK(test::error_of([&] {
            (void)sct::serialize({.log_id = std::string(32, 'a'), .signature = bad});
          }).find("DigitallySigned") != std::string::npos);
}

TEST_CASE("verify accepts an SCT of the log over the leaf and nothing else") {
  const Certificate leaf = leaf_certificate("a.test");
  const sct::Log log = log_of(log_key());
  const std::uint64_t t = now_ms();
  const std::string good = make_sct(log_key(), leaf, t);
  CHECK(sct::verify(good, log, leaf));
  CHECK(sct::verify(make_sct(log_key(), leaf, t, "some extension"), log, leaf));

  SUBCASE("a log with another key") {
    const Key other = Key::generate({.type = crypto::KeyType::ecdsa, .curve = "secp256r1"});
    CHECK_FALSE(sct::verify(good, log_of(other), leaf));
    sct::Log same_id = log_of(other);
    same_id.log_id = log.log_id; // a log_id that is not the key's
    CHECK_FALSE(sct::verify(good, same_id, leaf));
    // an SCT signed by another key but claiming our log id
    const std::string sig = digitally_signed(other, signed_data(t, leaf.der(), ""));
    CHECK_FALSE(sct::verify(encoded(log.log_id, t, "", sig), log, leaf));
  }
  SUBCASE("a tampered timestamp") {
    const auto p = sct::parse(good);
    REQUIRE(p.has_value());
    sct::Timestamp changed = *p;
    changed.timestamp += 1;
    CHECK_FALSE(sct::verify(sct::serialize(changed), log, leaf));
    changed = *p;
    changed.extensions = "x";
    CHECK_FALSE(sct::verify(sct::serialize(changed), log, leaf));
  }
  SUBCASE("another certificate") {
    CHECK_FALSE(sct::verify(good, log, leaf_certificate("b.test")));
  }
  SUBCASE("a flipped signature byte") {
    std::string bad = good;
    bad.back() = static_cast<char>(bad.back() ^ 1);
    CHECK_FALSE(sct::verify(bad, log, leaf));
  }
  SUBCASE("timestamps in the future: up to 5 minutes of skew") {
    CHECK(sct::verify(make_sct(log_key(), leaf, now_ms(std::chrono::seconds(240))), log, leaf));
    CHECK_FALSE(
        sct::verify(make_sct(log_key(), leaf, now_ms(std::chrono::seconds(400))), log, leaf));
  }
  SUBCASE("garbage") {
    CHECK_FALSE(sct::verify("", log, leaf));
    CHECK_FALSE(sct::verify(good + "x", log, leaf));
    sct::Log broken = log;
    broken.public_key_der = "not a key";
    CHECK_FALSE(sct::verify(good, broken, leaf));
  }
}

TEST_CASE("verify with an RSA log key, and the signature algorithm must match the key") {
  const Certificate leaf = leaf_certificate("rsa.test");
  const sct::Log log = log_of(test::rsa_key());
  const std::uint64_t t = now_ms();
  const std::string good = make_sct(test::rsa_key(), leaf, t);
  CHECK(sct::verify(good, log, leaf));
  // the same signature labelled ECDSA
  auto p = sct::parse(good);
  REQUIRE(p.has_value());
  p->signature[1] = 3;
  CHECK_FALSE(sct::verify(sct::serialize(*p), log, leaf));
}

TEST_CASE("is_log_key and log_id_of") {
  CHECK(sct::is_log_key(log_key().public_der()));
  CHECK(sct::is_log_key(test::rsa_key().public_der()));
  const Key p384 = Key::generate({.type = crypto::KeyType::ecdsa, .curve = "secp384r1"});
  CHECK_FALSE(sct::is_log_key(p384.public_der()));
  const Key rsa1024 = Key::generate({.type = crypto::KeyType::rsa, .rsa_bits = 1024});
  CHECK_FALSE(sct::is_log_key(rsa1024.public_der()));
  CHECK_FALSE(sct::is_log_key(""));
  CHECK_FALSE(sct::is_log_key("garbage"));
  CHECK_FALSE(sct::is_log_key(log_key().public_der() + std::string(1, '\0')));
  CHECK(sct::log_id_of(log_key().public_der()) == crypto::sha256(log_key().public_der()));
  CHECK(sct::log_id_of(log_key().public_der()).size() == 32);
}

TEST_CASE("embedded_log_ids reads the precert SCT list extension") {
  const Certificate plain = leaf_certificate("plain.test");
  CHECK(sct::embedded_log_ids(plain).empty());

  // Two SCTs in the RFC 6962 §3.3 extension, added through OpenSSL's SCT_LIST encoder.
  const std::string id1(32, '\x11');
  const std::string id2(32, '\x22');
  SctListPtr list(sk_SCT_new_null());
  for (const auto& id : {id1, id2}) {
    const std::string bytes = encoded(id, 5, "", std::string("\x04\x03\x00\x02", 4) + "ab");
    const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
    SCT* one = o2i_SCT(nullptr, &p, bytes.size());
    REQUIRE(one != nullptr);
    REQUIRE(sk_SCT_push(list.get(), one) > 0);
  }
  const Certificate with = leaf_certificate("scts.test");
  REQUIRE(X509_add1_ext_i2d(with.get(), NID_ct_precert_scts, list.get(), 0, X509V3_ADD_DEFAULT) ==
          1);
  REQUIRE(X509_sign(with.get(), test::ec_key().get(), EVP_sha256()) > 0);
  const Certificate parsed = Certificate::from_der(with.der(), "test");
  CHECK(sct::embedded_log_ids(parsed) == std::vector<std::string>{id1, id2});
}

// ------------------------------------------------------------------ submit against ct_log.py

namespace {

/// tests/lab/ct_log.py in one mode on a free loopback port, stopped (SIGTERM, reaped) at the end.
class TestLog {
public:
  explicit TestLog(const std::string& mode) {
    const std::string python = fs::exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
    const std::string script = std::string(CERTMGR_SOURCE_DIR) + "/tests/lab/ct_log.py";
    std::vector<std::string> args{python,        script,
                                  "--port",      "0",
                                  "--prefix",    "/some/prefix",
                                  "--mode",      mode,
                                  "--key-out",   (m_dir.path() / "key").string(),
                                  "--id-out",    (m_dir.path() / "id").string(),
                                  "--port-file", (m_dir.path() / "port").string(),
                                  "--requests",  (m_dir.path() / "requests").string()};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    REQUIRE(posix_spawnp(&m_pid, argv[0], nullptr, nullptr, argv.data(), environ) == 0);
    for (int i = 0; i < 200 && !fs::exists(m_dir.path() / "id"); ++i) {
      int status = 0;
      if (waitpid(m_pid, &status, WNOHANG) == m_pid) {
        m_pid = -1;
        FAIL("ct_log.py exited at start (python3-cryptography missing?)");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    REQUIRE(fs::exists(m_dir.path() / "id"));
    port = std::stoi(test::read_text(m_dir.path() / "port"));
    key_b64 = test::read_text(m_dir.path() / "key");
    id_b64 = test::read_text(m_dir.path() / "id");
  }
  ~TestLog() {
    if (m_pid > 0) {
      kill(m_pid, SIGTERM);
      int status = 0;
      waitpid(m_pid, &status, 0);
    }
  }
  TestLog(const TestLog&) = delete;
  TestLog& operator=(const TestLog&) = delete;

  /// The log as certmgr sees it, keys decoded through openssl's base64 (an independent oracle).
  [[nodiscard]] sct::Log log(const std::string& suffix = "/some/prefix") const {
    return {.name = "testlog",
            .url = "http://127.0.0.1:" + std::to_string(port) + suffix,
            .log_id = decode(id_b64),
            .public_key_der = decode(key_b64)};
  }
  [[nodiscard]] std::string requests() const { return test::read_text(m_dir.path() / "requests"); }

  int port{0};
  std::string key_b64{};
  std::string id_b64{};

private:
  static std::string decode(std::string b64) {
    while (!b64.empty() && b64.back() == '\n') b64.pop_back();
    std::string out(b64.size(), '\0');
    const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                  reinterpret_cast<const unsigned char*>(b64.data()),
                                  static_cast<int>(b64.size()));
    REQUIRE(n > 0);
    out.resize(static_cast<std::size_t>(n) - std::count(b64.begin(), b64.end(), '='));
    return out;
  }

  test::TempDir m_dir{};
  pid_t m_pid{-1};
};

struct Chain {
  Certificate leaf;
  std::vector<Certificate> rest;
};

Chain sample_chain() {
  return {leaf_certificate("submit.test"), {leaf_certificate("intermediate.test")}};
}

http::Options options() { return {}; }

} // namespace

TEST_CASE("submit gets a verified SCT from the test log, at <url>/ct/v1/add-chain [B32]") {
  const TestLog server("ok");
  const Chain c = sample_chain();
  for (const std::string suffix : {"/some/prefix", "/some/prefix/"}) {
    const sct::Log log = server.log(suffix);
    const std::string bytes = sct::submit(options(), log, c.leaf, c.rest);
    const auto parsed = sct::parse(bytes);
    REQUIRE(parsed.has_value());
    CHECK(parsed->log_id == log.log_id);
    CHECK(parsed->timestamp <= now_ms());
    CHECK(parsed->timestamp + 60000 > now_ms());
    CHECK(sct::verify(bytes, log, c.leaf));
    CHECK_FALSE(sct::verify(bytes, log, c.rest[0]));
  }
  // both requests reached the exact path, with leaf and intermediate
  CHECK(server.requests() == "POST /some/prefix/ct/v1/add-chain 2 200\n"
                             "POST /some/prefix/ct/v1/add-chain 2 200\n");
}

TEST_CASE("submit: every bad answer of a log is an error naming the URL") {
  const Chain c = sample_chain();
  const auto error_in = [&](const std::string& mode) {
    const TestLog server(mode);
    const sct::Log log = server.log();
    const std::string message =
        test::error_of([&] { (void)sct::submit(options(), log, c.leaf, c.rest); });
    CHECK(message.starts_with(log.url + "/ct/v1/add-chain: "));
    CHECK(message.find('\n') == std::string::npos);
    return message;
  };
  CHECK(error_in("bad-signature").find("signature does not verify") != std::string::npos);
  CHECK(error_in("garbage").find("invalid JSON") != std::string::npos);
  CHECK(error_in("wrong-id").find("not the configured log_id") != std::string::npos);
  CHECK(error_in("http500").find("HTTP 500") != std::string::npos);
  CHECK(error_in("future").find("future") != std::string::npos);
}

TEST_CASE("submit: the configured log must match, and plain http only to loopback hosts") {
  const Chain c = sample_chain();
  const TestLog server("ok");
  SUBCASE("another key for the same log id") {
    sct::Log log = server.log();
    log.public_key_der = log_key().public_der();
    CHECK(test::error_of([&] {
            (void)sct::submit(options(), log, c.leaf, c.rest);
          }).find("log_id is not the SHA-256 of the log key") != std::string::npos);
  }
  SUBCASE("a wrong prefix is the log's 404") {
    const sct::Log log = server.log("/other");
    CHECK(test::error_of([&] {
            (void)sct::submit(options(), log, c.leaf, c.rest);
          }).find("HTTP 404") != std::string::npos);
  }
  SUBCASE("URLs refused before any request") {
    for (const std::string url :
         {"http://example.com/log", "ftp://127.0.0.1/x", "http://127.0.0.1:1/x?y=1",
          "http://user@127.0.0.1:1/x", "http://10.0.0.1/x", "127.0.0.1/x"}) {
      sct::Log log = server.log();
      log.url = url;
      const std::string message =
          test::error_of([&] { (void)sct::submit(options(), log, c.leaf, c.rest); });
      CHECK_MESSAGE(message.starts_with(url + ": "), message);
    }
    CHECK(server.requests().empty());
  }
}
