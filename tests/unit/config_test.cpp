// tests/unit/config_test.cpp: config::parse/load/locate against the shapes of behaviour §2.9,
// inheritance, and a table of malformed configurations.

#include "testutil.hpp"
#include <certmgr/config.hpp>
#include <certmgr/util/error.hpp>

#include <doctest/doctest.h>

#include <filesystem>
#include <string>
#include <unistd.h>
#include <vector>

#ifndef CERTMGR_SOURCE_DIR
#define CERTMGR_SOURCE_DIR "."
#endif

namespace {

using certmgr::config::Auth;
using certmgr::config::Certificate;
using certmgr::config::Config;
using certmgr::config::KeyType;
using certmgr::config::LogLevel;
namespace config = certmgr::config;
namespace util = certmgr::util;
namespace fs = std::filesystem;

const std::string k_file = "/etc/certmgr/test.json";

Config parse(const std::string& text) { return config::parse(text, k_file); }

/// A configuration whose only certificate is `certificate` (a JSON object), after `sections`.
Config parse_one(const std::string& certificate, const std::string& sections = "") {
  return parse("{" + sections + (sections.empty() ? "" : ",") + "\"certificates\": [" +
               certificate + "]}");
}

std::vector<std::string> names(std::initializer_list<const char*> list) {
  return {list.begin(), list.end()};
}

} // namespace

TEST_SUITE_BEGIN("config::parse shapes");

TEST_CASE("a minimal configuration gets the documented defaults") {
  const Config cfg = parse(R"({"certificates": [{"name": " Example.ORG "}]})");
  CHECK(cfg.file == fs::path(k_file));
  CHECK(cfg.dir == fs::path("/etc/certmgr"));
  CHECK_FALSE(cfg.account.email);
  CHECK(cfg.settings.data_dir == fs::path("/etc/certmgr"));
  CHECK(cfg.settings.log_file == fs::path("/var/log/certmgr/certmgr.log"));
  CHECK(cfg.settings.log_level == LogLevel::verbose);
  CHECK(cfg.settings.lock_file == fs::path("/run/lock/certmgr.lock"));
  CHECK(cfg.settings.acme_directory_url == "https://acme-v02.api.letsencrypt.org/directory");
  CHECK(cfg.settings.min_run_delay == std::chrono::seconds{300});
  REQUIRE(cfg.certificates.size() == 1);
  const Certificate& cert = cfg.certificates[0];
  CHECK(cert.name == "example.org");
  CHECK(cert.alt_names == names({"example.org"}));
  CHECK(cert.key_types == std::vector{KeyType::rsa, KeyType::ecdsa});
  CHECK(cert.key_size == 4096);
  CHECK(cert.key_curve == "secp384r1");
  CHECK(cert.dhparam_size == 2048);
  CHECK(cert.fast_dhparam);
  CHECK(cert.ecparam_curve == "secp384r1");
  CHECK_FALSE(cert.ocsp_must_staple);
  CHECK_FALSE(cert.file_uid);
  CHECK(cert.auth.type == Auth::Type::noop);
  CHECK(cert.link_names.empty());
}

TEST_CASE("certificates may be an object keyed by name, and common_name names a certificate") {
  const Config cfg = parse(R"({"certificates": {
    "a.example": {"name": "A.example"},
    "b.example": {"common_name": "b.example", "name": "b.example"},
    "c.example": {}}})");
  REQUIRE(cfg.certificates.size() == 3);
  CHECK(cfg.certificates[0].name == "a.example");
  CHECK(cfg.certificates[1].name == "b.example");
  CHECK(cfg.certificates[2].name == "c.example");
  CHECK(parse_one(R"({"common_name": "mail.example"})").certificates[0].name == "mail.example");
}

TEST_CASE("list alt_names: \"@\" is the name, entries are lower-cased and deduplicated") {
  const Certificate cert =
      parse_one(R"({"name": "example.org", "alt_names": ["WWW.example.org", "@",
                   "www.example.org", "*.Example.org"]})")
          .certificates[0];
  CHECK(cert.alt_names == names({"example.org", "www.example.org", "*.example.org"}));
  CHECK(parse_one(R"({"name": "a.example", "alt_names": "b.example"})").certificates[0].alt_names ==
        names({"a.example", "b.example"}));
  CHECK(parse_one(R"({"name": "a.example", "alt_names": []})").certificates[0].alt_names ==
        names({"a.example"}));
}

TEST_CASE("object alt_names: host \"@\" is the zone and host h is h.zone") {
  const Certificate cert = parse_one(R"({"name": "mail.example.org", "alt_names": {
      "example.org": ["@", "smtp", "Mail"], "example.net": "www"}})")
                               .certificates[0];
  CHECK(cert.alt_names ==
        names({"mail.example.org", "example.org", "smtp.example.org", "www.example.net"}));
}

TEST_CASE("key_types: a string is one key type; absent means the enabled ones") {
  CHECK(parse_one(R"({"name": "a.example", "key_types": "ecdsa"})").certificates[0].key_types ==
        std::vector{KeyType::ecdsa});
  CHECK(parse_one(R"({"name": "a.example", "key_types": ["ecdsa", "rsa"]})")
            .certificates[0]
            .key_types == std::vector{KeyType::ecdsa, KeyType::rsa});
  CHECK(parse_one(R"({"name": "a.example", "key_size": 0})").certificates[0].key_types ==
        std::vector{KeyType::ecdsa});
  CHECK(parse_one(R"({"name": "a.example", "key_curve": null})").certificates[0].key_types ==
        std::vector{KeyType::rsa});
}

