// tests/unit/ocsp_test.cpp: ocsp::check against responses signed in-process with OpenSSL's
// OCSP_basic_sign (an oracle independent of ocsp::), aia_urls, refresh_due, and fetch against a
// small loopback HTTP server.
#include "testutil.hpp"
#include <certmgr/crypto.hpp>
#include <certmgr/http.hpp>
#include <certmgr/ocsp.hpp>
#include <certmgr/util/error.hpp>

#include <doctest/doctest.h>
#include <openssl/ocsp.h>
#include <openssl/x509v3.h>

#include <arpa/inet.h>
#include <chrono>
#include <netinet/in.h>
#include <optional>
#include <string>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <utility>
#include <vector>

using namespace certmgr;
using crypto::Certificate;
using crypto::Key;
using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;
using TimePoint = std::chrono::system_clock::time_point;

namespace {

const TimePoint k_now = std::chrono::time_point_cast<seconds>(std::chrono::system_clock::now());

Key ec() {
  return Key::generate(crypto::KeySpec{.type = crypto::KeyType::ecdsa, .curve = "secp256r1"});
}

struct CertSpec {
  std::string cn{};
  long serial{1};
  bool ca{false};
  std::vector<std::pair<int, std::string>> extensions{};
  TimePoint not_before{k_now - hours(24)};
  TimePoint not_after{k_now + hours(24 * 30)};
};

/// A certificate for `key` signed by `issuer_key`; self-signed when `issuer` is null.
Certificate make_cert(const Key& key, const CertSpec& spec, const Certificate* issuer,
                      const Key& issuer_key) {
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), spec.serial);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(spec.cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert, issuer != nullptr ? X509_get_subject_name(issuer->get()) : name);
  ASN1_TIME_set(X509_getm_notBefore(cert), std::chrono::system_clock::to_time_t(spec.not_before));
  ASN1_TIME_set(X509_getm_notAfter(cert), std::chrono::system_clock::to_time_t(spec.not_after));
  X509_set_pubkey(cert, key.get());
  auto extensions = spec.extensions;
  if (spec.ca) extensions.emplace_back(NID_basic_constraints, "critical,CA:TRUE");
  for (const auto& [nid, value] : extensions) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer != nullptr ? issuer->get() : cert, cert, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    REQUIRE(ext != nullptr);
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
  }
  REQUIRE(X509_sign(cert, issuer_key.get(), EVP_sha256()) > 0);
  return Certificate(crypto::X509Ptr(cert));
}

/// root → issuer (an intermediate, as with a real CA) → leaf (serial 0x1234) and another leaf.
struct Pki {
  Key root_key = ec();
  Certificate root = make_cert(root_key, {.cn = "Test Root", .ca = true}, nullptr, root_key);
  Key issuer_key = ec();
  Certificate issuer =
      make_cert(issuer_key, {.cn = "Test Intermediate", .serial = 2, .ca = true}, &root, root_key);
  Key leaf_key = ec();
  Certificate leaf =
      make_cert(leaf_key, {.cn = "leaf.test", .serial = 0x1234}, &issuer, issuer_key);
  Certificate other_leaf =
      make_cert(leaf_key, {.cn = "other.test", .serial = 0x1235}, &issuer, issuer_key);
};

const Pki& pki() {
  static const Pki p;
  return p;
}

struct Single {
  const Certificate* leaf{nullptr};
  const Certificate* issuer{nullptr};
  int status{V_OCSP_CERTSTATUS_GOOD};
  int reason{-1};
  TimePoint this_update{k_now - hours(1)};
  std::optional<TimePoint> next_update{k_now + hours(24 * 7)};
  const EVP_MD* md{EVP_sha1()};
};

using GenTimePtr = std::unique_ptr<ASN1_GENERALIZEDTIME, util::FreeWith<ASN1_GENERALIZEDTIME_free>>;
GenTimePtr gentime(TimePoint t) {
  return GenTimePtr(ASN1_GENERALIZEDTIME_set(nullptr, std::chrono::system_clock::to_time_t(t)));
}

