// tests/unit/verify_test.cpp: the STARTTLS dialogs against scripted servers on a socketpair, the
// comparison, and whole checks against a TLS server thread on a loopback port.

#include "test_keys.hpp"
#include "testutil.hpp"
#include "verify/detail.hpp"
#include <certmgr/util/fs.hpp>
#include <certmgr/verify.hpp>

#include <doctest/doctest.h>
#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <arpa/inet.h>
#include <atomic>
#include <chrono>
#include <mutex>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <string>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

namespace verify = certmgr::verify;
namespace detail = certmgr::verify::detail;
namespace crypto = certmgr::crypto;
namespace util = certmgr::util;
using certmgr::test::ec_key;
using certmgr::test::error_of;
using certmgr::test::rsa_key;
using std::chrono::steady_clock;
using namespace std::chrono_literals;

/// A certificate for `key` named `cn` with `serial`, signed by `signer`, with `issuer`'s subject
/// as issuer name (its own when null).
crypto::Certificate make_cert(const crypto::Key& key, const std::string& cn, long serial,
                              const crypto::Key& signer,
                              const crypto::Certificate* issuer = nullptr) {
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), serial);
  X509_NAME_add_entry_by_txt(X509_get_subject_name(cert), "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert, X509_get_subject_name(issuer != nullptr ? issuer->get() : cert));
  X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert), 86400);
  X509_set_pubkey(cert, key.get());
  X509_sign(cert, signer.get(), EVP_sha256());
  return crypto::Certificate(crypto::X509Ptr(cert));
}

const crypto::Key& ca_key() { return ec_key(); }

struct Installed {
  crypto::Certificate leaf;
  std::vector<crypto::Certificate> chain;
};

const Installed& rsa_installed() {
  static const Installed i{make_cert(rsa_key(), "rsa.test", 1001, ca_key()),
                           {make_cert(ca_key(), "Intermediate A", 11, ca_key())}};
  return i;
}
const crypto::Key& ec_leaf_key() {
  static const crypto::Key key =
      crypto::Key::generate(crypto::KeySpec{.type = crypto::KeyType::ecdsa, .curve = "secp384r1"});
  return key;
}
const Installed& ec_installed() {
  static const Installed i{make_cert(ec_leaf_key(), "ec.test", 2002, ca_key()),
                           {make_cert(ca_key(), "Intermediate B", 12, ca_key()),
                            make_cert(ca_key(), "Root B", 13, ca_key())}};
  return i;
}

verify::Expectation expect(util::KeyType type) {
  const Installed& i = type == util::KeyType::rsa ? rsa_installed() : ec_installed();
  return verify::Expectation{.key_type = type, .leaf = i.leaf, .chain = i.chain};
}

// ------------------------------------------------------------------ scripted plain-text peer

/// One step of a scripted server: send `text`, or (expect) read one line and check that it
/// starts with `text`.
struct Step {
  bool expect{false};
  std::string text{};
};
Step send(std::string text) { return Step{.expect = false, .text = std::move(text)}; }
Step expect_line(std::string text) { return Step{.expect = true, .text = std::move(text)}; }

/// Runs `script` on `fd` (blocking); returns "" or what went wrong.
std::string run_script(int fd, const std::vector<Step>& script) {
  timeval tv{.tv_sec = 5, .tv_usec = 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  for (const Step& step : script) {
    if (!step.expect) {
      if (::send(fd, step.text.data(), step.text.size(), MSG_NOSIGNAL) !=
          static_cast<ssize_t>(step.text.size()))
        return "send failed";
      continue;
    }
    std::string line;
    char c = 0;
    while (::recv(fd, &c, 1, 0) == 1) {
      line += c;
      if (c == '\n' || c == '>') break; // XMPP elements end in '>'
    }
    if (!line.starts_with(step.text)) return "expected \"" + step.text + "\", got \"" + line + "\"";
  }
  return "";
}

/// The dialog of `protocol` against `script` on a socketpair: "" on success, else the Failure line.
struct DialogResult {
  std::string failure{};
  std::string server{};
};
DialogResult dialog(const std::string& protocol, const std::vector<Step>& script,
                    std::chrono::seconds timeout = 5s, const std::string& host = "mail.test") {
  int fds[2];
  REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0);
  util::Fd server(fds[1]);
  DialogResult result;
  std::thread peer([&] {
    result.server = run_script(server.get(), script);
    ::shutdown(server.get(), SHUT_WR); // the end of the script closes the connection
  });
  try {
    detail::Connection conn{util::Fd(fds[0]), timeout};
    detail::starttls(conn, protocol, host);
  } catch (const detail::Failure& f) {
    result.failure = f.what();
  }
  ::shutdown(server.get(), SHUT_RDWR);
  peer.join();
  return result;
}