TEST_CASE("passphrases: none, a literal or the run-time one, inherited from settings") {
  using Kind = config::Passphrase::Kind;
  const Config cfg = parse(R"({"account": {"passphrase": true},
    "settings": {"key_passphrase": "s3cret"},
    "certificates": [{"name": "a.example"}, {"name": "b.example", "key_passphrase": false},
                     {"name": "c.example", "key_passphrase": true},
                     {"name": "d.example", "key_passphrase": null}]})");
  CHECK(cfg.account.passphrase.kind == Kind::runtime);
  CHECK(cfg.certificates[0].key_passphrase.kind == Kind::literal);
  CHECK(cfg.certificates[0].key_passphrase.literal == util::Secret("s3cret"));
  CHECK(cfg.certificates[1].key_passphrase.kind == Kind::none);
  CHECK(cfg.certificates[2].key_passphrase.kind == Kind::runtime);
  CHECK(cfg.certificates[3].key_passphrase.kind == Kind::none);
  CHECK(config::needs_runtime_passphrase(cfg, {}));
  const Config plain = parse(R"({"settings": {"key_passphrase": "x"},
    "certificates": [{"name": "a.example"}, {"name": "b.example", "key_passphrase": true}]})");
  CHECK(config::needs_runtime_passphrase(plain, {}));
  CHECK_FALSE(config::needs_runtime_passphrase(plain, {&plain.certificates[0]}));
  CHECK(config::needs_runtime_passphrase(plain, {&plain.certificates[1]}));
  CHECK(plain.account.passphrase.kind == Kind::none);
}

TEST_CASE("ocsp_responder_urls, ct_logs, ct_submit_logs and verify, inherited from settings") {
  const std::string id = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA="; // bytes 1..32
  const Config cfg = parse(R"({"ct_logs": {"one": {"url": "https://ct.test/2026", "log_id": ")" +
                           id + R"(", "key": "MDA=", "start": "2026-01-01T00:00:00Z",
        "end": "2027-01-01T00:00:00Z"}, "two": [{"url": "http://127.0.0.1:9/p", "log_id": ")" +
                           id + R"(", "key": "MDA="}]},
    "settings": {"ocsp_responder_urls": "http://ocsp.test/", "ct_submit_logs": ["one"],
                 "verify": [443, "993", {"port": 25, "starttls": "SMTP", "hosts": ["x.a.test"],
                                         "key_types": "ecdsa"}]},
    "certificates": [{"name": "a.test", "alt_names": ["a.test", "*.a.test"]},
                     {"name": "b.test", "ct_submit_logs": ["two", "one", "two"],
                      "ocsp_responder_urls": null,
                      "verify": {"targets": [{"port": 8443, "hosts": "b.test"}],
                                 "ocsp_max_attempts": 3, "ocsp_retry_delay": 1}}]})");
  REQUIRE(cfg.ct_logs.size() == 2);
  const auto& one = cfg.ct_logs.at("one").at(0);
  CHECK(one.url == "https://ct.test/2026");
  CHECK(one.log_id.size() == 32);
  CHECK(one.log_id.front() == 1);
  CHECK(one.public_key_der == "00");
  CHECK(one.end - one.start == std::chrono::hours(24 * 365));
  CHECK(cfg.ct_logs.at("two").at(0).end > cfg.ct_logs.at("two").at(0).start);
  const Certificate& a = cfg.certificates[0];
  CHECK(a.ocsp_responder_urls == std::vector<std::string>{"http://ocsp.test/"});
  CHECK(a.ct_submit_logs == std::vector<std::string>{"one"});
  REQUIRE(a.verify.targets.size() == 3);
  CHECK(a.verify.targets[0].port == 443);
  CHECK(a.verify.targets[1].port == 993);
  CHECK(a.verify.targets[2].starttls == "smtp");
  CHECK(a.verify.targets[2].hosts == std::vector<std::string>{"x.a.test"}); // matches *.a.test
  CHECK(a.verify.targets[2].key_types == std::vector{KeyType::ecdsa});
  CHECK(a.verify.ocsp_max_attempts == 10);
  const Certificate& b = cfg.certificates[1];
  CHECK(b.ocsp_responder_urls.empty());
  CHECK(b.ct_submit_logs == std::vector<std::string>{"two", "one"});
  REQUIRE(b.verify.targets.size() == 1);
  CHECK(b.verify.targets[0].port == 8443);
  CHECK(b.verify.ocsp_max_attempts == 3);
  CHECK(b.verify.ocsp_retry_delay == std::chrono::seconds{1});
  // B9: the README spellings give the defaults
  const Config readme = parse(R"({"settings": {"verify": [443], "max_ocsp_verify_attempts": 4,
    "ocsp_verify_retry_delay": 2}, "certificates": [{"name": "a.test"}]})");
  CHECK(readme.certificates[0].verify.ocsp_max_attempts == 4);
  CHECK(readme.certificates[0].verify.ocsp_retry_delay == std::chrono::seconds{2});
  // an inherited target naming only other certificates' hosts is dropped, not an error
  const Config inherit = parse(R"({"settings": {"verify": [{"port": 443, "hosts": "a.test"}]},
    "certificates": [{"name": "a.test"}, {"name": "b.test"}]})");
  CHECK(inherit.certificates[0].verify.targets.size() == 1);
  CHECK(inherit.certificates[1].verify.targets.empty());
}

TEST_CASE("settings values are read, relative paths anchored at the config directory") {
  const Config cfg = parse(R"({"account": {"email": "hostmaster@example.org", "passphrase": false},
    "settings": {"data_dir": "data", "log_file": "", "log_level": "info", "color_output": false,
      "lock_file": null, "acme_directory_url": "http://localhost:14000/dir", "ca_bundle": null,
      "renewal_days": 20, "archive_days": -1, "cert_poll_time": 60, "min_run_delay": 0,
      "max_run_delay": 0},
    "hooks": null, "services": {}, "ct_logs": {},
    "certificates": [{"name": "a.example", "services": []}]})");
  CHECK(cfg.account.email == "hostmaster@example.org");
  CHECK(cfg.settings.data_dir == fs::path("/etc/certmgr/data"));
  CHECK_FALSE(cfg.settings.log_file);
  CHECK(cfg.settings.log_level == LogLevel::verbose);
  CHECK_FALSE(cfg.settings.color_output);
  CHECK_FALSE(cfg.settings.lock_file);
  CHECK(cfg.settings.acme_directory_url == "http://localhost:14000/dir");
  CHECK(cfg.settings.renewal_days == 20);
  CHECK(cfg.settings.archive_days == -1);
  CHECK(cfg.settings.cert_poll_time == std::chrono::seconds{60});
  CHECK(cfg.settings.min_run_delay == cfg.settings.max_run_delay);
  CHECK(parse(R"({"settings": {"log_level": null}, "certificates": [{"name": "a.example"}]})")
            .settings.log_level == LogLevel::quiet);
  CHECK(parse(R"({"settings": {"acme_directory_url": "http://[::1]:14000/dir"},
                 "certificates": [{"name": "a.example"}]})")
            .settings.acme_directory_url == "http://[::1]:14000/dir");
}