std::string der_of(OCSP_RESPONSE* response) {
  unsigned char* out = nullptr;
  const int size = i2d_OCSP_RESPONSE(response, &out);
  REQUIRE(size > 0);
  std::string der(reinterpret_cast<const char*>(out), static_cast<std::size_t>(size));
  OPENSSL_free(out);
  OCSP_RESPONSE_free(response);
  return der;
}

/// A successful DER OCSPResponse with `singles`, signed by `signer`/`key`; the signer's
/// certificate is included when `include_signer`.
std::string sign_response(const std::vector<Single>& singles, const Certificate& signer,
                          const Key& key, bool include_signer = false, unsigned long flags = 0) {
  OCSP_BASICRESP* basic = OCSP_BASICRESP_new();
  for (const Single& s : singles) {
    OCSP_CERTID* id = OCSP_cert_to_id(s.md, s.leaf->get(), s.issuer->get());
    REQUIRE(id != nullptr);
    const GenTimePtr this_update = gentime(s.this_update);
    const GenTimePtr next_update = s.next_update ? gentime(*s.next_update) : nullptr;
    const GenTimePtr revoked_at = gentime(k_now - hours(2));
    REQUIRE(
        OCSP_basic_add1_status(basic, id, s.status, s.reason,
                               s.status == V_OCSP_CERTSTATUS_REVOKED ? revoked_at.get() : nullptr,
                               this_update.get(), next_update.get()) != nullptr);
    OCSP_CERTID_free(id);
  }
  if (!include_signer) flags |= OCSP_NOCERTS;
  REQUIRE(OCSP_basic_sign(basic, signer.get(), key.get(), EVP_sha256(), nullptr, flags) == 1);
  OCSP_RESPONSE* response = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, basic);
  OCSP_BASICRESP_free(basic);
  return der_of(response);
}

Single for_leaf(Single s = {}) {
  s.leaf = &pki().leaf;
  s.issuer = &pki().issuer;
  return s;
}

/// Signed by the issuer itself.
std::string issuer_signed(const Single& s) {
  return sign_response({s}, pki().issuer, pki().issuer_key);
}

ocsp::Response check(const std::string& der) {
  return ocsp::check(der, pki().leaf, pki().issuer, k_now, "resp.der");
}

std::string check_error(const std::string& der) {
  return test::error_of([&] { static_cast<void>(check(der)); });
}

bool one_line(const std::string& text) { return text.find('\n') == std::string::npos; }

} // namespace

TEST_CASE("ocsp::check accepts a good response signed by the issuer") {
  for (const EVP_MD* md : {EVP_sha1(), EVP_sha256()}) {
    CAPTURE(EVP_MD_get0_name(md));
    const std::string der = issuer_signed(for_leaf({.md = md}));
    const ocsp::Response r = check(der);
    CHECK(r.status == ocsp::Status::good);
    CHECK(r.der == der);
    CHECK(r.this_update == k_now - hours(1));
    REQUIRE(r.next_update.has_value());
    CHECK(*r.next_update == k_now + hours(24 * 7));
    CHECK(r.revocation_reason.empty());
  }
  SUBCASE("responder ID by key, no nextUpdate") {
    Single s = for_leaf();
    s.next_update.reset();
    const ocsp::Response r =
        check(sign_response({s}, pki().issuer, pki().issuer_key, false, OCSP_RESPID_KEY));
    CHECK(r.status == ocsp::Status::good);
    CHECK_FALSE(r.next_update.has_value());
  }
  SUBCASE("our CertID among others of the same issuer") {
    Single other = for_leaf({.status = V_OCSP_CERTSTATUS_REVOKED});
    other.leaf = &pki().other_leaf;
    CHECK(check(sign_response({other, for_leaf()}, pki().issuer, pki().issuer_key)).status ==
          ocsp::Status::good);
  }
}

