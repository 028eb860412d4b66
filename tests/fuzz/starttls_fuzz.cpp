// tests/fuzz/starttls_fuzz.cpp: the STARTTLS dialogs of verify (src/verify/starttls.cpp) against
// a server whose whole output is the fuzz input. The first byte picks the protocol (smtp, imap,
// pop3, ftp, xmpp, sieve); the rest is written into one end of a socketpair, which is then shut
// for writing, and verify::detail::starttls() runs on the other end.
//
// Oracles: the dialog ends with a verify::detail::Failure (one line) or returns with nothing
// buffered (the promise of detail.hpp: no plain text may precede the TLS handshake); nothing
// else escapes, and it never waits (the server's end is closed, so every read ends at once).
#include "fuzz_common.hpp"
#include "verify/detail.hpp"
#include <certmgr/util/error.hpp>
#include <certmgr/util/fs.hpp>

#include <array>
#include <cerrno>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

namespace {
using certmgr::fuzz::require;
namespace detail = certmgr::verify::detail;

constexpr std::array<std::string_view, 6> k_protocols = {"smtp", "imap", "pop3",
                                                         "ftp",  "xmpp", "sieve"};
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view protocol = k_protocols[data[0] % k_protocols.size()];
  std::string_view server = certmgr::fuzz::as_text(data + 1, size - 1);
  int fds[2] = {-1, -1};
  require(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0, "socketpair failed");
  const certmgr::util::Fd server_end(fds[1]);
  // The whole answer goes in before the client starts; what does not fit the socket buffer is
  // dropped (the fuzzer's inputs are far smaller).
  (void)::fcntl(server_end.get(), F_SETFL, O_NONBLOCK);
  while (!server.empty()) {
    const ssize_t n = ::send(server_end.get(), server.data(), server.size(), MSG_NOSIGNAL);
    if (n <= 0) break;
    server.remove_prefix(static_cast<std::size_t>(n));
  }
  ::shutdown(server_end.get(), SHUT_WR);
  detail::Connection conn(certmgr::util::Fd(fds[0]), std::chrono::seconds(1));
  try {
    detail::starttls(conn, protocol, "mail.example.org");
    require(conn.buffer().empty(), "STARTTLS returned with plain text buffered", conn.buffer());
  } catch (const detail::Failure& e) {
    certmgr::fuzz::require_one_line(e.what());
  }
  return 0;
}
