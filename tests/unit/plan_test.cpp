#include "actions/plan.hpp"
#include "certgen.hpp"

#include <doctest/doctest.h>

using namespace certmgr;
using namespace std::chrono_literals;
using actions::decide;
using actions::KeyState;
using actions::Wanted;

namespace {
const auto k_epoch = std::chrono::system_clock::from_time_t(1'800'000'000);

const crypto::Key& ec_key() {
  static const crypto::Key key =
      crypto::Key::generate({.type = crypto::KeyType::ecdsa, .curve = "secp256r1"});
  return key;
}

Wanted wanted() {
  return {.key = {.type = crypto::KeyType::ecdsa, .curve = "secp256r1"},
          .name = "a.test",
          .names = {"a.test", "www.a.test"},
          .renewal_days = 30};
}

KeyState installed(std::chrono::seconds lifetime, test::CertRequest r = {}) {
  if (r.cn.empty()) r.cn = "a.test";
  if (r.names.empty()) r.names = {"a.test", "www.a.test"};
  r.not_before = k_epoch;
  r.not_after = k_epoch + lifetime;
  return {.leaf = test::make_certificate(ec_key(), r),
          .key_spec = ec_key().spec(),
          .key_public_der = ec_key().public_der()};
}
} // namespace

TEST_SUITE_BEGIN("actions::decide");

TEST_CASE("a missing certificate or key is issued") {
  CHECK(decide({}, wanted(), k_epoch).issue);
  KeyState no_key = installed(90 * 24h);
  no_key.key_spec.reset();
  CHECK(decide(no_key, wanted(), k_epoch).issue);
}

TEST_CASE("a fresh certificate is not due") {
  const auto d = decide(installed(90 * 24h), wanted(), k_epoch + 1h);
  CHECK_FALSE(d.issue);
  CHECK(d.reason.find("valid until") != std::string::npos);
}

TEST_CASE("a 90-day certificate renews with 30 days left, to the second") {
  const KeyState s = installed(90 * 24h);
  CHECK_FALSE(decide(s, wanted(), k_epoch + 60 * 24h - 1s).issue);
  CHECK(decide(s, wanted(), k_epoch + 60 * 24h).issue);
}

TEST_CASE("a 200-day certificate renews when a third of its lifetime is left") {
  const KeyState s = installed(200 * 24h);
  const auto due = k_epoch + 200 * 24h - std::chrono::seconds(200 * 24h) / 3;
  CHECK_FALSE(decide(s, wanted(), due - 1s).issue);
  CHECK(decide(s, wanted(), due).issue);
}

TEST_CASE("a 45-day certificate renews at 15 days left, not at renewal_days 30") {
  const KeyState s = installed(45 * 24h);
  CHECK_FALSE(decide(s, wanted(), k_epoch + 1h).issue);
  CHECK_FALSE(decide(s, wanted(), k_epoch + 22 * 24h).issue); // 23 days left: half is 22.5
  CHECK(decide(s, wanted(), k_epoch + 23 * 24h).issue);
}

TEST_CASE("a 6-day certificate renews at half its lifetime and is never due when fresh") {
  const KeyState s = installed(6 * 24h);
  CHECK_FALSE(decide(s, wanted(), k_epoch).issue);
  CHECK_FALSE(decide(s, wanted(), k_epoch + 72h - 1s).issue);
  CHECK(decide(s, wanted(), k_epoch + 72h).issue);
}

TEST_CASE("an expired certificate is issued") {
  CHECK(decide(installed(90 * 24h), wanted(), k_epoch + 91 * 24h).issue);
}

TEST_CASE("changed names are re-issued and the reason lists them") {
  Wanted w = wanted();
  w.names.push_back("new.a.test");
  const auto d = decide(installed(90 * 24h), w, k_epoch);
  CHECK(d.issue);
  CHECK(d.reason.find("+new.a.test") != std::string::npos);
}

TEST_CASE("names compare as sets, independent of order") {
  Wanted w = wanted();
  std::swap(w.names[0], w.names[1]);
  CHECK_FALSE(decide(installed(90 * 24h), w, k_epoch).issue);
}

TEST_CASE("a changed curve or key type is re-issued") {
  Wanted w = wanted();
  w.key.curve = "secp384r1";
  CHECK(decide(installed(90 * 24h), w, k_epoch).issue);
  w = wanted();
  w.key = {.type = crypto::KeyType::rsa, .rsa_bits = 2048};
  CHECK(decide(installed(90 * 24h), w, k_epoch).issue);
}

TEST_CASE("a changed RSA key size is re-issued") {
  const crypto::Key rsa = crypto::Key::generate({.type = crypto::KeyType::rsa, .rsa_bits = 2048});
  KeyState s{.leaf = test::make_certificate(rsa, {.cn = "a.test",
                                                  .names = {"a.test", "www.a.test"},
                                                  .not_before = k_epoch,
                                                  .not_after = k_epoch + 90 * 24h}),
             .key_spec = rsa.spec(),
             .key_public_der = rsa.public_der()};
  Wanted w = wanted();
  w.key = {.type = crypto::KeyType::rsa, .rsa_bits = 2048};
  CHECK_FALSE(decide(s, w, k_epoch).issue);
  w.key.rsa_bits = 3072;
  CHECK(decide(s, w, k_epoch).issue);
}

TEST_CASE("a certificate for another key is re-issued") {
  KeyState s = installed(90 * 24h);
  s.key_public_der =
      crypto::Key::generate({.type = crypto::KeyType::ecdsa, .curve = "secp256r1"}).public_der();
  CHECK(decide(s, wanted(), k_epoch).issue);
}

TEST_CASE("a changed subject CN is re-issued, a certificate without CN is judged by names") {
  CHECK(decide(installed(90 * 24h, {.cn = "other.test"}), wanted(), k_epoch).issue);
  KeyState no_cn = installed(90 * 24h);
  no_cn.leaf = test::make_certificate(
      ec_key(),
      {.names = {"a.test", "www.a.test"}, .not_before = k_epoch, .not_after = k_epoch + 90 * 24h});
  CHECK_FALSE(decide(no_cn, wanted(), k_epoch).issue);
}

TEST_CASE("a name too long for a CN accepts any of its names as CN (no re-issue loop)") {
  const std::string long_name = std::string(60, 'x') + ".a.test";
  Wanted w = wanted();
  w.name = long_name;
  w.names = {long_name, "www.a.test"};
  KeyState s = installed(90 * 24h, {.cn = "www.a.test", .names = {long_name, "www.a.test"}});
  CHECK_FALSE(decide(s, w, k_epoch).issue);
  s = installed(90 * 24h, {.cn = "other.test", .names = {long_name, "www.a.test"}});
  CHECK(decide(s, w, k_epoch).issue);
}

TEST_CASE("must-staple changes are re-issued unless the CA dropped the extension") {
  Wanted w = wanted();
  w.must_staple = true;
  KeyState plain = installed(90 * 24h);
  CHECK(decide(plain, w, k_epoch).issue);
  plain.must_staple_dropped = true;
  CHECK_FALSE(decide(plain, w, k_epoch).issue);
  CHECK(decide(installed(90 * 24h, {.must_staple = true}), wanted(), k_epoch).issue);
  CHECK_FALSE(decide(installed(90 * 24h, {.must_staple = true}), w, k_epoch).issue);
}

TEST_SUITE_END();