// ------------------------------------------------------------------ TLS server thread

struct Served {
  const crypto::Key* key;
  crypto::Certificate leaf;
  std::vector<crypto::Certificate> chain;
};

struct ServerOptions {
  std::vector<Step> script{}; ///< plain-text part before TLS
  bool hang{false};           ///< accept, then never answer
  bool staple{false};         ///< staple a (tryLater) OCSP response
  int max_version{TLS1_3_VERSION};
};

/// A TLS server on 127.0.0.1:<port 0> serving connections one after another in a thread.
class TlsServer {
public:
  TlsServer(std::vector<Served> served, ServerOptions options)
      : m_served(std::move(served)), m_options(std::move(options)),
        m_ctx(SSL_CTX_new(TLS_server_method())) {
    SSL_CTX_set_max_proto_version(m_ctx, m_options.max_version);
    for (const Served& s : m_served) {
      REQUIRE(SSL_CTX_use_certificate(m_ctx, s.leaf.get()) == 1);
      REQUIRE(SSL_CTX_use_PrivateKey(m_ctx, s.key->get()) == 1);
      for (const auto& c : s.chain) REQUIRE(SSL_CTX_add1_chain_cert(m_ctx, c.get()) == 1);
    }
    SSL_CTX_set_tlsext_servername_callback(m_ctx, &TlsServer::on_sni);
    SSL_CTX_set_tlsext_servername_arg(m_ctx, this);
    if (m_options.staple) {
      SSL_CTX_set_tlsext_status_cb(m_ctx, &TlsServer::on_status);
    }
    m_listen = util::Fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(m_listen.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(m_listen.get(), 8) == 0);
    socklen_t len = sizeof addr;
    getsockname(m_listen.get(), reinterpret_cast<sockaddr*>(&addr), &len);
    m_port = ntohs(addr.sin_port);
    m_thread = std::thread([this] { serve(); });
  }
  ~TlsServer() {
    m_stop = true;
    m_thread.join();
    SSL_CTX_free(m_ctx);
  }
  TlsServer(const TlsServer&) = delete;
  TlsServer& operator=(const TlsServer&) = delete;

  [[nodiscard]] int port() const { return m_port; }
  [[nodiscard]] std::string errors() {
    std::lock_guard lock(m_mutex);
    return m_errors;
  }
  [[nodiscard]] std::string sni() {
    std::lock_guard lock(m_mutex);
    return m_sni;
  }

  static std::string staple_der() {
    OCSP_RESPONSE* r = OCSP_response_create(OCSP_RESPONSE_STATUS_TRYLATER, nullptr);
    unsigned char* der = nullptr;
    const int n = i2d_OCSP_RESPONSE(r, &der);
    std::string out(reinterpret_cast<const char*>(der), static_cast<std::size_t>(n));
    OPENSSL_free(der);
    OCSP_RESPONSE_free(r);
    return out;
  }

private:
  static int on_sni(SSL* ssl, int*, void* arg) {
    auto* self = static_cast<TlsServer*>(arg);
    const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    std::lock_guard lock(self->m_mutex);
    self->m_sni = name != nullptr ? name : "";
    return SSL_TLSEXT_ERR_OK;
  }
  static int on_status(SSL* ssl, void*) {
    const std::string der = staple_der();
    auto* copy = static_cast<unsigned char*>(OPENSSL_memdup(der.data(), der.size()));
    SSL_set_tlsext_status_ocsp_resp(ssl, copy, static_cast<long>(der.size()));
    return SSL_TLSEXT_ERR_OK;
  }