TEST_CASE("ocsp::check returns revoked and unknown") {
  ocsp::Response r = check(issuer_signed(for_leaf(
      {.status = V_OCSP_CERTSTATUS_REVOKED, .reason = OCSP_REVOKED_STATUS_KEYCOMPROMISE})));
  CHECK(r.status == ocsp::Status::revoked);
  CHECK(r.revocation_reason == "keyCompromise");
  r = check(issuer_signed(for_leaf({.status = V_OCSP_CERTSTATUS_REVOKED})));
  CHECK(r.status == ocsp::Status::revoked);
  CHECK(r.revocation_reason.empty());
  r = check(issuer_signed(
      for_leaf({.status = V_OCSP_CERTSTATUS_REVOKED, .reason = OCSP_REVOKED_STATUS_SUPERSEDED})));
  CHECK(r.revocation_reason == "superseded");
  r = check(issuer_signed(for_leaf({.status = V_OCSP_CERTSTATUS_UNKNOWN})));
  CHECK(r.status == ocsp::Status::unknown);
  CHECK(ocsp::status_name(ocsp::Status::revoked) == "revoked");
}

TEST_CASE("ocsp::check rejects a response not signed by the issuer") {
  SUBCASE("self-made responder certificate and key") {
    const Key key = ec();
    const Certificate self = make_cert(
        key, {.cn = "Rogue", .extensions = {{NID_ext_key_usage, "OCSPSigning"}}}, nullptr, key);
    const std::string e = check_error(sign_response({for_leaf()}, self, key, true));
    CHECK(e.starts_with("resp.der: signature does not verify"));
    CHECK(one_line(e));
  }
  SUBCASE("a certificate with the issuer's name but another key") {
    const Key key = ec();
    const Certificate fake = make_cert(key, {.cn = "Test Intermediate", .ca = true}, nullptr, key);
    CHECK(check_error(sign_response({for_leaf()}, fake, key))
              .starts_with("resp.der: signature does not verify"));
    CHECK(check_error(sign_response({for_leaf()}, fake, key, true))
              .starts_with("resp.der: signature does not verify"));
  }
  SUBCASE("signed by the root, which issued the issuer") {
    CHECK(check_error(sign_response({for_leaf()}, pki().root, pki().root_key, true))
              .starts_with("resp.der: signature does not verify"));
  }
  SUBCASE("signature bytes altered") {
    std::string der = issuer_signed(for_leaf());
    der[der.size() - 5] = static_cast<char>(der[der.size() - 5] ^ 0x01);
    CHECK(check_error(der).starts_with("resp.der: "));
  }
}

TEST_CASE("ocsp::check and delegated responders") {
  const Pki& p = pki();
  const Key key = ec();
  SUBCASE("signed by the issuer with id-kp-OCSPSigning: accepted") {
    const Certificate responder = make_cert(
        key, {.cn = "OCSP", .serial = 9, .extensions = {{NID_ext_key_usage, "OCSPSigning"}}},
        &p.issuer, p.issuer_key);
    CHECK(check(sign_response({for_leaf()}, responder, key, true)).status == ocsp::Status::good);
    CHECK(check(sign_response({for_leaf()}, responder, key, true, OCSP_RESPID_KEY)).status ==
          ocsp::Status::good);
    // not included in the response: we do not know it
    CHECK(check_error(sign_response({for_leaf()}, responder, key, false))
              .starts_with("resp.der: signature does not verify"));
  }
  SUBCASE("without the OCSPSigning EKU: rejected") {
    const Certificate responder = make_cert(
        key, {.cn = "OCSP", .serial = 9, .extensions = {{NID_ext_key_usage, "serverAuth"}}},
        &p.issuer, p.issuer_key);
    const std::string e = check_error(sign_response({for_leaf()}, responder, key, true));
    CHECK(e.starts_with("resp.der: signature does not verify"));
    CHECK(e.find("ocspsigning") != std::string::npos);
    const Certificate bare = make_cert(key, {.cn = "OCSP", .serial = 10}, &p.issuer, p.issuer_key);
    CHECK(check_error(sign_response({for_leaf()}, bare, key, true))
              .starts_with("resp.der: signature does not verify"));
  }
  SUBCASE("with the EKU but signed by the root, not the issuer: rejected") {
    const Certificate responder = make_cert(
        key, {.cn = "OCSP", .serial = 9, .extensions = {{NID_ext_key_usage, "OCSPSigning"}}},
        &p.root, p.root_key);
    CHECK(check_error(sign_response({for_leaf()}, responder, key, true))
              .starts_with("resp.der: signature does not verify"));
  }
  SUBCASE("expired responder certificate: rejected") {
    const Certificate responder = make_cert(key,
                                            {.cn = "OCSP",
                                             .serial = 9,
                                             .extensions = {{NID_ext_key_usage, "OCSPSigning"}},
                                             .not_before = k_now - hours(48),
                                             .not_after = k_now - hours(1)},
                                            &p.issuer, p.issuer_key);
    CHECK(check_error(sign_response({for_leaf()}, responder, key, true))
              .starts_with("resp.der: signature does not verify"));
  }
  SUBCASE("self-signed issuer: an EKU-less delegate is not rescued by explicit trust") {
    const Key ca_key = ec();
    const Certificate ca = make_cert(ca_key, {.cn = "Self CA", .ca = true}, nullptr, ca_key);
    const Certificate leaf = make_cert(key, {.cn = "x.test", .serial = 77}, &ca, ca_key);
    const Key rkey = ec();
    const Certificate responder = make_cert(rkey, {.cn = "R", .serial = 78}, &ca, ca_key);
    Single s{.leaf = &leaf, .issuer = &ca};
    const std::string der = sign_response({s}, responder, rkey, true);
    CHECK(test::error_of([&] {
            static_cast<void>(ocsp::check(der, leaf, ca, k_now, "r"));
          }).starts_with("r: signature does not verify"));
    // the CA itself may sign
    CHECK(ocsp::check(sign_response({s}, ca, ca_key), leaf, ca, k_now, "r").status ==
          ocsp::Status::good);
  }
}