TEST_CASE("an existing ca_bundle is accepted and made absolute") {
  const certmgr::test::TempDir dir;
  certmgr::test::write_text(dir.path() / "ca.pem", "PEM");
  const Config cfg =
      config::parse(R"({"settings": {"ca_bundle": "ca.pem"}, "certificates": [{"name": "a.b"}]})",
                    dir.path() / "certmgr.json");
  CHECK(cfg.settings.ca_bundle == fs::weakly_canonical(dir.path()) / "ca.pem");
}

TEST_CASE("curves are canonical, null sizes are 0, users and groups are resolved") {
  const Certificate cert =
      parse_one(R"({"name": "a.example", "key_curve": "P-256", "ecparam_curve": "prime256v1",
                   "key_size": null, "dhparam_size": null, "file_user": "root",
                   "file_group": "0"})")
          .certificates[0];
  CHECK(cert.key_curve == "secp256r1");
  CHECK(cert.ecparam_curve == "secp256r1");
  CHECK(cert.key_size == 0);
  CHECK(cert.dhparam_size == 0);
  CHECK(cert.file_uid == uid_t{0});
  CHECK(cert.file_gid == gid_t{0});
  CHECK(parse_one(R"({"name": "a.example", "ecparam_curve": ""})").certificates[0].ecparam_curve ==
        "");
}

TEST_SUITE_END();

TEST_SUITE_BEGIN("config::parse inheritance");

TEST_CASE("settings values reach every certificate unless it sets its own") {
  const Config cfg = parse(R"({"settings": {"key_size": 2048, "key_curve": "secp521r1",
      "dhparam_size": 4096, "fast_dhparams": false, "ocsp_must_staple": true,
      "file_group": "root"},
    "certificates": [{"name": "a.example"},
                     {"name": "b.example", "key_size": 3072, "fast_dhparam": true,
                      "ocsp_must_staple": false, "file_group": null}]})");
  const Certificate& a = cfg.certificates[0];
  const Certificate& b = cfg.certificates[1];
  CHECK(a.key_size == 2048);
  CHECK(a.key_curve == "secp521r1");
  CHECK(a.dhparam_size == 4096);
  CHECK_FALSE(a.fast_dhparam);
  CHECK(a.ocsp_must_staple);
  CHECK(a.file_gid == gid_t{0});
  CHECK(b.key_size == 3072);
  CHECK(b.key_curve == "secp521r1");
  CHECK(b.fast_dhparam);
  CHECK_FALSE(b.ocsp_must_staple);
  CHECK_FALSE(b.file_gid);
}

TEST_CASE("http_challenges and the README settings keys make the global auth http") {
  const Config cfg = parse(R"({"settings": {"http_challenge_dir": "/var/www/{fqdn}/acme",
      "authorization_delay": 3, "max_authorization_attempts": 7},
    "http_challenges": {"WWW.example.org": "/srv/www"},
    "certificates": [{"name": "example.org", "alt_names": ["@", "www.example.org"]}]})");
  const Auth& auth = cfg.certificates[0].auth;
  REQUIRE(auth.type == Auth::Type::http);
  CHECK(auth.http.default_template == "/var/www/{fqdn}/acme");
  CHECK(auth.http.per_domain ==
        std::map<std::string, std::string>{{"www.example.org", "/srv/www"}});
  CHECK(auth.http.delay == std::chrono::seconds{3});
  CHECK(auth.http.retry == 7);
}

TEST_CASE("the README keys merge into settings.auth when it is http") {
  const Config cfg = parse(R"({"settings": {"auth": {"type": "http", "delay": 4},
      "max_authorization_attempts": 9, "authorization_delay": 4},
    "http_challenges": {"a.example": "/srv/a"},
    "certificates": [{"name": "a.example"}]})");
  const Auth& auth = cfg.certificates[0].auth;
  CHECK(auth.type == Auth::Type::http);
  CHECK(auth.http.delay == std::chrono::seconds{4});
  CHECK(auth.http.retry == 9);
  CHECK(auth.http.per_domain.at("a.example") == "/srv/a");
}

TEST_CASE("a certificate's http auth merges over the global one and keeps its default [B46]") {
  const Config cfg = parse(R"({"settings": {"auth": {"type": "http", "delay": 20,
      "challenge_dir": {"default": "/var/www/{fqdn}", "a.example": "/srv/a",
                        "b.example": "/srv/b"}}},
    "certificates": [
      {"name": "a.example", "auth": {"type": "http", "retry": 5,
                                     "challenge_dir": {"b.example": "/own/b"}}},
      {"name": "b.example", "auth": {"type": "http", "challenge_dir": "/own/{fqdn}"}},
      {"name": "c.example", "auth": null},
      {"name": "d.example"}]})");
  const Auth& a = cfg.certificates[0].auth;
  CHECK(a.type == Auth::Type::http);
  CHECK(a.http.default_template == "/var/www/{fqdn}");
  CHECK(a.http.per_domain ==
        std::map<std::string, std::string>{{"a.example", "/srv/a"}, {"b.example", "/own/b"}});
  CHECK(a.http.delay == std::chrono::seconds{20});
  CHECK(a.http.retry == 5);
  CHECK(cfg.certificates[1].auth.http.default_template == "/own/{fqdn}");
  CHECK(cfg.certificates[1].auth.http.retry == 30);
  CHECK(cfg.certificates[2].auth.type == Auth::Type::noop);
  CHECK(cfg.certificates[3].auth.http.per_domain.size() == 2);
}

TEST_CASE("a certificate auth of another type than the global one stands alone") {
  const Config cfg = parse(R"({"settings": {"auth": {"type": "noop"}},
    "certificates": [{"name": "a.example", "auth": {"type": "http", "challenge_dir": "/x"}}]})");
  const Auth& auth = cfg.certificates[0].auth;
  CHECK(auth.type == Auth::Type::http);
  CHECK(auth.http.default_template == "/x");
  CHECK(auth.http.delay == std::chrono::seconds{10});
  CHECK(auth.http.retry == 30);
}