  void note(const std::string& error) {
    std::lock_guard lock(m_mutex);
    m_errors += error + "\n";
  }

  void serve() {
    sigset_t pipe;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe, nullptr); // a client that closed early must not end the test
    while (!m_stop) {
      pollfd p{.fd = m_listen.get(), .events = POLLIN, .revents = 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      util::Fd conn(::accept4(m_listen.get(), nullptr, nullptr, SOCK_CLOEXEC));
      if (!conn.valid()) continue;
      if (m_options.hang) {
        while (!m_stop) {
          pollfd q{.fd = conn.get(), .events = POLLIN, .revents = 0};
          if (::poll(&q, 1, 50) > 0) {
            char buf[256];
            if (::recv(conn.get(), buf, sizeof buf, 0) <= 0) break;
          }
        }
        continue;
      }
      const std::string script_error = run_script(conn.get(), m_options.script);
      if (!script_error.empty()) {
        note(script_error);
        continue;
      }
      SSL* ssl = SSL_new(m_ctx);
      SSL_set_fd(ssl, conn.get());
      if (SSL_accept(ssl) == 1) {
        char buf[16];
        (void)SSL_read(ssl, buf, sizeof buf); // until the client closes
      }
      ERR_clear_error();
      SSL_free(ssl);
    }
  }

  std::vector<Served> m_served;
  ServerOptions m_options;
  SSL_CTX* m_ctx;
  util::Fd m_listen{};
  int m_port{0};
  std::atomic<bool> m_stop{false};
  std::mutex m_mutex{};
  std::string m_errors{};
  std::string m_sni{};
  std::thread m_thread{};
};

Served rsa_served() { return Served{&rsa_key(), rsa_installed().leaf, rsa_installed().chain}; }
Served ec_served() { return Served{&ec_leaf_key(), ec_installed().leaf, ec_installed().chain}; }

/// A loopback port with nothing listening.
int closed_port() {
  util::Fd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(s.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(s.get(), reinterpret_cast<sockaddr*>(&addr), &len);
  return ntohs(addr.sin_port);
}

std::string lines(const verify::Outcome& o) {
  std::string out;
  for (const auto& m : o.mismatches) out += m + "\n";
  return out;
}

const std::vector<Step> k_smtp_ok{
    send("220-mx.test ESMTP\r\n220 ready\r\n"), expect_line("EHLO "),
    send("250-mx.test\r\n250-PIPELINING\r\n250-STARTTLS\r\n250 8BITMIME\r\n"),
    expect_line("STARTTLS\r\n"), send("220 2.0.0 go ahead\r\n")};

} // namespace

TEST_SUITE_BEGIN("verify");

TEST_CASE("starttls_protocols lists the six dialogs") {
  CHECK(verify::starttls_protocols() ==
        std::vector<std::string>{"smtp", "imap", "pop3", "ftp", "xmpp", "sieve"});
}

TEST_CASE("a wildcard name is looked up as wildcard-test") {
  CHECK(detail::lookup_name("*.a.test") == "wildcard-test.a.test");
  CHECK(detail::lookup_name("a.test") == "a.test");
}

TEST_CASE("addresses are written as host:port, IPv6 in brackets") {
  sockaddr_in in4{};
  in4.sin_family = AF_INET;
  in4.sin_port = htons(443);
  inet_pton(AF_INET, "192.0.2.1", &in4.sin_addr);
  CHECK(detail::format_address(reinterpret_cast<const sockaddr*>(&in4)) == "192.0.2.1:443");
  sockaddr_in6 in6{};
  in6.sin6_family = AF_INET6;
  in6.sin6_port = htons(8443);
  inet_pton(AF_INET6, "2001:db8::1", &in6.sin6_addr);
  CHECK(detail::format_address(reinterpret_cast<const sockaddr*>(&in6)) == "[2001:db8::1]:8443");
}

