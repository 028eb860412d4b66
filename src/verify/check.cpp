// src/verify/check.cpp: resolve, connect to every address, STARTTLS, TLS handshake limited to one
// key type, and compare what was served with what is installed.
#include "verify/detail.hpp"
#include <certmgr/log.hpp>
#include <certmgr/util/error.hpp>
#include <certmgr/util/handle.hpp>
#include <certmgr/util/sigpipe.hpp>

#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <memory>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>

namespace certmgr::verify {
namespace {
using CtxPtr = std::unique_ptr<SSL_CTX, util::FreeWith<SSL_CTX_free>>;
using SslPtr = std::unique_ptr<SSL, util::FreeWith<SSL_free>>;
using AddrPtr = std::unique_ptr<addrinfo, util::FreeWith<freeaddrinfo>>;

/// Most addresses of one name that are tried.
constexpr std::size_t k_max_addresses = 16;
/// Most certificates a server may send; more is broken or hostile.
constexpr int k_max_served = 10;
/// Largest stapled OCSP response accepted.
constexpr long k_max_staple_bytes = 64 * 1024;

/// The reason of the last OpenSSL error (or `fallback`), then the queue cleared.
std::string openssl_reason(std::string_view fallback) {
  const unsigned long code = ERR_peek_last_error();
  ERR_clear_error();
  if (code == 0) return std::string(fallback);
  const char* reason = ERR_reason_error_string(code);
  return reason != nullptr ? reason : fmt::format("error {:#x}", code);
}

CtxPtr make_context(util::KeyType type) {
  CtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  const bool ok =
      ctx && SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION) == 1 &&
      SSL_CTX_set_max_proto_version(ctx.get(), TLS1_3_VERSION) == 1 &&
      SSL_CTX_set1_sigalgs_list(ctx.get(), detail::sigalgs(type)) == 1 &&
      SSL_CTX_set_cipher_list(ctx.get(), type == util::KeyType::rsa ? "aRSA:!eNULL:!aNULL"
                                                                    : "aECDSA:!eNULL:!aNULL") == 1;
  if (!ok) {
    const std::string reason = openssl_reason("unknown error");
    throw util::Error(fmt::format("cannot set up TLS: {}", reason));
  }
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr); // we compare bytes, not trust
  SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_OFF);
  return ctx;
}

bool is_ip_literal(const std::string& host) {
  in6_addr a6{};
  in_addr a4{};
  return inet_pton(AF_INET6, host.c_str(), &a6) == 1 || inet_pton(AF_INET, host.c_str(), &a4) == 1;
}

void handshake(detail::Connection& conn, SSL* ssl) {
  constexpr std::string_view doing = "TLS handshake";
  for (;;) {
    ERR_clear_error();
    errno = 0;
    const int rc = SSL_connect(ssl);
    if (rc == 1) return;
    const int error = SSL_get_error(ssl, rc);
    if (error == SSL_ERROR_WANT_READ) {
      conn.wait(POLLIN, doing);
    } else if (error == SSL_ERROR_WANT_WRITE) {
      conn.wait(POLLOUT, doing);
    } else if (error == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) {
      throw detail::Failure(
          errno != 0 ? fmt::format("TLS handshake failed: {}", std::strerror(errno))
                     : std::string("TLS handshake failed: connection closed by the server"));
    } else {
      throw detail::Failure(
          fmt::format("TLS handshake failed: {}", openssl_reason("protocol error")));
    }
  }
}

crypto::Certificate own(X509* cert) {
  X509_up_ref(cert);
  return crypto::Certificate(crypto::X509Ptr(cert));
}

Outcome check_address(const addrinfo& ai, SSL_CTX* ctx, const Endpoint& endpoint,
                      const std::string& name, const Expectation& expected,
                      std::chrono::seconds timeout) {
  Outcome outcome;
  outcome.address = detail::format_address(ai.ai_addr);
  const util::SigpipeBlock no_sigpipe;
  try {
    detail::Connection conn = detail::Connection::open(ai.ai_addr, ai.ai_addrlen, timeout);
    if (!endpoint.starttls.empty()) detail::starttls(conn, endpoint.starttls, name);
    SslPtr ssl(SSL_new(ctx));
    if (!ssl || SSL_set_fd(ssl.get(), conn.fd()) != 1 ||
        SSL_set_tlsext_status_type(ssl.get(), TLSEXT_STATUSTYPE_ocsp) != 1 ||
        (!is_ip_literal(name) && SSL_set_tlsext_host_name(ssl.get(), name.c_str()) != 1))
      throw detail::Failure(fmt::format("TLS setup failed: {}", openssl_reason("unknown error")));
    handshake(conn, ssl.get());

    STACK_OF(X509)* served = SSL_get_peer_cert_chain(ssl.get()); // the leaf first (client side)
    const int count = served != nullptr ? sk_X509_num(served) : 0;
    if (count == 0) throw detail::Failure("server sent no certificate");
    if (count > k_max_served)
      throw detail::Failure(
          fmt::format("server sent {} certificates (at most {} accepted)", count, k_max_served));
    std::vector<crypto::Certificate> rest;
    for (int i = 1; i < count; ++i) rest.push_back(own(sk_X509_value(served, i)));
    outcome.mismatches = detail::compare(own(sk_X509_value(served, 0)), rest, expected);

    const unsigned char* staple = nullptr;
    const long length = SSL_get_tlsext_status_ocsp_resp(ssl.get(), &staple);
    if (staple != nullptr && length > 0) {
      const unsigned char* p = staple;
      std::unique_ptr<OCSP_RESPONSE, util::FreeWith<OCSP_RESPONSE_free>> parsed(
          length <= k_max_staple_bytes ? d2i_OCSP_RESPONSE(nullptr, &p, length) : nullptr);
      if (parsed && p == staple + length) {
        outcome.staple =
            std::string(reinterpret_cast<const char*>(staple), static_cast<std::size_t>(length));
      } else {
        outcome.mismatches.push_back("the stapled OCSP response is not a DER OCSPResponse");
      }
      ERR_clear_error();
    }
    (void)SSL_shutdown(ssl.get()); // close_notify, best effort (non-blocking)
    ERR_clear_error();
  } catch (const detail::Failure& failure) {
    ERR_clear_error();
    outcome.mismatches.emplace_back(failure.what());
  }
  return outcome;
}