TEST_CASE("ocsp::check rejects a response for another certificate") {
  Single other = for_leaf();
  other.leaf = &pki().other_leaf;
  const std::string e = check_error(issuer_signed(other));
  CHECK(e == "resp.der: no status for serial 1234 in the response");
  // two answers for our certificate (SHA-1 and SHA-256 CertIDs, or twice the same)
  Single revoked = for_leaf({.status = V_OCSP_CERTSTATUS_REVOKED, .md = EVP_sha256()});
  CHECK(check_error(sign_response({for_leaf(), revoked}, pki().issuer, pki().issuer_key)) ==
        "resp.der: 2 statuses for serial 1234 in the response");
  CHECK(check_error(sign_response({for_leaf(), for_leaf()}, pki().issuer, pki().issuer_key)) ==
        "resp.der: 2 statuses for serial 1234 in the response");
  // the right serial under another issuer's name/key hashes
  Single wrong_issuer = for_leaf();
  wrong_issuer.issuer = &pki().root;
  CHECK(check_error(issuer_signed(wrong_issuer)).starts_with("resp.der: "));
}

TEST_CASE("ocsp::check enforces thisUpdate and nextUpdate with the clock skew") {
  CHECK(check_error(issuer_signed(
            for_leaf({.this_update = k_now - hours(48), .next_update = k_now - hours(1)}))) ==
        "resp.der: response is stale (nextUpdate has passed)");
  CHECK(check_error(issuer_signed(for_leaf({.this_update = k_now + hours(1)}))) ==
        "resp.der: thisUpdate is in the future");
  CHECK(check_error(issuer_signed(
            for_leaf({.this_update = k_now - hours(1), .next_update = k_now - hours(2)}))) ==
        "resp.der: nextUpdate is before thisUpdate");
  // within the skew
  CHECK(check(issuer_signed(for_leaf({.this_update = k_now + minutes(4)}))).status ==
        ocsp::Status::good);
  CHECK(check(issuer_signed(
                  for_leaf({.this_update = k_now - hours(48), .next_update = k_now - minutes(4)})))
            .status == ocsp::Status::good);
  CHECK(ocsp::k_clock_skew == minutes(5));
}