TEST_CASE("compare: exact match, other leaf, other chain, duplicates dropped") {
  const auto e = expect(util::KeyType::ecdsa);
  CHECK(detail::compare(e.leaf, e.chain, e).empty());
  SUBCASE("duplicates of served certificates are dropped") {
    const std::vector<crypto::Certificate> dup{e.chain[0], e.leaf, e.chain[0], e.chain[1]};
    CHECK(detail::compare(e.leaf, dup, e).empty());
  }
  SUBCASE("another leaf names both serials") {
    const auto other = make_cert(ec_leaf_key(), "ec.test", 2003, ca_key());
    const auto got = detail::compare(other, e.chain, e);
    REQUIRE(got.size() == 1);
    CHECK(got[0] == "served certificate 07D3 is not the installed 07D2");
  }
  SUBCASE("a leaf with the installed serial but other bytes") {
    const auto other = make_cert(ec_leaf_key(), "other.test", 2002, ca_key());
    const auto got = detail::compare(other, e.chain, e);
    REQUIRE(got.size() == 1);
    CHECK(got[0] == "served certificate 07D2 differs from the installed one with the same serial");
  }
  SUBCASE("a missing intermediate") {
    const auto got = detail::compare(e.leaf, {e.chain[0]}, e);
    REQUIRE(got.size() == 1);
    CHECK(got[0] == "served chain differs: served Intermediate B (0C), installed Intermediate B "
                    "(0C), Root B (0D)");
  }
  SUBCASE("nothing served after the leaf") {
    const auto got = detail::compare(e.leaf, {}, e);
    REQUIRE(got.size() == 1);
    CHECK(got[0].starts_with("served chain differs: served none, installed Intermediate B"));
  }
  SUBCASE("the root served after the chain (cert+root.pem) is not a difference") {
    const auto root = make_cert(ca_key(), "Root C", 21, ca_key());
    const auto intermediate = make_cert(rsa_key(), "Intermediate C", 22, ca_key(), &root);
    const auto leaf = make_cert(ec_leaf_key(), "ec.test", 23, rsa_key(), &intermediate);
    REQUIRE(intermediate.issued_by(root));
    const verify::Expectation installed{
        .key_type = util::KeyType::ecdsa, .leaf = leaf, .chain = {intermediate}};
    CHECK(detail::compare(leaf, {intermediate}, installed).empty());
    CHECK(detail::compare(leaf, {intermediate, root}, installed).empty());
    // Another self-signed certificate there is a difference; so is the root alone.
    const auto stranger = make_cert(ca_key(), "Stranger", 24, ca_key());
    CHECK(detail::compare(leaf, {intermediate, stranger}, installed).size() == 1);
    CHECK(detail::compare(leaf, {root}, installed).size() == 1);
  }
  SUBCASE("order counts") {
    const auto got = detail::compare(e.leaf, {e.chain[1], e.chain[0]}, e);
    CHECK(got.size() == 1);
  }
}