TEST_CASE("link_names leave out names claimed by another certificate [B28]") {
  const Config cfg = parse(R"({"certificates": [
      {"name": "a.example", "alt_names": ["@", "www.a.example", "b.example", "shared.example"]},
      {"name": "b.example", "alt_names": ["@", "shared.example", "mail.b.example"]},
      {"name": "c.example", "alt_names": ["@", "a.example"]}]})");
  CHECK(cfg.certificates[0].link_names == names({"www.a.example"}));
  CHECK(cfg.certificates[1].link_names == names({"mail.b.example"}));
  CHECK(cfg.certificates[2].link_names.empty());
}

TEST_SUITE_END();

TEST_SUITE_BEGIN("config::challenge_dir");

TEST_CASE("a per-domain entry is used verbatim, else the template is expanded") {
  const config::HttpAuth auth{.per_domain = {{"a.example", "/srv/{fqdn}"}},
                              .default_template = "/var/www/{fqdn}/{{x}}"};
  CHECK(config::challenge_dir(auth, "a.example") == fs::path("/srv/{fqdn}"));
  CHECK(config::challenge_dir(auth, "b.example") == fs::path("/var/www/b.example/{x}"));
  CHECK_FALSE(config::challenge_dir(config::HttpAuth{}, "b.example"));
}

TEST_SUITE_END();

TEST_SUITE_BEGIN("config::parse errors");

TEST_CASE("hooks: a string is split once, an object and an array are read, null is none") {
  const Config cfg = parse(R"({
    "hooks": {
      "certificate_installed": "/usr/local/bin/deploy 'a b' {certificate_name} \"{file}\"",
      "chain_installed": {"args": ["cp", "{chain_file}", "/srv/x"], "cwd": "hooks",
                          "input": "{key_type} {{x}}\n", "timeout": 20},
      "certificates_updated": ["echo {certificates}", {"args": ["logger", "updated"]}],
      "set_http_challenge": {"args": ["sync-challenge", "{domain}", "{challenge_file}"],
                             "cwd": "/var/www"},
      "params_installed": null,
      "full_key_installed": []
    },
    "certificates": [{"name": "a.b"}]})");
  REQUIRE(cfg.hooks.size() == 4);
  const std::vector<config::HookCommand>& installed = cfg.hooks.at("certificate_installed");
  REQUIRE(installed.size() == 1);
  CHECK(installed[0].args ==
        names({"/usr/local/bin/deploy", "a b", "{certificate_name}", "{file}"}));
  CHECK_FALSE(installed[0].cwd);
  CHECK_FALSE(installed[0].input);
  CHECK(installed[0].timeout == std::chrono::seconds{300});
  const config::HookCommand& chain = cfg.hooks.at("chain_installed").at(0);
  CHECK(chain.args == names({"cp", "{chain_file}", "/srv/x"}));
  CHECK(chain.cwd == fs::path("/etc/certmgr/hooks"));
  CHECK(chain.input == "{key_type} {{x}}\n");
  CHECK(chain.timeout == std::chrono::seconds{20});
  const std::vector<config::HookCommand>& updated = cfg.hooks.at("certificates_updated");
  REQUIRE(updated.size() == 2);
  CHECK(updated[0].args == names({"echo", "{certificates}"}));
  CHECK(updated[1].args == names({"logger", "updated"}));
  CHECK(cfg.hooks.at("set_http_challenge").at(0).cwd == fs::path("/var/www"));
  CHECK_FALSE(cfg.hooks.contains("params_installed"));
  CHECK_FALSE(cfg.hooks.contains("full_key_installed"));
}

TEST_CASE("services merge over the built-in table; a certificate's string is one name [B12]") {
  const Config cfg = parse(R"({
    "services": {"myapp": "systemctl reload myapp", "nginx": "nginx -s reload", "apache": null},
    "certificates": [{"name": "a.b", "services": "nginx"},
                     {"name": "c.d", "services": ["myapp", "apache", "postfix"]},
                     {"name": "e.f", "services": null},
                     {"name": "g.h"}]})");
  CHECK(cfg.services.at("myapp") == "systemctl reload myapp");
  CHECK(cfg.services.at("nginx") == "nginx -s reload");
  CHECK_FALSE(cfg.services.at("apache").has_value());
  CHECK(cfg.services.at("znc") == "systemctl restart znc");
  CHECK(cfg.services.size() == 13);
  CHECK(cfg.certificates[0].services == names({"nginx"}));
  CHECK(cfg.certificates[1].services == names({"myapp", "apache", "postfix"}));
  CHECK(cfg.certificates[2].services.empty());
  CHECK(cfg.certificates[3].services.empty());
  const Config plain = parse(R"({"certificates": [{"name": "a.b"}]})");
  CHECK(plain.hooks.empty());
  CHECK(plain.services.at("nginx") == "systemctl reload nginx");
}

