// Unit tests of actions/keys.cpp and account_label(): which passphrase a setting means, and how
// a key file is read when the setting changed since it was written.
#include "actions/account.hpp"
#include "actions/keys.hpp"
#include "test_keys.hpp"
#include "testutil.hpp"
#include <certmgr/util/error.hpp>

#include <doctest/doctest.h>

using namespace certmgr;
using actions::read_key;
using actions::Secrets;
using actions::wanted_passphrase;
using actions::write_key;
using config::Passphrase;

namespace {
const std::string k_source = "/d/a.test/rsa/keys/key.pem";

std::string text(const util::Secret& secret) {
  // The tests may look at the bytes; production code never does outside crypto and store.
  return crypto::is_encrypted_pem(std::string(secret.reveal())) ? "encrypted" : "clear";
}

using test::error_of;
} // namespace

TEST_CASE("wanted_passphrase: none, literal, run-time; true without a source is an error") {
  const Secrets none;
  const Secrets given{.runtime = util::Secret("rt")};
  CHECK_FALSE(wanted_passphrase({}, given, "key_passphrase"));
  const Passphrase literal{.kind = Passphrase::Kind::literal, .literal = util::Secret("lit")};
  CHECK(wanted_passphrase(literal, none, "key_passphrase") == util::Secret("lit"));
  const Passphrase runtime{.kind = Passphrase::Kind::runtime};
  CHECK(wanted_passphrase(runtime, given, "key_passphrase") == util::Secret("rt"));
  CHECK(error_of([&] {
          (void)wanted_passphrase(runtime, none, "account.passphrase");
        }).starts_with("account.passphrase is true but no passphrase was given"));
}

TEST_CASE("read_key follows the setting, and the run-time passphrase opens an old encryption") {
  const crypto::Key& key = test::ec_key();
  const util::Secret old_pass("old"), new_pass("new");
  const std::string clear(write_key(key, std::nullopt).reveal());
  const std::string under_old(write_key(key, old_pass).reveal());
  CHECK(text(write_key(key, new_pass)) == "encrypted");

  SUBCASE("clear and clear wanted: kept") {
    const auto r = read_key(clear, k_source, std::nullopt, {});
    CHECK_FALSE(r.rewrite);
    CHECK(r.key.public_der() == key.public_der());
  }
  SUBCASE("clear, a passphrase wanted: rewritten") {
    CHECK(read_key(clear, k_source, new_pass, {}).rewrite);
  }
  SUBCASE("encrypted with the wanted passphrase: kept") {
    CHECK_FALSE(read_key(under_old, k_source, old_pass, {}).rewrite);
  }
  SUBCASE("encrypted with another passphrase, the old one given at run time: rewritten") {
    const auto r = read_key(under_old, k_source, new_pass, {.runtime = old_pass});
    CHECK(r.rewrite);
    CHECK(r.key.public_der() == key.public_der());
  }
  SUBCASE("encrypted, clear wanted, the old one given: rewritten in clear") {
    CHECK(read_key(under_old, k_source, std::nullopt, {.runtime = old_pass}).rewrite);
  }
  SUBCASE("encrypted with another passphrase and no old one: one-line error naming the file") {
    const std::string e = error_of([&] { (void)read_key(under_old, k_source, new_pass, {}); });
    CHECK(e.starts_with(k_source + ": wrong passphrase"));
    CHECK(e.find('\n') == std::string::npos);
    CHECK(e.find("new") == std::string::npos);
  }
  SUBCASE("encrypted, clear wanted, no passphrase at all") {
    CHECK(error_of([&] {
            (void)read_key(under_old, k_source, std::nullopt, {});
          }).starts_with(k_source + ": the key is encrypted but no passphrase"));
  }
  SUBCASE("a wrong run-time passphrase too") {
    CHECK(error_of([&] {
            (void)read_key(under_old, k_source, new_pass, {.runtime = util::Secret("bad")});
          }).starts_with(k_source + ": wrong passphrase: neither"));
  }
}

TEST_CASE("account_label: readable host and port, distinct per directory URL") {
  const std::string le = actions::account_label("https://acme-v02.api.letsencrypt.org/directory");
  CHECK(le.starts_with("acme-v02.api.letsencrypt.org-"));
  CHECK(le.size() == std::string("acme-v02.api.letsencrypt.org-").size() + 8);
  CHECK(actions::account_label("https://127.0.0.1:14000/dir").starts_with("127.0.0.1_14000-"));
  CHECK(actions::account_label("https://[::1]:14000/dir").starts_with("___1__14000-"));
  CHECK(actions::account_label("https://ca.test/a") != actions::account_label("https://ca.test/b"));
  CHECK(actions::account_label("https://CA.test/a").starts_with("ca.test-"));
  CHECK(actions::account_label("https://ca.test/a") == actions::account_label("https://ca.test/a"));
}