TEST_CASE("STARTTLS dialogs that succeed") {
  SUBCASE("smtp with multi-line greeting and EHLO reply") {
    const auto r = dialog("smtp", k_smtp_ok);
    CHECK(r.failure == "");
    CHECK(r.server == "");
  }
  SUBCASE("imap asks for CAPABILITY when the greeting has none") {
    const auto r =
        dialog("imap", {send("* OK ready\r\n"), expect_line("a000 CAPABILITY\r\n"),
                        send("* CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED\r\n"
                             "a000 OK done\r\n"),
                        expect_line("a001 STARTTLS\r\n"), send("a001 OK begin TLS\r\n")});
    CHECK(r.failure == "");
    CHECK(r.server == "");
  }
  SUBCASE("imap takes the capabilities of the greeting") {
    const auto r = dialog(
        "imap", {send("* OK [CAPABILITY IMAP4rev1 SASL-IR STARTTLS] Dovecot ready.\r\n"),
                 expect_line("a001 STARTTLS\r\n"), send("a001 OK Begin TLS negotiation now.\r\n")});
    CHECK(r.failure == "");
    CHECK(r.server == "");
  }
  SUBCASE("pop3") {
    const auto r = dialog("pop3", {send("+OK ready\r\n"), expect_line("CAPA\r\n"),
                                   send("+OK\r\nUSER\r\nSTLS\r\nUIDL\r\n.\r\n"),
                                   expect_line("STLS\r\n"), send("+OK begin\r\n")});
    CHECK(r.failure == "");
    CHECK(r.server == "");
  }
  SUBCASE("pop3 without CAPA") {
    const auto r =
        dialog("pop3", {send("+OK ready\r\n"), expect_line("CAPA\r\n"), send("-ERR unknown\r\n"),
                        expect_line("STLS\r\n"), send("+OK begin\r\n")});
    CHECK(r.failure == "");
  }
  SUBCASE("ftp with FEAT") {
    const auto r =
        dialog("ftp", {send("220-welcome\r\n banner\r\n220 ready\r\n"), expect_line("FEAT\r\n"),
                       send("211-Features:\r\n AUTH TLS;TLS-C;SSL\r\n PBSZ\r\n211 End\r\n"),
                       expect_line("AUTH TLS\r\n"), send("234 go\r\n")});
    CHECK(r.failure == "");
    CHECK(r.server == "");
  }
  SUBCASE("ftp without FEAT") {
    const auto r =
        dialog("ftp", {send("220 ready\r\n"), expect_line("FEAT\r\n"), send("502 no\r\n"),
                       expect_line("AUTH TLS\r\n"), send("234 go\r\n")});
    CHECK(r.failure == "");
  }
  SUBCASE("xmpp") {
    const auto r = dialog(
        "xmpp",
        {expect_line("<?xml"), expect_line("<stream:stream to='chat.test' "),
         send("<?xml version='1.0'?><stream:stream from='chat.test' id='1' version='1.0' "
              "xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>"
              "<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/>"
              "</starttls></stream:features>"),
         expect_line("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"),
         send("<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")},
        5s, "chat.test");
    CHECK(r.failure == "");
    CHECK(r.server == "");
  }
  SUBCASE("sieve") {
    const auto r = dialog("sieve", {send("\"IMPLEMENTATION\" \"Dovecot\"\r\n\"SASL\" \"\"\r\n"
                                         "\"STARTTLS\"\r\n\"VERSION\" \"1.0\"\r\nOK \"ready\"\r\n"),
                                    expect_line("STARTTLS\r\n"), send("OK \"begin\"\r\n")});
    CHECK(r.failure == "");
    CHECK(r.server == "");
  }
}

TEST_CASE("STARTTLS not offered is one line") {
  const std::string line = "STARTTLS: server did not offer STARTTLS";
  CHECK(dialog("smtp",
               {send("220 ready\r\n"), expect_line("EHLO"), send("250-mx\r\n250 8BITMIME\r\n")})
            .failure == line);
  CHECK(dialog("imap", {send("* OK ready\r\n"), expect_line("a000 CAPABILITY"),
                        send("* CAPABILITY IMAP4rev1\r\na000 OK done\r\n")})
            .failure == line);
  CHECK(dialog("pop3", {send("+OK\r\n"), expect_line("CAPA"), send("+OK\r\nUSER\r\n.\r\n")})
            .failure == line);
  CHECK(dialog("ftp", {send("220 ready\r\n"), expect_line("FEAT"),
                       send("211-Features:\r\n PBSZ\r\n211 End\r\n")})
            .failure == line);
  CHECK(dialog("xmpp", {expect_line("<?xml"), expect_line("<stream:stream"),
                        send("<stream:stream xmlns:stream='http://etherx.jabber.org/streams'>"
                             "<stream:features><mechanisms/></stream:features>")})
            .failure == line);
  CHECK(dialog("sieve", {send("\"IMPLEMENTATION\" \"x\"\r\nOK\r\n")}).failure == line);
}