namespace {

struct Malformed {
  const char* json;  ///< "@certs" stands for a valid certificates section
  const char* where; ///< the JSON pointer, or "line L column C"
  const char* value; ///< text the message must quote; "" when there is none
};

// clang-format off
const Malformed k_malformed[] = {
  // wrong types
  {R"({"settings": {"key_size": "4096"}, @certs})", "/settings/key_size", R"(got "4096")"},
  {R"({"settings": {"renewal_days": 3.5}, @certs})", "/settings/renewal_days", "got 3.5"},
  {R"({"settings": {"cert_poll_time": 30.0}, @certs})", "/settings/cert_poll_time", "got 30.0"},
  {R"({"settings": {"color_output": 1}, @certs})", "/settings/color_output", "got 1"},
  {R"({"certificates": [{"name": 42}]})", "/certificates/0/name", "got 42"},
  {R"({"certificates": [{"name": "a.b", "key_types": {"rsa": true}}]})",
   "/certificates/0/key_types", "got an object"},
  {R"({"certificates": [{"name": "a.b", "fast_dhparam": "false"}]})",
   "/certificates/0/fast_dhparam", R"(got "false")"},
  {R"({"certificates": null})", "/certificates", "got null"},
  {R"({"certificates": [{"name": "a.b", "auth": "http"}]})",
   "/certificates/0/auth", R"(got "http")"},
  {R"({"settings": {"max_authorization_attempts": "5"}, @certs})",
   "/settings/max_authorization_attempts", R"("5")"},
  {R"({"http_challenges": {"a.b": 1}, @certs})", "/http_challenges/a.b", "got 1"},
  // values out of their set or range
  {R"({"certificates": [{"name": "a.b", "key_types": ["rsa", "dsa"]}]})",
   "/certificates/0/key_types/1", R"("dsa")"},
  {R"({"certificates": [{"name": "a.b", "key_types": ["rsa", "rsa"]}]})",
   "/certificates/0/key_types/1", R"("rsa")"},
  {R"({"certificates": [{"name": "a.b"}, {"name": "c.d", "key_curve": "secp999r1"}]})",
   "/certificates/1/key_curve",
   R"(unsupported curve "secp999r1" (expected secp256r1, secp384r1 or secp521r1))"},
  {R"({"settings": {"ecparam_curve": "brainpool"}, @certs})",
   "/settings/ecparam_curve", R"("brainpool")"},
  {R"({"settings": {"key_size": 1024}, @certs})", "/settings/key_size", "1024"},
  {R"({"settings": {"key_size": -1}, @certs})", "/settings/key_size", "-1"},
  {R"({"settings": {"key_size": 3001}, @certs})", "/settings/key_size", "3001"},
  {R"({"certificates": [{"name": "a.b", "dhparam_size": 99999999999999999999}]})",
   "/certificates/0/dhparam_size", "100000000000000000000"},
  {R"({"settings": {"renewal_days": 18446744073709551615}, @certs})",
   "/settings/renewal_days", "18446744073709551615"},
  {R"({"settings": {"log_level": "loud"}, @certs})", "/settings/log_level", R"("loud")"},
  {R"({"settings": {"min_run_delay": 4000, "max_run_delay": 3600}, @certs})",
   "/settings/min_run_delay", "4000"},
  {R"({"settings": {"max_run_delay": 200}, @certs})", "/settings/max_run_delay", "200"},
  {R"({"settings": {"authorization_delay": 0}, @certs})", "/settings/authorization_delay", "0"},
  {R"({"settings": {"acme_directory_url": "http://acme.example.org/directory"}, @certs})",
   "/settings/acme_directory_url", R"("http://acme.example.org/directory")"},
  {R"({"settings": {"acme_directory_url": "https://user@acme.example.org/"}, @certs})",
   "/settings/acme_directory_url", R"("https://user@acme.example.org/")"},
  {R"({"settings": {"ca_bundle": "/nonexistent/ca.pem"}, @certs})",
   "/settings/ca_bundle", R"("/nonexistent/ca.pem")"},
  {R"({"settings": {"ca_bundle": "/"}, @certs})", "/settings/ca_bundle", R"("/")"},
  {R"({"settings": {"file_user": "certmgr-no-such-user"}, @certs})",
   "/settings/file_user", R"("certmgr-no-such-user")"},
  {R"({"certificates": [{"name": "a.b", "file_group": "certmgr-no-such-group"}]})",
   "/certificates/0/file_group", R"("certmgr-no-such-group")"},
  {R"({"certificates": [{"name": "a.b", "file_user": "4294967295"}]})",
   "/certificates/0/file_user", "4294967295"},
  {R"({"account": {"email": "hostmaster.example.org"}, @certs})",
   "/account/email", R"("hostmaster.example.org")"},
  {R"({"account": {"email": "a@b@c"}, @certs})", "/account/email", R"("a@b@c")"},
  {R"({"account": {"email": "host master@example.org"}, @certs})",
   "/account/email", R"("host master@example.org")"},
  // sections and keys
  {R"({"settings": {}})", "/", R"("certificates")"},
  {R"({"certificates": []})", "/certificates", ""},
  {R"({"certificates": {}})", "/certificates", ""},
  {R"({"xyz": {}, @certs})", "/xyz", R"(unknown section "xyz")"},
  {R"({"settings": {"renewal_day": 30}, @certs})",
   "/settings/renewal_day", R"(unknown key "renewal_day")"},
  {R"({"certificates": [{"name": "a.b", "colour": "red"}]})",
   "/certificates/0/colour", R"(unknown key "colour")"},
  {R"({"certificates": [{"name": "a.b", "hooks": {"x": "y"}}]})",
   "/certificates/0/hooks", R"("hooks")"},
  {R"({"account": {"key": 1}, @certs})", "/account/key", R"("key")"},
  {R"({"ct_logs": [], @certs})", "/ct_logs", "expected an object, got an array"},
  {R"({"ct_logs": {"x": {"url": "http://log.test"}}, @certs})", "/ct_logs/x", "missing log_id"},
  {R"({"ct_logs": {"x": {"url": "ftp://log.test", "log_id": "", "key": ""}}, @certs})",
   "/ct_logs/x/url", R"(invalid URL "ftp://log.test")"},
  {R"({"ct_logs": {"x": {"url": "http://l.test", "log_id": "AAAA", "key": "AAAA"}}, @certs})",
   "/ct_logs/x", "log_id is 3 bytes, expected 32"},
  {R"({"ct_logs": {"x": {"url": "http://l.test", "log_id": "%%", "key": "AAAA"}}, @certs})",
   "/ct_logs/x/log_id", R"(log_id "%%" is not base64)"},
  {R"({"ct_logs": {"a/b": {"url": "http://l.test", "log_id": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "key": "AAAA"}}, @certs})",
   "/ct_logs/a~1b", R"(invalid CT log name "a/b")"},
  {R"({"settings": {"ct_submit_logs": ["nope"]}, @certs})", "/settings/ct_submit_logs/0",
   R"(unknown CT log "nope")"},
  {R"({"certificates": [{"name": "a.b", "ocsp_responder_urls": ["ocsp.test"]}]})",
   "/certificates/0/ocsp_responder_urls/0", R"(invalid URL "ocsp.test")"},
  {R"({"settings": {"verify": [70000]}, @certs})", "/settings/verify/0", "70000"},
  {R"({"certificates": [{"name": "a.b", "verify": [{"hosts": "a.b"}]}]})",
   "/certificates/0/verify/0", "missing port"},
  {R"({"certificates": [{"name": "a.b", "verify": [{"port": 25, "starttls": "smpt"}]}]})",
   "/certificates/0/verify/0/starttls", R"(unsupported starttls "smpt")"},
  {R"({"certificates": [{"name": "a.b", "verify": [{"port": 443, "hosts": "c.d"}]}]})",
   "/certificates/0/verify/0/hosts", R"(host "c.d" is not a name of certificate "a.b")"},
  {R"({"certificates": [{"name": "a.b", "verify": [{"port": 443, "tlsa": true}]}]})",
   "/certificates/0/verify/0/tlsa", R"(unknown key "tlsa")"},
  {R"({"certificates": [{"name": "a.b", "verify": {"targets": [443], "ocsp_max_attempts": 0}}]})",
   "/certificates/0/verify/ocsp_max_attempts", "0"},
  {R"({"settings": {"key_passphrase": ""}, @certs})",
   "/settings/key_passphrase", "an empty passphrase"},
  {R"({"certificates": [{"name": "a.b", "key_passphrase": 7}]})",
   "/certificates/0/key_passphrase", "expected a string, true, false or null"},
  {R"({"settings": {"max_ocsp_verify_attempts": 0}, @certs})",
   "/settings/max_ocsp_verify_attempts", "0"},
  {R"({"account": {"passphrase": ["x"]}, @certs})",
   "/account/passphrase", "expected a string, true, false or null"},
  {R"({"settings": {"fast_dhparam": true, "fast_dhparams": false}, @certs})",
   "/settings/fast_dhparams", "false conflicts with true"},
  // JSON syntax and structure
  {R"({"certificates": [{"name": "a.b"},]})", "line 1 column 35", "Invalid value."},
  {"{\n  \"certificates\": [\n    {\"name\": \"a.b\"}\n",
   "line 4 column 1", "Missing a comma or ']'"},
  {"{\"certificates\" [{\"name\": \"a.b\"}]}", "line 1 column 17", "Missing a colon"},
  {"", "line 1 column 1", "The document is empty."},
  {R"({@certs} // comment)", "line 1 column 37", "must not be followed"},
  {R"({"certificates": [{"name": "a.b", "name": "c.d"}]})",
   "/certificates/0/name", R"(duplicate key "name")"},
  {R"({"settings": {"auth": {"type": "http", "type": "noop"}}, @certs})",
   "/settings/auth/type", R"(duplicate key "type")"},
  {R"([{"name": "a.b"}])", "/", "got an array"},
  {"{\"a\\nb\": 1, \"certificates\": [{\"name\": \"a.b\"}]}", "/a\\u000ab", R"("a\u000ab")"},
  // names
  {R"({"certificates": [{"name": "a/b"}]})", "/certificates/0/name", R"("a/b")"},
  {R"({"certificates": [{"name": ".."}]})", "/certificates/0/name", R"("..")"},
  {R"({"certificates": [{"name": "-a.example"}]})", "/certificates/0/name", R"("-a.example")"},
  {R"({"certificates": [{"name": "account"}]})", "/certificates/0/name", R"("account")"},
  {R"({"certificates": {"archives": {}}})", "/certificates/archives", R"("archives")"},
  {R"({"certificates": {"a/b": {}}})", "/certificates/a~1b", R"("a/b")"},
  {R"({"certificates": [{"key_size": 2048}]})", "/certificates/0", "missing name"},
  {R"({"certificates": [{"name": "a.b"}, {"name": " A.B"}]})", "/certificates/1/name", R"("a.b")"},
  {R"({"certificates": {"a.b": {}, "A.B": {}}})", "/certificates/A.B", R"("a.b")"},
  {R"({"certificates": [{"name": "a.b", "common_name": "c.d"}]})",
   "/certificates/0/common_name", R"("c.d" conflicts with "a.b")"},
  {R"({"certificates": {"a.b": {"name": "c.d"}}})", "/certificates/a.b/name", R"("c.d")"},
  {R"({"certificates": [{"name": "a.b", "alt_names": ["@", "bad_name.example"]}]})",
   "/certificates/0/alt_names/1", R"("bad_name.example")"},
  {R"({"certificates": [{"name": "a.b", "alt_names": {"example.org": ["ok", "not ok"]}}]})",
   "/certificates/0/alt_names/example.org/1", R"("not ok.example.org")"},
  {R"({"certificates": [{"name": "a.b", "alt_names": [7]}]})",
   "/certificates/0/alt_names/0", "got 7"},
  // key types and their keys
  {R"({"settings": {"key_size": 0}, "certificates": [{"name": "a.b", "key_types": ["rsa"]}]})",
   "/certificates/0/key_types/0", R"("rsa")"},
  {R"({"certificates": [{"name": "a.b", "key_curve": null, "key_types": "ecdsa"}]})",
   "/certificates/0/key_types", R"("ecdsa")"},
  {R"({"certificates": [{"name": "a.b", "key_size": 0, "key_curve": ""}]})",
   "/certificates/0", "no key type enabled"},
  {R"({"certificates": [{"name": "a.b", "key_types": []}]})",
   "/certificates/0/key_types", "no key types"},
  // auth
  {R"({"settings": {"auth": {"type": "dns"}}, @certs})",
   "/settings/auth/type", R"(auth type "dns" is not supported by this version of certmgr)"},
  {R"({"certificates": [{"name": "a.b", "auth": {"type": "ftp"}}]})",
   "/certificates/0/auth/type", R"("ftp")"},
  {R"({"settings": {"auth": {"challenge_dir": "/x"}}, @certs})",
   "/settings/auth", "missing auth type"},
  {R"({"settings": {"auth": {"type": "http", "challenge_dir": "/var/www/{domain}"}}, @certs})",
   "/settings/auth/challenge_dir", R"("/var/www/{domain}")"},
  {R"({"settings": {"http_challenge_dir": "/var/www/{fqdn"}, @certs})",
   "/settings/http_challenge_dir", R"("/var/www/{fqdn")"},
  {R"({"certificates": [{"name": "a.b",
                         "auth": {"type": "http", "challenge_dir": {"default": "/}"}}}]})",
   "/certificates/0/auth/challenge_dir/default", R"("/}")"},
  {R"({"certificates": [{"name": "a.b", "auth": {"type": "http", "zone": "a.b"}}]})",
   "/certificates/0/auth/zone", R"(unknown key "zone")"},
  {R"({"certificates": [{"name": "a.b", "auth": {"type": "noop", "delay": 5}}]})",
   "/certificates/0/auth/delay", R"(unknown key "delay")"},
  {R"({"certificates": [{"name": "a.b", "auth": {"type": "http", "retry": 0}}]})",
   "/certificates/0/auth/retry", "0 is out of range"},
  {R"({"settings": {"auth": null}, "http_challenges": {"a.b": "/x"}, @certs})",
   "/http_challenges", "needs an http auth"},
  {R"({"settings": {"auth": {"type": "http", "delay": 5}, "authorization_delay": 6}, @certs})",
   "/settings/authorization_delay", "6 conflicts with 5"},
  {R"({"http_challenges": {"bad host": "/x"}, @certs})",
   "/http_challenges/bad host", R"("bad host")"},
  // hooks
  {R"({"hooks": [], @certs})", "/hooks", "got an array"},
  {R"({"hooks": {"cert_installed": "echo"}, @certs})",
   "/hooks/cert_installed", R"(unknown hook "cert_installed")"},
  {R"({"hooks": {"sct_installed": "echo {domain}"}, @certs})",
   "/hooks/sct_installed", R"(unknown field "{domain}")"},
  {R"({"hooks": {"certificate_installed": "echo {certificate_file} {x}"}, @certs})",
   "/hooks/certificate_installed", R"(unknown field "{x}" for hook certificate_installed)"},
  {R"({"hooks": {"params_installed": ["echo {params_file}", "echo {key_type}"]}, @certs})",
   "/hooks/params_installed/1", R"(unknown field "{key_type}" for hook params_installed)"},
  {R"({"hooks": {"private_key_installed": {"args": ["cat"], "input": "{passphrase}"}}, @certs})",
   "/hooks/private_key_installed/input", R"(unknown field "{passphrase}")"},
  {R"({"hooks": {"certificate_installed": {"args": ["cp", "{file", "/x"]}}, @certs})",
   "/hooks/certificate_installed/args/1", R"(invalid template "{file")"},
  {R"({"hooks": {"chain_installed": "echo {1x}"}, @certs})",
   "/hooks/chain_installed", R"("{1x}")"},
  {R"({"hooks": {"certificate_installed": "echo 'unterminated"}, @certs})",
   "/hooks/certificate_installed", R"(unterminated quote or trailing backslash in "echo 'unterminated")"},
  {R"({"hooks": {"certificate_installed": "echo \\"}, @certs})",
   "/hooks/certificate_installed", "trailing backslash"},
  {R"({"hooks": {"certificate_installed": "  "}, @certs})",
   "/hooks/certificate_installed", R"(empty hook command "  ")"},
  {R"({"hooks": {"certificate_installed": true}, @certs})",
   "/hooks/certificate_installed", "got true"},
  {R"({"hooks": {"certificate_installed": [["echo"]]}, @certs})",
   "/hooks/certificate_installed/0", "got an array"},
  {R"({"hooks": {"certificate_installed": {"args": []}}, @certs})",
   "/hooks/certificate_installed/args", "expected a non-empty array of strings"},
  {R"({"hooks": {"certificate_installed": {"args": "echo hi"}}, @certs})",
   "/hooks/certificate_installed/args", R"(got "echo hi")"},
  {R"({"hooks": {"certificate_installed": {"args": ["echo", 1]}}, @certs})",
   "/hooks/certificate_installed/args/1", "got 1"},
  {R"({"hooks": {"certificate_installed": {"cwd": "/srv"}}, @certs})",
   "/hooks/certificate_installed", R"(missing "args")"},
  {R"({"hooks": {"certificate_installed": {"args": ["echo"], "shell": true}}, @certs})",
   "/hooks/certificate_installed/shell", R"(unknown key "shell")"},
  {R"({"hooks": {"certificate_installed": {"args": ["echo"], "timeout": 0}}, @certs})",
   "/hooks/certificate_installed/timeout", "0 is out of range"},
  {R"({"hooks": {"certificate_installed": {"args": ["echo"], "timeout": "5"}}, @certs})",
   "/hooks/certificate_installed/timeout", R"(got "5")"},
  {R"({"hooks": {"certificate_installed": {"args": ["echo"], "cwd": ""}}, @certs})",
   "/hooks/certificate_installed/cwd", R"(got "")"},
  {R"({"hooks": {"certificate_installed": {"args": ["echo\u0000x"]}}, @certs})",
   "/hooks/certificate_installed/args/0", "contains a NUL character"},
  // services
  {R"({"services": ["nginx"], @certs})", "/services", "got an array"},
  {R"({"services": {"myapp": 1}, @certs})", "/services/myapp", "got 1"},
  {R"({"services": {"": "true"}, @certs})", "/services/", R"(invalid service name "")"},
  {R"({"certificates": [{"name": "a.b", "services": ["nginx", "nginxx"]}]})",
   "/certificates/0/services/1", R"(unknown service "nginxx")"},
  {R"({"certificates": [{"name": "a.b", "services": "nginx apache"}]})",
   "/certificates/0/services", R"(unknown service "nginx apache")"},
  {R"({"services": {"myapp": "true"}, "certificates": [{"name": "a.b"},
                                                        {"name": "c.d", "services": ["myap"]}]})",
   "/certificates/1/services/0", R"(unknown service "myap")"},
  {R"({"certificates": [{"name": "a.b", "services": ["nginx", "nginx"]}]})",
   "/certificates/0/services/1", R"(duplicate service "nginx")"},
  {R"({"certificates": [{"name": "a.b", "services": [null]}]})",
   "/certificates/0/services/0", "got null"},
  {R"({"certificates": [{"name": "a.b", "services": {"nginx": true}}]})",
   "/certificates/0/services", "got an object"},
};
// clang-format on

} // namespace

TEST_CASE("every malformed configuration is one config error naming file, pointer and value") {
  static_assert(std::size(k_malformed) >= 30);
  for (const Malformed& bad : k_malformed) {
    std::string json = bad.json;
    if (const std::size_t at = json.find("@certs"); at != std::string::npos) {
      json.replace(at, 6, R"("certificates": [{"name": "a.b"}])");
    }
    CAPTURE(json);
    std::string what;
    bool config_kind = false;
    try {
      (void)parse(json);
    } catch (const util::Error& error) {
      what = error.what();
      config_kind = error.kind() == util::ErrorKind::config;
    }
    CAPTURE(what);
    CHECK(config_kind);
    CHECK(what.starts_with(k_file + ": " + bad.where + ": "));
    CHECK(what.find(bad.value) != std::string::npos);
    CHECK(what.find('\n') == std::string::npos);
  }
}

TEST_CASE("deep nesting is an error, not a stack overflow") {
  const std::size_t depth = 200000;
  const std::string json =
      R"({"certificates": )" + std::string(depth, '[') + std::string(depth, ']') + "}";
  CHECK_THROWS_WITH_AS(parse(json), doctest::Contains("/certificates/0: expected an object"),
                       util::Error);
}

TEST_CASE("every truncation of a valid configuration is a config error, never a crash") {
  const fs::path path = fs::path(CERTMGR_SOURCE_DIR) / "certmgr.example.json";
  const std::string text = certmgr::test::read_text(path);
  REQUIRE_FALSE(text.empty());
  std::size_t config_errors = 0;
  for (std::size_t length = 0; length + 1 < text.size(); ++length) {
    try {
      (void)parse(text.substr(0, length));
    } catch (const util::Error& error) {
      if (error.kind() == util::ErrorKind::config) ++config_errors;
    }
  }
  CHECK(config_errors == text.size() - 1);
}

TEST_CASE("a long bad value is shortened and control characters are escaped") {
  const std::string long_name(500, 'x');
  std::string what;
  try {
    (void)parse(R"({"certificates": [{"name": ")" + long_name + R"(\u001b[31m"}]})");
  } catch (const util::Error& error) {
    what = error.what();
  }
  CHECK(what.size() < 300);
  CHECK(what.find('\x1b') == std::string::npos);
}

TEST_SUITE_END();

TEST_SUITE_BEGIN("config::load");

TEST_CASE("load reads the file; <cfgdir> is the directory of the symlink-resolved file") {
  const certmgr::test::TempDir dir;
  certmgr::test::write_text(dir.path() / "real" / "certmgr.json",
                            R"({"settings": {"data_dir": "data"},
                                "certificates": [{"name": "a.example"}]})");
  fs::create_directories(dir.path() / "link");
  fs::create_symlink(dir.path() / "real" / "certmgr.json", dir.path() / "link" / "certmgr.json");
  const Config cfg = config::load(dir.path() / "link" / "certmgr.json");
  const fs::path real = fs::canonical(dir.path() / "real");
  CHECK(cfg.file == dir.path() / "link" / "certmgr.json");
  CHECK(cfg.dir == real);
  CHECK(cfg.settings.data_dir == real / "data");
}

TEST_CASE("load of a missing or unreadable file is a config error naming it") {
  const certmgr::test::TempDir dir;
  for (const fs::path& path : {dir.path() / "missing.json", dir.path()}) {
    CAPTURE(path);
    try {
      (void)config::load(path);
      FAIL("no error");
    } catch (const util::Error& error) {
      CHECK(error.kind() == util::ErrorKind::config);
      CHECK(std::string(error.what()).starts_with(path.string() + ": cannot read config file"));
    }
  }
}

TEST_CASE("locate finds a relative name in the current directory and refuses missing files") {
  const certmgr::test::TempDir dir;
  certmgr::test::write_text(dir.path() / "certmgr-locate-test.json", "{}");
  const fs::path before = fs::current_path();
  fs::current_path(dir.path());
  const fs::path found = config::locate("certmgr-locate-test.json");
  fs::current_path(before);
  CHECK(fs::equivalent(found, dir.path() / "certmgr-locate-test.json"));
  CHECK(found.is_absolute());
  CHECK(config::locate((dir.path() / "certmgr-locate-test.json").string()) ==
        dir.path() / "certmgr-locate-test.json");
  CHECK_THROWS_WITH_AS((void)config::locate((dir.path() / "none.json").string()),
                       doctest::Contains("none.json: config file not found"), util::Error);
  CHECK_THROWS_WITH_AS(
      (void)config::locate("certmgr-no-such-config.json"),
      doctest::Contains("certmgr-no-such-config.json: config file not found (looked in ./, "
                        "/etc/certmgr/, "),
      util::Error);
}

TEST_CASE("certmgr.example.json is valid and shows every shape") {
  const fs::path path = fs::path(CERTMGR_SOURCE_DIR) / "certmgr.example.json";
  const Config cfg = config::parse(certmgr::test::read_text(path), path);
  REQUIRE(cfg.certificates.size() == 3);
  const Certificate& org = cfg.certificates[0];
  CHECK(org.auth.type == Auth::Type::http);
  CHECK(config::challenge_dir(org.auth.http, "example.org") ==
        fs::path("/var/www/example.org/.well-known/acme-challenge"));
  const Certificate& mail = cfg.certificates[1];
  CHECK(mail.name == "mail.example.org");
  CHECK(mail.alt_names == names({"mail.example.org", "smtp.example.org", "imap.example.org"}));
  CHECK(mail.key_types == std::vector{KeyType::ecdsa});
  CHECK(config::challenge_dir(mail.auth.http, "smtp.example.org") == fs::path("/srv/postfix/acme"));
  CHECK(config::challenge_dir(mail.auth.http, "www.example.org") ==
        fs::path("/var/www/example.org/.well-known/acme-challenge"));
  CHECK(cfg.certificates[2].alt_names ==
        names({"example.com", "www.example.com", "example.net", "www.example.net"}));
  CHECK(org.services == names({"nginx", "example-app"}));
  CHECK(mail.services == names({"postfix"}));
  CHECK(cfg.services.at("example-app").has_value());
  CHECK(cfg.hooks.at("certificate_installed").size() == 1);
  CHECK(cfg.hooks.at("full_key_installed").at(0).input.has_value());
  CHECK(cfg.hooks.at("certificates_updated").size() == 2);
}

TEST_SUITE_END();
