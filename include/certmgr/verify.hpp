// certmgr/verify.hpp: the installation check. Connects to a TLS endpoint (directly or after a
// STARTTLS dialog), asks for one key type, and compares the certificate and chain the server
// sends with the installed files, byte for byte. No trust-store validation: a server that serves
// exactly what certmgr installed is right, anything else is reported.
#pragma once

#include <certmgr/crypto.hpp>
#include <certmgr/util/key_type.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace certmgr::verify {

struct Endpoint {
  std::string
      host{}; ///< name to resolve and send as SNI; "*.x.y" → SNI and lookup "wildcard-test.x.y"
  int port{443};
  std::string starttls{}; ///< "" (direct TLS), "smtp", "imap", "pop3", "ftp", "xmpp", "sieve"
};

struct Expectation {
  util::KeyType key_type{};
  crypto::Certificate leaf;                 ///< installed leaf
  std::vector<crypto::Certificate> chain{}; ///< installed intermediates, leaf's issuer first
};

struct Outcome {
  std::string address{}; ///< "192.0.2.1:443" / "[::1]:443"
  std::vector<std::string>
      mismatches{};                    ///< one line each; empty = served exactly what is installed
  std::optional<std::string> staple{}; ///< the stapled OCSP response DER, when one was sent
};

/// Resolves endpoint.host (all IPv4 and IPv6 addresses, at most 16) and for each address: TCP
/// connect, the STARTTLS dialog when asked (reply codes checked, multi-line replies handled, the
/// offer of STARTTLS checked where the protocol lists capabilities, no byte may follow the final
/// reply before the handshake), a TLS 1.2/1.3 handshake with SNI (not for an IP literal), an
/// OCSP status request and signature algorithms limited to the key type (rsa: RSA-PSS and PKCS#1
/// with SHA-256/384/512; ecdsa: ECDSA with SHA-256/384/512). Compares the served leaf with
/// expectation.leaf and the served intermediates (duplicates dropped) with expectation.chain,
/// element by element. The connect is bounded by `timeout`, and so is everything after it
/// (dialog and handshake together).
/// Failures of one address (refused, timeout, dialog error, handshake error) are a mismatch line
/// of that Outcome ("cannot connect: ...", "STARTTLS: server did not offer STARTTLS", "served
/// certificate <serial> is not the installed <serial>", "served chain differs: ..."), not an
/// exception. Throws util::Error ("<host>: cannot resolve: ...") when the name does not resolve,
/// and for an unknown STARTTLS protocol or a port outside 1..65535. A stop request (SIGTERM)
/// ends the wait at once with util::Error.
[[nodiscard]] std::vector<Outcome> check(const Endpoint& endpoint, const Expectation& expected,
                                         std::chrono::seconds timeout);

inline constexpr std::chrono::seconds k_default_timeout{10};

/// The STARTTLS names accepted (for config validation).
[[nodiscard]] const std::vector<std::string>& starttls_protocols();

} // namespace certmgr::verify