TEST_CASE("STARTTLS refused, malformed, injected, closed, silent") {
  CHECK(dialog("smtp", {send("554 go away\r\n")}).failure ==
        "STARTTLS: unexpected reply to the connection (greeting): 554 go away");
  CHECK(dialog("smtp",
               {send("220 ready\r\n"), expect_line("EHLO"), send("250-mx\r\n250 STARTTLS\r\n"),
                expect_line("STARTTLS"), send("454 4.7.0 TLS not available\r\n")})
            .failure == "STARTTLS: unexpected reply to STARTTLS: 454 4.7.0 TLS not available");
  CHECK(dialog("smtp", {send("hello\r\n")}).failure ==
        "STARTTLS: unexpected reply to the connection (greeting): hello");
  CHECK(dialog("imap", {send("* OK [CAPABILITY STARTTLS] x\r\n"), expect_line("a001 STARTTLS"),
                        send("* BYE\r\na001 NO later\r\n")})
            .failure == "STARTTLS: unexpected reply to STARTTLS: a001 NO later");
  CHECK(dialog("pop3", {send("+OK\r\n"), expect_line("CAPA"), send("+OK\r\nSTLS\r\n.\r\n"),
                        expect_line("STLS"), send("-ERR no\r\n")})
            .failure == "STARTTLS: unexpected reply to STLS: -ERR no");
  CHECK(dialog("ftp", {send("220 ready\r\n"), expect_line("FEAT"), send("500 ?\r\n"),
                       expect_line("AUTH TLS"), send("534 no\r\n")})
            .failure == "STARTTLS: unexpected reply to AUTH TLS: 534 no");
  CHECK(dialog("xmpp", {expect_line("<?xml"), expect_line("<stream:stream"),
                        send("<stream:stream><stream:features><starttls "
                             "xmlns='urn:ietf:params:xml:ns:xmpp-tls'/></stream:features>"),
                        expect_line("<starttls"),
                        send("<failure xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")})
            .failure.starts_with("STARTTLS: unexpected reply to <starttls/>: <failure"));
  CHECK(dialog("sieve",
               {send("\"STARTTLS\"\r\nOK\r\n"), expect_line("STARTTLS"), send("NO \"no\"\r\n")})
            .failure == "STARTTLS: unexpected reply to STARTTLS: NO \"no\"");
  SUBCASE("bytes after the final reply (command injection) are refused") {
    auto script = k_smtp_ok;
    script.back().text += "\x16\x03\x01";
    CHECK(dialog("smtp", script).failure == "STARTTLS: server sent data before the TLS handshake");
  }
  SUBCASE("a closed connection") {
    CHECK(dialog("pop3", {send("+OK\r\n")}).failure == "STARTTLS: connection closed by the server");
  }
  SUBCASE("a silent server times out") {
    const auto start = steady_clock::now();
    CHECK(dialog("smtp", {expect_line("never")}, 1s).failure == "STARTTLS: timed out after 1 s");
    CHECK(steady_clock::now() - start < 3s);
  }
  SUBCASE("an endless line") {
    CHECK(dialog("smtp", {send("220-" + std::string(10000, 'x') + "\r\n")}).failure ==
          "STARTTLS: server line longer than 8192 bytes");
  }
  SUBCASE("a name unfit for an XMPP header") {
    CHECK(dialog("xmpp", {}, 5s, "a'b").failure ==
          "STARTTLS: \"a'b\" is not a domain for an XMPP stream");
  }
}

TEST_CASE("check: the served certificate of each key type matches") {
  for (const int version : {TLS1_2_VERSION, TLS1_3_VERSION}) {
    CAPTURE(version);
    TlsServer server({rsa_served(), ec_served()}, {.staple = true, .max_version = version});
    for (const auto type : {util::KeyType::rsa, util::KeyType::ecdsa}) {
      CAPTURE(util::key_type_name(type));
      const auto outcomes =
          verify::check({.host = "127.0.0.1", .port = server.port()}, expect(type), 5s);
      REQUIRE(outcomes.size() == 1);
      CHECK(outcomes[0].address == "127.0.0.1:" + std::to_string(server.port()));
      CHECK(lines(outcomes[0]) == "");
      REQUIRE(outcomes[0].staple.has_value());
      CHECK(*outcomes[0].staple == TlsServer::staple_der());
    }
    CHECK(server.sni() == ""); // no SNI for an IP literal
    CHECK(server.errors() == "");
  }
}