TEST_CASE("ocsp::check rejects what is not a successful basic response") {
  const std::string good = issuer_signed(for_leaf());
  CHECK(check_error("").starts_with("resp.der: empty OCSP response"));
  CHECK(check_error("garbage, not DER").starts_with("resp.der: not a DER OCSP response"));
  CHECK(check_error(good.substr(0, good.size() / 2)).starts_with("resp.der: not a DER OCSP"));
  CHECK(check_error(good.substr(0, good.size() - 1)).starts_with("resp.der: not a DER OCSP"));
  CHECK(check_error(good + '\0') == "resp.der: trailing bytes after the OCSP response");
  CHECK(check_error(std::string(70000, '\x30')).starts_with("resp.der: OCSP response larger"));
  const std::string later = der_of(OCSP_response_create(OCSP_RESPONSE_STATUS_TRYLATER, nullptr));
  CHECK(check_error(later) == "resp.der: responder answered trylater (3)");
  for (const std::string& e : {check_error("x"), check_error(good.substr(0, 40))})
    CHECK(one_line(e));
}

TEST_CASE("ocsp::aia_urls") {
  const Pki& p = pki();
  const Key key = ec();
  const std::string long_url = "http://a.test/" + std::string(2100, 'x');
  const Certificate leaf = make_cert(
      key,
      {.cn = "aia.test",
       .serial = 5,
       .extensions = {{NID_info_access,
                       "caIssuers;URI:http://ca.test/issuer.der,OCSP;URI:http://ocsp1.test/,"
                       "OCSP;URI:ldap://ldap.test/,OCSP;URI:HTTPS://ocsp2.test/x?y=1,"
                       "OCSP;URI:" +
                           long_url + ",OCSP;URI:http://ocsp1.test/,OCSP;URI:http://"}}},
      &p.issuer, p.issuer_key);
  CHECK(ocsp::aia_urls(leaf) ==
        std::vector<std::string>{"http://ocsp1.test/", "HTTPS://ocsp2.test/x?y=1"});
  CHECK(ocsp::aia_urls(p.leaf).empty());
  const Certificate ca_only = make_cert(
      key,
      {.cn = "c.test", .serial = 6, .extensions = {{NID_info_access, "caIssuers;URI:http://c/"}}},
      &p.issuer, p.issuer_key);
  CHECK(ocsp::aia_urls(ca_only).empty());
}

TEST_CASE("ocsp::refresh_due") {
  ocsp::Response r{
      .status = ocsp::Status::good, .this_update = k_now, .next_update = k_now + hours(24 * 4)};
  CHECK_FALSE(ocsp::refresh_due(r, k_now));
  CHECK_FALSE(ocsp::refresh_due(r, k_now + hours(47)));
  CHECK(ocsp::refresh_due(r, k_now + hours(48)));
  CHECK(ocsp::refresh_due(r, k_now + hours(24 * 5)));
  r.next_update.reset();
  CHECK_FALSE(ocsp::refresh_due(r, k_now + hours(11)));
  CHECK(ocsp::refresh_due(r, k_now + hours(12)));
  r.status = ocsp::Status::revoked;
  CHECK(ocsp::refresh_due(r, k_now));
}

