// src/verify/connection.cpp: a TCP connection whose connect, reads and writes all end at a
// deadline, and that gives up at once on a stop request.
#include "verify/detail.hpp"
#include <certmgr/util/stop.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <unistd.h>

namespace certmgr::verify::detail {
namespace {
/// Polls in slices of this length so a stop request is seen quickly.
constexpr auto k_poll_slice = std::chrono::milliseconds{200};
constexpr std::size_t k_read_chunk = 4096;

std::string timed_out(std::string_view doing, std::chrono::seconds timeout) {
  return fmt::format("{}: timed out after {} s", doing, timeout.count());
}

void set_nonblocking(int fd) {
  const int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
    throw Failure(fmt::format("cannot connect: fcntl: {}", std::strerror(errno)));
}

/// Waits for `events` on `fd` until `deadline`; false when the deadline passed.
bool poll_until(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    util::throw_if_stopped();
    const auto now = Clock::now();
    if (now >= deadline) return false;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
    const auto slice =
        std::min<std::chrono::milliseconds>(left + std::chrono::milliseconds{1}, k_poll_slice);
    pollfd p{.fd = fd, .events = events, .revents = 0};
    const int n = ::poll(&p, 1, static_cast<int>(slice.count()));
    if (n < 0 && errno != EINTR) throw Failure(fmt::format("poll: {}", std::strerror(errno)));
    if (n > 0) return true; // readable, writable, or an error that the next call reports
  }
}
} // namespace

Connection::Connection(util::Fd fd, std::chrono::seconds timeout)
    : m_fd(std::move(fd)), m_timeout(timeout), m_deadline(Clock::now() + timeout) {
  set_nonblocking(m_fd.get());
}

Connection Connection::open(const sockaddr* addr, socklen_t length, std::chrono::seconds timeout) {
  util::Fd fd(::socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) throw Failure(fmt::format("cannot connect: socket: {}", std::strerror(errno)));
  if (::connect(fd.get(), addr, length) < 0) {
    if (errno != EINPROGRESS && errno != EINTR)
      throw Failure(fmt::format("cannot connect: {}", std::strerror(errno)));
    if (!poll_until(fd.get(), POLLOUT, Clock::now() + timeout))
      throw Failure(timed_out("cannot connect", timeout));
    int error = 0;
    socklen_t size = sizeof error;
    if (::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &error, &size) < 0) error = errno;
    if (error != 0) throw Failure(fmt::format("cannot connect: {}", std::strerror(error)));
  }
  return Connection(std::move(fd), timeout);
}

void Connection::wait(short events, std::string_view doing) {
  if (!poll_until(m_fd.get(), events, m_deadline)) throw Failure(timed_out(doing, m_timeout));
}

void Connection::write_all(std::string_view data, std::string_view doing) {
  while (!data.empty()) {
    const ssize_t n = ::send(m_fd.get(), data.data(), data.size(), MSG_NOSIGNAL);
    if (n > 0) {
      data.remove_prefix(static_cast<std::size_t>(n));
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
      wait(POLLOUT, doing);
    } else {
      throw Failure(fmt::format("{}: cannot send: {}", doing, std::strerror(errno)));
    }
  }
}

void Connection::fill(std::string_view doing) {
  char chunk[k_read_chunk];
  for (;;) {
    const ssize_t n = ::recv(m_fd.get(), chunk, sizeof chunk, 0);
    if (n > 0) {
      m_buffer.append(chunk, static_cast<std::size_t>(n));
      return;
    }
    if (n == 0) throw Failure(fmt::format("{}: connection closed by the server", doing));
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
      wait(POLLIN, doing);
    } else {
      throw Failure(fmt::format("{}: cannot receive: {}", doing, std::strerror(errno)));
    }
  }
}

std::string Connection::read_line(std::string_view doing) {
  for (;;) {
    const auto end = m_buffer.find('\n');
    if (end != std::string::npos && end <= k_max_line_bytes) {
      std::string line = m_buffer.substr(0, end);
      m_buffer.erase(0, end + 1);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      return line;
    }
    if (end != std::string::npos || m_buffer.size() > k_max_line_bytes)
      throw Failure(fmt::format("{}: server line longer than {} bytes", doing, k_max_line_bytes));
    fill(doing);
  }
}

std::string format_address(const sockaddr* addr) {
  char text[INET6_ADDRSTRLEN] = {};
  if (addr->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(addr);
    inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof text);
    return fmt::format("[{}]:{}", text, ntohs(in6->sin6_port));
  }
  const auto* in4 = reinterpret_cast<const sockaddr_in*>(addr);
  inet_ntop(AF_INET, &in4->sin_addr, text, sizeof text);
  return fmt::format("{}:{}", text, ntohs(in4->sin_port));
}

} // namespace certmgr::verify::detail