TEST_CASE("check: SNI is the name, a wildcard is sent as wildcard-test") {
  TlsServer server({rsa_served()}, {});
  auto outcomes =
      verify::check({.host = "localhost", .port = server.port()}, expect(util::KeyType::rsa), 5s);
  bool seen = false;
  for (const auto& o : outcomes) {
    if (o.address != "127.0.0.1:" + std::to_string(server.port())) continue;
    seen = true;
    CHECK(lines(o) == "");
    CHECK_FALSE(o.staple.has_value());
  }
  CHECK(seen);
  CHECK(server.sni() == "localhost");
}

TEST_CASE("check: another certificate, another chain, a missing key type") {
  const auto other = make_cert(rsa_key(), "rsa.test", 1002, ca_key());
  TlsServer server({Served{&rsa_key(), other, {}}}, {});
  const auto outcomes =
      verify::check({.host = "127.0.0.1", .port = server.port()}, expect(util::KeyType::rsa), 5s);
  REQUIRE(outcomes.size() == 1);
  CHECK(lines(outcomes[0]) == "served certificate 03EA is not the installed 03E9\n"
                              "served chain differs: served none, installed Intermediate A (0B)\n");
  SUBCASE("a server without an ECDSA certificate fails the handshake for ecdsa") {
    const auto ec = verify::check({.host = "127.0.0.1", .port = server.port()},
                                  expect(util::KeyType::ecdsa), 5s);
    REQUIRE(ec.size() == 1);
    REQUIRE(ec[0].mismatches.size() == 1);
    CHECK(ec[0].mismatches[0].starts_with("TLS handshake failed: "));
  }
}

TEST_CASE("check: STARTTLS then TLS") {
  TlsServer server({rsa_served(), ec_served()}, {.script = k_smtp_ok});
  const auto outcomes =
      verify::check({.host = "127.0.0.1", .port = server.port(), .starttls = "smtp"},
                    expect(util::KeyType::ecdsa), 5s);
  REQUIRE(outcomes.size() == 1);
  CHECK(lines(outcomes[0]) == "");
  CHECK(server.errors() == "");
}

TEST_CASE("check: refused, hanging, unresolvable, bad arguments") {
  SUBCASE("refused") {
    const auto outcomes =
        verify::check({.host = "127.0.0.1", .port = closed_port()}, expect(util::KeyType::rsa), 5s);
    REQUIRE(outcomes.size() == 1);
    CHECK(lines(outcomes[0]) == "cannot connect: Connection refused\n");
  }
  SUBCASE("a server that never answers the handshake") {
    TlsServer server({rsa_served()}, {.hang = true});
    const auto start = steady_clock::now();
    const auto outcomes =
        verify::check({.host = "127.0.0.1", .port = server.port()}, expect(util::KeyType::rsa), 1s);
    CHECK(steady_clock::now() - start < 3s);
    REQUIRE(outcomes.size() == 1);
    CHECK(lines(outcomes[0]) == "TLS handshake: timed out after 1 s\n");
  }
  SUBCASE("a name that does not resolve is an error") {
    CHECK(error_of([] {
            (void)verify::check({.host = "no-such-host.invalid"}, expect(util::KeyType::rsa), 1s);
          }).starts_with("no-such-host.invalid: cannot resolve: "));
  }
  SUBCASE("an unknown protocol is an error") {
    CHECK(error_of([] {
            (void)verify::check({.host = "127.0.0.1", .starttls = "smtps"},
                                expect(util::KeyType::rsa), 1s);
          }) == "127.0.0.1: unknown STARTTLS protocol \"smtps\"");
  }
}

TEST_SUITE_END();