namespace {

/// A loopback HTTP/1.1 server answering each connection with the next of `answers` (status,
/// body), recording the requests (headers and body). Runs on a thread until all are served.
class TinyServer {
public:
  explicit TinyServer(std::vector<std::pair<int, std::string>> answers)
      : m_answers(std::move(answers)) {
    m_fd = socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(m_fd >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(bind(m_fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(listen(m_fd, 8) == 0);
    socklen_t len = sizeof addr;
    getsockname(m_fd, reinterpret_cast<sockaddr*>(&addr), &len);
    m_port = ntohs(addr.sin_port);
    m_thread = std::thread([this] { serve(); });
  }
  ~TinyServer() {
    shutdown(m_fd, SHUT_RDWR);
    m_thread.join();
    close(m_fd);
  }
  TinyServer(const TinyServer&) = delete;
  TinyServer& operator=(const TinyServer&) = delete;
  [[nodiscard]] std::string url() const {
    return "http://127.0.0.1:" + std::to_string(m_port) + "/ocsp";
  }
  std::vector<std::string> requests{};

private:
  void serve() {
    for (const auto& [status, body] : m_answers) {
      const int c = accept(m_fd, nullptr, nullptr);
      if (c < 0) return;
      std::string in;
      char buf[4096];
      std::size_t need = std::string::npos;
      while (need == std::string::npos || in.size() < need) {
        const ssize_t n = read(c, buf, sizeof buf);
        if (n <= 0) break;
        in.append(buf, static_cast<std::size_t>(n));
        const auto end = in.find("\r\n\r\n");
        if (need == std::string::npos && end != std::string::npos) {
          const auto cl = in.find("Content-Length: ");
          need = end + 4 + (cl != std::string::npos ? std::stoul(in.substr(cl + 16)) : 0);
        }
      }
      requests.push_back(in);
      const std::string out = "HTTP/1.1 " + std::to_string(status) +
                              " X\r\nContent-Type: application/ocsp-response\r\nContent-Length: " +
                              std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
      static_cast<void>(write(c, out.data(), out.size()));
      close(c);
    }
  }
  std::vector<std::pair<int, std::string>> m_answers;
  int m_fd{-1};
  int m_port{0};
  std::thread m_thread;
};

} // namespace

TEST_CASE("ocsp::fetch asks each URL in turn and returns the first response that checks") {
  const Pki& p = pki();
  const std::string good = issuer_signed(for_leaf());
  const Key key = ec();
  const Certificate self = make_cert(key, {.cn = "Rogue"}, nullptr, key);
  const std::string rogue = sign_response({for_leaf()}, self, key, true);
  ocsp::Response r;
  std::string first_url;
  std::vector<std::string> requests;
  {
    TinyServer server({{500, "oops"}, {200, rogue}, {200, good}});
    const std::string u = server.url();
    first_url = u;
    r = ocsp::fetch(http::Options{}, {"ftp://x.test/", u, u, u}, p.leaf, p.issuer, k_now);
    requests = server.requests;
  }
  CHECK(r.status == ocsp::Status::good);
  CHECK(r.der == good);
  REQUIRE(requests.size() == 3);
  const std::string& req = requests[0];
  CHECK(req.starts_with("POST /ocsp HTTP/1.1\r\n"));
  CHECK(req.find("Content-Type: application/ocsp-request\r\n") != std::string::npos);
  // the body: one SHA-1 CertID for the leaf, no nonce, no signature
  const std::string body = req.substr(req.find("\r\n\r\n") + 4);
  const auto* bytes = reinterpret_cast<const unsigned char*>(body.data());
  OCSP_REQUEST* parsed = d2i_OCSP_REQUEST(nullptr, &bytes, static_cast<long>(body.size()));
  REQUIRE(parsed != nullptr);
  CHECK(OCSP_request_onereq_count(parsed) == 1);
  CHECK(OCSP_REQUEST_get_ext_count(parsed) == 0);
  CHECK(OCSP_request_is_signed(parsed) == 0);
  OCSP_CERTID* want = OCSP_cert_to_id(EVP_sha1(), p.leaf.get(), p.issuer.get());
  CHECK(OCSP_id_cmp(OCSP_onereq_get0_id(OCSP_request_onereq_get0(parsed, 0)), want) == 0);
  OCSP_CERTID_free(want);
  OCSP_REQUEST_free(parsed);
}

TEST_CASE("ocsp::fetch lists every failure on one line") {
  const Pki& p = pki();
  std::string e;
  std::string u;
  {
    TinyServer server({{500, "oops"}, {200, "not der"}});
    u = server.url();
    e = test::error_of([&] {
      static_cast<void>(
          ocsp::fetch(http::Options{}, {u, "gopher://x/", u}, p.leaf, p.issuer, k_now));
    });
  }
  CHECK(e == u + ": HTTP 500; gopher://x/: not an http(s) URL; " + u +
                 ": not a DER OCSP response: " + e.substr(e.rfind(": ") + 2));
  CHECK(one_line(e));
  CHECK(test::error_of([&] {
          static_cast<void>(ocsp::fetch(http::Options{}, {}, p.leaf, p.issuer, k_now));
        }) == "no OCSP responder URL");
}