std::string describe(const std::vector<crypto::Certificate>& certs) {
  if (certs.empty()) return "none";
  std::string out;
  for (const auto& c : certs) {
    if (!out.empty()) out += ", ";
    out += fmt::format("{} ({})", log::printable(c.label(), 80), c.serial_hex());
  }
  return out;
}
} // namespace

namespace detail {
std::string lookup_name(const std::string& host) {
  return host.starts_with("*.") ? "wildcard-test." + host.substr(2) : host;
}

const char* sigalgs(util::KeyType type) {
  return type == util::KeyType::rsa ? "rsa_pss_rsae_sha256:rsa_pss_rsae_sha384:rsa_pss_rsae_sha512:"
                                      "RSA+SHA256:RSA+SHA384:RSA+SHA512"
                                    : "ECDSA+SHA256:ECDSA+SHA384:ECDSA+SHA512";
}

std::vector<std::string> compare(const crypto::Certificate& served_leaf,
                                 const std::vector<crypto::Certificate>& served_rest,
                                 const Expectation& expected) {
  std::vector<std::string> lines;
  const std::string leaf = served_leaf.der();
  if (leaf != expected.leaf.der()) {
    const std::string serial = served_leaf.serial_hex();
    lines.push_back(serial == expected.leaf.serial_hex()
                        ? fmt::format("served certificate {} differs from the installed one with "
                                      "the same serial",
                                      serial)
                        : fmt::format("served certificate {} is not the installed {}", serial,
                                      expected.leaf.serial_hex()));
  }
  std::vector<std::string> seen{leaf};
  std::vector<crypto::Certificate> chain;
  for (const auto& c : served_rest) {
    std::string der = c.der();
    if (std::ranges::find(seen, der) != seen.end()) continue;
    seen.push_back(std::move(der));
    chain.push_back(c);
  }
  // A server may send the root as well: cert+root.pem is one of the files certmgr writes. A
  // self-signed certificate after the installed chain that issued its last certificate is that
  // root, not a difference.
  if (chain.size() == expected.chain.size() + 1 && !expected.chain.empty() &&
      chain.back().issued_by(chain.back()) && expected.chain.back().issued_by(chain.back()))
    chain.pop_back();
  const bool same = chain.size() == expected.chain.size() &&
                    std::ranges::equal(chain, expected.chain, [](const auto& a, const auto& b) {
                      return a.der() == b.der();
                    });
  if (!same)
    lines.push_back(fmt::format("served chain differs: served {}, installed {}", describe(chain),
                                describe(expected.chain)));
  return lines;
}
} // namespace detail

const std::vector<std::string>& starttls_protocols() {
  static const std::vector<std::string> names{"smtp", "imap", "pop3", "ftp", "xmpp", "sieve"};
  return names;
}

std::vector<Outcome> check(const Endpoint& endpoint, const Expectation& expected,
                           std::chrono::seconds timeout) {
  if (!endpoint.starttls.empty() &&
      std::ranges::find(starttls_protocols(), endpoint.starttls) == starttls_protocols().end())
    throw util::Error(fmt::format("{}: unknown STARTTLS protocol \"{}\"",
                                  log::printable(endpoint.host),
                                  log::printable(endpoint.starttls)));
  if (endpoint.port < 1 || endpoint.port > 65535)
    throw util::Error(fmt::format("{}: port {} is not in 1..65535", log::printable(endpoint.host),
                                  endpoint.port));
  const std::string name = detail::lookup_name(endpoint.host);

  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_protocol = IPPROTO_TCP;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const int rc = ::getaddrinfo(name.c_str(), std::to_string(endpoint.port).c_str(), &hints, &found);
  AddrPtr list(found);
  if (rc != 0)
    throw util::Error(fmt::format("{}: cannot resolve: {}", log::printable(name),
                                  rc == EAI_SYSTEM ? std::strerror(errno) : gai_strerror(rc)));

  CtxPtr ctx = make_context(expected.key_type);
  std::vector<Outcome> outcomes;
  std::vector<std::string> seen;
  for (const addrinfo* ai = list.get(); ai != nullptr; ai = ai->ai_next) {
    if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6) continue;
    const std::string address = detail::format_address(ai->ai_addr);
    if (std::ranges::find(seen, address) != seen.end()) continue;
    if (seen.size() == k_max_addresses) break;
    seen.push_back(address);
    log::debug("verify: {} ({}) {}", address, util::key_type_name(expected.key_type),
               endpoint.starttls.empty() ? "TLS" : endpoint.starttls);
    outcomes.push_back(check_address(*ai, ctx.get(), endpoint, name, expected, timeout));
  }
  if (outcomes.empty())
    throw util::Error(fmt::format("{}: cannot resolve: no IPv4 or IPv6 address", name));
  return outcomes;
}

} // namespace certmgr::verify
