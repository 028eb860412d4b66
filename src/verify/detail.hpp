// src/verify/detail.hpp: the parts of verify that the unit tests reach directly: the socket with
// a deadline, the STARTTLS dialogs and the comparison.
#pragma once

#include <certmgr/util/fs.hpp>
#include <certmgr/verify.hpp>

#include <chrono>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>
#include <sys/socket.h>
#include <vector>

namespace certmgr::verify::detail {

/// A failure of one address: what() is the mismatch line. Not a util::Error, so a stop request
/// (util::Error) is never mistaken for it.
class Failure : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

using Clock = std::chrono::steady_clock;

/// Longest line a STARTTLS server may send, and most lines of one reply.
inline constexpr std::size_t k_max_line_bytes = 8192;
inline constexpr std::size_t k_max_reply_lines = 200;
/// Most bytes of an XMPP stream header plus features.
inline constexpr std::size_t k_max_xml_bytes = 64 * 1024;

/// A non-blocking socket whose every wait ends at one deadline.
class Connection {
public:
  /// Connects to `addr`: Failure "cannot connect: <reason>" when refused or not done within
  /// `timeout`. The deadline for what follows is then now + `timeout`.
  [[nodiscard]] static Connection open(const sockaddr* addr, socklen_t length,
                                       std::chrono::seconds timeout);
  /// Wraps a connected socket (made non-blocking here); deadline now + `timeout`.
  Connection(util::Fd fd, std::chrono::seconds timeout);

  /// Waits for `events` (POLLIN/POLLOUT); Failure "<doing>: timed out after N s" at the deadline.
  void wait(short events, std::string_view doing);
  void write_all(std::string_view data, std::string_view doing);
  /// Reads more bytes into buffer(); Failure when the server closed the connection.
  void fill(std::string_view doing);
  /// The next line without its line end (LF or CR LF); Failure past k_max_line_bytes.
  [[nodiscard]] std::string read_line(std::string_view doing);
  /// Bytes received and not yet consumed.
  [[nodiscard]] std::string& buffer() noexcept { return m_buffer; }
  [[nodiscard]] int fd() const noexcept { return m_fd.get(); }
  [[nodiscard]] std::chrono::seconds timeout() const noexcept { return m_timeout; }

private:
  util::Fd m_fd;
  std::chrono::seconds m_timeout;
  Clock::time_point m_deadline;
  std::string m_buffer{};
};

/// The STARTTLS dialog of `protocol` (one of starttls_protocols()) for server name `host`.
/// Returns with nothing buffered, ready for the TLS handshake; Failure "STARTTLS: ..." otherwise.
void starttls(Connection& conn, std::string_view protocol, const std::string& host);

/// The name to resolve and send: "*.x.y" → "wildcard-test.x.y", anything else as it is.
[[nodiscard]] std::string lookup_name(const std::string& host);
/// "192.0.2.1:443" / "[::1]:443".
[[nodiscard]] std::string format_address(const sockaddr* addr);
/// OpenSSL signature algorithm list that makes a server pick its certificate of `type`.
[[nodiscard]] const char* sigalgs(util::KeyType type);

/// The mismatch lines for a served leaf and the served certificates after it.
[[nodiscard]] std::vector<std::string> compare(const crypto::Certificate& served_leaf,
                                               const std::vector<crypto::Certificate>& served_rest,
                                               const Expectation& expected);

} // namespace certmgr::verify::detail
